"""DNS over TCP on each network's gateway and /etc/resolv.conf read again when it changes, in
network and mount namespaces this test makes (as ukd_network_dns: upstream DNS servers of the
test's own on 127.0.0.1:53 and 127.0.0.2:53, UDP and TCP). Over TCP: local names (NXDOMAIN),
forwarded names, pipelined queries answered in order; an answer the upstream cuts over UDP (TC)
is relayed cut to a UDP client and fetched whole over TCP for a TCP client (more than 512
bytes). A client that sends half a length, one that never reads its answers, and more clients
than the bound: UDP and other TCP clients are answered meanwhile, the bound holds, the idle
ones are closed. Rewriting resolv.conf moves forwarding to the new upstream.
usage: test_network_dns_tcp.py UKD UK"""
import socket
import struct
import time

from ukdtest import check, run
from test_network import dns_ask, dns_query, uk
from test_network_dns import UPSTREAM_IP, Upstream, answer, namespaces, recv_all

OTHER_IP = "198.51.100.8"
TCP_NET_MAX = 16  # DNS_TCP_NET_MAX in daemon/net_dns_server.c
IDLE_S = 10       # DNS_TCP_IDLE_S


def tcp_conn(server, timeout=5):
    s = socket.create_connection((server, 53), timeout=timeout)
    s.settimeout(timeout)
    return s


def tcp_ask(server, *queries, timeout=5):
    """The answers to (queries), sent in one write over one TCP connection to (server):53."""
    with tcp_conn(server, timeout) as s:
        s.sendall(b"".join(struct.pack(">H", len(q)) + q for q in queries))
        return [recv_all(s, struct.unpack(">H", recv_all(s, 2))[0]) for _ in queries]


def closed(s, within):
    """True if ukd closes (s) (EOF or reset) within (within) s, reading what it sent first."""
    s.settimeout(within)
    t0 = time.time()
    try:
        while time.time() - t0 < within:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def closed_now(s):
    """True if ukd already closed (s) (EOF or reset), without waiting."""
    s.setblocking(False)
    try:
        return not s.recv(1)
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        s.settimeout(5)


def main(d):
    for args in (["--outbound", "o"], ["p"]):
        r = uk(d, "network", "create", *args)
        check(r.returncode == 0, "create %s: %s" % (args, r.err))
    gw = {n: d.req("GET", "/v1/networks/" + n).json()["gateway"] for n in "op"}

    # over TCP: forwarded under the client's ID; a plain network's NXDOMAIN; in order
    a = tcp_ask(gw["o"], dns_query("outside.example", qid=0x4243))
    check(a[0][:2] == b"\x42\x43" and answer(a[0]) == (0, [UPSTREAM_IP]),
          "outside.example over TCP on o: %r" % a)
    a = tcp_ask(gw["p"], dns_query("nobody", qid=7), dns_query("outside.example", qid=8))
    check([x[:2] for x in a] == [b"\0\7", b"\0\x08"] and all(answer(x) == (3, []) for x in a),
          "two pipelined queries over TCP on p: %r" % a)

    # a cut answer: a UDP client gets it cut (TC) and no records; over TCP the whole of it
    with UP.lock:
        before = len(UP.asked)
    r = dns_ask(dns_query("big.example", qid=9), server=gw["o"], timeout=5)
    check(r and r[2] & 0x02 and answer(r) == (0, []), "big.example over UDP: %r" % r)
    a = tcp_ask(gw["o"], dns_query("big.example", qid=10))
    rc, ips = answer(a[0])
    check(len(a[0]) > 512 and not a[0][2] & 0x02 and rc == 0 and
          ips == ["198.51.100.%d" % k for k in range(60, 0, -1)],
          "big.example over TCP: %d bytes, %r" % (len(a[0]), (rc, ips)))
    with UP.lock:
        protos = [x[3] for x in UP.asked[before:] if x[0] == "big.example"]
    check(protos == ["udp", "udp", "tcp"], "what the upstream got for big.example: %r" % protos)

    # hostile clients: half a length; 300 queries whose answers are never read
    half = tcp_conn(gw["o"])
    half.sendall(b"\0")
    mute = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    mute.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    mute.connect((gw["o"], 53))
    q = dns_query("big.example")
    mute.sendall((struct.pack(">H", len(q)) + q) * 300)
    time.sleep(1)
    t0 = time.time()
    r = dns_ask(dns_query("outside.example"), server=gw["o"], timeout=5)
    check(r and answer(r) == (0, [UPSTREAM_IP]), "UDP beside hostile TCP clients: %r" % r)
    a = tcp_ask(gw["o"], dns_query("outside.example"))
    check(answer(a[0]) == (0, [UPSTREAM_IP]), "TCP beside hostile TCP clients: %r" % a)
    print("answered beside two hostile TCP clients in %.2f s" % (time.time() - t0))
    # both closed after the idle bound (generous: a loaded machine)
    check(closed(half, IDLE_S + 20), "half a length: still open after %d s" % (IDLE_S + 20))
    check(closed(mute, IDLE_S + 20), "never reads: still open after %d s" % (IDLE_S + 20))
    half.close()
    mute.close()

    # the bound per network: the clients past it are closed at once, the others served
    conns = [tcp_conn(gw["p"]) for _ in range(TCP_NET_MAX + 4)]
    time.sleep(1)  # well within the idle bound
    over = [closed_now(c) for c in conns]
    check(over == [False] * TCP_NET_MAX + [True] * 4,
          "%d TCP clients on p: closed at once %r" % (len(conns), over))
    q = dns_query("nobody", qid=11)
    conns[0].sendall(struct.pack(">H", len(q)) + q)
    r = recv_all(conns[0], struct.unpack(">H", recv_all(conns[0], 2))[0])
    check(answer(r) == (3, []), "a client within the bound: %r" % r)
    for c in conns:
        c.close()
    time.sleep(0.5)
    a = tcp_ask(gw["p"], dns_query("nobody"))
    check(answer(a[0]) == (3, []), "a client after the others left: %r" % a)

    # resolv.conf rewritten: forwarding moves to the new upstream, then back
    for ns, want in (("127.0.0.2", OTHER_IP), ("127.0.0.1", UPSTREAM_IP)):
        with open(RESOLV, "w") as f:
            f.write("# ukd_network_dns_tcp\nnameserver %s\n" % ns)

        def moved():
            r = dns_ask(dns_query("outside.example"), server=gw["o"], timeout=5)
            return r and answer(r) == (0, [want])
        deadline = time.time() + 10
        while not moved() and time.time() < deadline:
            time.sleep(0.2)
        check(moved(), "resolv.conf naming %s: not used within 10 s" % ns)
    for n in "op":
        uk(d, "network", "rm", n)


if __name__ == "__main__":
    RESOLV = namespaces()
    UP = Upstream()
    Upstream("127.0.0.2", OTHER_IP)
    run(main)
