"""Measures where `uk run` time goes on a real ukd (not a test; numbers for docs/daemon.md):
HTTP create, start (= libvirt virDomainCreateXML, as ukd logs it), start→exit, and the total.
Usage: measure_start.py PATH/TO/ukd [RUNS]"""
import re
import statistics
import sys
import time

import ukdtest

RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
d = ukdtest.Daemon(sys.argv[1])
ok = False
try:
    d.build_ok(ukdtest.os.path.join(ukdtest.SRC, "images", "examples", "hello"), "hello")
    d.create(image="hello", name="warm")  # the first start pays libvirt's lazy setup
    d.post("/v1/instances/warm/start")
    d.wait("warm")
    rows = []
    for i in range(RUNS):
        t0 = time.time()
        iid = d.create(image="hello", auto_remove=True)
        t1 = time.time()
        d.post("/v1/instances/%s/start" % iid)
        t2 = time.time()
        code = d.wait(iid)
        t3 = time.time()
        ukdtest.check(code == 0, "exit %d" % code)
        rows.append((t1 - t0, t2 - t1, t3 - t2, t3 - t0))
    with open(d.log) as f:
        lv = [int(m) for m in re.findall(r"started uk-\w+ \(\w+\) in (\d+) ms", f.read())][1:]
    def pct(v, p):
        v = sorted(v)
        return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
    names = ["create (HTTP+sqlite)", "start (HTTP)", "start→exit recorded", "total run"]
    print("%-24s %8s %8s %8s" % ("ms, %d runs" % RUNS, "p50", "p90", "max"))
    for i, n in enumerate(names):
        v = [r[i] * 1000 for r in rows]
        print("%-24s %8.1f %8.1f %8.1f" % (n, pct(v, 50), pct(v, 90), max(v)))
    print("%-24s %8.1f %8.1f %8.1f" % ("virDomainCreateXML", pct(lv, 50), pct(lv, 90), max(lv)))
    ok = True
finally:
    d.stop(ok)
