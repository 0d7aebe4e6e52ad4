"""QEMU never runs as root (docs/security.md): a ukd (as root) whose root lies below a directory
the QEMU user libvirt-qemu cannot pass through (a 0700 one) refuses to start guests with a 503
naming that directory and the fix, `uk start` prints it, `uk info` warns; nothing runs. Once the
directory lets it through, the same ukd starts the guest, and its QEMU runs as libvirt-qemu."""
import os
import pwd
import shutil
import sys
import tempfile

from ukdtest import (HERE, capcache_seed, check, kill_qemus, phase, require_qemu, root_qemus,
                     run_phases, skip, uk_cli)

GUEST = os.path.join(HERE, "guest")


def qemu_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return -1


def below_0700():
    """The refused start below a 0700 directory, then the start once it lets libvirt-qemu in."""
    priv = tempfile.mkdtemp(prefix="ukt-priv-", dir="/tmp")  # 0700: libvirt-qemu kept out
    root = os.path.join(priv, "r")
    capcache_seed(root)

    def body(d):
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
        p = uk_cli(sys.argv[2], d, "start", "g")
        check(p.returncode != 0 and priv in p.err and "never as root" in p.err,
              "uk start: %d %r" % (p.returncode, p.err))
        p = uk_cli(sys.argv[2], d, "info")
        check(p.returncode == 0 and "WARNING" in p.err and priv in p.err,
              "uk info: %d %r" % (p.returncode, p.err))
        print("refused: %s" % r.json()["message"])

        # the fix the message names, without restarting ukd
        os.chmod(priv, 0o711)
        d.post("/v1/instances/g/start")
        pid = d.inspect("g")["state"]["pid"]
        check(pid > 0 and qemu_uid(pid) == qemu, "QEMU %d runs as uid %d, not libvirt-qemu (%d)"
              % (pid, qemu_uid(pid), qemu))
        p = uk_cli(sys.argv[2], d, "info")
        check(p.returncode == 0 and "WARNING" not in p.err, "uk info after the fix: %r" % p.err)
        d.post("/v1/instances/g/kill")
        print("after chmod o+x: QEMU runs as libvirt-qemu")

    return phase(body, ["--root", root], before_stop=lambda d, ok: kill_qemus(root),
                 after_stop=lambda d, ok: ok and shutil.rmtree(priv, ignore_errors=True))


def setup():
    if len(sys.argv) < 3:
        sys.exit("usage: %s PATH/TO/ukd PATH/TO/uk" % sys.argv[0])
    require_qemu()
    if os.geteuid() != 0:
        skip("QEMU runs as another user only when ukd is root")


if __name__ == "__main__":
    run_phases([below_0700], setup)
