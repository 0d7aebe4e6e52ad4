"""SIGTERM ends ukd within the issue's bounds in every state (docs/daemon.md, "Stopping ukd"):
a start libvirt is stuck in (a stub QEMU, found first in ukd's PATH, that never answers its
monitor) with logs -f and events streams open: gone within 5 s, status 0, the start answered 503,
nothing left running; six guests with live restore off, one ignoring the power button: all gone
and ukd exited within 6 s, the five others powered off by themselves (143), the sixth destroyed
after its grace (137); live restore on with a stream open: ukd gone within 5 s, the guest
still running; a build compiling forever: ukd and the compiler gone within 5 s; a second SIGTERM
while guests get their grace: ukd exits at once (UKT_PHASES=phase_a,phase_b runs only those)."""
import hashlib
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

from ukdtest import (CAPCACHE, CAPSUB, HERE, Daemon, alive, check, descendants, fail, phase, phased,
                     require_qemu, root_qemus, run_phases, skip_under_asan, wait_until)

GUEST = os.path.join(HERE, "guest")
REAL_QEMU = shutil.which("qemu-system-x86_64")
# The stub: libvirt's probe of QEMU (-machine none) and the qemu backend's (-version) go to the
# real binary; a guest's QEMU never answers its monitor, so libvirt waits in virDomainCreateXML
# (30 s and more), the qemu backend for QMP.
STUB = """#!/bin/sh
case " $* " in
*" -machine none"*|*" -version "*) exec %s "$@" ;;
esac
while :; do sleep 1; done
"""


def gone_within(d, bound, what):
    """SIGTERMs ukd and waits for it; fails if it did not exit 0 within (bound) s."""
    t0 = time.time()
    d.proc.send_signal(signal.SIGTERM)
    try:
        rc = d.proc.wait(bound + 60)
    except Exception:
        fail("%s: ukd still runs %d s after SIGTERM" % (what, bound + 60))
    took = time.time() - t0
    print("%s: SIGTERM to exit %.2f s" % (what, took))
    check(took <= bound, "%s: ukd took %.2f s to exit after SIGTERM (bound %d s)" %
          (what, took, bound))
    check(rc == 0, "%s: ukd exit status %d" % (what, rc))
    return took


