"""Published ports on a uk network by kernel DNAT (ukd's default), inside a network namespace this
test makes: the rules in ukd's table (127.0.0.1, 0.0.0.0 and UDP), the host port held (a second
bind or publish is refused), 200 simultaneous connects and wrk -c50 -d10s with no socket error,
UDP echoed, a guest reaching its network's port on the host's address (hairpin); the
CVE-2020-8558 guard: a neighbour on the bridge reaches neither a 127.0.0.1 listener of the host
nor, with a forged 127.0.0.2 source, gets the gateway to answer a ping (each shown to get through
without the rule); kill -9 of ukd: the port answers while ukd is down, the rules are there once
after the restart, also for a port another program bound meanwhile; rm removes the rules and frees the port; --userland-proxy publishes through
ukd's proxy instead (no DNAT rule), and back; network rm leaves no table.
usage: test_network_dnat.py UKD UK"""
import os
import signal
import socket
import subprocess
import sys
import time

from test_network import (Peer, get, in_namespace, link_mac, nft_tables, uk_links,
                          wait_answer)
from ukdtest import SRC, check, free_port, publish_load, require_qemu, run, uk_cli, wait_until

UK = sys.argv[2] if len(sys.argv) > 2 else None
WEBSITE = os.path.join(SRC, "images", "examples", "website")
NETCLIENT = os.path.join(SRC, "images", "examples", "netclient")
NETBLAST = os.path.join(SRC, "images", "examples", "netblast")

# Sends one raw Ethernet frame (IPv4/UDP, or an ICMP echo request when SPORT is "icmp", any
# addresses) out of an interface: what a neighbour on the bridge can forge.
# argv: IFACE DST_MAC SRC_IP DST_IP SPORT DPORT HEX_PAYLOAD
FORGE = r"""
import socket, struct, sys
ifc, dmac, sip, dip, sp, dp, pl = sys.argv[1:8]
pl = bytes.fromhex(pl)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifc, 0))
smac = s.getsockname()[4]
def csum(b):
    b += b"\0" * (len(b) % 2)
    c = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    c = (c & 0xffff) + (c >> 16)
    c = (c & 0xffff) + (c >> 16)
    return ~c & 0xffff
if sp == "icmp":
    proto, udp = 1, struct.pack(">BBHHH", 8, 0, 0, 0x5555, 1) + pl
    udp = udp[:2] + struct.pack(">H", csum(udp)) + udp[4:]
else:
    proto, udp = 17, struct.pack(">HHHH", int(sp), int(dp), 8 + len(pl), 0) + pl
h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, proto, 0,
                socket.inet_aton(sip), socket.inet_aton(dip))
h = h[:10] + struct.pack(">H", csum(h)) + h[12:]
eth = bytes.fromhex(dmac.replace(":", "")) + smac + b"\x08\x00"
for _ in range(3):
    s.send(eth + h + udp)
"""


def uk(d, *args, timeout=600):
    return uk_cli(UK, d, *args, timeout=timeout)


def table(family="ip"):
    """ukd's table (ip uk_HASH, or its companion in (family) "bridge") as nft lists it."""
    t = nft_tables()
    if not t:
        return ""
    return subprocess.run(["nft", "list", "table", family, t[0]], capture_output=True,
                          text=True).stdout


def dnat_lines():
    return sorted(l.strip() for l in table().splitlines() if "dnat to" in l)


