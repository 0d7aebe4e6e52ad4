"""Health checks on real QEMU guests, 127.0.0.1 only: bad options (400, nothing created); the
website guest with --health-http 80/ through a published port becomes healthy (inspect, ps,
uk ps, events); a guest that stops answering is found unhealthy by the timeout while another
instance's check goes on passing; a check an hour away stays "health: starting"; rm removes the
forward's record; a 404 path and a closed TCP port become unhealthy after their retries and keep
running; --restart on-unhealthy:2 kills and restarts an unhealthy guest twice (restart count,
die 137, health events), then leaves it running; a guest that wrote UK_EXIT=0 on its status channel before its health
kill is recorded as killed (137) and restarted; a checked guest that outlives a kill -9 of ukd
is checked again by the next ukd, which re-attaches to it. usage: test_health.py UKD UK"""
import json
import os
import sys
import time
import urllib.parse

from ukdtest import (HERE, SRC, check, fail, free_port, require_qemu, run, skip_under_asan,
                     uk_cli)

WEBSITE = os.path.join(SRC, "images", "examples", "website")
STALL = os.path.join(HERE, "guest_stall")
GUEST = os.path.join(HERE, "guest")
UK = sys.argv[2] if len(sys.argv) > 2 else None
LIMIT = 180  # seconds a TCG guest on a loaded 2-core machine gets to reach a state


def uk(d, *args):
    return uk_cli(UK, d, *args)


def health(d, name):
    return d.inspect(name)["state"].get("health") or {}


def wait_health(d, name, status, limit=LIMIT):
    deadline = time.time() + limit
    while time.time() < deadline:
        h = health(d, name)
        if h.get("status") == status:
            return h
        time.sleep(0.1)
    fail("%s did not become %s within %d s: %s" % (name, status, limit, d.inspect(name)["state"]))


def events(d, since, name):
    ev = d.req("GET", "/v1/events?since=%f&until=%f" % (since, time.time())).lines()
    return [e for e in ev if e.get("name") == name]


def instance_names(d):
    return sorted(i["names"][0] for i in d.req("GET", "/v1/instances?all=1").json())


def bad_options(d):
    before = instance_names(d)
    cases = [
        ({"http": "80/", "tcp": 80}, "exclusive"),
        ({"http": "80/a b"}, "the path must start with /"),
        ({"http": "x/"}, "expected \"PORT/PATH\""),
        ({"http": "80/", "interval": "0s"}, "healthcheck.interval: expected 1ms to 24h"),
        ({"http": "80/", "interval": "5"}, "healthcheck.interval \"5\": expected a duration"),
        ({"http": "80/", "timeout": "2days"}, "healthcheck.timeout"),
        ({"tcp": 70000}, "healthcheck.tcp 70000"),
        ({"http": "80/", "retries": 0}, "healthcheck.retries 0: expected 1 to 1000"),
        ({"interval": "1s"}, "needs a check"),
        ({"http": "80/", "disable": True}, "cannot be combined"),
        ({"http": "80/", "exec": "true"}, "unknown field \"exec\""),
        ("80/", "healthcheck: expected an object"),
    ]
    for hc, want in cases:
        r = d.req("POST", "/v1/instances", body={"image": "website", "healthcheck": hc})
        check(r.status == 400 and want in r.json()["message"],
              "healthcheck %r: expected 400 with %r, got %r" % (hc, want, r))
    r = d.req("POST", "/v1/instances",
              body={"image": "website", "restart_policy": {"name": "on-unhealthy"}})
    check(r.status == 400 and "needs a health check" in r.json()["message"],
          "on-unhealthy without a check: %r" % r)
    if UK:
        p = uk(d, "create", "--health-http", "80/", "--health-tcp", "80", "website")
        check(p.returncode != 0 and "exclusive" in p.err, "uk create with both: %s" % p.err)
        p = uk(d, "create", "--health-retries", "none", "website")
        check(p.returncode == 2 and "--health-retries" in p.err, "uk create: %s" % p.err)
    check(instance_names(d) == before, "a refused create left an instance behind")


