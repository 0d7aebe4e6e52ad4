"""The whole instance lifecycle on real QEMU: build, run, wait, logs (tail, follow, timestamps),
stop and kill timing, restart, auto-remove, image removal while in use, and exit statuses a
guest forged on its status channel before a kill or stop (they do not count)."""
import os
import pwd
import re
import signal
import threading
import time
import urllib.parse

from ukdtest import HERE, SRC, check, fail, require_qemu, run

HELLO = os.path.join(SRC, "images", "examples", "hello")
GUEST = os.path.join(HERE, "guest")


def check_confined(pid):
    """QEMU runs under its seccomp filter and, when ukd is root, not as root (docs/security.md)."""
    with open("/proc/%d/status" % pid) as f:
        status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
    check(status["Seccomp"].strip() == "2", "QEMU %d without its seccomp filter: %s"
          % (pid, status["Seccomp"]))
    uid = int(status["Uid"].split()[1])  # effective
    if os.geteuid() == 0:
        check(uid == pwd.getpwnam("libvirt-qemu").pw_uid,
              "QEMU %d runs as uid %d, not libvirt-qemu" % (pid, uid))


def run_forger(d, name, *mode):
    """Starts a uktest that wrote UK_EXIT=0 on its status channel and runs on (forge 0 MODE)."""
    d.create(image="uktest", name=name, cmd=["forge", "0", *mode])
    d.post("/v1/instances/%s/start" % name)
    deadline = time.time() + 120
    while "tick 1" not in d.logs(name):
        if time.time() > deadline:
            fail("%s did not forge its status: %r" % (name, d.logs(name)))
        time.sleep(0.1)
    check("forged UK_EXIT=0" in d.logs(name), "forger: %r" % d.logs(name))


def exited(d, name, code):
    st = d.inspect(name)["state"]
    check(st["status"] == "exited" and st["exit_code"] == code,
          "%s: expected Exited (%d), got %s" % (name, code, st))
    ps = [i for i in d.req("GET", "/v1/instances?all=1").json() if i["names"] == [name]]
    check(ps and ps[0]["status"].startswith("Exited (%d)" % code), "ps %s: %s" % (name, ps))
    return st


def forged_exits(d):
    """A kill by the user or by ukd wins over a status the guest wrote before it: 137; after a
    stop request only what the guest writes after the request counts (docs/daemon.md)."""
    run_forger(d, "fk", "ignore")
    d.post("/v1/instances/fk/kill")
    check(d.wait("fk") == 137, "kill of a guest that forged UK_EXIT=0")
    exited(d, "fk", 137)
    # stop: it ignores the power button, the grace runs out, it is killed
    run_forger(d, "fs", "ignore")
    d.post("/v1/instances/fs/stop?t=1")
    exited(d, "fs", 137)
    # rm -f kills too (the instance is gone; its die event has the code)
    since = time.time()
    run_forger(d, "fr", "ignore")
    r = d.req("DELETE", "/v1/instances/fr?force=1")
    check(r.status == 204, "rm -f: %r" % r)
    ev = d.req("GET", "/v1/events?since=%f&until=%f" % (since, time.time())).lines()
    dies = [e for e in ev if e["name"] == "fr" and e["action"] == "die"]
    check([e["attributes"]["exit_code"] for e in dies] == ["137"], "rm -f die: %s" % dies)
    # a stop the guest answers: its own status after the request (143, the runtime's default)
    run_forger(d, "fo")
    d.post("/v1/instances/fo/stop?t=60")
    exited(d, "fo", 143)
    # a guest that ends by itself after the request without a new status: not its old claim
    run_forger(d, "fz", "reset")
    d.post("/v1/instances/fz/stop?t=60")
    check("resetting without a status" in d.logs("fz"), "reset: %r" % d.logs("fz"))
    exited(d, "fz", 137)
    # ukd's shutdown (live restore off) kills it: 137, with the reason
    run_forger(d, "fd", "ignore")
    d.proc.send_signal(signal.SIGTERM)
    d.proc.wait(timeout=120)
    d.logf.close()
    d.start()
    st = exited(d, "fd", 137)
    check(st["error"] == "ukd shut down while it ran", "shutdown kill: %s" % st)


