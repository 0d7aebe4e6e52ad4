"""QEMU never runs as root (docs/security.md): a ukd (as root) whose root lies below a directory
the QEMU user libvirt-qemu cannot pass through (a 0700 one) refuses to start guests with a 503
naming that directory and the fix, `uk start` prints it, `uk info` warns; nothing runs. Once the
directory lets it through, the same ukd starts the guest, and its QEMU runs as libvirt-qemu."""
import os
import pwd
import shutil
import sys
import tempfile

from ukdtest import (HERE, Daemon, capcache_seed, check, kill_qemus, require_qemu, root_qemus,
                     skip, uk_cli)

GUEST = os.path.join(HERE, "guest")


def qemu_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return -1


def main(ukd, uk):
    priv = tempfile.mkdtemp(prefix="ukt-priv-", dir="/tmp")  # 0700: libvirt-qemu kept out
    root = os.path.join(priv, "r")
    capcache_seed(root)
    d = Daemon(ukd, ["--root", root])
    ok = False
    try:
        qemu = pwd.getpwnam("libvirt-qemu").pw_uid
        d.build_ok(GUEST, "uktest")
        d.create(image="uktest", name="g", cmd=["forever"])
        r = d.req("POST", "/v1/instances/g/start")
        for p in root_qemus(root):
            check(qemu_uid(p) != 0, "QEMU %d runs as root (the start answered %r)" % (p, r))
        check(r.status == 503 and priv in r.json()["message"] and
              "chmod o+x " + priv in r.json()["message"],
              "start below a 0700 directory: %r" % r)
        check(not root_qemus(root), "a QEMU runs after the refused start: %s" % root_qemus(root))
        check(d.inspect("g")["state"]["status"] != "running", "g is running")
        p = uk_cli(uk, d, "start", "g")
        check(p.returncode != 0 and priv in p.err and "never as root" in p.err,
              "uk start: %d %r" % (p.returncode, p.err))
        p = uk_cli(uk, d, "info")
        check(p.returncode == 0 and "WARNING" in p.err and priv in p.err,
              "uk info: %d %r" % (p.returncode, p.err))
        print("refused: %s" % r.json()["message"])

        # the fix the message names, without restarting ukd
        os.chmod(priv, 0o711)
        d.post("/v1/instances/g/start")
        pid = d.inspect("g")["state"]["pid"]
        check(pid > 0 and qemu_uid(pid) == qemu, "QEMU %d runs as uid %d, not libvirt-qemu (%d)"
              % (pid, qemu_uid(pid), qemu))
        p = uk_cli(uk, d, "info")
        check(p.returncode == 0 and "WARNING" not in p.err, "uk info after the fix: %r" % p.err)
        d.post("/v1/instances/g/kill")
        print("after chmod o+x: QEMU runs as libvirt-qemu")
        ok = True
    finally:
        kill_qemus(root)
        if not d.stop(ok):
            ok = False
        if ok:
            shutil.rmtree(priv, ignore_errors=True)
    return ok


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: %s PATH/TO/ukd PATH/TO/uk" % sys.argv[0])
    require_qemu()
    if os.geteuid() != 0:
        skip("QEMU runs as another user only when ukd is root")
    try:
        ok = main(sys.argv[1], sys.argv[2])
    except AssertionError as e:
        print("FAIL: %s" % e)
        ok = False
    print("PASS" if ok else "FAILED")
    sys.exit(0 if ok else 1)
