# Opens N connections at once to 127.0.0.1:PORT, each sending one GET; counts 200 responses.
# usage: many.py PORT [N] [TIMEOUT]   exit 0 when every connection got "HTTP/1.1 200"
import selectors
import socket
import sys
import time

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
limit = float(sys.argv[3]) if len(sys.argv) > 3 else 20
sel = selectors.DefaultSelector()
req = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
state = {}
t0 = time.monotonic()
for i in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    state[s] = {"sent": False, "buf": b"", "t": None}
    sel.register(s, selectors.EVENT_WRITE)
ok = failed = 0
lat = []
pending = n
while pending and time.monotonic() - t0 < limit:
    for key, ev in sel.select(timeout=0.5):
        s, st = key.fileobj, state[key.fileobj]
        if not st["sent"]:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                failed += 1; pending -= 1; sel.unregister(s); s.close(); continue
            s.send(req)
            st["sent"] = True
            sel.modify(s, selectors.EVENT_READ)
            continue
        try:
            b = s.recv(65536)
        except OSError:
            b = b""
        st["buf"] += b
        if not b or b"\r\n\r\n" in st["buf"]:
            if st["buf"].startswith(b"HTTP/1.1 200"):
                ok += 1
                lat.append(time.monotonic() - t0)
            else:
                failed += 1
            pending -= 1
            sel.unregister(s)
            s.close()
print("%d/%d connections answered 200, %d failed, %d unanswered after %.1f s%s" % (
    ok, n, failed, pending, time.monotonic() - t0,
    (", last answer at %.2f s" % max(lat)) if lat else ""))
sys.exit(0 if ok == n else 1)
