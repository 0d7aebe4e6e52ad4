"""Load: stalled clients cannot block others and are dropped after the idle timeout, which
spares long waits and quiet streams; connection limits hold; wrk mixed reads give zero errors
with bounded memory; 50 concurrent `uk run -d` each succeed or fail cleanly."""
import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from ukdtest import (HERE, Daemon, check, descendants, fail, free_port, require_qemu, run,
                     skip, skip_under_asan, tcp_get)

GUEST = os.path.join(HERE, "guest")
TIMEOUT_S = 3     # http-limits.timeout-s of the daemon under test
PER_IP = 120      # http-limits.max-connections-per-ip
STALLED = 50
RUNS = 50


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("no VmRSS for pid %d" % pid)


def get_status(port, path):
    data = tcp_get(port, path)
    check(data.startswith(b"HTTP/1.1 "), "GET %s: no HTTP reply: %r" % (path, data[:200]))
    return int(data.split()[1])


def answers_quickly(d, port, what):
    """Normal requests on both listeners still answer (the client timeout is the bound)."""
    d.ping()
    status = get_status(port, "/v1/instances?all=1")
    check(status == 200, "%s: GET /v1/instances over TCP gave %d" % (what, status))


def stalled_clients(d, port):
    """Half-sent requests and a client that never reads: others are still served, and the
    stalled connections are dropped after the idle timeout."""
    half = []
    for i in range(STALLED):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /v1/instances HTTP/1.1\r\nHost: x\r\nX-Slow: " if i % 2 else
                  b"POST /v1/instances HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        half.append(s)
    # A client that pipelines many requests and never reads the replies.
    greedy = socket.create_connection(("127.0.0.1", port), timeout=30)
    greedy.setblocking(False)
    req = b"GET /v1/instances?all=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        for _ in range(20000):
            greedy.send(req)
    except BlockingIOError:
        pass  # its buffers are full: the server is blocked writing to it
    answers_quickly(d, port, "with %d stalled clients and one that never reads" % STALLED)
    # Each stalled connection must be closed by the server after TIMEOUT_S of silence.
    deadline = time.time() + TIMEOUT_S + 20
    for s in half:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            data = s.recv(4096)
        except socket.timeout:
            fail("a stalled connection was still open %d s after the %d s idle timeout" %
                 (TIMEOUT_S + 20, TIMEOUT_S))
        except ConnectionResetError:
            data = b""
        check(data == b"" or data.startswith(b"HTTP/1.1 4"),
              "stalled connection got %r" % data[:100])
        s.close()
    greedy.close()
    answers_quickly(d, port, "after the stalled clients")


def long_requests(d, port):
    """The idle timeout is the client's silence, not ours: a wait that blocks longer than it
    and an event stream quiet for longer than it both still deliver."""
    events = socket.create_connection(("127.0.0.1", port), timeout=60)
    events.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
    iid = d.create(image="uktest", name="slow", cmd=["sleep", str((TIMEOUT_S + 3) * 1000), "7"])
    first = events.recv(65536)
    check(b" 200 " in first.split(b"\r\n")[0], "events: %r" % first[:200])
    time.sleep(TIMEOUT_S + 2)  # the stream is quiet longer than the idle timeout
    d.post("/v1/instances/%s/start" % iid)
    got = b""
    while b'"start"' not in got:
        chunk = events.recv(65536)
        check(chunk, "the event stream was closed after %d quiet seconds: %r" % (TIMEOUT_S + 2,
                                                                                 got[-300:]))
        got += chunk
    events.close()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall(("POST /v1/instances/%s/wait HTTP/1.1\r\nHost: x\r\n"
                   "Content-Length: 0\r\nConnection: close\r\n\r\n" % iid).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    check(b" 200 " in data.split(b"\r\n")[0] and b'"status_code":7' in data,
          "a wait longer than the idle timeout: %r" % data[:300])
    r = d.req("DELETE", "/v1/instances/" + iid)
    check(r.status == 204, "rm slow: %r" % r)


def connection_limit(d, port):
    """Past max-connections-per-ip the server refuses (closes) new connections; the others
    keep working and the limit frees up once they go."""
    conns, refused = [], 0
    for _ in range(PER_IP + 30):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        conns.append(s)
    time.sleep(0.5)
    for s in conns:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                refused += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            refused += 1
    check(refused >= 30 - 2, "%d connections over a per-IP limit of %d: only %d refused" %
          (PER_IP + 30, PER_IP, refused))
    for s in conns:
        s.close()
    time.sleep(0.5)
    answers_quickly(d, port, "after the per-IP limit was reached and released")


WRK_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def wrk_mixed(d, port, ids):
    paths = ["/v1/instances", "/v1/instances?all=1", "/v1/_ping", "/v1/version", "/v1/images"]
    paths += ["/v1/instances/" + i for i in ids] + ["/v1/instances/load%d" % n for n in
                                                    range(len(ids))]
    script = os.path.join(d.root, "mixed.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA % ", ".join('"%s"' % p for p in paths))
    url = "http://127.0.0.1:%d" % port

    def wrk(seconds):
        r = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % seconds, "--timeout", "5s",
                            "-s", script, url], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "wrk failed: %s %s" % (r.stdout, r.stderr))
        return r.stdout
    wrk(1)  # warm the caches and thread stacks
    before = rss_kb(d.proc.pid)
    out = wrk(10)
    after = rss_kb(d.proc.pid)
    print(out)
    total = re.search(r"(\d+) requests in", out)
    check(total and int(total.group(1)) > 0, "wrk made no requests: %s" % out)
    check("Non-2xx" not in out, "wrk saw non-2xx replies: %s" % out)
    check("Socket errors" not in out, "wrk saw socket errors: %s" % out)
    print("ukd RSS before %d kB, after %d kB" % (before, after))
    check(after < 2 * before + 20 * 1024,
          "ukd RSS grew from %d kB to %d kB over 10 s of reads (leak?)" % (before, after))


