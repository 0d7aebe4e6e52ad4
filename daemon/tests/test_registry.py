"""Push, pull and login end to end: the real uk CLI, two real ukd daemons with their own roots,
and real docker-registry instances on 127.0.0.1 ephemeral ports (plain http, htpasswd, TLS with
a private CA); tampered blobs, a registry killed mid-push, and http refused for a non-loopback
registry before any connection."""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ukdtest import (SKIP, SRC, check, fail, free_port, phase, require_qemu,  # noqa
                     run_phases, skip, skip_under_asan)

UKD, UK = sys.argv[1], sys.argv[2]
REGISTRY = "/usr/bin/docker-registry"
PASSWORD = "s3cret-Pa55"


class Registry:
    """A docker-registry on 127.0.0.1:PORT with its own storage (plain, htpasswd or TLS)."""

    def __init__(self, top, name, auth=False, tls=None):
        self.dir = os.path.join(top, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.data = os.path.join(self.dir, "data")
        cfg = ["version: 0.1", "log:", "  level: warn", "storage:", "  filesystem:",
               "    rootdirectory: " + self.data, "  delete:", "    enabled: true",
               "http:", "  addr: " + self.addr]
        if tls:
            cfg += ["  tls:", "    certificate: " + tls[0], "    key: " + tls[1]]
        if auth:
            subprocess.run("htpasswd -Bbn user '%s' > '%s/htpasswd'" % (PASSWORD, self.dir),
                           shell=True, check=True)
            cfg += ["auth:", "  htpasswd:", "    realm: uk", "    path: %s/htpasswd" % self.dir]
        self.config = os.path.join(self.dir, "config.yml")
        with open(self.config, "w") as f:
            f.write("\n".join(cfg) + "\n")
        self.proc = None
        self.start()

    def start(self):
        self.logf = open(os.path.join(self.dir, "log"), "a")
        self.proc = subprocess.Popen([REGISTRY, "serve", self.config], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        for _ in range(400):
            if self.proc.poll() is not None:
                fail("docker-registry exited; see %s/log" % self.dir)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.025)
        fail("docker-registry did not listen on %s" % self.addr)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()

    def blob(self, digest):
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.data, "docker/registry/v2/blobs/sha256", hexd[:2], hexd, "data")


def uk(d, cfgdir, *args, stdin=None, ok=None):
    env = dict(os.environ, UK_HOST="unix://" + d.sock, UK_CONFIG=cfgdir)
    p = subprocess.run([UK, *args], input=stdin, capture_output=True, env=env, timeout=600,
                       text=True)
    if ok is not None and (p.returncode == 0) != ok:
        fail("uk %s: exit %d, expected %s\nstdout: %s\nstderr: %s" %
             (" ".join(args), p.returncode, "success" if ok else "failure", p.stdout, p.stderr))
    return p