def main(d):
    skip_under_asan(d.ukd, "QEMU guests")
    d.build_ok(WEBSITE, "website")
    d.build_ok(STALL, "stall")
    bad_options(d)

    # A healthy website through its published port, and a guest that answers twice then
    # stalls: the stall is caught by the timeout while the website's checks go on passing.
    since = time.time()
    port = free_port()
    if UK:
        p = uk(d, "run", "-d", "--name", "web", "-p", "127.0.0.1:%d:80" % port,
               "--health-http", "80/", "--health-interval", "500ms", "--health-timeout", "3s",
               "website")
        check(p.returncode == 0, "uk run: %s" % p.err)
    else:
        d.create(image="website", name="web", ports=[{"host_port": port, "guest_port": 80}],
                 healthcheck={"http": "80/", "interval": "500ms", "timeout": "3s"})
        d.post("/v1/instances/web/start")
    d.create(image="stall", name="stall", cmd=["--port=8080", "--answer=2"],
             healthcheck={"http": "8080/", "interval": "500ms", "timeout": "1s", "retries": 2})
    d.post("/v1/instances/stall/start")
    # the first check runs one interval after the start: an hour here, so it stays starting
    d.create(image="website", name="slow", healthcheck={"tcp": 80, "interval": "1h"})
    d.post("/v1/instances/slow/start")
    h = wait_health(d, "slow", "starting")
    check(h["log"] == [] and h["failing_streak"] == 0, "slow: %s" % h)
    h = wait_health(d, "web", "healthy")
    check(h["log"] and h["log"][-1]["output"] == "HTTP 200" and h["log"][-1]["exit_code"] == 0,
          "web healthy: %s" % h)
    check(h["endpoint"] == "127.0.0.1:%d" % port, "the published port is the endpoint: %s" % h)
    wait_health(d, "stall", "healthy")
    h = wait_health(d, "stall", "unhealthy")
    check(h["endpoint"].startswith("127.0.0.1:"), "ukd's own forward: %s" % h)
    t_unhealthy = time.time()
    last = h["log"][-1]
    check(last["exit_code"] == 1 and "timed out after 1000 ms" in last["output"],
          "stall: %s" % h)
    check(h["failing_streak"] >= 2, "stall streak: %s" % h)
    # the list filters on health with Docker's values (ps --filter health=...)
    for status, want in (("healthy", ["web"]), ("unhealthy", ["stall"]), ("starting", ["slow"]),
                         ("none", [])):
        q = urllib.parse.quote(json.dumps({"health": [status]}))
        got = sorted(n for i in d.req("GET", "/v1/instances?filters=" + q).json()
                     for n in i["names"])
        check(got == want, "filter health=%s: %s, expected %s" % (status, got, want))
    if UK:
        p = uk(d, "ps", "--filter", "health=unhealthy")
        check(p.returncode == 0 and "stall" in p.out and "web" not in p.out,
              "uk ps --filter health=unhealthy: %s %s" % (p.out, p.err))
    check(d.inspect("stall")["state"]["running"], "policy no: an unhealthy guest keeps running")
    time.sleep(1.5)
    h = health(d, "web")
    check(h["status"] == "healthy" and h["log"][-1]["output"] == "HTTP 200", "web: %s" % h)
    check(time.time() - t_unhealthy >= 1.5 and len(h["log"]) >= 2, "web log: %s" % h)
    lst = {i["names"][0]: i for i in d.req("GET", "/v1/instances").json()}
    check(lst["web"]["status"].endswith("(healthy)"), "ps web: %s" % lst["web"]["status"])
    check(lst["stall"]["status"].endswith("(unhealthy)"), "ps stall: %s" % lst["stall"]["status"])
    check(lst["slow"]["status"].endswith("(health: starting)"), "ps slow: %s" % lst["slow"])
    if UK:
        p = uk(d, "ps")
        check("(healthy)" in p.out and "(unhealthy)" in p.out and "(health: starting)" in p.out,
              "uk ps:\n%s" % p.out)
    acts = [e["action"] for e in events(d, since, "stall")]
    check("health_status: healthy" in acts and "health_status: unhealthy" in acts,
          "stall events: %s" % acts)
    check(acts.index("health_status: healthy") < acts.index("health_status: unhealthy"),
          "stall events order: %s" % acts)
    for n in ("web", "stall", "slow"):
        d.post("/v1/instances/%s/stop?t=0" % n)
    # rm leaves nothing behind, the forward's record included
    sid = d.inspect("stall")["id"]
    check(os.path.exists(os.path.join(d.root, "instances", sid, "health")), "no health file")
    r = d.req("DELETE", "/v1/instances/stall")
    check(r.status == 204, "rm stall: %r" % r)
    check(not os.path.exists(os.path.join(d.root, "instances", sid)), "rm left the instance dir")

    # A 404 and a closed TCP port: unhealthy after their retries, each with its reason.
    d.create(image="website", name="missing",
             healthcheck={"http": "80/no-such-page", "interval": "300ms", "retries": 3})
    d.create(image="website", name="closed", healthcheck={"tcp": 81, "interval": "300ms"})
    d.post("/v1/instances/missing/start")
    d.post("/v1/instances/closed/start")
    h = wait_health(d, "missing", "unhealthy")
    check(h["failing_streak"] >= 3 and h["log"][-1]["output"] == "HTTP 404", "404: %s" % h)
    h = wait_health(d, "closed", "unhealthy")
    check("refused" in h["log"][-1]["output"], "closed port: %s" % h)
    for n in ("missing", "closed"):
        d.post("/v1/instances/%s/stop?t=0" % n)

    # on-unhealthy:2: each unhealthy run is killed (137) and restarted with the backoff; once
    # the two restarts are used up, the third unhealthy run is left running.
    since = time.time()
    hc = ["--health-http", "80/no-such-page", "--health-interval", "300ms",
          "--health-retries", "2"]
    if UK:
        p = uk(d, "run", "-d", "--name", "flaky", "--restart", "on-unhealthy:2", *hc, "website")
        check(p.returncode == 0, "uk run --restart on-unhealthy:2: %s" % p.err)
    else:
        d.create(image="website", name="flaky",
                 restart_policy={"name": "on-unhealthy", "maximum_retry_count": 2},
                 healthcheck={"http": "80/no-such-page", "interval": "300ms", "retries": 2})
        d.post("/v1/instances/flaky/start")
    deadline = time.time() + 2 * LIMIT
    while time.time() < deadline:
        st = d.inspect("flaky")["state"]
        if st["restart_count"] == 2 and st["running"] and \
                st.get("health", {}).get("status") == "unhealthy":
            break
        time.sleep(0.2)
    check(st["restart_count"] == 2 and st["running"] and st["health"]["status"] == "unhealthy",
          "on-unhealthy:2 did not end running and unhealthy after 2 restarts: %s" % st)
    # Two more failing checks (however long they take under load): no kill, no third restart.
    deadline = time.time() + LIMIT
    while time.time() < deadline and health(d, "flaky").get("failing_streak", 0) < 4:
        time.sleep(0.2)
    st = d.inspect("flaky")["state"]
    check(st["restart_count"] == 2 and st["running"] and st["health"]["failing_streak"] >= 4,
          "past its maximum: %s" % st)
    ev = events(d, since, "flaky")
    acts = [e["action"] for e in ev]
    dies = [e for e in ev if e["action"] == "die"]
    check(acts.count("health_status: unhealthy") == 3 and acts.count("start") == 3 and
          len(dies) == 2, "flaky events: %s" % acts)
    check(all(e["attributes"].get("exit_code") == "137" for e in dies), "dies: %s" % dies)
    d.logf.flush()
    with open(d.log) as f:
        check(f.read().count("flaky is unhealthy: killing it") == 2, "ukd log: no kill reason")
    d.post("/v1/instances/flaky/stop?t=0")
    forged_exit(d)
    live_restore(d)


