"""ukd's unix socket appears under its name only once ukd listens on it: a client that sees the
path is never refused. A preloaded shim (listen_delay_shim.c) holds listen() on it for 300 ms;
before the fix the bound socket sat under its name meanwhile and a connect was refused."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from ukdtest import HERE, Daemon, check, run_phases, skip, skip_under_asan


def main():
    skip_under_asan(sys.argv[1], "an LD_PRELOAD shim")  # ASan wants its runtime first
    tmp = tempfile.mkdtemp(prefix="ukt-sr-", dir="/tmp")
    shim = os.path.join(tmp, "shim.so")
    r = subprocess.run(["cc", "-shared", "-fPIC", "-o", shim,
                        os.path.join(HERE, "listen_delay_shim.c"), "-ldl"],
                       capture_output=True, text=True)
    if r.returncode:
        skip("no C compiler for the shim: " + r.stderr.strip()[:200])
    root = tempfile.mkdtemp(prefix="ukt-", dir="/tmp")
    sock = os.path.join(root, "ukd.sock")
    seen = {}

    def watch():
        deadline = time.time() + 60
        while time.time() < deadline and not os.path.exists(sock):
            time.sleep(0.0005)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sock)
            seen["result"] = "connected"
        except OSError as e:
            seen["result"] = "%s: %s" % (type(e).__name__, e)
        finally:
            s.close()

    t = threading.Thread(target=watch)
    t.start()
    d = Daemon(sys.argv[1], root=root, env={"LD_PRELOAD": shim})
    try:
        t.join(70)
        check(seen.get("result") == "connected",
              "a connect as soon as %s appeared: %s" % (sock, seen.get("result")))
        check(not os.path.exists(sock + ".new"), "the temporary name is left behind")
        check(oct(os.stat(sock).st_mode & 0o777) == "0o660",
              "socket mode %o" % (os.stat(sock).st_mode & 0o777))
        d.ping()
    finally:
        check(d.stop(True), "ukd stopped cleanly")


run_phases([main])
