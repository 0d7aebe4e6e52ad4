"""Debugging guests (docs/debugging.md) on a real ukd and QEMU (TCG): `uk run --gdb` starts the
guest paused with QEMU's gdb stub, and a real gdb in batch mode through `uk debug` (the image's
kernel ELF fetched from the daemon) stops at a breakpoint on a function of the test program,
reads a backtrace and variables, then lets the guest finish with its own exit code; bad --gdb
addresses are a 400 that stores nothing; a guest waiting for gdb survives a ukd restart (live
restore); a guest that dereferences a null pointer has its crash
report symbolized in `uk logs` (the faulting function, file:line, its caller and theirs)."""
import os
import re
import shutil
import signal
import socket
import sys

from ukdtest import HERE, check, free_port, require_qemu, run, skip, uk_cli, wait_until

DEBUGGEE = os.path.join(HERE, "debuggee")
UK = sys.argv[2] if len(sys.argv) > 2 else None
with open(os.path.join(DEBUGGEE, "main.c")) as _f:
    FAULT_LINE = [i for i, l in enumerate(_f, 1) if "*p = 42" in l][0]


def listening(port):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def bad_addresses(d):
    before = len(d.req("GET", "/v1/instances?all=1").json())
    for bad in ("nonsense", "127.0.0.1:0", "127.0.0.1:70000", "::1:1234", ":1234", "1234x",
                "10.0.0.300:1234", 1234, ""):
        r = d.req("POST", "/v1/instances", body={"image": "debuggee", "gdb": bad})
        check(r.status == 400 and "gdb" in r.json().get("message", ""),
              "gdb %r: expected a 400 naming gdb, got %r" % (bad, r))
    r = uk_cli(UK, d, "create", "--gdb", "localhost:1", "debuggee")
    check(r.returncode != 0 and "gdb" in r.err, "uk create --gdb localhost:1: %s" % r.err)
    after = len(d.req("GET", "/v1/instances?all=1").json())
    check(after == before, "a refused create stored an instance (%d -> %d)" % (before, after))
    # a bare port is 127.0.0.1's
    iid = d.create(image="debuggee", gdb="4321")
    check(d.inspect(iid)["config"].get("gdb") == "127.0.0.1:4321",
          "gdb 4321: %s" % d.inspect(iid)["config"])
    d.req("DELETE", "/v1/instances/" + iid)


def gdb_session(d):
    port = free_port()
    r = uk_cli(UK, d, "run", "-d", "--name", "dbg", "--gdb", str(port), "debuggee", "steps", "3")
    check(r.returncode == 0, "uk run --gdb: %s %s" % (r.out, r.err))
    ins = d.inspect("dbg")
    check(ins["config"].get("gdb") == "127.0.0.1:%d" % port, "inspect: %s" % ins["config"])
    check(ins["state"]["status"] == "running", "state: %s" % ins["state"])
    wait_until(lambda: listening(port), 60, "QEMU's gdb stub on 127.0.0.1:%d" % port)
    # paused: nothing ran, so nothing printed
    check("total" not in d.logs("dbg"), "the guest ran before gdb continued it")
    r = uk_cli(UK, d, "debug", "dbg", "-batch", "-ex", "break step", "-ex", "continue",
               "-ex", "bt", "-ex", "print n", "-ex", "continue", "-ex", "print n",
               "-ex", "print total", "-ex", "delete", "-ex", "detach", timeout=300)
    out = r.out + r.err
    print(out)
    check(r.returncode == 0, "uk debug exited with %d" % r.returncode)
    # "step (n=1)", or "step (n=n@entry=1)" when the argument came in a register
    check(re.search(r"Breakpoint 1, step \(n=(n@entry=)?1\)", out),
          "no stop at step(n=1): %s" % out)
    check(re.search(r"#0 +step \(n=(n@entry=)?1\)", out) and
          re.search(r"#1 +0x[0-9a-f]+ in main ", out), "backtrace without step <- main: %s" % out)
    check("main.c:" in out, "no file:line in the session: %s" % out)
    check("$1 = 1" in out and "$2 = 2" in out, "variable n not read as 1 then 2: %s" % out)
    check("$3 = 2" in out, "global total not 2 after step(1): %s" % out)
    check(d.wait("dbg") == 0, "guest did not exit 0 after detach")
    check("total 12" in d.logs("dbg"), "guest output after detach: %r" % d.logs("dbg"))
    # an instance without a stub: one sentence, no gdb started
    r = uk_cli(UK, d, "debug", "dbg")
    check(r.returncode != 0 and ("not running" in r.err or "exited" in r.err),
          "uk debug on an exited instance: %s" % r.err)
    iid = d.create(image="debuggee", name="nostub")
    r = uk_cli(UK, d, "debug", "nostub")
    check(r.returncode != 0 and "--gdb" in r.err, "uk debug without a stub: %s" % r.err)


