"""A published UDP port's conntrack entries flushed when its DNAT rule goes or comes (nat.c,
conntrack.c), inside a network namespace this test makes: one client socket sends a datagram to
127.0.0.1:PORT every 0.2 s from start to end (so its flow's entry never times out); instance u1
(udpecho 9000 behind PORT) answers; u1 is removed, then u2 publishes the same PORT to udpecho
9001: the client's next datagrams must reach u2. Without the flush, the flow keeps the entry it
made with u1's rule (DNAT to u1's address, port 9000) for as long as it keeps sending, and u2
never hears from it. usage: test_network_conntrack.py UKD UK"""
import socket
import threading
import time

from test_network import in_namespace
from test_network_dnat import NETBLAST, uk
from ukdtest import check, free_port, require_qemu, run


class Client:
    """One UDP socket sending b"n N" every 0.2 s; each echo kept with the time it came."""

    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(0.2)
        self.port, self.replies, self.stop = port, [], False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        n = 0
        while not self.stop:
            n += 1
            self.s.sendto(b"n %d" % n, ("127.0.0.1", self.port))
            try:
                self.replies.append((time.time(), self.s.recv(2048)))
            except OSError:  # timeout, or an ICMP error while nothing listens
                pass

    def echo_after(self, t0, limit):
        """The first echo that came after t0, waiting up to limit seconds; b"" if none."""
        end = time.time() + limit
        while time.time() < end:
            late = [r for t, r in self.replies if t > t0]
            if late:
                return late[0]
            time.sleep(0.2)
        return b""


def main(d):
    require_qemu()
    d.build_ok(NETBLAST, "netblast")
    r = uk(d, "network", "create", "a")
    check(r.returncode == 0, "network create: %s" % r.err)
    port = free_port()
    r = uk(d, "run", "-d", "--name", "u1", "--network", "a", "-p", "127.0.0.1:%d:9000/udp" % port,
           "netblast", "udpecho", "9000")
    check(r.returncode == 0, "run u1: %s" % r.err)
    c = Client(port)
    try:
        got = c.echo_after(0, 120)
        check(got.startswith(b"echo: n "), "u1 echoes: %r" % got)
        r = uk(d, "rm", "-f", "u1")
        check(r.returncode == 0, "rm u1: %s" % r.err)
        r = uk(d, "run", "-d", "--name", "u2", "--network", "a", "-p",
               "127.0.0.1:%d:9001/udp" % port, "netblast", "udpecho", "9001")
        check(r.returncode == 0, "run u2: %s" % r.err)
        t0 = time.time()
        # u2 starts in well under 60 s; the stale entry would outlast any wait (the client
        # never pauses), so this bound only decides how long a failure takes to show
        got = c.echo_after(t0, 60)
        check(got.startswith(b"echo: n "),
              "the same client's datagrams reach u2 on the same port after u1 went: %r" % got)
    finally:
        c.stop = True
        c.t.join()
    uk(d, "rm", "-f", "u2")
    uk(d, "network", "rm", "a")


if __name__ == "__main__":
    in_namespace()
    run(main, live_restore=True)
