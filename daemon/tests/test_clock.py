"""The guest's wall clock at boot within 50 ms of the host's (issue 16; it was 0.8-1.3 s behind
from the CMOS RTC, then 0.35-1.4 s from time= at spawn): a guest prints
clock_gettime(CLOCK_REALTIME) first thing in main, and ukd's timestamp of that console line is
the host's time when the line arrived. Without a pvclock (TCG) the guest dates its TSC from the
host's time ukd wrote into its COM3 right before resuming it, so it is behind by the resume
only. The console path adds to the offset: ukd copies a console at most every 20 ms after
inotify says it changed (PUMP_S), plus scheduling on a loaded host. Asserted: the guest says its
wall clock came from the COM3 record; no run ahead of the host (beyond the calibration's
1/256 over the boot: AHEAD_S); the median within 50 ms + PUMP_S; every run within a generous
LOADED_S. Each offset is printed (bench/README.md, "Guest wall clock", has the figures).
On the backend UK_TEST_BACKEND names. usage: test_clock.py UKD"""
import calendar
import os
import re
import statistics
import time

from ukdtest import BACKEND, HERE, check, require_qemu, run

GUEST = os.path.join(HERE, "guest_stats")
RUNS = 8
GOAL_S = 0.05
PUMP_S = 0.02
AHEAD_S = 0.005
LOADED_S = 0.5


def offset(d, name):
    d.create(image="stats", name=name, cmd=["clock"])
    t0 = time.time()
    d.post("/v1/instances/%s/start" % name)
    start = time.time() - t0
    check(d.wait(name) == 0, "%s did not exit 0: %s" % (name, d.logs(name)))
    line = [l for l in d.logs(name, "?timestamps=1").splitlines() if " realtime " in l]
    check(line, "no realtime line: %r" % d.logs(name))
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9})Z realtime (\d+)\.(\d{9})$", line[0])
    check(m, "line: %r" % line[0])
    host = m.group(1)
    # seconds since the epoch of the RFC 3339 UTC timestamp, exactly
    whole = calendar.timegm(time.strptime(host[:19], "%Y-%m-%dT%H:%M:%S"))
    host_s = whole + int(host[20:]) / 1e9
    guest_s = int(m.group(2)) + int(m.group(3)) / 1e9
    how = [l for l in d.logs(name).splitlines() if l.startswith("clock ")]
    check(how and "wall from time record (com3)" in how[0],
          "%s: wall clock not from the COM3 record: %r" % (name, how))
    return host_s - guest_s, start  # > 0: the guest is behind


def main(d):
    require_qemu()
    d.build_ok(GUEST, "stats")
    offs, bad = [], []
    for i in range(RUNS):
        off, start = offset(d, "clock%d" % i)
        offs.append(off)
        print("run %d: guest behind the host by %+.1f ms (start request %.1f ms)" %
              (i, off * 1000, start * 1000))
        if not -AHEAD_S <= off <= LOADED_S:
            bad.append("%+.3f s" % off)
    med = statistics.median(offs)
    print("%s backend: median %+.1f ms, max |%.1f| ms over %d runs" %
          (BACKEND, med * 1000, max(abs(o) for o in offs) * 1000, RUNS))
    check(not bad, "guest wall clock ahead of the host or far behind: %s" % bad)
    check(med <= GOAL_S + PUMP_S, "median %.1f ms behind: more than %d ms + the console's %d ms" %
          (med * 1000, GOAL_S * 1000, PUMP_S * 1000))


if __name__ == "__main__":
    run(main)