def restore_paused(d):
    """A guest waiting for gdb is kept across a ukd restart (live restore): paused is its
    normal state, not a start ukd died in."""
    d.proc.send_signal(signal.SIGTERM)
    d.proc.wait(timeout=120)
    d.args = [a for a in d.args if a != "--live-restore=false"]
    d.start()
    port = free_port()
    r = uk_cli(UK, d, "run", "-d", "--name", "kept", "--gdb", str(port), "debuggee", "steps", "2")
    check(r.returncode == 0, "uk run --gdb: %s" % r.err)
    wait_until(lambda: listening(port), 60, "QEMU's gdb stub on 127.0.0.1:%d" % port)
    d.proc.send_signal(signal.SIGTERM)  # live restore: the guest stays
    d.proc.wait(timeout=120)
    d.start()
    ins = d.inspect("kept")
    check(ins["state"]["status"] == "running", "after a ukd restart: %s" % ins["state"])
    check(listening(port), "the gdb stub is gone after a ukd restart")
    r = uk_cli(UK, d, "debug", "kept", "-batch", "-ex", "detach", timeout=300)
    check(r.returncode == 0, "uk debug after a restart: %s %s" % (r.out, r.err))
    check(d.wait("kept") == 0 and "total 6" in d.logs("kept"),
          "the kept guest did not run to its end: %r" % d.logs("kept"))


def crash_report(d):
    r = uk_cli(UK, d, "run", "--name", "crash", "debuggee", "crash", "0", timeout=300)
    check(r.returncode == 139, "a null dereference exits 139, got %d: %s" % (r.returncode, r.err))
    logs = uk_cli(UK, d, "logs", "crash").out
    print(logs)
    check("null pointer dereference" in logs, "no crash report: %s" % logs)
    check("backtrace symbolized by ukd" in logs, "no symbolized backtrace: %s" % logs)
    sym = logs.split("backtrace symbolized by ukd", 1)[1]
    check(" in fault_here at ./main.c:%d\n" % FAULT_LINE in sym,
          "the faulting function and line are not named: %s" % sym)
    # the leaf's caller (its return address at rsp: the chain skips it), then the chain's
    check(re.search(r"#0 0x[0-9a-f]+ in crash_via at \./main\.c:\d+\n", sym),
          "the faulting leaf's caller crash_via is not frame #0: %s" % sym)
    check(re.search(r"#1 0x[0-9a-f]+ in main at \./main\.c:\d+\n", sym),
          "crash_via's caller main is not frame #1: %s" % sym)


def main(d):
    require_qemu()
    if not UK:
        skip("usage: test_debug.py UKD UK")
    d.build_ok(DEBUGGEE, "debuggee")
    bad_addresses(d)
    crash_report(d)
    if not shutil.which("gdb"):
        skip("gdb is not installed (apt-get install gdb): the symbolized crash report passed")
    gdb_session(d)
    restore_paused(d)


if __name__ == "__main__":
    run(main)
