#!/usr/bin/env python3
"""Health checker cost and latency (issue 6), printed next to floors measured in the same run.
usage: bench/health.py [BUILD_DIR]   Environment: N (website guests, 8), SECONDS (per window, 10),
INTERVAL (the checks' interval, "100ms"). A real ukd on a temp root, QEMU TCG, 127.0.0.1 only.

Rows: one check's duration (ukd's own start/end of each probe, from state.health.log) next to
the same HTTP GET on a new connection made by this script to the same endpoint; the same with
a stalled guest (accepts, never answers, timeout 1 s) checked beside them; ukd's CPU time while
N guests are checked every INTERVAL next to ukd with the same N guests and no checks."""
import http.client
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon", "tests"))
from ukdtest import SRC, Daemon  # noqa: E402

N = int(os.environ.get("N", "8"))
SECONDS = float(os.environ.get("SECONDS", "10"))
INTERVAL = os.environ.get("INTERVAL", "100ms")
WEBSITE = os.path.join(SRC, "images", "examples", "website")
STALL = os.path.join(SRC, "daemon", "tests", "guest_stall")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100 * len(v)))] if v else float("nan")


def start(d, names, **cfg):
    for n in names:
        d.create(image=cfg.pop("image", "website"), name=n, **cfg)
        d.post("/v1/instances/%s/start" % n)


def wait_healthy(d, names):
    deadline = time.time() + 300
    for n in names:
        while d.inspect(n)["state"].get("health", {}).get("status") != "healthy":
            if time.time() > deadline:
                sys.exit("health.py: %s never became healthy" % n)
            time.sleep(0.05)


def probe_ms(d, names, seconds):
    """Durations (ms) of the checks ukd ran on (names) during (seconds)."""
    seen = {}
    t0 = time.time()
    while time.time() - t0 < seconds:
        for n in names:
            for e in d.inspect(n)["state"]["health"]["log"]:
                seen[(n, e["start"])] = e
        time.sleep(0.2)
    out = [(iso_ns(e["end"]) - iso_ns(e["start"])) / 1e6 for e in seen.values()
           if e["exit_code"] == 0]
    failed = [e["output"] for e in seen.values() if e["exit_code"] != 0]
    if failed:
        print("(checker: %d of %d checks failed: %s)" % (len(failed), len(seen), failed[:3]))
    return out


def iso_ns(t):
    date, frac = t.rstrip("Z").split(".")
    secs = time.mktime(time.strptime(date, "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return int(secs) * 10**9 + int(frac.ljust(9, "0"))


def direct_ms(endpoints, seconds):
    """This script's GETs, a new connection each, round robin over (endpoints)."""
    out, failed = [], 0
    t0 = time.time()
    i = 0
    while time.time() - t0 < seconds:
        host, port = endpoints[i % len(endpoints)].split(":")
        i += 1
        s = time.perf_counter()
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            c.request("GET", "/", headers={"Connection": "close"})
            r = c.getresponse()
            r.read()
            if 200 <= r.status < 400:
                out.append((time.perf_counter() - s) * 1000)
        except OSError:
            failed += 1
        finally:
            c.close()
        time.sleep(0.01)
    if failed:
        print("(floor: %d GETs failed or timed out after 5 s)" % failed)
    return out


def cpu_pct(pid, seconds):
    c0, t0 = cpu_s(pid), time.time()
    time.sleep(seconds)
    return 100 * (cpu_s(pid) - c0) / (time.time() - t0)


def row(name, ours, floor):
    print("| %-44s | %-22s | %-22s |" % (name, ours, floor))


def lat(v):
    return "%.2f / %.2f ms (n=%d)" % (pct(v, 50), pct(v, 99), len(v))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    d = Daemon(os.path.join(os.path.abspath(build), "bin", "ukd"), args=("--log-level", "info"))
    try:
        d.build_ok(WEBSITE, "website")
        d.build_ok(STALL, "stall")
        plain = ["plain%d" % i for i in range(N)]
        start(d, plain)
        time.sleep(3)
        cpu_plain = cpu_pct(d.proc.pid, SECONDS)
        for n in plain:
            d.post("/v1/instances/%s/stop?t=0" % n)
        checked = ["web%d" % i for i in range(N)]
        start(d, checked, healthcheck={"http": "80/", "interval": INTERVAL, "timeout": "2s"})
        wait_healthy(d, checked)
        endpoints = [d.inspect(n)["state"]["health"]["endpoint"] for n in checked]
        cpu_checked = cpu_pct(d.proc.pid, SECONDS)
        ours = probe_ms(d, checked, SECONDS)
        floor = direct_ms(endpoints, SECONDS)
        start(d, ["stall"], image="stall",
              healthcheck={"http": "8080/", "interval": INTERVAL, "timeout": "1s"})
        time.sleep(2)
        ours_stall = probe_ms(d, checked, SECONDS)
        stalled = d.inspect("stall")["state"]["health"]
        floor_stall = direct_ms(endpoints, SECONDS)
        print("health checker, %d website guests, checks every %s, TCG, %s" %
              (N, INTERVAL, time.strftime("%Y-%m-%d %H:%M")))
        row("measure", "ukd's checker", "floor (same run)")
        row("---", "---", "---")
        row("HTTP check p50 / p99 (new conn. each)", lat(ours), lat(floor))
        row("same, a stalled guest checked beside them", lat(ours_stall), lat(floor_stall))
        row("ukd CPU, %% of one core, %d guests" % N, "%.2f %% (checked)" % cpu_checked,
            "%.2f %% (no checks)" % cpu_plain)
        print("stalled guest: %s, last: %s" % (stalled["status"], stalled["log"][-1]["output"]))
    finally:
        d.stop()


if __name__ == "__main__":
    main()
