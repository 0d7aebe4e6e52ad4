#!/usr/bin/env python3
"""A tiny authoritative DNS responder for tests (never forwards): A records for the names given,
NXDOMAIN for others. The first query for a name starting with "retry." is ignored, so a client
must retransmit. A name starting with "big." gets 40 A records (its own address first, then
10.99.0.1...): over UDP that does not fit 512 bytes, so the answer is the question alone with TC
set; over TCP (RFC 7766 framing, same port) the whole answer.
usage: dns_responder.py ADDR PORT NAME=IP... (logs one line per query)"""
import socket
import struct
import sys
import threading

addr, port = sys.argv[1], int(sys.argv[2])
table = dict(a.lower().split("=", 1) for a in sys.argv[3:])
seen = set()


def answer(q, tcp):
    """The reply to query q, None to drop it."""
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    off, labels = 12, []
    while off < len(q) and q[off]:
        n = q[off]
        labels.append(q[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    off += 5  # the zero byte, QTYPE, QCLASS
    name = ".".join(labels).lower()
    question = q[12:off]
    if name.startswith("retry.") and name not in seen:
        seen.add(name)
        print("dropped first query for", name, flush=True)
        return None
    print("tcp query" if tcp else "query", name, flush=True)
    if name.startswith("big.") and name in table:
        if not tcp:
            return struct.pack("!HHHHHH", qid, 0x8780, 1, 0, 0, 0) + question  # TC
        ips = [socket.inet_aton(table[name])] + [bytes([10, 99, 0, i]) for i in range(1, 40)]
        hdr = struct.pack("!HHHHHH", qid, 0x8580, 1, len(ips), 0, 0)
        return hdr + question + b"".join(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + ip
                                         for ip in ips)
    if name in table:
        ip = socket.inet_aton(table[name])
        hdr = struct.pack("!HHHHHH", qid, 0x8580, 1, 2, 0, 0)
        # a CNAME first (compressed pointer to the question) then the A record, as servers do
        cname = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 2) + b"\xc0\x0c"
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + ip
        return hdr + question + cname + rr
    hdr = struct.pack("!HHHHHH", qid, 0x8583, 1, 0, 0, 0)
    return hdr + question


def tcp_server():
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, port))
    t.listen(8)
    while True:
        c, _ = t.accept()
        c.settimeout(10)
        try:
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                more = c.recv(4096)
                if not more:
                    break
                buf += more
            r = answer(buf[2:], True) if len(buf) >= 14 else None
            if r:
                c.sendall(struct.pack("!H", len(r)) + r)
        except OSError:
            pass
        c.close()


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
threading.Thread(target=tcp_server, daemon=True).start()
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(2048)
    if len(q) < 12:
        continue
    r = answer(q, False)
    if r:
        s.sendto(r, peer)
