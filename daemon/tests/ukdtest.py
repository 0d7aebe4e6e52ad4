"""Helpers for ukd's integration tests: a real ukd on a temp root and socket, HTTP over it."""
import http.client
import io
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def wait_until(pred, timeout, what):
    """pred()'s first true value, polled every 50 ms; fails the test after (timeout) s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    fail("%s: not within %d s" % (what, timeout))


def require_qemu():
    if not shutil.which("qemu-system-x86_64"):
        skip("qemu-system-x86_64 is not installed: cannot run guests on this machine")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("libvirt-qemu")
        except KeyError:
            skip("libvirt's QEMU driver as root needs the user libvirt-qemu "
                 "(deploy/install-deps.sh creates it)")


def skip_under_asan(ukd, why):
    """libvirt forks from a multi-threaded process and mallocs in the child before exec; glibc's
    malloc is fork-safe, ASan's allocator is not: the child can deadlock (seen here)."""
    with open(ukd, "rb") as f:
        if b"__asan_init" in f.read():
            skip("ukd is built with ASan, whose allocator deadlocks in libvirt's fork children "
                 "under %s: run this test on a build without UK_SANITIZE" % why)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def lines(self):
        return [json.loads(l) for l in self.body.decode().splitlines() if l.strip()]

    def __repr__(self):
        return "%d %s" % (self.status, self.body[:500])


# libvirt probes QEMU once per root (seconds to minutes here, where /dev/kvm is PVM) and caches
# the result under ROOT/libvirt/cache/qemu/capabilities; the tests share one copy of it. libvirt
# checks each cached file against the QEMU binary and itself and probes again if stale.
CAPCACHE = "/tmp/ukt-qemu-capabilities"
CAPSUB = os.path.join("libvirt", "cache", "qemu", "capabilities")


def capcache_seed(root):
    if os.path.isdir(CAPCACHE):
        shutil.copytree(CAPCACHE, os.path.join(root, CAPSUB))


def capcache_same(src):
    """Does the shared copy hold exactly the files of (src)?"""
    try:
        names = sorted(os.listdir(CAPCACHE))
        if names != sorted(os.listdir(src)):
            return False
        for n in names:
            with open(os.path.join(CAPCACHE, n), "rb") as a, open(os.path.join(src, n), "rb") as b:
                if a.read() != b.read():
                    return False
    except OSError:
        return False
    return True


def capcache_save(root):
    """Shares the root's capabilities when they differ from the shared copy: the first test's
    probe, or a new one because libvirt found the shared copy stale (else every later root would
    be seeded with the stale copy and probe again: 80 s each, seen here)."""
    src = os.path.join(root, CAPSUB)
    if not os.path.isdir(src) or not os.listdir(src) or capcache_same(src):
        return
    tmp = tempfile.mkdtemp(prefix="ukt-capcache-", dir="/tmp")
    shutil.copytree(src, os.path.join(tmp, "c"))
    try:
        os.rename(CAPCACHE, os.path.join(tmp, "old"))
    except OSError:
        pass  # none yet, or another test replaced it first
    try:
        os.rename(os.path.join(tmp, "c"), CAPCACHE)
    except OSError:
        pass  # another test saved it first
    shutil.rmtree(tmp, ignore_errors=True)


def qemu_pids(match):
    """Pids of the QEMU processes whose command line contains (match), e.g. "guest=uk-..." for
    one guest or a test root for all the guests of a test daemon."""
    pids = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % e, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if cmd.startswith(b"qemu-system") or b"/qemu-system" in cmd.split(b"\0")[0]:
            if match.encode() in cmd:
                pids.append(int(e))
    return pids


def root_qemus(root):
    """The guests of the test daemon on (root)."""
    return qemu_pids(root.rstrip("/") + "/")


def kill_qemus(root):
    """Guests outlive ukd (live restore): a test's teardown kills those of its root. Returns
    how many there were."""
    pids = root_qemus(root)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    while root_qemus(root) and time.time() < deadline:
        time.sleep(0.05)
    return len(pids)


