"""Bad input gets honest statuses and changes nothing: 400/404/405/409/413, daemon still healthy:
env beyond what a guest holds or with bad names, memory beyond the host's, a name that is another
instance's id."""
import json
import os
import re
import urllib.parse

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


def expect_raw(d, data, status, code, body_chunks=()):
    """A request sent byte for byte; the reply must be (status) in the JSON error shape."""
    r = d.raw(data, body_chunks=body_chunks)
    check(r.status == status and r.headers.get("Content-Type") == "application/json",
          "%r...: expected %d as JSON, got %r" % (data[:80], status, r))
    e = json.loads(r.body)
    check(e.get("code") == code and e.get("message"), "%r...: error shape %r" % (data[:80], e))
    return e


HTTP = b" HTTP/1.1\r\nHost: ukd\r\nConnection: close\r\n"
FORGED = "2026-01-01T00:00:00.000Z error main: FORGED"


def hostile_requests(d):
    """Issue 10, defects 6 and 8: requests made to forge ukd's log or to slip past its parsing."""
    # %00 cut the path short (a%00b named instance a): 400, and a is not touched.
    a = d.create(image="hello", name="a")
    e = expect_raw(d, b"POST /v1/instances/a%00b/start" + HTTP + b"\r\n", 400, "bad_request")
    check("NUL" in e["message"], "NUL: %s" % e)
    expect_raw(d, b"GET /v1/instances?all=1%00" + HTTP + b"\r\n", 400, "bad_request")
    check(d.inspect(a)["state"]["status"] == "created", "a%%00b touched a: %s" % d.inspect(a)["state"])
    # Control characters in the path (a forged log line, an ANSI escape): 400; in a query value
    # they reach a handler's error, logged escaped.
    inject = urllib.parse.quote("\n" + FORGED, safe="").encode()
    expect_raw(d, b"GET /v1/instances/a" + inject + HTTP + b"\r\n", 400, "bad_request")
    expect_raw(d, b"DELETE /v1/images/x%1b[31mred" + HTTP + b"\r\n", 400, "bad_request")
    expect_raw(d, b"POST /v1/images/hello/tag?repo=x" + inject + b"%1b[31m" + HTTP + b"\r\n",
               400, "bad_request")
    d.logf.flush()
    with open(d.log, "rb") as f:
        log = f.read()
    lines = log.decode("utf-8", "replace").splitlines()
    bad = [l for l in lines if not re.match(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d", l)]
    check(not bad, "ukd's log has lines that are not its own: %r" % bad[:3])
    check(not any(l.startswith(FORGED) for l in lines), "forged log line: %s" % FORGED)
    check(b"\x1b" not in log, "an ANSI escape reached ukd's log raw")
    check(b"x\\n" + FORGED.encode() + b"\\x1b[31m" in log,
          "the query's injection is not in the log as escapes")
    # \u0000 in JSON: json-c decodes it and C reads "hello" (the image) or "name" (the key).
    before = d.req("GET", "/v1/instances?all=1").json()
    for body in [b'{"image": "hello\\u0000junk"}', b'{"image": "hello", "name\\u0000x": "k"}',
                 b'{"image": "hello", "env": ["A=\\u0000"]}']:
        e = expect(d, "POST", "/v1/instances", 400, "bad_request", body=body,
                   headers={"Content-Type": "application/json"})
        check("\\u0000" in e["message"], "%s: %s" % (body, e))
    check(d.req("GET", "/v1/instances?all=1").json() == before, "a \\u0000 body created something")
    # Image names outside Docker's grammar: 400 on build -t, tag, pull, push, run.
    for name in ["a..b", "UPPER", "name:ta:g", "name:..", "name/", "name:" + "t" * 256]:
        q = urllib.parse.quote(name, safe="")
        repo, _, tag = name.rpartition(":") if ":" in name else (name, "", "")
        for m, path, body, hdrs in [
                ("POST", "/v1/images/build?t=" + q, b"x" * 10,
                 {"Content-Type": "application/x-tar"}),
                ("POST", "/v1/images/hello/tag?repo=%s&tag=%s" % (
                    urllib.parse.quote(repo, safe=""), urllib.parse.quote(tag, safe="")), None,
                 None),
                ("POST", "/v1/images/pull?ref=" + q, None, None),
                ("POST", "/v1/instances", {"image": name}, None)] + (
                [("POST", "/v1/images/%s/push?tag=%s" % (
                    urllib.parse.quote(repo, safe="/"), urllib.parse.quote(tag, safe="")),
                  None, None)] if repo != "name/" else []):
            e = expect(d, m, path, 400, "bad_request", body=body, headers=hdrs)
            check("reference" in e["message"], "%s %s: %s" % (m, path, e))
    check(d.req("GET", "/v1/instances?all=1").json() == before, "a bad name created something")
    # An error quoting bytes that are not UTF-8 is still JSON (expect() decodes it).
    expect(d, "POST", "/v1/images/pull?ref=a%ff%c3", 400, "bad_request")
    # Bodies are limited before they are read: refused on the headers alone (no body sent).
    e = expect_raw(d, b"POST /v1/instances/a/start" + HTTP + b"Content-Length: 10485760\r\n\r\n",
                   413, "too_large")
    check("no request body" in e["message"], "start with a body: %s" % e)
    expect_raw(d, b"POST /v1/instances/a/start" + HTTP + b"Content-Length: 10485760\r\n\r\n",
               413, "too_large", body_chunks=[b"x" * 65536] * 160)
    expect_raw(d, b"POST /v1/instances" + HTTP + b"Content-Type: application/json\r\n"
               b"Content-Length: 99999999999\r\n\r\n", 413, "too_large")
    check(d.inspect(a)["state"]["status"] == "created", "a body on start touched a")
    # The unread body of a request refused early is never taken for the next request.
    inner = b"POST /v1/instances/a/start HTTP/1.1\r\nHost: ukd\r\n\r\n"
    for line in [b"DELETE /v1/nope", b"GET /v1/instances/a%00b", b"PATCH /v1/info"]:
        r = d.raw(line + b" HTTP/1.1\r\nHost: ukd\r\nContent-Length: %d\r\n\r\n" % len(inner) +
                  inner)
        check(r.status in (400, 404, 405) and b"HTTP/1.1" not in r.body,
              "%s: a second reply from its body: %r" % (line, r))
    check(d.inspect(a)["state"]["status"] == "created", "a smuggled start touched a")
    # Oversized request lines and headers: the JSON error shape too.
    expect_raw(d, b"GET /v1/_ping" + HTTP + b"X-Big: " + b"b" * 20000 + b"\r\n\r\n", 431,
               "too_large")
    expect_raw(d, b"GET /v1/_ping" + HTTP + b"".join(b"X-%d: v\r\n" % i for i in range(300)) +
               b"\r\n", 431, "too_large")
    expect_raw(d, b"GET /v1/instances?all=1&x=" + b"q" * 10000 + HTTP + b"\r\n", 414, "too_large")
    expect_raw(d, b"GET /v1/" + b"p" * 5000 + HTTP + b"\r\n", 414, "too_large")


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
    hostile_requests(d)


if __name__ == "__main__":
    run(main) if require_qemu() is None else None
