# A packet socket on both taps of bench/g2g_stall.sh: one line per frame (time, tap, way, TCP header).
import select, signal, socket, struct, sys, time
out = open(sys.argv[1], "w", buffering=1 << 20)
socks = {}
for tap in ("uktap0", "uktap1"):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 25)
    s.bind((tap, 0))
    socks[s] = tap
def stop(*_):
    out.close(); sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    for s in select.select(list(socks), [], [])[0]:
        b, a = s.recvfrom(1 << 17)
        t = time.time()
        d = "to-guest" if a[2] == 4 else "from-guest"
        et = struct.unpack("!H", b[12:14])[0]
        if et == 0x0806:
            op = struct.unpack("!H", b[20:22])[0]
            out.write("%.6f %s %s ARP op%d %s>%s\n" % (t, socks[s], d, op, socket.inet_ntoa(b[28:32]), socket.inet_ntoa(b[38:42])))
            continue
        if et != 0x0800 or b[23] != 6:
            out.write("%.6f %s %s eth %04x len %d\n" % (t, socks[s], d, et, len(b)))
            continue
        ihl = (b[14] & 15) * 4
        tot = struct.unpack("!H", b[16:18])[0]
        tcp = b[14 + ihl:]
        sp, dp, seq, ack = struct.unpack("!HHII", tcp[:12])
        off = (tcp[12] >> 4) * 4
        fl = tcp[13]
        win = struct.unpack("!H", tcp[14:16])[0]
        plen = tot - ihl - off
        f = "".join(c for c, bit in zip("FSRPAU", (1, 2, 4, 8, 16, 32)) if fl & bit)
        out.write("%.6f %s %s %s:%d>%s:%d %s seq %u ack %u win %d len %d\n" % (t, socks[s], d, socket.inet_ntoa(b[26:30]), sp, socket.inet_ntoa(b[30:34]), dp, f, seq, ack, win, plen))
