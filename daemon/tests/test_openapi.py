"""Conformance: every route of daemon/routes.c is in api/openapi.yaml and vice versa, and the
running daemon answers each operation with a documented status and a body matching its schema."""
import json
import os
import re
import socket
import time
import urllib.parse

from ukdtest import SRC, check, fail, require_qemu, run

HELLO = os.path.join(SRC, "images", "examples", "hello")
SPEC_PATH = os.path.join(SRC, "api", "openapi.yaml")


def load_spec():
    # openapi.yaml is kept in the JSON subset of YAML (python3 has no yaml module).
    with open(SPEC_PATH) as f:
        return json.loads("".join(l for l in f if not l.startswith("#")))


SPEC = load_spec()


def resolve(s):
    while "$ref" in s:
        s = SPEC["components"]["schemas"][s["$ref"].split("/")[-1]]
    return s


def validate(v, schema, where="body"):
    s = resolve(schema)
    if v is None and s.get("nullable"):
        return
    t = s.get("type")
    types = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
             "array": list, "object": dict}
    if t and not isinstance(v, types[t]) or (t in ("integer", "number") and isinstance(v, bool)):
        fail("%s: expected %s, got %r" % (where, t, v))
    if "enum" in s and v not in s["enum"]:
        fail("%s: %r not in %s" % (where, v, s["enum"]))
    if t == "object":
        for k in s.get("required", []):
            check(k in v, "%s: missing required field %r in %s" % (where, k, list(v)))
        for k, sub in s.get("properties", {}).items():
            if k in v:
                validate(v[k], sub, where + "." + k)
        if isinstance(s.get("additionalProperties"), dict):
            for k in set(v) - set(s.get("properties", {})):
                validate(v[k], s["additionalProperties"], where + "." + k)
    if t == "array":
        for i, x in enumerate(v):
            validate(x, s["items"], "%s[%d]" % (where, i))


def route_table():
    """(METHOD, /v1/path/{id}) for each entry of daemon/routes.c."""
    out = set()
    with open(os.path.join(SRC, "daemon", "routes.c")) as f:
        for m, p in re.findall(r'\{"([A-Z]+)", "(/v1/[^"]*)"', f.read()):
            if m == "HEAD":
                continue
            p = p.replace("{*}", "{ref}").replace("{}", "{id}")
            out.add((m, p))
    return out


def spec_ops():
    return {(m.upper(), p) for p, ops in SPEC["paths"].items() for m in ops}


done = set()


def call(d, method, template, params=None, query="", body=None, headers=None, expect=None):
    path = template
    for k, v in (params or {}).items():
        path = path.replace("{%s}" % k, urllib.parse.quote(v, safe="/:@"))
    r = d.req(method, path + query, body=body, headers=headers)
    op = SPEC["paths"][template][method.lower()]
    resp = op["responses"].get(str(r.status))
    check(resp is not None, "%s %s: status %d is not documented (%s)" %
          (method, path, r.status, sorted(op["responses"])))
    if expect is not None:
        check(r.status == expect, "%s %s: expected %d, got %r" % (method, path, expect, r))
    content = resp.get("content", {})
    if "application/json" in content:
        validate(json.loads(r.body), content["application/json"]["schema"],
                 "%s %s %d" % (method, template, r.status))
    elif "application/x-ndjson" in content:
        for i, line in enumerate(r.body.decode().splitlines()):
            validate(json.loads(line), content["application/x-ndjson"]["schema"],
                     "%s %s line %d" % (method, template, i))
    else:
        check(not content or r.status >= 300 or list(content)[0] != "application/json", "?")
    done.add((method, template))
    return r


