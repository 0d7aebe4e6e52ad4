"""The daemon process: two daemons side by side (unix + TCP on 127.0.0.1), SIGTERM with a guest
running (clean exit, guest powered off and recorded, no QEMU left), restart on the same root
(state kept, schema not re-migrated), config file, bad flags."""
import json
import os
import signal
import subprocess
import sys
import time

from ukdtest import HERE, Daemon, alive, check, free_port, require_qemu, run, tcp_get

GUEST = os.path.join(HERE, "guest")


def main(d):
    ukd = d.ukd
    # Bad flags and configs fail fast with a message.
    for args in (["--bogus"], ["--accelerator", "warp"], ["--root", "rel"],
                 ["--host", "http://x"], ["--config", "/nonexistent.json"],
                 ["--live-restore=maybe"]):
        p = subprocess.run([ukd, *args], capture_output=True, text=True, timeout=30)
        check(p.returncode != 0 and p.stderr.startswith("ukd: "), "%s: %r" % (args, p))
    p = subprocess.run([ukd, "--version"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and "ukd version" in p.stdout, "--version: %r" % p)

    # A second daemon beside the first, from a config file, also listening on TCP.
    port = free_port()
    cfg = os.path.join(d.root, "second.json")
    with open(cfg, "w") as f:
        json.dump({"hosts": ["unix:///nonexistent/replaced-by-the-flags.sock"],
                   "log-level": "info", "accelerator": "tcg"}, f)
    d2 = Daemon(ukd, ["--config", cfg, "--host", "tcp://127.0.0.1:%d" % port])
    ok = False
    try:
        check(b"200 OK" in tcp_get(port, "/v1/_ping"), "TCP listener")
        info = json.loads(tcp_get(port, "/v1/info").split(b"\r\n\r\n", 1)[1])
        check(info["root"] == d2.root and d.root != d2.root, "second root: %s" % info)
        check(info["backend"]["uri"] == "qemu:///embed?root=%s/libvirt" % d2.root, info)
        check(info["live_restore"] is False, "--live-restore=false: %s" % info)
        d.ping()
        ok = True
    finally:
        d2.stop(ok)

    # SIGTERM with a guest running and live restore off: the daemon exits 0, the guest powers
    # off (the power button) and is recorded (live restore: test_crash.py; bounds and guests
    # that ignore the button: test_shutdown.py).
    d.build_ok(GUEST, "uktest")
    d.create(image="uktest", name="fv", cmd=["forever"])
    d.post("/v1/instances/fv/start")
    d.create(image="uktest", name="al", cmd=["forever"], restart_policy={"name": "always"})
    d.post("/v1/instances/al/start")
    d.create(image="uktest", name="us", cmd=["forever"],
             restart_policy={"name": "unless-stopped"})
    d.post("/v1/instances/us/start")
    d.post("/v1/instances/us/stop?t=0")
    pid = d.inspect("fv")["state"]["pid"]
    check(pid > 0 and alive(pid), "QEMU pid %d" % pid)
    d.proc.send_signal(signal.SIGTERM)
    t0 = time.time()
    rc = d.proc.wait(60)
    print("SIGTERM to exit: %.2f s" % (time.time() - t0))
    check(rc == 0, "ukd exit status %d" % rc)
    time.sleep(0.5)
    check(not alive(pid), "QEMU %d outlived ukd" % pid)
    check(not os.path.exists(d.sock), "socket left behind")

    # Restart on the same root: state persists; the instance is recorded as killed.
    d.logf.close()
    d.start()
    st = d.inspect("fv")["state"]
    check(st["status"] == "exited" and st["exit_code"] == 143, "after restart: %s" % st)
    # Restart policies at daemon start: always runs again, unless-stopped stopped by the user
    # stays stopped.
    deadline = time.time() + 30
    while not d.inspect("al")["state"]["running"] and time.time() < deadline:
        time.sleep(0.1)
    check(d.inspect("al")["state"]["running"], "always did not start with ukd")
    check(not d.inspect("us")["state"]["running"], "unless-stopped restarted after a stop")
    d.post("/v1/instances/al/kill")
    check(d.req("GET", "/v1/images/uktest").status == 200, "image lost across restart")
    d.post("/v1/instances/fv/start")
    d.post("/v1/instances/fv/kill")
    with open(d.log) as f:
        log = f.read()
    # every migration ran at the first start; the restart found the schema current
    check("schema migrated" in log, "no migration at the first start")
    check("schema migrated" not in log[log.rfind(" starting: root"):], "schema migrated twice")


if require_qemu() is None:
    run(main)
