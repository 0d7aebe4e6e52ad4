"""Image trust end to end: `uk trust keygen/sign/inspect` against a ukd whose daemon.json requires
signed images, with a real docker-registry on 127.0.0.1. An image signed by a trusted key can be
run; an unsigned one, one signed by another key and one with no registry name are refused (403)
with a message that says why; a bad trust config stops ukd at startup."""
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request

from ukdtest import SRC, check, fail, free_port, require_qemu, run, skip

HELLO = os.path.join(SRC, "images", "examples", "hello")
REGISTRY = "/usr/bin/docker-registry"


class Registry:
    """Debian's docker-registry on a free loopback port, storage in a temp dir."""

    def __init__(self, tmp):
        self.addr = "127.0.0.1:%d" % free_port()
        cfg = os.path.join(tmp, "registry.yml")
        with open(cfg, "w") as f:
            f.write("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                    "    rootdirectory: %s/registry\nhttp:\n  addr: %s\n" % (tmp, self.addr))
        self.log = open(os.path.join(tmp, "registry.log"), "w")
        self.proc = subprocess.Popen([REGISTRY, "serve", cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                urllib.request.urlopen("http://%s/v2/" % self.addr, timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        fail("docker-registry did not start on %s" % self.addr)

    def req(self, method, path, data=None, headers=None):
        r = urllib.request.Request("http://%s%s" % (self.addr, path), data=data,
                                   method=method, headers=headers or {})
        return urllib.request.urlopen(r, timeout=60)

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def push(d, reg, name):
    """Pushes the daemon's image (name) to the registry under the same name, blob by blob, from
    the daemon's `uk save` archive (the push route is another change's)."""
    repo, tag = name[len(reg.addr) + 1:].rsplit(":", 1)
    r = d.req("GET", "/v1/images/%s/get" % urllib.parse.quote(name, safe=""))
    check(r.status == 200, "save %s: %r" % (name, r))
    t = tarfile.open(fileobj=io.BytesIO(r.body))
    blob = lambda dg: t.extractfile("blobs/sha256/" + dg[len("sha256:"):]).read()
    digest = json.load(t.extractfile("index.json"))["manifests"][0]["digest"]
    manifest = blob(digest)
    m = json.loads(manifest)
    for desc in [m["config"]] + m["layers"]:
        loc = reg.req("POST", "/v2/%s/blobs/uploads/" % repo).headers["Location"]
        u = urllib.parse.urlsplit(loc)
        reg.req("PUT", "%s?%s&digest=%s" % (u.path, u.query, desc["digest"]),
                data=blob(desc["digest"]), headers={"Content-Type": "application/octet-stream"})
    reg.req("PUT", "/v2/%s/manifests/%s" % (repo, tag), data=manifest,
            headers={"Content-Type": m["mediaType"]})
    return digest


def build_variant(d, tmp, local_name, marker):
    """hello with a distinct ENV: a distinct config, hence image and digest, per case."""
    ctx = os.path.join(tmp, "ctx-" + marker)
    shutil.copytree(HELLO, ctx)
    with open(os.path.join(ctx, "Ukfile"), "a") as f:
        f.write("ENV VARIANT=%s\n" % marker)
    return d.build_ok(ctx, local_name)


def cli_runner(uk, env, host):
    def cli(*args, expect=0):
        p = subprocess.run([uk, "-H", host[0], *args], env=env, capture_output=True, text=True,
                           timeout=300)
        check(p.returncode == expect, "uk %s: exit %d, expected %d\n%s%s"
              % (" ".join(args), p.returncode, expect, p.stdout, p.stderr))
        return p.stdout + p.stderr
    return cli


def prepare(ukd, tmp, cli):
    """Keys (by the CLI alone, no daemon needed), a bad trust config that must stop ukd, and
    the daemon.json trusting key "good"; returns its path."""
    for k in ("good", "bad"):
        out = cli("trust", "keygen", k)
        check("id " in out and "%s.pub" % k in out, "keygen output: %s" % out)
    keys = os.path.join(tmp, "cfg", "uk", "trust")
    check(oct(os.stat(os.path.join(keys, "good.key")).st_mode & 0o777) == "0o600",
          "private key not 0600")
    cli("trust", "keygen", "good", expect=1)  # never overwrites

    bad_cfg = os.path.join(tmp, "bad.json")
    with open(bad_cfg, "w") as f:
        json.dump({"trust": {"require_signed": True, "keys": [bad_cfg]}}, f)
    p = subprocess.run([ukd, "--config", bad_cfg, "--root", os.path.join(tmp, "r0"),
                        "--host", "unix://" + os.path.join(tmp, "r0.sock")],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode != 0 and "trust.keys[0]" in p.stdout + p.stderr,
          "ukd started with a bad trust key: %d %s%s" % (p.returncode, p.stdout, p.stderr))

    cfg = os.path.join(tmp, "daemon.json")
    with open(cfg, "w") as f:
        json.dump({"trust": {"require_signed": True, "keys": [os.path.join(keys, "good.pub")]}},
                  f)
    return cfg


def scenario(d, tmp, reg, cli, host):
    host[0] = "unix://" + d.sock
    cases, ids = {}, set()
    for case in ("signed", "unsigned", "wrongkey"):
        ids.add(build_variant(d, tmp, case, case))
        name = "%s/team/app:%s" % (reg.addr, case)
        check(d.req("POST", "/v1/images/%s/tag?repo=%s/team/app&tag=%s"
                    % (case, reg.addr, case)).status == 201, "tag %s" % case)
        cases[case] = (name, push(d, reg, name))
    ids.add(build_variant(d, tmp, "local", "local"))
    check(len(ids) == 4, "the four builds are not four images: %s" % ids)

    out = cli("trust", "sign", "--key", "good", cases["signed"][0])
    check(cases["signed"][1] in out and ".sig" in out, "sign output: %s" % out)
    cli("trust", "sign", "--key", "bad", cases["wrongkey"][0])
    cli("trust", "sign", cases["signed"][0], expect=2)  # two keys: which one?

    # signed by the trusted key: runs, by its registry name or its local one
    r = d.req("POST", "/v1/instances", body={"image": cases["signed"][0]})
    check(r.status == 201, "signed image refused: %r" % r)
    r = d.req("POST", "/v1/instances", body={"image": "signed"})
    check(r.status == 201, "signed image (local name) refused: %r" % r)
    # the others are refused, each saying why
    for case, why in (("unsigned", "is not signed"), ("wrongkey", "by no trusted key"),
                      ("local", "has no registry name")):
        r = d.req("POST", "/v1/instances", body={"image": case})
        msg = r.json().get("message", "") if r.status >= 400 else ""
        check(r.status == 403 and why in msg and "requires signed images" in msg,
              "%s: expected 403 '%s', got %r" % (case, why, r))

    # inspect: the daemon's verdict on each
    for case, result in (("signed", "ok"), ("unsigned", "unsigned"),
                         ("wrongkey", "no_trusted_key")):
        o = json.loads(cli("--format", "json", "trust", "inspect", cases[case][0]))
        check(o["verification"]["result"] == result and o["digest"] == cases[case][1],
              "inspect %s: %s" % (case, o))
    out = cli("trust", "inspect", cases["signed"][0])
    check("Verification: ok" in out and cases["signed"][1] in out, "inspect table: %s" % out)

    # the signature route distrusts its client
    path = "/v1/images/%s/signatures" % urllib.parse.quote(cases["unsigned"][0], safe="")
    r = d.req("POST", path, body={"payload": "{}", "signature": "x", "keyid": "00"})
    check(r.status == 400, "malformed signature accepted: %r" % r)
    r = d.req("POST", path, body={"payload": "{}", "signature": "x", "keyid": "0" * 64,
                                  "extra": 1})
    check(r.status == 400 and "extra" in r.json()["message"], "extra field: %r" % r)
    r = d.req("POST", "/v1/images/local/signatures",
              body={"payload": "{}", "signature": "x", "keyid": "0" * 64})
    check(r.status == 400 and "no registry" in r.json()["message"], "local: %r" % r)
    r = d.req("POST", path, body={"payload": "{}", "signature": "x", "keyid": "0" * 64},
              headers={"X-Registry-Auth": "not base64!"})
    check(r.status == 400 and "X-Registry-Auth" in r.json()["message"], "auth: %r" % r)
    # a signature that claims the trusted key but does not verify is not stored over the good
    # one: the signed image stays runnable
    good = json.loads(cli("--format", "json", "trust", "inspect", cases["signed"][0]))
    kid = good["verification"]["keyid"]
    spath = "/v1/images/%s/signatures" % urllib.parse.quote(cases["signed"][0], safe="")
    payload = ('{"critical":{"identity":{"docker-reference":"%s/team/app"},"image":{'
               '"docker-manifest-digest":"%s"},"type":"uk signature"},"optional":null}'
               % (reg.addr, cases["signed"][1]))
    r = d.req("POST", spath, body={"payload": payload, "signature": "A" * 86 + "==",
                                   "keyid": kid})
    check(r.status == 400 and "does not verify" in r.json()["message"], "forged: %r" % r)
    r = d.req("POST", "/v1/instances", body={"image": "signed"})
    check(r.status == 201, "a refused forgery unsigned the image: %r" % r)
    r = d.req("POST", "/v1/instances", body={"image": "unsigned"})
    check(r.status == 403, "a rejected signature made the image runnable: %r" % r)


    # pull applies the same policy: the signed image comes in, the others are refused with
    # the reason, and a refused pull records no name
    for case, why in (("signed", None), ("unsigned", "is not signed"),
                      ("wrongkey", "by no trusted key")):
        d.req("DELETE", "/v1/images/%s" % urllib.parse.quote(cases[case][0], safe=""))
        r = d.req("POST", "/v1/images/pull?ref=" + urllib.parse.quote(cases[case][0], safe=""))
        last = r.lines()[-1] if r.status == 200 else {}
        if why is None:
            check(last.get("status") == "done" and last.get("digest") == cases[case][1],
                  "pull of the signed image: %r" % r)
        else:
            e = last.get("error", {})
            check(e.get("status") == 403 and why in e.get("message", ""),
                  "pull of %s: expected 403 '%s', got %r" % (case, why, r))
            r = d.req("GET", "/v1/images/%s" % urllib.parse.quote(cases[case][0], safe=""))
            check(r.status == 404, "a refused pull recorded %s: %r" % (case, r))

    # a verdict is kept: with the registry gone, the image verified above still runs, an
    # unverified one is still refused
    reg.stop()
    r = d.req("POST", "/v1/instances", body={"image": "signed"})
    check(r.status == 201, "a verified image needs its registry to run: %r" % r)
    r = d.req("POST", "/v1/instances", body={"image": "wrongkey"})
    check(r.status >= 400, "an unverified image ran without its registry: %r" % r)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: %s PATH/TO/ukd PATH/TO/uk" % sys.argv[0])
    require_qemu()
    if not os.access(REGISTRY, os.X_OK):
        skip("%s not found: install Debian's docker-registry" % REGISTRY)
    tmp = tempfile.mkdtemp(prefix="ukt-trust-")
    host = ["unix:///nonexistent"]  # keygen needs no daemon; the rest talks to the test's
    cli = cli_runner(sys.argv[2], dict(os.environ, XDG_CONFIG_HOME=os.path.join(tmp, "cfg")),
                     host)
    reg = None
    rc = 1
    try:
        cfg = prepare(sys.argv[1], tmp, cli)
        reg = Registry(tmp)
        run(lambda d: scenario(d, tmp, reg, cli, host), ["--config", cfg])
    except AssertionError as e:
        print("FAIL: %s\nFAILED" % e)
    except SystemExit as e:
        rc = e.code
    finally:
        if reg:
            reg.stop()
        if rc == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept %s" % tmp)
    sys.exit(rc)


main()
