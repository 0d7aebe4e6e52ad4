# Opens N connections at once to 127.0.0.1:PORT, each sending one GET; an attempt unanswered after
# ATTEMPT seconds is closed and made again on a new connection within the next 2 s (as a browser
# would), at most 8 times. usage: many.py PORT [N] [LIMIT] [ATTEMPT]   exit 0 when all N got "HTTP/1.1 200" in LIMIT s
import random
import selectors
import socket
import sys
import time

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
limit = float(sys.argv[3]) if len(sys.argv) > 3 else 100
attempt_s = float(sys.argv[4]) if len(sys.argv) > 4 else 5
req = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
sel = selectors.DefaultSelector()
attempts = [0] * n
first_ok = ok = bad = 0
t0 = time.monotonic()


def start(i):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    attempts[i] += 1
    sel.register(s, selectors.EVENT_WRITE, {"i": i, "sent": False, "buf": b"",
                                            "t": time.monotonic()})


def finish(s):
    sel.unregister(s)
    s.close()


for i in range(n):
    start(i)
pending = n
later = []
while pending and time.monotonic() - t0 < limit:
    for key, ev in sel.select(timeout=0.2):
        s, st = key.fileobj, key.data
        if not st["sent"]:
            try:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    raise OSError("connect failed")
                s.send(req)
            except OSError:  # refused or reset: again in a second
                finish(s)
                later.append((time.monotonic() + 1, st["i"]))
                continue
            st["sent"] = True
            sel.modify(s, selectors.EVENT_READ, st)
            continue
        try:
            b = s.recv(65536)
        except OSError:
            b = b""
        st["buf"] += b
        if not b or b"\r\n\r\n" in st["buf"]:
            finish(s)
            pending -= 1
            if st["buf"].startswith(b"HTTP/1.1 200"):
                ok += 1
                first_ok += attempts[st["i"]] == 1
            else:
                bad += 1
    now = time.monotonic()
    for t, i in [x for x in later if x[0] <= now]:
        later.remove((t, i))
        if attempts[i] < 8:
            start(i)
        else:
            pending -= 1
    for key in list(sel.get_map().values()):
        st = key.data
        if now - st["t"] > attempt_s:
            finish(key.fileobj)
            if attempts[st["i"]] < 8:
                # Spread the retries over 2 s: in lockstep they meet slirp's backlog of 1 as
                # one burst again and again (as browsers back off, with jitter).
                later.append((now + random.uniform(0, 2), st["i"]))
            else:
                pending -= 1
print("%d/%d connections answered 200 (%d on the first attempt, %d retried after %g s), "
      "%d bad, %d unanswered, %.1f s" % (ok, n, first_ok, sum(a > 1 for a in attempts), attempt_s,
                                         bad, pending, time.monotonic() - t0))
sys.exit(0 if ok == n else 1)
