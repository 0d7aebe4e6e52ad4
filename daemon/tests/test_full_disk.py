"""Stop, kill and rm -f on a full disk (issue 10, defect 4): ukd's root on a small tmpfs, three
guests running, the filesystem filled to the last byte; `uk kill`, `uk stop` and `uk rm -f`
each stop the guest (its QEMU is gone) and report that the stop could not be recorded; once
space is free again, ukd records the exits and the instances can be removed. Needs root (the
tmpfs mount). usage: test_full_disk.py UKD UK"""
import os
import subprocess
import sys
import tempfile
import time

from ukdtest import (HERE, Daemon, alive, check, fail, kill_qemus, phase, require_qemu, root_qemus,
                     run_phases, skip, uk_cli)

GUEST = os.path.join(HERE, "guest")
LIMIT = 180


def fill(path):
    """Writes (path) until the filesystem has no byte left."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass


def main(d, uk):
    d.build_ok(GUEST, "uktest")
    pids = {}
    for name, cmd in (("k", ["forever"]), ("s", ["ignore"]), ("r", ["forever"])):
        d.create(image="uktest", name=name, cmd=cmd)
        d.post("/v1/instances/%s/start" % name)
        pids[name] = d.inspect(name)["state"]["pid"]
        check(pids[name] > 0 and alive(pids[name]), "%s: no QEMU pid" % name)
    filler = os.path.join(d.root, "fill")
    fill(filler)
    st = os.statvfs(d.root)
    print("filled %s: %d bytes free" % (d.root, st.f_bavail * st.f_frsize))
    for verb, name in (("kill", "k"), ("stop", "s"), ("rm", "r")):
        args = {"kill": ["kill", name], "stop": ["stop", "-t", "1", name],
                "rm": ["rm", "-f", name]}[verb]
        p = uk(*args)
        print("uk %s on a full disk: exit %d: %s" % (" ".join(args), p.returncode, p.err.strip()))
        deadline = time.time() + 10
        while alive(pids[name]) and time.time() < deadline:
            time.sleep(0.1)
        check(not alive(pids[name]), "uk %s: the guest's QEMU %d still runs on a full disk (%s)"
              % (" ".join(args), pids[name], p.err.strip()))
        check(p.returncode != 0 and "could not be recorded" in p.err and name in p.err,
              "uk %s on a full disk: expected an error saying the stop was not recorded, got "
              "exit %d: %r" % (" ".join(args), p.returncode, p.err))
    os.unlink(filler)
    # With space again, the exits are recorded (the supervisor's audit) and rm works.
    deadline = time.time() + 60
    while time.time() < deadline:
        states = [d.inspect(n)["state"]["status"] for n in ("k", "s", "r")]
        if all(s == "exited" for s in states):
            break
        time.sleep(0.2)
    check(all(s == "exited" for s in states), "exits not recorded once space was free: %s"
          % states)
    for name in ("k", "s", "r"):
        p = uk("rm", "-f", name)
        check(p.returncode == 0, "uk rm -f %s with space again: %s" % (name, p.err))
    check(not root_qemus(d.root), "QEMUs left: %s" % root_qemus(d.root))


def full_disk():
    mnt = tempfile.mkdtemp(prefix="ukfull-", dir="/tmp")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m,mode=0700", "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        os.rmdir(mnt)
        skip("cannot mount a tmpfs: %s" % r.stderr.decode().strip())

    def unmount(d, ok):
        kill_qemus(mnt)
        subprocess.run(["umount", "-l", mnt])
        os.rmdir(mnt)
    return phase(lambda d: main(d, lambda *a: uk_cli(sys.argv[2], d, *a)),
                 make=lambda: Daemon(sys.argv[1], root=mnt), after_stop=unmount)


def setup():
    if len(sys.argv) < 3:
        sys.exit("usage: test_full_disk.py UKD UK")
    require_qemu()
    if os.geteuid() != 0:
        skip("needs root to mount a small tmpfs as ukd's root")


run_phases([full_disk], setup)
