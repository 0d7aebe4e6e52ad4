# Linux side of tap_loss.sh: downloads N bytes from the hosted app (port 5001) and uploads N bytes
# (port 5002, answered with the SHA-256 the app computed); both compared by SHA-256.
import hashlib
import socket
import sys
import time

host, n, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
data = b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range((n + 31) // 32))[:n]
want = hashlib.sha256(data).hexdigest()
fails = 0


def connect(port):
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection((host, port), timeout=limit)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


t = time.monotonic()
s = connect(5001)
h, got = hashlib.sha256(), 0
while True:
    b = s.recv(65536)
    if not b:
        break
    h.update(b)
    got += len(b)
s.close()
ok = got == n and h.hexdigest() == want
print("%s download: %d of %d bytes in %.2f s, SHA-256 %s" % ("ok  " if ok else "FAIL", got, n,
      time.monotonic() - t, "matches" if h.hexdigest() == want else "differs"))
fails += not ok

t = time.monotonic()
s = connect(5002)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
reply = s.makefile("rb").read().strip().decode(errors="replace")
s.close()
ok = reply == want
print("%s upload: %d bytes in %.2f s, app's SHA-256 %s" % ("ok  " if ok else "FAIL", n,
      time.monotonic() - t, "matches" if ok else "differs: %r" % reply[:70]))
fails += not ok
sys.exit(1 if fails else 0)