def forged_exit(d):
    """An on-unhealthy kill of a guest that wrote UK_EXIT=0 before it: a kill (137, with the
    reason), so on-unhealthy restarts it; the forged 0 would have ended it for good."""
    d.build_ok(GUEST, "uktest")
    since = time.time()
    # no network stack in uktest: the HTTP check times out (a TCP one would pass, see the docs)
    d.create(image="uktest", name="forger", cmd=["forge", "0", "ignore"],
             restart_policy={"name": "on-unhealthy", "maximum_retry_count": 1},
             healthcheck={"http": "80/", "interval": "300ms", "timeout": "300ms", "retries": 2})
    d.post("/v1/instances/forger/start")
    deadline = time.time() + 2 * LIMIT
    while time.time() < deadline:
        dies = [e for e in events(d, since, "forger") if e["action"] == "die"]
        if dies:
            break
        time.sleep(0.2)
    check(dies and dies[0]["attributes"]["exit_code"] == "137",
          "health kill of a guest that forged UK_EXIT=0: %s" % dies)
    check("forged UK_EXIT=0" in d.logs("forger"), "forger: %r" % d.logs("forger"))
    deadline = time.time() + LIMIT
    while time.time() < deadline and d.inspect("forger")["state"]["restart_count"] < 1:
        time.sleep(0.2)
    st = d.inspect("forger")["state"]
    check(st["restart_count"] == 1, "on-unhealthy did not restart the killed forger: %s" % st)
    # (restart_count counts a restart when it is scheduled: the run may not have begun yet)
    d.post("/v1/instances/forger/stop?t=0", expect=(204, 304))
    st = d.inspect("forger")["state"]
    check(st["exit_code"] == 137, "forger stopped: %s" % st)