def bind_refused(port, udp=False):
    """True if this host's 127.0.0.1:port cannot be bound (TCP: as a listener would)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    if not udp:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        if not udp:
            s.listen(1)
        return False
    except OSError:
        return True
    finally:
        s.close()


def udp_echo(port, msg=b"ping", timeout=3):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        for _ in range(10):  # the guest may still be starting
            s.sendto(msg, ("127.0.0.1", port))
            try:
                return s.recv(2048)
            except socket.timeout:
                continue
        return b""
    finally:
        s.close()


def published(d, ports):
    """Rules for web's two TCP ports and echo's UDP port, held host ports, answers."""
    p, q, u = ports
    rules = dnat_lines()
    print("\n".join(rules))
    check(any("ip daddr 127.0.0.1 tcp dport %d dnat to 10.89.0.2:80" % p in l for l in rules),
          "no DNAT rule for 127.0.0.1:%d: %s" % (p, rules))
    check(any("fib daddr type local tcp dport %d dnat to 10.89.0.2:80" % q in l for l in rules),
          "no DNAT rule for 0.0.0.0:%d: %s" % (q, rules))
    check(any("udp dport %d dnat to 10.89.0.3:7000" % u in l for l in rules),
          "no DNAT rule for udp %d: %s" % (u, rules))
    # 127.0.0.1 only on the host: no prerouting rule takes it from elsewhere
    check(len([l for l in rules if "dport %d " % p in l]) == 1, "127.0.0.1:%d twice" % p)
    check(bind_refused(p) and bind_refused(q) and bind_refused(u, udp=True),
          "a published port is free to bind: %d %d %d" % (p, q, u))
    wait_answer(p)
    check(get(q).startswith("HTTP/1."), "0.0.0.0:%d on 127.0.0.1: %s" % (q, get(q)))
    r = udp_echo(u)
    check(r == b"echo: ping", "udp %d: %r" % (u, r))


def guard(d, br):
    """A neighbour on the bridge (a netns of this test's own on a veth) forges packets."""
    mac = link_mac(br)
    with open("/proc/sys/net/ipv4/conf/%s/route_localnet" % br) as f:
        check(f.read().strip() == "1", "route_localnet not set on %s" % br)
    # the lowest unicast MAC there is on the bridge's port: a bridge whose MAC is not set takes
    # its lowest port's (ukd's did, before the gateway had a fixed MAC: the forged frames below
    # then went to a MAC the host no longer owned, and every check here passed or failed by
    # chance)
    nb = Peer("tveth0", "tveth1", master=br, here_mac="02:00:00:00:00:01", addr="10.89.0.200/24")
    try:
        ns = nb.ns
        # the bridge port forwards once both ends are up (forwarding, LOWER_UP): wait for it,
        # not a fixed second (under CI's load the first forged frames met a port not yet there)
        def forwarding():
            out = subprocess.run(["bridge", "link", "show", "dev", "tveth0"],
                                 capture_output=True, text=True).stdout
            return "state forwarding" in out and "LOWER_UP" in out

        wait_until(forwarding, 30, "the neighbour's bridge port forwarding")
        time.sleep(0.5)
        now = link_mac(br)
        check(now == mac and mac.startswith("02:75:6b:"),
              "the gateway's MAC changed from %s to %s when a port joined %s" % (mac, now, br))

        def forge(sip, dip, sport, dport, payload):
            subprocess.run(ns + [sys.executable, "-c", FORGE, "tveth1", mac, sip, dip,
                                 str(sport), str(dport), payload.hex()], check=True)

        def reached():
            """(to 127.0.0.1 listener, the gateway's echo reply reflected to 127.0.0.2)"""
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            b = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            a.bind(("127.0.0.1", 0))
            a.settimeout(2)
            # 127.0.0.2: a forged source equal to an address of this host (lo's 127.0.0.1) is
            # a martian to the kernel already; the rest of 127.0.0.0/8 is not. A ping: ukd's
            # DNS answers only askers inside the network (net_dns_server.h), the host's
            # stack answers a ping to the gateway from anyone the input chain lets through
            forge("10.89.0.200", "127.0.0.1", 40000, a.getsockname()[1], b"secret")
            forge("127.0.0.2", "10.89.0.1", "icmp", 0, b"ukguard")
            got = []
            try:
                got.append(len(a.recv(2048)) > 0)
            except socket.timeout:
                got.append(False)
            a.close()
            end, echo = time.time() + 2, False
            b.settimeout(0.2)
            while time.time() < end and not echo:
                try:
                    p = b.recv(2048)
                except socket.timeout:
                    continue
                # an echo reply (type 0) to 127.0.0.2 carrying the forged request's data
                echo = p[16:20] == socket.inet_aton("127.0.0.2") and p[20] == 0 and \
                    p.endswith(b"ukguard")
            b.close()
            return got + [echo]

        got = reached()
        check(got == [False, False], "a neighbour on %s reached 127.0.0.0/8: %s" % (br, got))
        # the controls: without the guard the forged source is answered, without the table the
        # forged destination arrives: the checks above observe the rules
        # (up to three tries each, which only makes a control's false failure rarer: the
        # controls' failures in session 7 were the gateway's MAC moving to this neighbour's, see
        # above; the checks with the rules in place get one try)
        subprocess.run(["nft", "delete", "chain", "ip", nft_tables()[0], "guard"], check=True)
        check(any(reached()[1] for _ in range(3)),
              "without the guard the gateway did not answer a forged 127.0.0.2 (3 tries)")
        subprocess.run(["nft", "delete", "table", "ip", nft_tables()[0]], check=True)
        check(any(reached()[0] for _ in range(3)),
              "without the table a forged 127.0.0.1 destination did not arrive (3 tries)")
        uk(d, "network", "create", "rebuild")  # any change rebuilds the whole table
        uk(d, "network", "rm", "rebuild")
        check(reached() == [False, False], "the guard not rebuilt")
    finally:
        nb.close()


def restart(d, *args):
    """Stops ukd (live restore: the guests stay) and starts it with (args)."""
    d.proc.send_signal(signal.SIGTERM)
    d.proc.wait()
    d.args = [a for a in d.args if not a.startswith("--userland-proxy")] + list(args)
    d.start()


def main(d):
    require_qemu()
    d.build_ok(WEBSITE, "site")
    d.build_ok(NETCLIENT, "netclient")
    d.build_ok(NETBLAST, "netblast")
    r = uk(d, "network", "create", "a")
    check(r.returncode == 0, "network create: %s" % r.err)
    br = d.req("GET", "/v1/networks/a").json()["bridge"]
    p, q, u = free_port(), free_port(), free_port()
    r = uk(d, "run", "-d", "--name", "web", "--network", "a", "-p", "127.0.0.1:%d:80" % p, "-p",
           "0.0.0.0:%d:80" % q, "site")
    check(r.returncode == 0, "run web: %s" % r.err)
    r = uk(d, "run", "-d", "--name", "echo", "--network", "a", "-p",
           "127.0.0.1:%d:7000/udp" % u, "netblast", "udpecho", "7000")
    check(r.returncode == 0, "run echo: %s" % r.err)
    published(d, (p, q, u))
    r = uk(d, "port", "web")
    check(sorted(r.out.split("\n")[:2]) ==
          ["80/tcp -> 0.0.0.0:%d" % q, "80/tcp -> 127.0.0.1:%d" % p], "uk port: %s" % r.out)
    # the port held: neither another instance nor a listener of the host's takes it
    before = dnat_lines()
    r = uk(d, "run", "-d", "--network", "a", "-p", "127.0.0.1:%d:80" % p, "site")
    check(r.returncode != 0 and "already in use" in r.err, "second publish of %d: %s" % (p, r.err))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    r = uk(d, "run", "-d", "--network", "a", "-p", "127.0.0.1:%d:80" % taken.getsockname()[1],
           "site")
    check(r.returncode != 0 and "already in use" in r.err, "publish of a taken port: %s" % r.err)
    taken.close()
    check(dnat_lines() == before, "refused publishes changed the rules: %s" % dnat_lines())
    uk(d, "rm", "-f", *[i["id"] for i in d.req("GET", "/v1/instances?all=1").json()
                         if i["state"] != "running"])
    publish_load(p, get, 10)
    # hairpin: a guest reaches its own network's port on the host's address (the gateway)
    r = uk(d, "run", "--rm", "--network", "a", "netclient", "10.89.0.1", str(q))
    check(r.returncode == 0 and "answered: HTTP/1." in r.out, "hairpin: %s %s" % (r.out, r.err))
    guard(d, br)
    published(d, (p, q, u))
    # kill -9: the kernel keeps serving the ports while ukd is down; the restart rebuilds once
    rules = dnat_lines()
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    check(get(p).startswith("HTTP/1.") and udp_echo(u) == b"echo: ping",
          "the ports stopped answering with ukd down")
    check(not bind_refused(p), "no reservation while ukd is down?")
    # a program takes echo's UDP port meanwhile: the guest, first, keeps it (and a warning)
    squat = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squat.bind(("127.0.0.1", u))
    d.start()
    check(dnat_lines() == rules, "rules after restart: %s, before %s" % (dnat_lines(), rules))
    check(udp_echo(u) == b"echo: ping", "udp %d after restart with the port taken" % u)
    with open(d.log) as f:
        check("its DNAT rule kept for instance" in f.read(), "no warning for the taken port")
    squat.close()
    d.proc.send_signal(signal.SIGTERM)
    d.proc.wait()
    d.start()
    published(d, (p, q, u))
    # rm: rules gone, port free
    uk(d, "rm", "-f", "web")
    check(not any("dport %d " % p in l or "dport %d " % q in l for l in dnat_lines()),
          "web's rules after rm: %s" % dnat_lines())
    check(not bind_refused(p) and not bind_refused(q), "web's ports still held after rm")
    # --userland-proxy: echo's port comes back through the proxy, a new web publishes by it
    restart(d, "--userland-proxy")
    check(dnat_lines() == [], "DNAT rules with --userland-proxy: %s" % dnat_lines())
    check(udp_echo(u) == b"echo: ping", "udp through the proxy")
    r = uk(d, "run", "-d", "--name", "web", "--network", "a", "-p", "127.0.0.1:%d:80" % p, "site")
    check(r.returncode == 0, "run web (proxy): %s" % r.err)
    wait_answer(p)
    check(dnat_lines() == [] and bind_refused(p), "proxy mode: %s" % dnat_lines())
    publish_load(p, get, 10)
    restart(d, "--userland-proxy=false")
    check(len(dnat_lines()) == 2, "back to DNAT: %s" % dnat_lines())
    wait_answer(p)
    check(udp_echo(u) == b"echo: ping", "udp by DNAT again")
    uk(d, "rm", "-f", "web", "echo")
    check(dnat_lines() == [], "rules after rm of all: %s" % dnat_lines())
    r = uk(d, "network", "rm", "a")
    check(r.returncode == 0, "network rm: %s" % r.err)
    check(uk_links() == [] and nft_tables() == [], "left behind: %s %s" % (uk_links(),
                                                                          nft_tables()))


if __name__ == "__main__":
    in_namespace()
    run(main, live_restore=True)