def main(d):
    d.build_ok(HELLO, "hello")
    d.build_ok(GUEST, "uktest")

    # Run hello: wait returns its exit code, logs hold the greeting and the arguments.
    iid = d.create(image="hello", name="h", cmd=["one", "two words"], env=["K=V"])
    t0 = time.time()
    d.post("/v1/instances/h/start")
    t_start = time.time() - t0
    check(d.wait("h") == 0, "hello exit code")
    t_run = time.time() - t0
    out = d.logs("h")
    check("Hello from a uk unikernel!" in out, "greeting missing from logs: %r" % out)
    check("argv[2] = two words" in out, "quoted argument mangled: %r" % out)
    info = d.inspect(iid[:12])
    st = info["state"]
    check(st["status"] == "exited" and st["exit_code"] == 0 and not st["running"], st)
    check(info["domain"]["name"] == "uk-" + iid[:12] and info["domain"]["type"] == "qemu", info)
    check(st["finished_at"] >= st["started_at"] > "2000", st)
    print("hello: start %.3f s, start→exit recorded %.3f s" % (t_start, t_run))
    d.post("/v1/instances/h/start")  # a second run appends to the log
    d.wait("h")
    check(d.logs("h").count("Hello from") == 2, "second run's log")
    check(d.logs("h", "?tail=1").strip() == "argv[2] = two words", "tail=1")
    ts = d.logs("h", "?timestamps=1&tail=2").splitlines()
    check(len(ts) == 2 and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", l) for l in ts),
          "timestamps: %r" % ts)

    # Exit codes and environment.
    d.create(image="uktest", name="e3", cmd=["exit", "3"])
    d.post("/v1/instances/e3/start")
    check(d.wait("e3") == 3, "exit 3")
    d.create(image="uktest", name="env", cmd=["env", "GREETING"], env=["GREETING=hi there"])
    d.post("/v1/instances/env/start")
    d.wait("env")
    check("env GREETING=hi there" in d.logs("env"), "env: %r" % d.logs("env"))

    # Logs follow: the stream runs while the guest does and ends when it stops.
    d.create(image="uktest", name="slow", cmd=["sleep", "1500", "5"])
    got = {}

    def follow():
        got["body"] = d.logs("slow", "?follow=1")
        got["t"] = time.time()
    th = threading.Thread(target=follow)
    th.start()  # before the start, as `uk run` does: nothing may be missed
    time.sleep(0.3)
    d.post("/v1/instances/slow/start")
    code = d.wait("slow")
    th.join(60)
    check(not th.is_alive(), "logs follow did not end when the instance stopped")
    check(code == 5 and "uktest says hello" in got["body"] and "slept" in got["body"],
          "follow: code %d body %r" % (code, got["body"]))

    # Stop presses the ACPI power button: an idle guest without a handler exits 143 at once.
    d.create(image="uktest", name="fv", cmd=["forever"])
    d.post("/v1/instances/fv/start")
    d.post("/v1/instances/fv/start", expect=(304,))
    time.sleep(0.5)
    check_confined(d.inspect("fv")["state"]["pid"])
    t0 = time.time()
    d.post("/v1/instances/fv/stop?t=10")
    dt = time.time() - t0
    st = d.inspect("fv")["state"]
    check(st["status"] == "exited" and st["exit_code"] == 143, "graceful stop: %s" % st)
    check(dt < 8, "graceful stop took %.2f s" % dt)
    d.post("/v1/instances/fv/stop", expect=(304,))
    print("graceful stop: %.3f s" % dt)
    # One stop, reported to the supervisor once: libvirt's SHUTDOWN and its STOPPED ~200 ms
    # later are the same stop (the backend logs the second as "reported already").
    dom = d.inspect("fv")["domain"]
    time.sleep(1)
    with open(d.log) as f:
        n = f.read().count("supervisor: %s: run %s stopped" % (dom["name"], dom["uuid"]))
    check(n == 1, "fv's stop reported to the supervisor %d times, want once (%s)" % (n, dom))
    # A guest that ignores the button is killed after t seconds (137).
    d.create(image="uktest", name="ig", cmd=["ignore"])
    d.post("/v1/instances/ig/start")
    time.sleep(0.5)
    t0 = time.time()
    d.post("/v1/instances/ig/stop?t=1")
    dt = time.time() - t0
    st = d.inspect("ig")["state"]
    check(st["status"] == "exited" and st["exit_code"] == 137, "stop: %s" % st)
    check(0.9 <= dt < 10, "stop t=1 took %.2f s" % dt)
    print("stop t=1 of a guest that ignores it: %.3f s" % dt)
    # Kill is immediate.
    d.post("/v1/instances/fv/start")
    t0 = time.time()
    d.post("/v1/instances/fv/kill")
    dt = time.time() - t0
    check(d.wait("fv") == 137 and dt < 5, "kill took %.2f s" % dt)
    print("kill: %.3f s" % dt)
    # Restart runs it again.
    d.post("/v1/instances/fv/restart?t=0")
    check(d.inspect("fv")["state"]["running"], "restart")
    # Removal: 409 while running, force kills.
    r = d.req("DELETE", "/v1/instances/fv")
    check(r.status == 409, "rm running: %r" % r)
    d.req("DELETE", "/v1/instances/fv?force=1")
    check(d.req("GET", "/v1/instances/fv").status == 404, "rm -f left the instance")

    # Image in use → 409; force untags; the instance keeps working.
    r = d.req("DELETE", "/v1/images/uktest")
    check(r.status == 409 and r.json()["code"] == "conflict", "rmi in use: %r" % r)
    r = d.req("DELETE", "/v1/images/hello?force=1")
    check(r.status == 200 and {"untagged": "hello:latest"} in r.json(), "rmi -f: %r" % r)
    d.post("/v1/instances/h/start")
    check(d.wait("h") == 0, "instance of an untagged image still runs")

    # Auto-remove: the instance is gone after it exits, and wait still reports its code.
    iid = d.create(image="uktest", cmd=["exit", "7"], auto_remove=True)
    d.post("/v1/instances/%s/start" % iid)
    check(d.wait(iid) == 7, "auto-remove wait")
    deadline = time.time() + 10
    while d.req("GET", "/v1/instances/" + iid).status != 404 and time.time() < deadline:
        time.sleep(0.1)
    check(d.req("GET", "/v1/instances/" + iid).status == 404, "auto_remove left the instance")
    check(not os.path.exists(os.path.join(d.root, "instances", iid)), "auto_remove left files")

    # Listing and filters.
    ps = d.req("GET", "/v1/instances?all=1").json()
    check({"h", "e3", "env", "slow"} <= {p["names"][0] for p in ps}, ps)
    run_only = d.req("GET", "/v1/instances").json()
    check(run_only == [], "nothing should be running: %s" % run_only)
    f = d.req("GET", "/v1/instances?all=1&filters=" + urllib.parse.quote('{"name":["e3"]}')).json()
    check(len(f) == 1 and f[0]["exit_code"] == 3 and f[0]["status"].startswith("Exited (3)"), f)

    forged_exits(d)


if require_qemu() is None:
    run(main)