def stream(d, path):
    """An open streaming request (events, logs -f); returns its socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.sock)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    s.settimeout(30)
    head = s.recv(4096)
    check(head.startswith(b"HTTP/1.1 200"), "stream %s: %r" % (path, head[:200]))
    return s


def stream_ended(s, what):
    """Reads (s) to its end: ukd closed it (a stream left open would hang here, not pass)."""
    s.settimeout(10)
    try:
        while s.recv(65536):
            pass
    except socket.timeout:
        fail("%s: stream still open after ukd exited" % what)
    except OSError:
        pass  # reset: closed too
    s.close()


def pids_with(needle):
    out = []
    for e in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % e, "rb") as f:
                if needle.encode() in f.read():
                    out.append(int(e))
        except OSError:
            pass
    return out


def stub_dir():
    """A directory holding the stub as qemu-system-x86_64 (QEMU's user must run it)."""
    sdir = tempfile.mkdtemp(prefix="ukt-stubqemu-", dir="/tmp")
    os.chmod(sdir, 0o755)
    path = os.path.join(sdir, "qemu-system-x86_64")
    with open(path, "w") as f:
        f.write(STUB % REAL_QEMU)
    os.chmod(path, 0o755)
    return sdir, path


def seed_stub_caps(root, stub):
    """libvirt keys its cache of QEMU's capabilities by the binary's path and ctime: a copy of
    the real binary's entry, renamed for the stub, spares a probe (libvirt probes through the
    stub when the copy does not satisfy it: slower, same result)."""
    name = hashlib.sha256(REAL_QEMU.encode()).hexdigest() + ".xml"
    for src in (os.path.join(CAPCACHE, name), "/var/cache/uk/qemu-capabilities/" + name):
        try:
            with open(src) as f:
                x = f.read()
        except OSError:
            continue
        x = x.replace("<emulator>%s</emulator>" % REAL_QEMU, "<emulator>%s</emulator>" % stub)
        x = re.sub(r"<qemuctime>\d+</qemuctime>",
                   "<qemuctime>%d</qemuctime>" % int(os.stat(stub).st_ctime), x)
        dst = os.path.join(root, CAPSUB)
        os.makedirs(dst, exist_ok=True)
        with open(os.path.join(dst, hashlib.sha256(stub.encode()).hexdigest() + ".xml"),
                  "w") as f:
            f.write(x)
        return


def phase_stuck_start():
    """A start stuck in a QEMU that never answers its monitor (a stub): SIGTERM ends ukd within
    5 s, the start answers 503, the streams end, nothing is left running."""
    sdir, stub = stub_dir()

    def make():
        env = dict(os.environ)
        os.environ["PATH"] = sdir + ":" + env.get("PATH", "/usr/bin:/bin")
        os.environ["UKD_CAPS_CACHE"] = ""  # the machine-wide copy must not learn of the stub
        try:
            return Daemon(sys.argv[1])
        finally:
            os.environ.clear()
            os.environ.update(env)

    def body(d):
        seed_stub_caps(d.root, stub)  # read by libvirt at the first start, after this
        d.build_ok(GUEST, "uktest")
        iid = d.create(image="uktest", name="stuck", cmd=["forever"])
        events = stream(d, "/v1/events")
        logs = stream(d, "/v1/instances/stuck/logs?follow=1")
        res = {}

        def start():
            try:
                res["r"] = d.req("POST", "/v1/instances/stuck/start", timeout=120)
            except OSError as e:
                res["r"] = e
        t = threading.Thread(target=start)
        t.start()
        needle = "guest=uk-%s" % iid[:12]  # libvirt adds ",debug-threads=on", ukvmm nothing
        pids = wait_until(lambda: [p for p in pids_with(needle) if stub.encode() in
                                 open("/proc/%d/cmdline" % p, "rb").read()], 120,
                        "the stub QEMU of the start")
        time.sleep(1)  # libvirt is now waiting on the stub's monitor
        check(t.is_alive(), "the start returned: %r" % res.get("r"))
        gone_within(d, 5, "stuck start")
        t.join(10)
        r = res.get("r")
        check(r is not None and not isinstance(r, OSError) and r.status == 503 and
              b"shutting down" in r.body, "the interrupted start's answer: %r" % r)
        stream_ended(events, "events")
        stream_ended(logs, "logs -f")
        time.sleep(0.5)
        left = [p for p in pids + pids_with(needle) if alive(p)]
        check(not left, "left running after ukd exited: %s" % left)
        print("stuck start: ok")

    def before_stop(d, ok):
        # the stub's cache entry stays out of the copy the tests share
        try:
            os.unlink(os.path.join(d.root, CAPSUB, hashlib.sha256(stub.encode()).hexdigest() +
                                   ".xml"))
        except OSError:
            pass
        for p in pids_with(stub):
            os.kill(p, signal.SIGKILL)

    return phase(body, make=make, before_stop=before_stop, ping=False,
                 after_stop=lambda d, ok: shutil.rmtree(sdir, ignore_errors=True))


def start_guests(d, names, cmd):
    for n in names:
        d.create(image="uktest", name=n, cmd=cmd, memory=32 << 20)
        d.post("/v1/instances/%s/start" % n)


def phase_six_guests(d):
    """Live restore off: the six are stopped side by side, the one that ignores the power
    button destroyed after its grace (3 s), all within 6 s."""
    d.build_ok(GUEST, "uktest")
    names = ["g%d" % i for i in range(5)]
    start_guests(d, names, ["forever"])
    start_guests(d, ["deaf"], ["ignore"])
    pids = [d.inspect(n)["state"]["pid"] for n in names + ["deaf"]]
    check(all(p > 0 and alive(p) for p in pids), "QEMU pids %s" % pids)
    # the deaf guest must be past boot, or its power button is not ignored yet
    wait_until(lambda: "tick 1" in d.logs("deaf"), 120, "deaf guest running")
    events = stream(d, "/v1/events")
    logs = stream(d, "/v1/instances/g0/logs?follow=1")
    gone_within(d, 6, "six guests, live restore off")
    left = [p for p in pids if alive(p)] + root_qemus(d.root)
    check(not left, "guests left running after ukd exited: %s" % left)
    stream_ended(events, "events")
    stream_ended(logs, "logs -f")
    d.logf.close()
    d.start()
    for n in names + ["deaf"]:
        st = d.inspect(n)["state"]
        check(st["status"] == "exited", "%s after the restart: %s" % (n, st))
    st = d.inspect("deaf")["state"]
    check(st["exit_code"] == 137 and "shut down" in st["error"],
          "the guest that ignored the power button: %s" % st)
    # the others powered off when asked (their own exit, 143), not destroyed (137)
    codes = [d.inspect(n)["state"]["exit_code"] for n in names]
    check(codes == [143] * len(names), "exit codes of the guests that power off: %s" % codes)
    print("six guests: ok (exit codes %s)" % codes)


def phase_live_restore(d):
    d.build_ok(GUEST, "uktest")
    start_guests(d, ["keeper"], ["forever"])
    pid = d.inspect("keeper")["state"]["pid"]
    logs = stream(d, "/v1/instances/keeper/logs?follow=1")
    events = stream(d, "/v1/events")
    gone_within(d, 5, "live restore on")
    stream_ended(logs, "logs -f")
    stream_ended(events, "events")
    check(alive(pid), "live restore: the guest's QEMU %d died with ukd" % pid)
    print("live restore: ok")


# A compile that never ends (2^40 inclusions): ukd's shutdown must end it, not wait for it.
INCLUDE_BOMB = """#if __INCLUDE_LEVEL__ < 40
#include __FILE__
#include __FILE__
#endif
#if __INCLUDE_LEVEL__ == 0
int main(void) { return 0; }
#endif
"""


def phase_build(d):
    """SIGTERM while a build compiles: ukd gone within 5 s, the compiler with it."""
    with tempfile.TemporaryDirectory(prefix="ukt-ctx-", dir="/tmp") as ctx:
        with open(os.path.join(ctx, "Ukfile"), "w") as f:
            f.write("SOURCES main.c\n")
        with open(os.path.join(ctx, "main.c"), "w") as f:
            f.write(INCLUDE_BOMB)
        res = {}

        def build():
            try:
                res["r"] = d.build(ctx, "bomb")
            except (OSError, AssertionError, ValueError) as e:
                res["r"] = e
        t = threading.Thread(target=build)
        t.start()
        # the compiler runs: a process below ukd that has compiled for a moment
        procs = wait_until(lambda: descendants(d.proc.pid), 60, "the build's compiler")
        time.sleep(1)
        procs = descendants(d.proc.pid) or procs
        gone_within(d, 5, "during a build")
        t.join(10)
        print("the build's client got: %r" % (res.get("r"),))
        time.sleep(0.5)
        left = [p for p in procs if alive(p)]
        check(not left, "build processes left running after ukd exited: %s" % left)
        print("build: ok")


def phase_second_signal(d):
    """A guest that ignores the power button gets 60 s of grace; a second SIGTERM ends ukd at
    once (status 128 + 15), as dockerd's does."""
    d.build_ok(GUEST, "uktest")
    start_guests(d, ["deaf"], ["ignore"])
    wait_until(lambda: "tick 1" in d.logs("deaf"), 120, "deaf guest running")
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(1.5)
    check(d.proc.poll() is None, "ukd exited during the guest's grace")
    t0 = time.time()
    d.proc.send_signal(signal.SIGTERM)
    rc = d.proc.wait(30)
    took = time.time() - t0
    print("second SIGTERM to exit: %.2f s" % took)
    check(took < 2 and rc == 128 + signal.SIGTERM,
          "second SIGTERM: status %d after %.2f s" % (rc, took))
    print("second signal: ok")


def setup():
    require_qemu()
    skip_under_asan(sys.argv[1], "guest starts")


if __name__ == "__main__":
    run_phases([phase_stuck_start, phased(phase_six_guests, ping=False),
                phased(phase_live_restore, live_restore=True, ping=False),
                phased(phase_build, ping=False),
                phased(phase_second_signal, ["--shutdown-timeout", "60"], ping=False)], setup)