def qemus(d):
    """Guests' QEMUs under ukd (named guest=uk-...; not libvirt's capability probes)."""
    out = []
    for pid in descendants(d.proc.pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"guest=uk-" in f.read():
                    out.append(pid)
        except OSError:
            pass  # gone meanwhile
    return out


def concurrent_runs(d, uk):
    """50 concurrent `uk run -d`: each succeeds or fails with a message; none hangs."""
    env = dict(os.environ, UK_HOST="unix://" + d.sock)
    results = [None] * RUNS

    def one(i):
        try:
            r = subprocess.run([uk, "run", "-d", "--name", "run%d" % i, "uktest", "exit",
                                str(i % 7)], capture_output=True, text=True, timeout=600,
                               env=env)
            results[i] = (r.returncode, r.stdout.strip(), r.stderr.strip())
        except subprocess.TimeoutExpired:
            results[i] = ("hung", "", "")
    threads = [threading.Thread(target=one, args=(i,)) for i in range(RUNS)]
    for t in threads:
        t.start()
    d.ping()  # the daemon answers while 50 starts are in flight
    for t in threads:
        t.join(700)
    ok = 0
    for i, (rc, out, errtext) in enumerate(results):
        check(rc != "hung", "uk run run%d hung" % i)
        if rc == 0:
            check(re.fullmatch(r"[0-9a-f]{64}", out), "run%d: printed %r" % (i, out))
            ok += 1
        else:
            check(rc == 125 and errtext, "run%d: exit %s without a clear error (%r)" %
                  (i, rc, errtext))
            print("run%d failed cleanly: %s" % (i, errtext))
    print("%d of %d concurrent runs started" % (ok, RUNS))
    check(ok > 0, "no concurrent run succeeded")
    for i, (rc, _, _) in enumerate(results):
        if rc == 0:
            check(d.wait("run%d" % i) == i % 7, "run%d exit code" % i)
    for inst in d.req("GET", "/v1/instances?all=1").json():
        r = d.req("DELETE", "/v1/instances/%s?force=1" % inst["id"])
        check(r.status == 204, "rm %s: %r" % (inst["id"], r))
    left = d.req("GET", "/v1/info").json()
    check(left["instances"] == 0 and left["running"] == 0, "not cleaned up: %s" % left)
    check(not qemus(d), "QEMU processes left after every instance was removed: %s" % qemus(d))
    d.ping()


def wrk_phase(ukd):
    """wrk against a daemon with the default http-limits. The daemon under test above has a 3 s
    idle timeout (to test it quickly) and a small per-IP limit, both just exercised: a wrk
    thread starved for 3 s on a loaded 2-core machine would rightly be dropped as idle there,
    and that is not what this phase asserts (seen once in a -j3 run)."""
    port = free_port()
    d2 = Daemon(ukd, ["--host", "tcp://127.0.0.1:%d" % port])
    ok = False
    try:
        d2.build_ok(GUEST, "uktest")
        ids = [d2.create(image="uktest", name="load%d" % i) for i in range(20)]
        wrk_mixed(d2, port, ids)
        ok = True
    finally:
        d2.stop(ok)


def main(d):
    port = int(d.tcp.rsplit(":", 1)[1])
    d.build_ok(GUEST, "uktest")
    stalled_clients(d, port)
    long_requests(d, port)
    connection_limit(d, port)
    wrk_phase(d.ukd)
    concurrent_runs(d, sys.argv[2])


if len(sys.argv) < 3:
    sys.exit("usage: %s PATH/TO/ukd PATH/TO/uk" % sys.argv[0])
if not shutil.which("wrk"):
    skip("wrk is not installed (deploy/install-deps.sh installs it)")
if require_qemu() is None:
    skip_under_asan(sys.argv[1], "50 concurrent starts")
    CFG = tempfile.mkdtemp(prefix="ukt-load-")
    atexit.register(shutil.rmtree, CFG, True)
    with open(os.path.join(CFG, "daemon.json"), "w") as f:
        json.dump({"http-limits": {"timeout-s": TIMEOUT_S, "max-connections-per-ip": PER_IP}}, f)
    TCP = "tcp://127.0.0.1:%d" % free_port()
    Daemon.tcp = TCP
    run(main, ["--config", os.path.join(CFG, "daemon.json"), "--host", TCP])
