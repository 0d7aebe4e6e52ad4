#!/usr/bin/env python3
"""A tiny authoritative DNS responder for tests (never forwards): A records for the names given,
NXDOMAIN for others. The first query for a name starting with "retry." is ignored, so a client
must retransmit. usage: dns_responder.py ADDR PORT NAME=IP... (logs one line per query)"""
import socket
import struct
import sys

addr, port = sys.argv[1], int(sys.argv[2])
table = dict(a.lower().split("=", 1) for a in sys.argv[3:])
seen = set()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(2048)
    if len(q) < 12:
        continue
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
        continue
    print("query", name, flush=True)
    if name in table:
        ip = socket.inet_aton(table[name])
        hdr = struct.pack("!HHHHHH", qid, 0x8580, 1, 2, 0, 0)
        # a CNAME first (compressed pointer to the question) then the A record, as servers do
        cname = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 2) + b"\xc0\x0c"
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + ip
        s.sendto(hdr + question + cname + rr, peer)
    else:
        hdr = struct.pack("!HHHHHH", qid, 0x8583, 1, 0, 0, 0)
        s.sendto(hdr + question, peer)