def login_tty(d, cfg, server):
    """uk login -u user SERVER on a terminal: returns (exit status, what the terminal showed)."""
    import pty
    m, s = pty.openpty()
    env = dict(os.environ, UK_HOST="unix://" + d.sock, UK_CONFIG=cfg)
    p = subprocess.Popen([UK, "login", "-u", "user", server], stdin=s, stdout=s, stderr=s,
                         env=env)
    os.close(s)
    out = b""
    while b"Password: " not in out:
        try:
            chunk = os.read(m, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        out += chunk
    check(b"Password: " in out, "login on a terminal did not prompt: %r" % out)
    os.write(m, (PASSWORD + "\n").encode())
    while True:
        try:
            chunk = os.read(m, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(m)
    return p.wait(timeout=120), out.decode(errors="replace")


def jlines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def manifest_of(d, ref):
    r = d.req("GET", "/v1/images/" + ref)
    check(r.status == 200, "inspect %s: %r" % (ref, r))
    return r.json()["digest"]


def absent(d, ref):
    r = d.req("GET", "/v1/images/" + ref)
    check(r.status == 404, "image %s should be absent, got %r" % (ref, r))


def make_tls(top):
    """A CA and a server certificate for IP:127.0.0.1 signed by it."""
    d = os.path.join(top, "pki")
    os.makedirs(d)

    def ossl(*a):
        subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
         "-days", "2", "-subj", "/CN=uk test CA")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
         "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "srv.crt", "-days", "2", "-extfile", "ext")
    return [os.path.join(d, n) for n in ("ca.crt", "srv.crt", "srv.key")]


def plain_http(a, b, reg, cfg):
    """(1) build in A, push, pull into B, run it there; a re-push uploads nothing."""
    a.build_ok(os.path.join(SRC, "images/examples/hello"), "hello")
    name = reg.addr + "/uk/hello:v1"
    uk(a, cfg, "tag", "hello", name, ok=True)
    out = jlines(uk(a, cfg, "--format", "json", "push", name, ok=True).stdout)
    ups = [o for o in out if o.get("status") == "uploaded"]
    check(len(ups) >= 2, "first push uploaded %s" % out)
    check(out[-1].get("status") == "done" and out[-1]["digest"] == manifest_of(a, name),
          "push result %s" % out[-1])
    out = jlines(uk(a, cfg, "--format", "json", "push", name, ok=True).stdout)
    blobs = [o["status"] for o in out if o.get("status") in ("exists", "uploaded")]
    check(blobs and set(blobs) == {"exists"}, "re-push: every blob must exist: %s" % out)
    # the same image under another repository of the registry: mounted, nothing uploaded
    other = reg.addr + "/team/copy:v1"
    uk(a, cfg, "tag", "hello", other, ok=True)
    out = jlines(uk(a, cfg, "--format", "json", "push", other, ok=True).stdout)
    blobs = [o["status"] for o in out if o.get("status") in ("exists", "uploaded", "mounted")]
    check(blobs and set(blobs) == {"mounted"}, "push to another repository: %s" % out)
    check(out[-1].get("digest") == manifest_of(a, name), "mounted push result %s" % out[-1])
    p = uk(b, cfg, "pull", name, ok=True)
    check("Pull complete" in p.stdout and "Digest: sha256:" in p.stdout, "pull: %s" % p.stdout)
    check(manifest_of(b, name) == manifest_of(a, name), "manifest digests differ")
    p = uk(b, cfg, "run", "--rm", name, ok=True)
    check("Hello from a uk unikernel!" in p.stdout, "run in B: %r" % p.stdout)
    # a pull by digest records the image without a tag; it runs as NAME@DIGEST
    dg = manifest_of(a, name)
    out = jlines(uk(b, cfg, "--format", "json", "pull", reg.addr + "/uk/hello@" + dg,
                    ok=True).stdout)
    check(set(o["status"] for o in out[:-1]) <= {"have", "manifest"}, "digest pull %s" % out)
    check(manifest_of(b, reg.addr + "/uk/hello@" + dg) == dg, "digest pull not stored")
    p = uk(b, cfg, "pull", reg.addr + "/uk/hello:nosuch", ok=False)
    check("not found" in p.stderr and reg.addr in p.stderr, "missing tag: %s" % p.stderr)
    return name


def htpasswd(a, b, reg, top):
    """(2) wrong password: clear error, nothing stored; right one: 0600 file; logout."""
    cfg = os.path.join(top, "cfg-auth")
    cfile = os.path.join(cfg, "config.json")
    p = uk(a, cfg, "login", "-u", "user", "--password-stdin", reg.addr, stdin="wrong\n",
           ok=False)
    check("unauthorized" in p.stderr and reg.addr in p.stderr, "bad login: %s" % p.stderr)
    check(not os.path.exists(cfile), "a refused login stored %s" % cfile)
    name = reg.addr + "/uk/hello:v1"
    uk(a, cfg, "tag", "hello", name, ok=True)
    p = uk(a, cfg, "push", name, ok=False)
    check("unauthorized" in p.stderr, "anonymous push: %s" % p.stderr)
    p = uk(a, cfg, "login", "-u", "user", "--password-stdin", reg.addr, stdin=PASSWORD + "\n",
           ok=True)
    check("Login Succeeded" in p.stdout and PASSWORD not in p.stdout + p.stderr, p.stdout)
    st = os.stat(cfile)
    check(stat.S_IMODE(st.st_mode) == 0o600, "config mode %o" % stat.S_IMODE(st.st_mode))
    with open(cfile) as f:
        check(reg.addr in json.load(f)["auths"], "no auths entry for %s" % reg.addr)
    uk(a, cfg, "push", name, ok=True)
    uk(b, cfg, "pull", name, ok=True)
    # a credentials file others can read is refused, not used
    os.chmod(cfile, 0o644)
    p = uk(b, cfg, "pull", name, ok=False)
    check("chmod 600" in p.stderr and "0644" in p.stderr, "loose mode: %s" % p.stderr)
    os.chmod(cfile, 0o600)
    p = uk(a, cfg, "logout", reg.addr, ok=True)
    with open(cfile) as f:
        check(reg.addr not in f.read(), "logout left the credentials")
    rc, shown = login_tty(a, cfg, reg.addr)  # prompted, not echoed
    check(rc == 0 and "Login Succeeded" in shown and PASSWORD not in shown,
          "login on a terminal: %d %r" % (rc, shown))
    uk(a, cfg, "logout", reg.addr, ok=True)
    check("Not logged in" in uk(a, cfg, "logout", reg.addr, ok=True).stdout, "second logout")
    for d in (a, b):
        d.logf.flush()
        with open(d.log) as f:
            check(PASSWORD not in f.read(), "the password reached the daemon log %s" % d.log)


def tls(b, top, pki, certs):
    """(3) TLS with a private CA: refused without it, works with certs.d/HOST:PORT/ca.crt."""
    reg = Registry(top, "tls", tls=(pki[1], pki[2]))
    try:
        cfg = os.path.join(top, "cfg-tls")
        os.makedirs(os.path.join(certs, reg.addr))  # TLS for it, but no CA yet
        # B has the hello blobs; push needs them locally: push from B's copy
        name = reg.addr + "/uk/hello:v1"
        r = b.req("GET", "/v1/images")
        src = [t for i in r.json() for t in (i.get("repo_tags") or []) if "/uk/hello:v1" in t]
        check(src, "B has no hello image to push: %s" % r.json())
        uk(b, cfg, "tag", src[0], name, ok=True)
        p = uk(b, cfg, "push", name, ok=False)
        check("certificate" in p.stderr.lower() and "ca.crt" in p.stderr,
              "push without the CA: %s" % p.stderr)
        p = uk(b, cfg, "login", "-u", "u", "--password-stdin", reg.addr, stdin="p\n", ok=False)
        check("certificate" in p.stderr.lower(), "login without the CA: %s" % p.stderr)
        shutil.copy(pki[0], os.path.join(certs, reg.addr, "ca.crt"))
        uk(b, cfg, "push", name, ok=True)
        uk(b, cfg, "rmi", name, ok=True)
        uk(b, cfg, "pull", name, ok=True)
    finally:
        reg.kill()


def tampered(b, reg, name, cfg):
    """(4) a blob changed in the registry's storage: pull refused, nothing recorded in B."""
    out = jlines(uk(b, cfg, "--format", "json", "pull", name, ok=True).stdout)
    layer = max((o for o in out if o.get("status") in ("have", "downloaded")),
                key=lambda o: o["size"])["digest"]
    for img in b.req("GET", "/v1/images").json():
        uk(b, cfg, "rmi", "-f", img["id"], ok=True)  # and the blobs go with the last image
    path = reg.blob(layer)
    with open(path, "r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xff]))
    p = uk(b, cfg, "pull", name, ok=False)
    check("digest" in p.stderr.lower() and layer[7:19] in p.stderr, "tampered: %s" % p.stderr)
    absent(b, name)
    with open(path, "r+b") as f:
        f.seek(-1, 2)
        f.write(last)
    uk(b, cfg, "pull", name, ok=True)  # nothing half-written blocks the retry


def connected(port):
    """Waits until this host has an established TCP connection to 127.0.0.1:(port)."""
    want = "0100007F:%04X" % port
    for _ in range(600):
        with open("/proc/net/tcp") as f:
            if any(l.split()[2] == want and l.split()[3] == "01" for l in f.readlines()[1:]):
                return
        time.sleep(0.05)
    fail("no connection to 127.0.0.1:%d within 30 s" % port)


class KillAfterFirstBlob:
    """A TCP relay on 127.0.0.1 in front of (reg): once the registry's first 201 Created (a blob
    upload completed) has been relayed, it kills the registry and drops every connection."""

    def __init__(self, reg):
        self.reg, self.armed = reg, True
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.reg.port))
            except OSError:
                c.close()
                continue
            threading.Thread(target=self.pump, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c, True), daemon=True).start()

    def pump(self, src, dst, from_registry):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if from_registry and self.armed and b" 201 Created" in data:
                    self.armed = False
                    self.reg.kill()
                    break
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def uk_bg(d, cfg, *args):
    env = dict(os.environ, UK_HOST="unix://" + d.sock, UK_CONFIG=cfg)
    return subprocess.Popen([UK, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def killed(a, b, top, cfg):
    """(5) registry killed right after the first blob of a push: clean failure; the retry
    finds that blob and uploads the rest.
    A pull whose client goes away and whose registry dies records nothing; a retry works."""
    reg = Registry(top, "killed")
    relay = KillAfterFirstBlob(reg)
    name = relay.addr + "/uk/hello:v1"
    uk(a, cfg, "tag", "hello", name, ok=True)
    p = uk(a, cfg, "--format", "json", "push", name, ok=False)
    out = jlines(p.stdout)
    check([o.get("status") for o in out] == ["uploaded", None] and "error" in out[-1] and
          relay.addr in out[-1]["error"]["message"] and relay.addr in p.stderr,
          "registry killed after the first blob: %r %r" % (p.stdout, p.stderr))
    first = out[0]["digest"]
    a.ping()
    reg.start()
    out = jlines(uk(a, cfg, "--format", "json", "push", name, ok=True).stdout)
    got = {o["digest"]: o["status"] for o in out if o["status"] in ("exists", "uploaded")}
    check(got.pop(first, None) == "exists" and got and set(got.values()) == {"uploaded"},
          "retried push: the first blob must exist, the others upload: %s" % out)
    uk(b, cfg, "pull", name, ok=True)
    relay.close()
    name = reg.addr + "/uk/hello:v1"
    uk(a, cfg, "tag", "hello", name, ok=True)
    uk(a, cfg, "push", name, ok=True)
    # the client disconnects mid-pull, then the registry dies: the job ends, nothing is tagged
    for img in b.req("GET", "/v1/images").json():
        uk(b, cfg, "rmi", "-f", img["id"], ok=True)
    reg.proc.send_signal(signal.SIGSTOP)
    pull = uk_bg(b, cfg, "pull", name)
    connected(reg.port)
    pull.kill()
    pull.communicate()
    reg.kill()
    for _ in range(600):  # the job logs how it ended
        b.logf.flush()
        with open(b.log) as f:
            if "registry: pull %s: " % name in f.read():
                break
        time.sleep(0.05)
    else:
        fail("the pull job did not end after its registry died")
    absent(b, name)
    reg.start()
    uk(b, cfg, "pull", name, ok=True)
    p = uk(b, cfg, "run", "--rm", name, ok=True)
    check("Hello from a uk unikernel!" in p.stdout, "run after the retried pull: %r" % p.stdout)
    reg.kill()


def refused_http(a, top):
    """(6) http to a non-loopback registry outside insecure-registries: refused, no traffic."""
    cfg = os.path.join(top, "cfg-6")
    p = uk(a, cfg, "login", "-u", "u", "--password-stdin", "http://192.0.2.1:5000",
           stdin="p\n", ok=False)
    check("plain http refused" in p.stderr and "insecure-registries" in p.stderr,
          "http to 192.0.2.1: %s" % p.stderr)
    check(not os.path.exists(os.path.join(cfg, "config.json")), "refused login stored creds")
    with open("/proc/net/tcp") as f:  # no socket to 192.0.2.1 (0102 00C0 little-endian)
        check("010200C0:" not in f.read(), "a connection to 192.0.2.1 was attempted")


def setup():
    if not os.access(REGISTRY, os.X_OK):
        skip("%s not found: install Debian's docker-registry" % REGISTRY)
    for tool in ("htpasswd", "openssl"):
        if not shutil.which(tool):
            skip("%s not found: install apache2-utils and openssl" % tool)
    require_qemu()
    skip_under_asan(UKD, "uk run")


def registries():
    """Two daemons (a: plain, b: with daemon.json) against the registries this test runs."""
    top = tempfile.mkdtemp(prefix="ukreg-", dir="/tmp")
    certs = os.path.join(top, "certs.d")
    os.makedirs(certs)
    conf = os.path.join(top, "daemon.json")
    with open(conf, "w") as f:  # Docker's key; an entry that is never contacted
        json.dump({"insecure-registries": ["registry.invalid:5000"]}, f)
    regs = []

    def with_a(a):
        regs.append(Registry(top, "plain"))
        regs.append(Registry(top, "auth", auth=True))
        reg, regauth = regs
        pki = make_tls(top)

        def with_b(b):
            cfg = os.path.join(top, "cfg")
            name = plain_http(a, b, reg, cfg)
            htpasswd(a, b, regauth, top)
            tls(b, top, pki, certs)
            tampered(b, reg, name, cfg)
            killed(a, b, top, cfg)
            refused_http(a, top)
        check(phase(with_b, ["--registry-certs-dir", certs, "--config", conf]),
              "daemon b (with daemon.json)")

    def after(d, ok):
        for r in regs:
            r.kill()
        if ok:
            shutil.rmtree(top, ignore_errors=True)
        else:
            print("kept %s" % top)
    return phase(with_a, ["--registry-certs-dir", certs], after_stop=after)


run_phases([registries], setup)