# UK_TEST_BACKEND=qemu runs the integration tests against ukd's qemu backend (CTest's
# ukd_qemu_* pass); unset or libvirt: the default backend.
BACKEND = os.environ.get("UK_TEST_BACKEND", "libvirt")


def backend_args():
    return ["--backend", BACKEND] if BACKEND != "libvirt" else []


def require_libvirt(why):
    """Skips a test that is about libvirt itself when the pass is another backend's."""
    if BACKEND != "libvirt":
        skip("%s: libvirt only (this pass runs the %s backend)" % (why, BACKEND))


class Daemon:
    """A ukd on a fresh temp root (short path: libvirt puts sockets under it). Test daemons run
    with live restore off, so a SIGTERM stops their guests, unless (live_restore)."""

    def __init__(self, ukd, args=(), live_restore=False, root=None, env=None, capcache=True):
        """(env): extra environment; (capcache) False: a fresh root that probes QEMU itself,
        neither seeded from nor saved to the shared copies (UKD_CAPS_CACHE empty)."""
        self.ukd = ukd
        self.args = list(args)
        if not live_restore:
            self.args.append("--live-restore=false")
        self.env = dict(os.environ, **(env or {}))
        self.capcache = capcache
        if not capcache:
            self.env["UKD_CAPS_CACHE"] = ""
        self.root = root or tempfile.mkdtemp(prefix="ukt-", dir="/tmp")
        if capcache:
            capcache_seed(self.root)
        self.sock = os.path.join(self.root, "ukd.sock")
        self.log = os.path.join(self.root, "ukd.log")
        self.logf = open(self.log, "w")
        self.start()

    def start(self):
        """Starts ukd on this root (again) and waits until it answers."""
        if self.logf.closed:
            self.logf = open(self.log, "a")
        self.proc = subprocess.Popen(
            [self.ukd, "--root", self.root, "--host", "unix://" + self.sock,
             "--accelerator", "tcg", "--log-level", "debug", *backend_args(), *self.args],
            stdout=self.logf, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.dump_log()
                fail("ukd exited with %d at startup" % self.proc.returncode)
            try:
                if self.req("GET", "/v1/_ping", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.dump_log()
        fail("ukd did not answer _ping within 120 s")

    def req(self, method, path, body=None, headers=None, timeout=300):
        c = UnixHTTPConnection(self.sock, timeout)
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        try:
            try:
                c.request(method, path, body=body, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused on its headers (413) before the body was read: read the reply
            r = c.getresponse()
            return Response(r.status, dict(r.getheaders()), r.read())
        finally:
            c.close()

    def raw(self, data, timeout=30, body_chunks=()):
        """Sends (data) as it is (bytes curl and http.client would not send), then
        (body_chunks), and returns the reply (a Response; status 0 when the daemon closed the
        connection without one). A daemon that stops reading mid-body is not an error here."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        out = b""
        try:
            try:
                s.sendall(data)
                for c in body_chunks:
                    s.sendall(c)
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    out += c
            except ConnectionResetError:
                pass
        finally:
            s.close()
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1]) if out else 0
        hdrs = dict(l.split(": ", 1) for l in lines[1:] if ": " in l)
        return Response(status, hdrs, body)

    def ping(self):
        r = self.req("GET", "/v1/_ping", timeout=10)
        check(r.status == 200 and r.body == b"OK", "daemon unhealthy: _ping gave %r" % r)

    def build(self, ctx_dir, tag):
        r = self.req("POST", "/v1/images/build?t=" + tag, body=tar_dir(ctx_dir),
                     headers={"Content-Type": "application/x-tar"})
        check(r.status == 200, "build %s: %r" % (tag, r))
        return r.lines()

    def build_ok(self, ctx_dir, tag):
        lines = self.build(ctx_dir, tag)
        last = lines[-1] if lines else {}
        check("aux" in last, "build %s failed: %s" % (tag, lines))
        return last["aux"]["id"]

    def create(self, **cfg):
        r = self.req("POST", "/v1/instances", body=cfg)
        check(r.status == 201, "create %s: %r" % (cfg, r))
        return r.json()["id"]

    def inspect(self, ref):
        r = self.req("GET", "/v1/instances/" + ref)
        check(r.status == 200, "inspect %s: %r" % (ref, r))
        return r.json()

    def post(self, path, expect=(204,)):
        r = self.req("POST", path)
        check(r.status in expect, "POST %s: expected %s, got %r" % (path, expect, r))
        return r

    def wait(self, ref):
        r = self.req("POST", "/v1/instances/%s/wait" % ref)
        check(r.status == 200, "wait %s: %r" % (ref, r))
        return r.json()["status_code"]

    def logs(self, ref, query=""):
        r = self.req("GET", "/v1/instances/%s/logs%s" % (ref, query))
        check(r.status == 200, "logs %s: %r" % (ref, r))
        return r.body.decode(errors="replace")

    def dump_log(self):
        self.logf.flush()
        with open(self.log) as f:
            sys.stderr.write("---- ukd log (%s) ----\n%s\n" % (self.log, f.read()[-20000:]))

    def stop(self, ok=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                ok = False
                sys.stderr.write("ukd did not stop within 120 s of SIGTERM\n")
        leaked = kill_qemus(self.root)
        if leaked and ok:
            sys.stderr.write("teardown: killed %d QEMU left running on %s\n" % (leaked, self.root))
        if not ok:
            self.dump_log()
        self.logf.close()
        if self.capcache:
            capcache_save(self.root)
        if ok and not os.environ.get("UKT_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)
        return ok


def free_port():
    """A port free now, below Linux's ephemeral range (32768-60999 by default): a port the
    kernel handed out (bind to 0) may be handed out again as some client's source port before
    QEMU binds it, which would make the test fail with a real 409."""
    rng = random.Random()
    for _ in range(200):
        p = rng.randrange(20000, 32000)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", p))
            s.listen(1)
            return p
        except OSError:
            continue
        finally:
            s.close()
    fail("no free port in 20000-32000")


def uk_cli(uk, d, *args, timeout=120):
    """Runs the CLI (uk) against daemon (d); the result has .out and .err as text."""
    env = dict(os.environ, UK_HOST="unix://" + d.sock, LC_ALL="C.UTF-8")
    p = subprocess.run([uk, *args], capture_output=True, env=env, timeout=timeout)
    p.out, p.err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    return p


def tar_dir(path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name in sorted(os.listdir(path)):
            t.add(os.path.join(path, name), arcname=name)
    return buf.getvalue()


def tcp_get(port, path, timeout=10):
    """One GET on a fresh loopback TCP connection; returns the raw reply bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def publish_load(port, get, seconds):
    """A published port under load (issue 12): 200 GETs at once on fresh connections, each
    answered (get(port, timeout=) returns the status line, or "error: ..."), then `wrk -c50`
    for (seconds) with no socket error and requests counted (when wrk is installed)."""
    answers, threads = [], []
    for _ in range(200):
        t = threading.Thread(target=lambda: answers.append(get(port, timeout=60)))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    bad = [a for a in answers if not a.startswith("HTTP/1.")]
    check(len(answers) == 200 and not bad,
          "%d of 200 simultaneous connects failed: %s" % (200 - len(answers) + len(bad), bad[:3]))
    if shutil.which("wrk"):
        w = subprocess.run(["wrk", "-c50", "-t2", "-d%ds" % seconds, "http://127.0.0.1:%d/" % port],
                           capture_output=True, text=True, timeout=120 + seconds)
        check(w.returncode == 0 and "Socket errors" not in w.stdout and
              " requests in " in w.stdout, "wrk: %s" % w.stdout)
        print(w.stdout)
    else:
        print("publish_load: wrk not installed: only the 200 simultaneous GETs checked")


def alive(pid):
    """Process (pid) exists and is neither a zombie nor dead (its /proc state)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def zombie_children(pid):
    """The zombie children of process (pid), as (pid, comm) pairs (any of its threads')."""
    out = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue  # the thread is gone
        for k in kids:
            try:
                with open("/proc/%d/stat" % k) as f:
                    st = f.read()
            except OSError:
                continue
            comm, rest = st.split("(", 1)[1].rsplit(")", 1)
            if rest.split()[0] == "Z":
                out.append((k, comm))
    return out


def descendants(ancestor):
    """Pids of the live processes below (ancestor) (builds' compilers, guests' QEMUs)."""
    def parent(pid):
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    out = []
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            p = pid
            while p > 1 and p != ancestor:
                p = parent(p)
            if p == ancestor and pid != ancestor:
                out.append(pid)
        except (OSError, IndexError, ValueError):
            pass  # gone meanwhile
    return out


def phase(body, args=(), make=None, before_stop=None, after_stop=None, ping=True, **daemon_kw):
    """One phase on its own daemon: body(d) against a fresh ukd (make(), else Daemon(sys.argv[1],
    (args) or what (args) returns when it is a function, **daemon_kw)), then d.ping() unless
    (ping) is False (a phase that ends with ukd stopped); the daemon is stopped whatever happens
    (its log dumped unless the phase passed), with before_stop(d, ok) and after_stop(d, ok)
    around the stop. True when the phase passed and ukd stopped cleanly; a failed check
    propagates."""
    d, ok = None, False
    try:
        d = make() if make else Daemon(sys.argv[1], args() if callable(args) else args,
                                       **daemon_kw)
        body(d)
        if ping:
            d.ping()
        ok = True
    finally:
        if d and before_stop:
            before_stop(d, ok)
        if d and not d.stop(ok):
            ok = False
        if after_stop:  # also when the daemon did not start: (d) is None then
            after_stop(d, ok)
    return ok


def run_phases(phases, setup=None, label=""):
    """The tail every test ends with: setup() first (its skip() exits 77), then each phase in
    order (a function of no arguments that fails by raising, or by returning False as a phase()
    whose daemon did not stop cleanly does), only the UKT_PHASES=name,... ones when set; a
    failure is a "FAIL (label): phase: message" line (any other error: its traceback) and the
    next phase still runs; then PASS or FAILED and the exit status 0 or 1."""
    if len(sys.argv) < 2:
        sys.exit("usage: %s PATH/TO/ukd [PATH/TO/uk]" % sys.argv[0])
    if setup:
        setup()
    only = os.environ.get("UKT_PHASES")
    ok = True
    tag = " (%s)" % label if label else ""
    for ph in phases:
        name = ph.__name__
        if only and name not in only.split(","):
            continue
        try:
            if ph() is False:
                print("FAIL%s: %s: ukd did not stop cleanly (its log above)" % (tag, name))
                ok = False
        except AssertionError as e:
            print("FAIL%s: %s: %s" % (tag, name, e))
            ok = False
        except Exception:  # an unforeseen error fails its phase, named; the others still run
            print("FAIL%s: %s: %s" % (tag, name, traceback.format_exc()))
            ok = False
    print("PASS" if ok else "FAILED")
    sys.exit(0 if ok else 1)


def phased(body, args=(), **kw):
    """A phase for run_phases: body(d) run by phase() with (args) and the keywords, named after
    body."""
    def one():
        return phase(body, args, **kw)
    one.__name__ = body.__name__
    return one


def run(main, args=(), **daemon_kw):
    """Runs main(daemon) against a fresh ukd started with the extra (args), or with what (args)
    returns when it is a function, and Daemon's keywords (live_restore=True, ...); exits 0, 1
    (with the daemon log) or 77."""
    run_phases([phased(main, args, **daemon_kw)])
