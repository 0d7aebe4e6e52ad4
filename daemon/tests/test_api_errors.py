"""Bad input gets honest statuses and changes nothing: 400/404/405/409/413, daemon still healthy:
env beyond what a guest holds or with bad names, memory beyond the host's, a name that is another
instance's id."""
import json
import os

from ukdtest import SRC, check, require_qemu, run

HELLO = os.path.join(SRC, "images", "examples", "hello")


def expect(d, method, path, status, code, body=None, headers=None):
    r = d.req(method, path, body=body, headers=headers)
    check(r.status == status, "%s %s: expected %d, got %r" % (method, path, status, r))
    e = r.json()
    check(e.get("code") == code and e.get("message"),
          "%s %s: error shape %r (want code %s and a message)" % (method, path, e, code))
    return e


def host_memory():
    with open("/proc/meminfo") as f:
        return int(next(l for l in f if l.startswith("MemTotal:")).split()[1]) * 1024


def create_limits(d):
    """env: at most 64 variables (what a guest holds) and variable names; 50,000 entries are
    refused at once (the quadratic merge took 22 s of CPU). memory beyond the host's: a 400
    naming memory at create, not a 500 at start."""
    e = expect(d, "POST", "/v1/instances", 400, "bad_request",
               body={"image": "hello", "env": ["K%d=v" % i for i in range(50000)]})
    check("at most 64" in e["message"], "50,000 env: %s" % e)
    for kv in ("1A=x", "A B=x", "A-B=x", "=x"):
        e = expect(d, "POST", "/v1/instances", 400, "bad_request",
                   body={"image": "hello", "env": [kv]})
        check("env[0]" in e["message"], "env %r: %s" % (kv, e))
    host = host_memory()
    want = host + (1 << 30)
    if want > 64 << 30:
        print("this host has 63 GiB or more: memory above it is the 64 GiB bound's 400")
        want = 65 << 30
    e = expect(d, "POST", "/v1/instances", 400, "bad_request",
               body={"image": "hello", "memory": want})
    check(e["message"].startswith("memory: "), "memory above the host's: %s" % e)


def main(d):
    # Routes and methods.
    expect(d, "GET", "/v1/nope", 404, "not_found")
    expect(d, "GET", "/v2/_ping", 404, "not_found")
    expect(d, "PUT", "/v1/info", 405, "method_not_allowed")
    expect(d, "DELETE", "/v1/instances", 405, "method_not_allowed")
    # Malformed JSON, wrong types, unknown fields.
    for body in [b"{bad", b"[1,2", b"{} trailing", b"\x00\xff", b"42", b"null", b""]:
        expect(d, "POST", "/v1/instances", 400, "bad_request", body=body,
               headers={"Content-Type": "application/json"})
    expect(d, "POST", "/v1/instances", 400, "bad_request", body={"image": 5})
    expect(d, "POST", "/v1/instances", 400, "bad_request", body={"image": "x", "bogus": 1})
    expect(d, "POST", "/v1/instances", 413, "too_large",
           body=b'{"image":"' + b"a" * (2 << 20) + b'"}',
           headers={"Content-Type": "application/json"})
    # Unknown ids.
    expect(d, "POST", "/v1/instances", 404, "not_found", body={"image": "nosuchimage"})
    for m, p in [("GET", "/v1/instances/deadbeef"), ("POST", "/v1/instances/nosuch/start"),
                 ("POST", "/v1/instances/nosuch/stop"), ("POST", "/v1/instances/nosuch/kill"),
                 ("POST", "/v1/instances/nosuch/wait"), ("GET", "/v1/instances/nosuch/logs"),
                 ("DELETE", "/v1/instances/nosuch"), ("GET", "/v1/images/nosuch"),
                 ("DELETE", "/v1/images/nosuch"), ("GET", "/v1/images/sha256:abcd"),
                 ("POST", "/v1/images/nosuch/tag?repo=x")]:
        expect(d, m, p, 404, "not_found")
    # Bad parameters.
    expect(d, "GET", "/v1/instances?all=maybe", 400, "bad_request")
    expect(d, "GET", "/v1/instances?filters=%7Bbad", 400, "bad_request")
    expect(d, "GET", "/v1/events?since=yesterday", 400, "bad_request")
    expect(d, "POST", "/v1/images/build?t=Bad%20Name", 400, "bad_request", body=b"x" * 10,
           headers={"Content-Type": "application/x-tar"})
    expect(d, "POST", "/v1/images/build?t=ok", 400, "bad_request", body=b"",
           headers={"Content-Type": "application/x-tar"})
    # A build context that is not a tar: refused before the compile; no image appears.
    expect(d, "POST", "/v1/images/build?t=junk", 400, "bad_request", body=b"not a tar" * 100,
           headers={"Content-Type": "application/x-tar"})
    check(d.req("GET", "/v1/images").json() == [], "a failed build left an image")
    # Duplicate names (needs an image: build hello).
    d.build_ok(HELLO, "hello")
    d.create(image="hello", name="dup")
    expect(d, "POST", "/v1/instances", 409, "conflict", body={"image": "hello", "name": "dup"})
    expect(d, "POST", "/v1/instances", 400, "bad_request", body={"image": "hello", "name": "-x"})
    expect(d, "POST", "/v1/instances", 400, "bad_request",
           body={"image": "hello", "restart_policy": {"name": "sometimes"}})
    expect(d, "POST", "/v1/instances", 400, "bad_request", body={"image": "hello", "memory": 5})
    expect(d, "POST", "/v1/instances", 400, "bad_request", body={"image": "hello", "env": ["NOEQ"]})
    expect(d, "POST", "/v1/instances/dup/kill", 409, "conflict")
    create_limits(d)
    lst = d.req("GET", "/v1/instances?all=1").json()
    check(len(lst) == 1 and lst[0]["names"] == ["dup"], "bad input changed state: %s" % lst)
    # A name that is another instance's short or full id would shadow it: refused.
    dup = d.inspect("dup")["id"]
    for name in (dup[:12], dup[:20]):
        e = expect(d, "POST", "/v1/instances", 409, "conflict", body={"image": "hello", "name": name})
        check("is the id of instance dup" in e["message"], "name = an id: %s" % e)
    e = expect(d, "POST", "/v1/instances", 400, "bad_request", body={"image": "hello", "name": dup})
    check("instance id" in e["message"], "name = a full id: %s" % e)
    check(d.inspect(dup[:12])["name"] == "dup", "short id no longer resolves to dup")
    # Ambiguous id prefix (20 ids over 16 first digits: some digit repeats) → 409.
    ids = [d.create(image="hello") for _ in range(20)]
    firsts = [i[0] for i in ids]
    dupe = next(c for c in firsts if firsts.count(c) > 1)
    expect(d, "GET", "/v1/instances/" + dupe, 409, "conflict")
    uniq = ids[0][:12]
    check(d.inspect(uniq)["id"] == ids[0], "unique prefix lookup failed")
    # Events of all this, as JSON lines, ending at until.
    import time
    r = d.req("GET", "/v1/events?since=0&until=%f" % time.time())
    ev = r.lines()
    check(r.status == 200 and any(e["action"] == "create" for e in ev), "events: %r" % r)
    check(all({"type", "action", "id", "name", "time", "time_nano", "attributes"} <= set(e)
              for e in ev), "event shape: %s" % ev[:2])


run(main) if require_qemu() is None else None
