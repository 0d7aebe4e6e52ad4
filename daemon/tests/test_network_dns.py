"""DNS forwarding on --outbound networks, in network and mount namespaces this test makes
(unshare -n -m): /etc/resolv.conf is bind-mounted to name an upstream DNS server the test runs
on 127.0.0.1:53 of its own namespace. Names that are not instances are forwarded on an
--outbound network and answered NXDOMAIN (never forwarded) on a plain or --internal one; a
hostile upstream's wrong-ID and wrong-question answers are dropped (the guest gets the real
one); a silent upstream gives SERVFAIL, not a wait forever; a flood of outside names keeps at
most the bound in flight upstream; a guest on the --outbound network resolves an outside name
through ukd. usage: test_network_dns.py UKD UK"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from ukdtest import check, require_qemu, run
from test_network import NETCLIENT, dns_ask, dns_query, uk

UPSTREAM_IP = "198.51.100.7"


def namespaces():
    """Re-runs this script in new network and mount namespaces with our resolv.conf."""
    if os.environ.get("UKT_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        conf = tempfile.NamedTemporaryFile("w", prefix="ukt-resolv-", delete=False)
        conf.write("# ukd_network_dns\nnameserver 127.0.0.1\n")
        conf.close()
        subprocess.run(["mount", "--bind", conf.name, "/etc/resolv.conf"], check=True)
        return conf.name
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nft"):
        print("SKIP: needs root, unshare(1) and nft(8) (namespaces of its own)")
        sys.exit(77)
    if subprocess.run(["unshare", "-n", "-m", "true"]).returncode != 0:
        print("SKIP: cannot make network and mount namespaces here")
        sys.exit(77)
    env = dict(os.environ, UKT_NETNS="1")
    sys.exit(subprocess.run(["unshare", "-n", "-m", "--propagation", "private",
                             sys.executable, *sys.argv], env=env).returncode)


class Upstream:
    """A DNS server on (ip):53, UDP and TCP: outside.example A (addr); forged.example: first a
    wrong-ID answer and an answer to another question (1.1.1.1), then the real one; silent.*
    never answered; big.example: over UDP cut (TC, no records), over TCP 60 A records (more
    than 512 bytes). Counts what it is asked (name, additional records, length, "udp"/"tcp")."""

    def __init__(self, ip="127.0.0.1", addr=UPSTREAM_IP):
        self.addr = addr
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 53))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((ip, 53))
        self.tcp.listen(64)
        self.asked = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()
        threading.Thread(target=self.serve_tcp, daemon=True).start()

    def answers(self, q, proto):
        """The messages that answer query (q) over (proto)."""
        qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", q[:12])
        end = q.index(b"\0", 12) + 5
        name = []
        i = 12
        while q[i]:
            name.append(q[i + 1:i + 1 + q[i]].decode())
            i += q[i] + 1
        name = ".".join(name)
        with self.lock:
            self.asked.append((name, ar, len(q), proto))
        if name.startswith("silent"):
            return []
        ans = lambda i, question, ips: (struct.pack(">HHHHHH", i, 0x8180, 1, len(ips), 0, 0) +
                                        question + b"".join(
                                            struct.pack(">HHHIH", 0xc00c, 1, 1, 60, 4) +
                                            socket.inet_aton(ip) for ip in ips))
        out = []
        if name == "big.example":
            if proto == "udp":
                return [struct.pack(">HHHHHH", qid, 0x8380, 1, 0, 0, 0) + q[12:end]]
            return [ans(qid, q[12:end], ["198.51.100.%d" % k for k in range(1, 61)])]
        if name == "forged.example":
            out.append(ans(qid ^ 1, q[12:end], ["1.1.1.1"]))
            out.append(ans(qid, dns_query("other.example")[12:], ["1.1.1.1"]))
        return out + [ans(qid, q[12:end], [self.addr])]

    def serve(self):
        while True:
            try:
                q, src = self.sock.recvfrom(4096)
            except OSError:
                return
            for k, a in enumerate(self.answers(q, "udp")):
                if k:
                    time.sleep(0.05)
                self.sock.sendto(a, src)

    def serve_tcp(self):
        while True:
            c, _ = self.tcp.accept()
            threading.Thread(target=self.serve_conn, args=(c,), daemon=True).start()

    def serve_conn(self, c):
        with c:
            try:
                while True:
                    n = struct.unpack(">H", recv_all(c, 2))[0]
                    for a in self.answers(recv_all(c, n), "tcp"):
                        c.sendall(struct.pack(">H", len(a)) + a)
            except (OSError, EOFError, struct.error):
                return


def recv_all(s, n):
    """(n) bytes from stream (s); EOFError if it ends first."""
    b = b""
    while len(b) < n:
        k = s.recv(n - len(b))
        if not k:
            raise EOFError("stream ended after %d of %d bytes" % (len(b), n))
        b += k
    return b


def answer(r):
    """(rcode, [A addresses]) of a response."""
    rc = r[3] & 0xf
    n = struct.unpack(">H", r[6:8])[0]
    return rc, [socket.inet_ntoa(r[len(r) - 4 - 16 * k:len(r) - 16 * k]) for k in range(n)]


def main(d):
    for args in (["--outbound", "o"], ["p"], ["--internal", "i"]):
        r = uk(d, "network", "create", *args)
        check(r.returncode == 0, "create %s: %s" % (args, r.err))
    gw = {n: d.req("GET", "/v1/networks/" + n).json()["gateway"] for n in "opi"}
    # --outbound: an outside name is forwarded, its answer relayed under the guest's ID
    r = dns_ask(dns_query("Outside.Example", qid=0x4242), server=gw["o"], timeout=5)
    check(r and r[:2] == b"\x42\x42" and answer(r) == (0, [UPSTREAM_IP]),
          "outside.example on o: %r" % r)
    with UP.lock:
        asked = list(UP.asked)
    check(asked and asked[-1][0] == "Outside.Example" and asked[-1][1] == 0,
          "what the upstream got: %r (the question, no additional records)" % asked)
    # an EDNS query: forwarded without its OPT record
    q = dns_query("outside.example")
    q = q[:10] + b"\0\1" + q[12:] + b"\0\0\x29\x10\0\0\0\0\0\0\0"
    r = dns_ask(q, server=gw["o"], timeout=5)
    check(r and answer(r) == (0, [UPSTREAM_IP]), "EDNS query: %r" % r)
    with UP.lock:
        check(UP.asked[-1][1] == 0, "OPT record forwarded: %r" % UP.asked[-1:])
    # a hostile upstream: a wrong ID and another question first; the guest gets the real one
    r = dns_ask(dns_query("forged.example"), server=gw["o"], timeout=5)
    check(r and answer(r) == (0, [UPSTREAM_IP]), "forged.example: %r" % r)
    # not --outbound: NXDOMAIN, and nothing reaches the upstream
    with UP.lock:
        before = len(UP.asked)
    for n in "pi":
        r = dns_ask(dns_query("outside.example"), server=gw[n], timeout=5)
        check(r and answer(r) == (3, []), "outside.example on %s: %r" % (n, r))
    time.sleep(0.3)
    with UP.lock:
        check(len(UP.asked) == before, "a plain network forwarded: %r" % UP.asked[before:])
    # a silent upstream: SERVFAIL after the tries (2 x 2 s here), never a wait forever
    t0 = time.time()
    r = dns_ask(dns_query("silent.example"), server=gw["o"], timeout=30)
    check(r and answer(r)[0] == 2 and time.time() - t0 < 20,
          "silent.example: %r after %.1f s" % (r, time.time() - t0))
    # a flood of outside names to the silent upstream: at most 128 per network in flight
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    with UP.lock:
        before = len(UP.asked)
    for k in range(300):  # paced so that no kernel buffer drops what the bound should
        s.sendto(dns_query("silent%d.example" % k, qid=k), (gw["o"], 53))
        if k % 25 == 24:
            time.sleep(0.005)
    time.sleep(1.0)  # within the first try of each: no retry yet
    with UP.lock:
        inflight = len(UP.asked) - before
    s.settimeout(0.5)
    early = 0
    try:
        while True:
            early += answer(s.recv(2048))[0] == 2
    except socket.timeout:
        pass
    print("flood: %d of 300 forwarded in the first second, %d SERVFAIL at once" %
          (inflight, early))
    check(0 < inflight <= 128 and early >= 100,
          "flood: %d forwarded (bound 128), %d SERVFAIL at once" % (inflight, early))
    s.close()
    # the flood's queries end in SERVFAIL after their tries; then the network forwards again
    time.sleep(5)
    r = dns_ask(dns_query("outside.example"), server=gw["o"], timeout=5)
    check(r and answer(r) == (0, [UPSTREAM_IP]), "after the flood: %r" % r)
    if os.environ.get("UKT_NET_NO_GUESTS") != "1":
        guest(d)
    for n in "opi":
        uk(d, "network", "rm", n)


def guest(d):
    """A guest's getaddrinfo of an outside name on --outbound o: through ukd, the upstream's
    address (nothing listens there: netclient then fails to connect, exit 3); on p: NXDOMAIN."""
    require_qemu()
    d.build_ok(NETCLIENT, "netclient")
    r = uk(d, "run", "--rm", "--network", "o", "netclient", "outside.example", "80")
    check(r.returncode == 3 and "outside.example is %s" % UPSTREAM_IP in r.out,
          "netclient on o: %d %s %s" % (r.returncode, r.out, r.err))
    r = uk(d, "run", "--rm", "--network", "p", "netclient", "outside.example", "80")
    check(r.returncode == 2, "netclient on p resolved an outside name: %s" % r.out)


if __name__ == "__main__":
    namespaces()
    UP = Upstream()
    run(main)