def main(d):
    routes, ops = route_table(), spec_ops()
    check(routes == ops, "routes.c and openapi.yaml differ: only in routes.c %s, only in the "
          "spec %s" % (sorted(routes - ops), sorted(ops - routes)))
    t0 = time.time()
    tar = {"Content-Type": "application/x-tar"}
    call(d, "GET", "/v1/_ping", expect=200)
    call(d, "GET", "/v1/version", expect=200)
    call(d, "GET", "/v1/info", expect=200)
    from ukdtest import tar_dir
    r = call(d, "POST", "/v1/images/build", query="?t=hello", body=tar_dir(HELLO), headers=tar,
             expect=200)
    image_id = r.lines()[-1]["aux"]["id"]
    call(d, "POST", "/v1/images/build", query="?t=x", body=b"", headers=tar, expect=400)
    call(d, "GET", "/v1/images", expect=200)
    call(d, "GET", "/v1/images/{ref}", {"ref": "hello"}, expect=200)
    call(d, "GET", "/v1/images/{ref}", {"ref": image_id[7:19]}, expect=200)
    call(d, "GET", "/v1/images/{ref}", {"ref": "nosuch"}, expect=404)
    call(d, "POST", "/v1/images/{ref}/tag", {"ref": "hello"}, "?repo=reg.example/team/hello&tag=v1",
         expect=201)
    call(d, "GET", "/v1/images/{ref}", {"ref": "reg.example/team/hello:v1"}, expect=200)
    call(d, "POST", "/v1/images/{ref}/tag", {"ref": "hello"}, "", expect=400)
    # push, pull, auth against an address that refuses connections (bound, not listening)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    reg = "127.0.0.1:%d" % closed.getsockname()[1]
    try:
        call(d, "POST", "/v1/images/{ref}/tag", {"ref": "hello"}, "?repo=%s/hello&tag=v1" % reg,
             expect=201)
        r = call(d, "POST", "/v1/images/{ref}/push", {"ref": reg + "/hello"}, "?tag=v1",
                 expect=200)
        check(r.lines()[-1]["error"]["status"] == 502, "push to a closed port: %r" % r)
        call(d, "POST", "/v1/images/{ref}/push", {"ref": "nosuch"}, expect=404)
        r = call(d, "POST", "/v1/images/pull", query="?ref=%s/hello:v1" % reg, expect=200)
        check(r.lines()[-1]["error"]["status"] == 502, "pull from a closed port: %r" % r)
        call(d, "POST", "/v1/images/pull", expect=400)
        call(d, "POST", "/v1/auth", body={"username": "u", "password": "p",
                                          "serveraddress": reg}, expect=502)
        call(d, "POST", "/v1/auth", body={"username": "u", "password": "p",
                                          "serveraddress": "http://192.0.2.1:5000"}, expect=400)
        call(d, "POST", "/v1/auth", expect=400)
    finally:
        closed.close()
    call(d, "DELETE", "/v1/images/{ref}", {"ref": reg + "/hello:v1"}, expect=200)
    # signatures live in a registry; without one only the refusals can be exercised here
    # (test_trust.py runs them against a docker-registry)
    sig = {"payload": "{}", "signature": "x", "keyid": "0" * 64}
    call(d, "POST", "/v1/images/{ref}/signatures", {"ref": "hello"}, body=sig, expect=400)
    call(d, "POST", "/v1/images/{ref}/signatures", {"ref": "nosuch"}, body=sig, expect=404)
    call(d, "GET", "/v1/images/{ref}/signatures", {"ref": "hello"}, expect=400)
    saved = call(d, "GET", "/v1/images/{ref}/get", {"ref": "hello"}, expect=200).body
    check(saved[257:262] == b"ustar", "image get is not a tar")
    call(d, "DELETE", "/v1/images/{ref}", {"ref": "reg.example/team/hello:v1"}, expect=200)
    call(d, "POST", "/v1/images/load", body=saved, headers=tar, expect=200)
    call(d, "POST", "/v1/images/load", body=b"garbage" * 200, headers=tar, expect=400)

    r = call(d, "POST", "/v1/instances", body={"image": "hello", "name": "c1",
             "restart_policy": {"name": "no"}}, expect=201)
    iid = r.json()["id"]
    call(d, "POST", "/v1/instances", body={"image": "hello", "name": "c1"}, expect=409)
    call(d, "POST", "/v1/instances", body=b"{", headers={"Content-Type": "application/json"},
         expect=400)
    call(d, "GET", "/v1/instances", query="?all=1", expect=200)
    call(d, "GET", "/v1/instances/{id}", {"id": iid}, expect=200)
    call(d, "GET", "/v1/instances/{id}", {"id": "c1"}, expect=200)
    call(d, "POST", "/v1/instances/{id}/kill", {"id": "c1"}, expect=409)
    call(d, "POST", "/v1/instances/{id}/start", {"id": "c1"}, expect=204)
    r = call(d, "POST", "/v1/instances/{id}/wait", {"id": "c1"}, expect=200)
    check(r.json()["status_code"] == 0, "wait: %r" % r)
    r = call(d, "GET", "/v1/instances/{id}/logs", {"id": "c1"}, "?tail=all&timestamps=1",
             expect=200)
    check(b"Hello" in r.body, "logs: %r" % r)
    call(d, "POST", "/v1/instances/{id}/stop", {"id": "c1"}, "?t=1", expect=304)
    call(d, "POST", "/v1/instances/{id}/restart", {"id": "c1"}, "?t=0", expect=204)
    call(d, "POST", "/v1/instances/{id}/wait", {"id": "c1"}, expect=200)
    # a health check: stored normalized under config.healthcheck; a bad one is a 400
    call(d, "POST", "/v1/instances", body={"image": "hello", "name": "c3", "healthcheck": {
         "tcp": 80, "interval": "2s"}}, expect=201)
    hc = call(d, "GET", "/v1/instances/{id}", {"id": "c3"}, expect=200).json()["config"]["healthcheck"]
    check(hc == {"type": "tcp", "port": 80, "interval": 2000000000, "timeout": 30000000000,
                 "start_period": 0, "retries": 3}, "config.healthcheck: %s" % hc)
    call(d, "POST", "/v1/instances", body={"image": "hello", "healthcheck": {"tcp": 0}}, expect=400)
    call(d, "POST", "/v1/instances/{id}/rename", {"id": "c3"}, "?name=c3b", expect=204)
    call(d, "POST", "/v1/instances/{id}/rename", {"id": "c3b"}, "?name=c1", expect=409)
    call(d, "POST", "/v1/instances/{id}/rename", {"id": "c3b"}, "?name=-x", expect=400)
    call(d, "POST", "/v1/instances/{id}/rename", {"id": "c3b"}, expect=400)
    call(d, "POST", "/v1/instances/{id}/rename", {"id": "nosuch"}, "?name=y", expect=404)
    call(d, "DELETE", "/v1/instances/{id}", {"id": "c3b"}, expect=204)
    # published ports: stored, shown, and a taken host port refused with 409
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    hp = held.getsockname()[1]
    try:
        call(d, "POST", "/v1/instances", body={"image": "hello", "name": "c2", "ports": [
            {"host_port": hp, "guest_port": 80}]}, expect=201)
        want = [{"host_ip": "127.0.0.1", "host_port": hp, "guest_port": 80, "protocol": "tcp"}]
        r = call(d, "GET", "/v1/instances/{id}/port", {"id": "c2"}, expect=200)
        check(r.json() == want, "port: %r" % r)
        r = call(d, "GET", "/v1/instances/{id}", {"id": "c2"}, expect=200)
        check(r.json()["ports"] == want and r.json()["network"]["mode"] == "user", r)
        r = call(d, "GET", "/v1/instances", query="?all=1", expect=200)
        check([x["ports"] for x in r.json() if x["names"] == ["c2"]] == [want], r)
        call(d, "POST", "/v1/instances/{id}/start", {"id": "c2"}, expect=409)
    finally:
        held.close()
    call(d, "GET", "/v1/instances/{id}/port", {"id": "nosuch"}, expect=404)
    # the kernel ELF an instance boots (uk debug): an ELF with its symbol table
    r = call(d, "GET", "/v1/instances/{id}/kernel", {"id": "c2"}, expect=200)
    check(r.body[:4] == b"\x7fELF" and b".symtab" in r.body, "kernel: %r" % r.body[:16])
    call(d, "GET", "/v1/instances/{id}/kernel", {"id": "nosuch"}, expect=404)
    # stats of an instance that is not running: its zeroed row (docker stats); top: 409
    r = call(d, "GET", "/v1/instances/{id}/stats", {"id": "c2"}, expect=200)
    check(r.json()["running"] is False and r.json()["cpu_ns"] == 0, "stats: %r" % r.json())
    call(d, "GET", "/v1/instances/{id}/stats", {"id": "c2"}, "?stream=x", expect=400)
    call(d, "GET", "/v1/instances/{id}/stats", {"id": "nosuch"}, expect=404)
    call(d, "GET", "/v1/instances/{id}/top", {"id": "c2"}, expect=409)
    call(d, "GET", "/v1/instances/{id}/top", {"id": "nosuch"}, expect=404)
    call(d, "POST", "/v1/instances", body={"image": "hello", "ports": [
        {"host_port": 0, "guest_port": 80}]}, expect=400)
    call(d, "DELETE", "/v1/instances/{id}", {"id": "c2"}, expect=204)
    call(d, "DELETE", "/v1/images/{ref}", {"ref": image_id}, expect=409)
    call(d, "DELETE", "/v1/instances/{id}", {"id": "c1"}, "?force=1", expect=204)
    call(d, "DELETE", "/v1/instances/{id}", {"id": "c1"}, expect=404)
    r = call(d, "GET", "/v1/events", query="?since=%f&until=%f" % (t0 - 1, time.time()),
             expect=200)
    actions = [json.loads(l)["action"] for l in r.body.decode().splitlines()]
    for a in ["build", "tag", "create", "start", "die", "destroy"]:
        check(a in actions, "event %s missing: %s" % (a, actions))
    # volumes (no guest needed): create, list, inspect, export/import, rm in use, prune
    vol = {"name": "v1", "options": {"size": "2m"}, "labels": {"a": "b"}}
    call(d, "POST", "/v1/volumes", body=vol, expect=201)
    call(d, "POST", "/v1/volumes", body=vol, expect=200)
    call(d, "POST", "/v1/volumes", body={"name": "v1", "options": {"size": "3m"}}, expect=409)
    call(d, "POST", "/v1/volumes", body={"name": "-bad"}, expect=400)
    call(d, "GET", "/v1/volumes", expect=200)
    call(d, "GET", "/v1/volumes/{id}", {"id": "v1"}, expect=200)
    call(d, "GET", "/v1/volumes/{id}", {"id": "nosuch"}, expect=404)
    call(d, "POST", "/v1/volumes/{id}/import", {"id": "v1"}, body=tar_dir(HELLO), headers=tar,
         expect=204)
    call(d, "POST", "/v1/volumes/{id}/import", {"id": "v1"}, body=b"x" * 512, headers=tar,
         expect=400)
    call(d, "GET", "/v1/volumes/{id}/export", {"id": "v1"}, expect=200)
    call(d, "POST", "/v1/instances", body={"image": "hello", "name": "c3", "mounts": [
        {"type": "volume", "source": "v1", "target": "/data"}]}, expect=201)
    call(d, "DELETE", "/v1/volumes/{id}", {"id": "v1"}, expect=409)
    call(d, "DELETE", "/v1/instances/{id}", {"id": "c3"}, expect=204)
    call(d, "POST", "/v1/volumes/prune", expect=200)
    # prunes and df (the image stays: c1/c2 may still use it; the shapes are what is checked)
    call(d, "GET", "/v1/system/df", expect=200)
    call(d, "POST", "/v1/instances/prune", query="?filters=%7B%22label%22%3A%5B%22none%3D1%22%5D%7D",
         expect=200)
    call(d, "POST", "/v1/instances/prune", query="?filters=%7B%22x%22%3A%5B%5D%7D", expect=400)
    call(d, "POST", "/v1/images/prune", expect=200)
    call(d, "POST", "/v1/images/prune", query="?all=2", expect=400)
    call(d, "DELETE", "/v1/volumes/{id}", {"id": "v1"}, expect=404)
    r = call(d, "DELETE", "/v1/images/{ref}", {"ref": image_id}, expect=200)
    check({"deleted": image_id} in r.json(), "rmi by id: %r" % r)
    # networks: what needs no bridge (test_network.py makes them, in a namespace of its own)
    call(d, "GET", "/v1/networks", expect=200)
    call(d, "GET", "/v1/networks/{id}", {"id": "nosuch"}, expect=404)
    call(d, "DELETE", "/v1/networks/{id}", {"id": "nosuch"}, expect=404)
    call(d, "POST", "/v1/networks", body={"name": "../x"}, expect=400)
    call(d, "POST", "/v1/networks/prune")
    call(d, "POST", "/v1/networks/{id}/connect", {"id": "nosuch"}, body={"instance": "x"},
         expect=404)
    call(d, "POST", "/v1/networks/{id}/disconnect", {"id": "nosuch"}, body={}, expect=400)
    check(done >= ops, "operations not exercised: %s" % sorted(ops - done))


if require_qemu() is None:
    run(main)
