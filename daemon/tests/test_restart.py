"""Restart policies: on-failure with a guest that exits 3 restarts with growing backoff up to its
maximum; always restarts a clean exit; stop ends the cycle; no restarts nothing."""
import time

from ukdtest import HERE, check, require_qemu, run
import os

GUEST = os.path.join(HERE, "guest")


def wait_for(d, name, pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = d.inspect(name)
        if pred(info):
            return info
        time.sleep(0.05)
    return d.inspect(name)


def main(d):
    d.build_ok(GUEST, "uktest")
    since = time.time()
    d.create(image="uktest", name="flaky", cmd=["exit", "3"],
             restart_policy={"name": "on-failure", "maximum_retry_count": 3})
    d.post("/v1/instances/flaky/start")

    def flaky_events():
        ev = d.req("GET", "/v1/events?since=%f&until=%f" % (since, time.time())).lines()
        return ([e["time_nano"] / 1e9 for e in ev if e["name"] == "flaky" and e["action"] == a]
                for a in ("start", "die"))

    # restart_count counts a restart when it is scheduled, before its run: wait for the fourth
    # run's end itself (under load a start alone takes seconds), then past the next backoff.
    deadline = time.time() + 90
    while len(list(flaky_events())[1]) < 4 and time.time() < deadline:
        time.sleep(0.1)
    st = d.inspect("flaky")["state"]
    check(st["restart_count"] == 3 and st["exit_code"] == 3 and st["status"] == "exited",
          "on-failure:3: %s" % st)
    time.sleep(1.5)  # longer than the next backoff (800 ms): no 5th run
    st = d.inspect("flaky")["state"]
    check(st["restart_count"] == 3 and st["status"] == "exited", "ran past its maximum: %s" % st)
    # The starts are spaced by at least the backoff: 100, 200, 400 ms (plus the time libvirt
    # takes to start a domain, which varies with load; the exact sequence is a unit test).
    starts, dies = flaky_events()
    check(len(starts) == 4 and len(dies) == 4, "events: %d starts, %d dies" % (len(starts), len(dies)))
    gaps = [starts[i + 1] - dies[i] for i in range(3)]
    print("on-failure gaps between die and next start: %s" % ["%.3f" % g for g in gaps])
    for want, got in zip([0.1, 0.2, 0.4], gaps):
        check(got >= want * 0.9, "backoff too short: %s" % gaps)

    # on-failure does not restart a clean exit; always does, until stopped.
    d.create(image="uktest", name="clean", cmd=["exit", "0"],
             restart_policy={"name": "on-failure"})
    d.post("/v1/instances/clean/start")
    check(d.wait("clean") == 0, "clean exit")
    time.sleep(0.5)
    check(d.inspect("clean")["state"]["restart_count"] == 0, "on-failure restarted exit 0")
    d.create(image="uktest", name="always", cmd=["sleep", "300", "0"],
             restart_policy={"name": "always"})
    d.post("/v1/instances/always/start")
    wait_for(d, "always", lambda i: i["state"]["restart_count"] >= 2)
    d.post("/v1/instances/always/stop?t=0", expect=(204, 304))
    st = d.inspect("always")["state"]
    n = st["restart_count"]
    time.sleep(1.0)
    st = d.inspect("always")["state"]
    check(not st["running"] and st["restart_count"] == n, "stop did not end always: %s" % st)


if require_qemu() is None:
    run(main)