def live_restore(d):
    """A checked guest that outlives a kill -9 of ukd is checked by the next ukd (which
    re-attaches to it; its endpoint file persists) and its health is shown again."""
    port = free_port()
    d.create(image="website", name="kept",
             ports=[{"host_ip": "127.0.0.1", "host_port": port, "guest_port": 80}],
             healthcheck={"http": "80/", "interval": "300ms", "timeout": "3s"})
    d.post("/v1/instances/kept/start")
    wait_health(d, "kept", "healthy")
    pid = d.inspect("kept")["state"]["pid"]
    d.proc.kill()
    d.proc.wait()
    d.args.remove("--live-restore=false")  # the next ukd re-attaches (and leaves it at exit)
    d.logf.close()
    d.start()
    back = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    st = d.inspect("kept")["state"]
    check(st["running"] and st["pid"] == pid, "kept after kill -9: %s (pid was %d)" % (st, pid))
    deadline = time.time() + LIMIT
    while time.time() < deadline:
        h = health(d, "kept")
        new = [e for e in h.get("log", []) if e["start"][:19] > back]
        if new and h["status"] == "healthy":
            break
        time.sleep(0.2)
    check(new and new[-1]["output"] == "HTTP 200" and h["status"] == "healthy" and
          h["endpoint"] == "127.0.0.1:%d" % port, "kept: no checks after the restart: %s" % h)
    lst = {i["names"][0]: i for i in d.req("GET", "/v1/instances").json()}
    check(lst["kept"]["status"].endswith("(healthy)"), "ps kept: %s" % lst["kept"]["status"])
    print("health after kill -9 and re-attach: %d checks since, %s" % (len(new), h["status"]))
    d.post("/v1/instances/kept/stop?t=0")


if require_qemu() is None:
    run(main)
