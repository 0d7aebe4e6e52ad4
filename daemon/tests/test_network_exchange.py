"""Two instances on one uk network exchange 10 MB byte-exact, by name and by alias, inside a
network namespace this test makes (unshare -n): netblast serve and netblast send (images/examples/
netblast); the client checks every byte it gets, and this test checks the CRC-32 both ends print
against the streams it makes itself. The same check is shown to reject a short transfer and one
corrupted byte (sent to the server from the namespace's host side), so it cannot pass on a
transfer that was not exact. A UDP port published on the network (-p HOST:53/udp, DNAT)
answers two host clients, each its own datagrams, shows in uk port, and answers again after a
kill -9 and restart of ukd (live restore).
usage: test_network_exchange.py UKD UK"""
import os
import re
import signal
import socket
import struct
import sys
import time
import zlib

from test_network import in_namespace
from ukdtest import SRC, check, free_port, require_qemu, run, uk_cli

UK = sys.argv[2] if len(sys.argv) > 2 else None
NETBLAST = os.path.join(SRC, "images", "examples", "netblast")
SIZE = 10 * 1024 * 1024


def stream(seed, n):
    """netblast's stream (seed): the little-endian words of a 64-bit LCG from (seed)."""
    x, words, out = seed, (n + 7) // 8, []
    for _ in range(words):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xffffffffffffffff
        out.append(x)
    return struct.pack("<%dQ" % words, *out)[:n]


def uk(d, *args, timeout=600):
    return uk_cli(UK, d, *args, timeout=timeout)


def exchanges(log):
    """(received bytes, crc, sent bytes, crc) per connection netblast serve logged."""
    got = re.findall(r"received (\d+) bytes crc32=([0-9a-f]{8})( \(not stream 1\))?\r?\n"
                     r"(?:netblast: sent (\d+) bytes crc32=([0-9a-f]{8}))?", log)
    return [(int(n), c, bool(bad), int(s or 0), sc) for n, c, bad, s, sc in got]


def exact(ex, up_crc, down_crc):
    """An exchange of SIZE bytes each way whose CRCs are the streams' own."""
    return ex == (SIZE, up_crc, False, SIZE, down_crc)


def host_send(ip, data, claim):
    """The namespace's host side as a netblast client: claims (claim) bytes, sends (data)."""
    s = socket.create_connection((ip, 9000), timeout=60)
    s.sendall(b"%d\n" % claim + data)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(60)
    while s.recv(1 << 20):
        pass
    s.close()


def udp(d):
    port = free_port()
    r = uk(d, "run", "-d", "--name", "echo", "--network", "x", "-p",
           "127.0.0.1:%d:53/udp" % port, "netblast", "udpecho", "53")
    check(r.returncode == 0, "run echo with a UDP port: %s" % r.err)
    r = uk(d, "port", "echo")
    check(r.out.strip() == "53/udp -> 127.0.0.1:%d" % port, "uk port echo: %s" % r.out)
    udp_answers(port)
    # kill -9 of ukd: the restarted one publishes the port again, as UDP (live restore)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.start()
    udp_answers(port)


def udp_answers(port):
    """Two clients on 127.0.0.1:(port), each answered with its own datagrams."""
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for c in clients:
        c.settimeout(0.5)
    t0 = time.time()
    answered = 0
    while time.time() - t0 < 120 and answered < 6:
        for i, c in enumerate(clients):
            c.sendto(b"q%d.%d" % (i, answered), ("127.0.0.1", port))
            try:
                data = c.recv(2048)
            except socket.timeout:
                continue  # the guest is still booting
            # a late answer to an earlier try may come: any of this client's own is right
            check(data.startswith(b"echo: q%d." % i), "client %d got %r" % (i, data))
            answered += 1
    check(answered >= 6, "UDP port 127.0.0.1:%d: %d answers" % (port, answered))
    for c in clients:
        c.close()


def main(d):
    require_qemu()
    up, down = stream(1, SIZE), stream(2, SIZE)
    up_crc, down_crc = "%08x" % zlib.crc32(up), "%08x" % zlib.crc32(down)
    d.build_ok(NETBLAST, "netblast")
    check(uk(d, "network", "create", "x").returncode == 0, "network create x")
    r = uk(d, "run", "-d", "--name", "sink", "--network", "x", "--network-alias", "bulk",
           "netblast", "serve", "9000")
    check(r.returncode == 0, "run sink: %s" % r.err)
    ip = d.req("GET", "/v1/networks/x").json()["endpoints"][0]["ip"]
    t0 = time.time()
    while "serving on 9000" not in d.logs("sink") and time.time() - t0 < 120:
        time.sleep(0.5)
    for n, name in enumerate(("sink", "bulk")):
        r = uk(d, "run", "--rm", "--network", "x", "netblast", "send", name, "9000",
               str(SIZE))
        print(r.out)
        check(r.returncode == 0, "send to %s: %d %s %s" % (name, r.returncode, r.out, r.err))
        check("netblast: %s is %s" % (name, ip) in r.out, "%s did not resolve to %s" %
              (name, ip))
        check("sent %d bytes crc32=%s" % (SIZE, up_crc) in r.out and
              "received %d bytes crc32=%s" % (SIZE, down_crc) in r.out,
              "client's CRCs are not the streams' (%s, %s): %s" % (up_crc, down_crc, r.out))
        ex = exchanges(d.logs("sink"))
        check(len(ex) == n + 1 and exact(ex[n], up_crc, down_crc),
              "server's side of exchange %d is not exact: %r (want %s/%s)" %
              (n + 1, ex, up_crc, down_crc))
    # the check above rejects what is not exact: a short transfer, one byte changed
    host_send(ip, up[:SIZE // 2], SIZE)
    bad = bytearray(up)
    bad[SIZE // 3] ^= 0x20
    host_send(ip, bytes(bad), SIZE)
    time.sleep(1)
    ex = exchanges(d.logs("sink"))
    check(len(ex) == 4, "server logged %d exchanges, want 4: %r" % (len(ex), ex))
    check(ex[2][0] == SIZE // 2 and not exact(ex[2], up_crc, down_crc),
          "a short transfer passed: %r" % (ex[2],))
    check(ex[3][0] == SIZE and ex[3][2] and not exact(ex[3], up_crc, down_crc),
          "a corrupted transfer passed: %r" % (ex[3],))
    udp(d)
    uk(d, "rm", "-f", "sink", "echo")
    uk(d, "network", "rm", "x")


if __name__ == "__main__":
    in_namespace()
    run(main, live_restore=True)
