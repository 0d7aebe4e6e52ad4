"""Ten concurrent creates + starts all succeed and all report their own exit code."""
import os
import threading

import sys

from ukdtest import HERE, check, require_qemu, run, skip_under_asan

GUEST = os.path.join(HERE, "guest")
N = 10


def main(d):
    d.build_ok(GUEST, "uktest")
    results, errors = {}, []

    def one(i):
        try:
            r = d.req("POST", "/v1/instances", body={"image": "uktest", "name": "c%d" % i,
                                                     "cmd": ["exit", str(i)]})
            check(r.status == 201, "create c%d: %r" % (i, r))
            r = d.req("POST", "/v1/instances/c%d/start" % i)
            check(r.status == 204, "start c%d: %r" % (i, r))
            results[i] = d.wait("c%d" % i)
        except Exception as e:  # collected: a thread cannot fail the test itself
            errors.append("c%d: %s" % (i, e))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    check(not errors, "; ".join(errors))
    check(results == {i: i for i in range(N)}, "exit codes: %s" % results)
    for i in range(N):
        check("uktest says hello" in d.logs("c%d" % i), "c%d log" % i)
    info = d.req("GET", "/v1/info").json()
    check(info["instances"] == N and info["running"] == 0, "info: %s" % info)
    # Back-to-back short runs: a guest that exits within ms of starting must still be a
    # successful start (libvirt kills QEMU before answering the start otherwise).
    for i in range(20):
        iid = d.create(image="uktest", cmd=["exit", "0"], auto_remove=True)
        d.post("/v1/instances/%s/start" % iid)
        check(d.wait(iid) == 0, "run %d" % i)


if require_qemu() is None:
    if len(sys.argv) > 1:
        skip_under_asan(sys.argv[1], "concurrent starts")
    run(main)
