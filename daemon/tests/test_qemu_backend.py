"""ukd's qemu backend (docs/backends.md), what only it has: QEMU missing (ukd --backend qemu
refuses to start, naming the fix); live restore after kill -9 of ukd (the website guest keeps
answering, the restarted ukd re-attaches to the same QEMU, `uk stop` powers it off over QMP and
its exit is recorded); a guest that exits while ukd is down (its own exit status recorded at
restart); `uk run --backend qemu` on a libvirt ukd, re-attached after kill -9 too; QEMU outlives ukd in its own process group, never as root.
usage: test_qemu_backend.py UKD UK"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from ukdtest import (HERE, SRC, check, free_port, phase, phased, qemu_pids, require_qemu,
                     run_phases, skip_under_asan, uk_cli, wait_until)

WEBSITE = os.path.join(SRC, "images", "examples", "website")
GUEST = os.path.join(HERE, "guest")
UK = sys.argv[2] if len(sys.argv) > 2 else None


def answers(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=0.5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


def qemu_missing():
    """No QEMU in PATH: ukd --backend qemu exits at start-up with the fix, never half up."""
    ukd = sys.argv[1]
    root = tempfile.mkdtemp(prefix="ukq-", dir="/tmp")
    empty = tempfile.mkdtemp(prefix="ukq-path-", dir="/tmp")
    try:
        env = dict(os.environ, PATH=empty)
        p = subprocess.run([ukd, "--root", root, "--host", "unix://%s/s.sock" % root,
                            "--backend", "qemu", "--accelerator", "tcg"],
                           capture_output=True, text=True, env=env, timeout=60)
        out = p.stdout + p.stderr
        print("ukd --backend qemu without QEMU: exit %d: %s" % (p.returncode, out.strip()[-300:]))
        check(p.returncode != 0, "ukd started without QEMU")
        check("qemu-system-x86_64" in out and "--backend libvirt" in out,
              "the error does not name QEMU and the way out: %r" % out)
        check(not os.path.exists("%s/s.sock" % root), "ukd left a socket behind")
        # a libvirt ukd opens the qemu backend for the first run that asks: without QEMU that
        # start fails with the same fix, the instance stays created, the daemon answers

        def noqemu(d):
            d.build_ok(GUEST, "uktest")
            d.proc.send_signal(signal.SIGTERM)
            d.proc.wait(60)
            d.env["PATH"] = empty
            d.start()
            d.create(image="uktest", name="noqemu", backend="qemu")
            r = d.req("POST", "/v1/instances/noqemu/start")
            print("uk start --backend qemu without QEMU: %r" % r)
            check(r.status == 503 and "qemu-system-x86_64" in r.json()["message"] and
                  "--backend libvirt" in r.json()["message"], "start without QEMU: %r" % r)
            check(d.inspect("noqemu")["state"]["status"] == "created", "state after")
        check(phase(noqemu), "a qemu run without QEMU")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(empty, ignore_errors=True)


def live_restore(d):
    """kill -9 of ukd: the guest keeps answering; the next ukd re-attaches, stops it, records."""
    port = free_port()
    d.create(image="site", name="web", ports=[{"host_port": port, "guest_port": 80}])
    d.post("/v1/instances/web/start")
    wait_until(lambda: answers(port), 120, "the website answering on %d" % port)
    before = d.inspect("web")
    pid = before["state"]["pid"]
    check(before["domain"]["backend"] == "qemu", "backend: %r" % before["domain"])
    check(pid > 0 and qemu_pids("guest=" + before["domain"]["name"]) == [pid],
          "inspect's pid %d is not the guest's QEMU %r" % (
              pid, qemu_pids("guest=" + before["domain"]["name"])))
    # its own process group (a signal to ukd's group is not QEMU's), never root
    check(os.getpgid(pid) == pid, "QEMU %d is not a process group leader" % pid)
    with open("/proc/%d/status" % pid) as f:
        uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
    if os.geteuid() == 0:
        check("0" not in uids, "QEMU runs as root: Uid %r" % uids)
    d.proc.kill()
    d.proc.wait()
    time.sleep(0.5)
    check(answers(port) == 200, "the guest stopped answering when ukd was killed")
    check(os.path.exists("/proc/%d" % pid), "QEMU died with ukd")
    d.start()
    after = d.inspect("web")
    check(after["state"]["status"] == "running" and after["state"]["pid"] == pid and
          after["domain"]["uuid"] == before["domain"]["uuid"],
          "not re-attached: %r (before: pid %d, %s)" % (after, pid, before["domain"]["uuid"]))
    check(answers(port) == 200, "the guest does not answer after ukd's restart")
    if UK:
        p = uk_cli(UK, d, "stop", "web")
        check(p.returncode == 0, "uk stop after the restart: %r" % p.err)
    else:
        d.post("/v1/instances/web/stop")
    st = d.inspect("web")["state"]
    check(st["status"] == "exited" and st["exit_code"] == 143,
          "the re-attached guest's stop: %r" % st)
    wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
               open("/proc/%d/stat" % pid).read().split(")")[1].split()[0] == "Z",
               30, "QEMU %d gone after the stop" % pid)
    check(answers(port) is None, "the port still answers after the stop")
    d.req("DELETE", "/v1/instances/web")


def exit_while_down(d):
    """The guest exits (status 7) while no ukd runs: the restarted ukd records 7, not a guess."""
    d.create(image="uktest", name="late", cmd=["sleep", "8000", "7"])
    d.post("/v1/instances/late/start")
    dom = d.inspect("late")["domain"]["name"]
    d.proc.kill()
    d.proc.wait()
    wait_until(lambda: not qemu_pids("guest=" + dom), 120, "the guest ending by itself")
    d.start()
    st = d.inspect("late")["state"]
    print("exited while ukd was down: %r" % st)
    check(st["status"] == "exited" and st["exit_code"] == 7 and not st["error"],
          "a guest that exited while ukd was down: %r" % st)
    check(not os.path.exists(os.path.join(d.root, "qemu", dom)),
          "its index entry outlived the run")


def per_run(d):
    """A libvirt ukd runs a guest with `uk run --backend qemu`; after kill -9 it re-attaches to
    it through the qemu backend it opens at start-up because that backend left a guest."""
    check(d.req("GET", "/v1/info").json()["backend"]["name"] == "libvirt", "default backend")
    d.build_ok(GUEST, "uktest")
    if UK:
        p = uk_cli(UK, d, "run", "--rm", "--backend", "qemu", "uktest", "exit", "3")
        check(p.returncode == 3 and "uktest" in p.out,
              "uk run --rm --backend qemu: exit %d, %r %r" % (p.returncode, p.out, p.err))
        p = uk_cli(UK, d, "run", "--backend", "xen", "uktest")
        check(p.returncode == 125 and 'backend "xen"' in p.err, "bad backend: %r" % p.err)
    d.create(image="uktest", name="fg", backend="qemu", cmd=["forever"])
    d.post("/v1/instances/fg/start")
    before = d.inspect("fg")
    check(before["domain"]["backend"] == "qemu" and
          qemu_pids("guest=" + before["domain"]["name"]) == [before["state"]["pid"]],
          "a qemu-backend guest under a libvirt ukd: %r" % before)
    d.proc.kill()
    d.proc.wait()
    d.start()
    after = d.inspect("fg")["state"]
    check(after["status"] == "running" and after["pid"] == before["state"]["pid"],
          "not re-attached by a libvirt ukd: %r" % after)
    d.post("/v1/instances/fg/kill")
    st = d.inspect("fg")["state"]
    check(st["status"] == "exited" and st["exit_code"] == 137, "kill: %r" % st)


def qemu_backend(d):
    """The qemu backend's own daemon: live restore of the website guest, an exit while ukd is
    down."""
    d.build_ok(WEBSITE, "site")
    d.build_ok(GUEST, "uktest")
    live_restore(d)
    exit_while_down(d)


def setup():
    require_qemu()
    skip_under_asan(sys.argv[1], "QEMU starts")


if __name__ == "__main__":
    run_phases([qemu_missing, phased(per_run, live_restore=True),
                phased(qemu_backend, ["--backend", "qemu"], live_restore=True)], setup)
