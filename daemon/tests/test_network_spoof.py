"""A hostile guest on a shared uk network (issue 12), inside a network namespace this test makes.
Real guests (website on the libvirt and on the qemu backend) are the victims; the attacker,
"mallory", and a bystander, "bob", are instances ukd created on the network whose NICs are veths
the test plugs into the bridge under the tap names ukd gave them (ukd never started them; the
test's raw-frame sender is their "guest"). Mallory forges: ARP claiming a victim's address (the
host's neighbour entry stolen) and the gateway's (bob's), IPv4 from a victim's address, frames
from a victim's MAC (the bridge learns it on mallory's port), IPv6, 802.1Q tags. Each attack
must fail while mallory's and bob's honest frames, ARP, HTTP to a guest and the guests' own
traffic (netclient by name on both backends) work; with ukd's bridge table deleted each attack
succeeds (the rules are what stops it). The rules follow the NICs: connect, disconnect, rm,
kill -9 (they stay in the kernel), restart, network rm. ukd's DNS on the gateway: an asker
outside the network gets nothing; a flooding asker (UDP or TCP) leaves another asker answered.
usage: test_network_spoof.py UKD UK"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

from test_network import Peer, in_namespace, uk_links
from ukdtest import SRC, check, fail, require_qemu, run, uk_cli

UK = sys.argv[2] if len(sys.argv) > 2 else None
WEBSITE = os.path.join(SRC, "images", "examples", "website")
NETCLIENT = os.path.join(SRC, "images", "examples", "netclient")

# Sends raw Ethernet frames (hex, one per argument) out of an interface, ROUNDS times 50 ms
# apart.
SEND = r"""
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for _ in range(int(sys.argv[2])):
    for f in sys.argv[3:]:
        s.send(bytes.fromhex(f))
    time.sleep(0.05)
"""

# Captures frames on an interface for a while; prints which of the markers arrived (JSON).
SNIFF = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(0.2)
print("ready", flush=True)
end, seen = time.time() + float(sys.argv[2]), set()
while time.time() < end:
    try:
        f = s.recv(65536)
    except socket.timeout:
        continue
    seen.update(m for m in sys.argv[3:] if m.encode() in f)
print(json.dumps(sorted(seen)), flush=True)
"""


def uk(d, *args, timeout=600):
    return uk_cli(UK, d, *args, timeout=timeout)


def get_at(ip, port=80, timeout=10):
    """The status line of GET / at (ip):(port), or the error."""
    try:
        s = socket.create_connection((ip, port), timeout=timeout)
        s.settimeout(timeout)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = s.recv(64)
        s.close()
        return data.split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError as e:
        return "error: %s" % e


def wait_at(ip, limit=120):
    t0 = time.time()
    while time.time() - t0 < limit:
        if get_at(ip, timeout=2).startswith("HTTP/1."):
            return
        time.sleep(0.2)
    fail("nothing answered at %s:80 within %d s" % (ip, limit))


def mac_b(m):
    return bytes.fromhex(m.replace(":", ""))


def ip_b(ip):
    return socket.inet_aton(ip)


def csum(b):
    c = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    c = (c & 0xffff) + (c >> 16)
    return ~((c & 0xffff) + (c >> 16)) & 0xffff


def udp_frame(smac, dmac, sip, dip, payload, vlan=None):
    udp = struct.pack(">HHHH", 40000, 9999, 8 + len(payload), 0) + payload
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, ip_b(sip),
                    ip_b(dip))
    h = h[:10] + struct.pack(">H", csum(h)) + h[12:]
    tag = struct.pack(">HH", 0x8100, vlan) if vlan is not None else b""
    return mac_b(dmac) + mac_b(smac) + tag + b"\x08\x00" + h + udp


def arp_frame(smac, dmac, sha, spa, tpa, op=1):
    body = struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac_b(sha), ip_b(spa),
                       b"\0" * 6, ip_b(tpa))
    return mac_b(dmac) + mac_b(smac) + b"\x08\x06" + body + b"\0" * 18


def ip6_frame(smac, payload):
    udp = struct.pack(">HHHH", 40000, 9999, 8 + len(payload), 0) + payload
    src = bytes.fromhex("fe80000000000000") + bytes(8)
    dst = bytes.fromhex("ff020000000000000000000000000001")
    h = struct.pack(">IHBB", 0x60000000, len(udp), 17, 64) + src + dst
    return mac_b("33:33:00:00:00:01") + mac_b(smac) + b"\x86\xdd" + h + udp


class Neighbour(Peer):
    """A NIC of instance (name) (created, never started) played by a veth in a namespace of
    its own: the host end carries the tap name ukd gave the NIC, on the network's bridge."""

    def __init__(self, d, name, br):
        ep = [e for e in d.req("GET", "/v1/networks/a").json()["endpoints"]
              if e["name"] == name][0]
        self.name, self.tap, self.mac, self.ip = name, ep["tap"], ep["mac"], ep["ip"]
        super().__init__(self.tap, "tvp" + self.tap[2:10], name="eth0", master=br, mac=self.mac,
                         addr=self.ip + "/24", routes=[["default", "via", "10.89.0.1"]])

    def send(self, *frames, rounds=2, wait=True):
        p = subprocess.Popen(self.ns + [sys.executable, "-c", SEND, "eth0", str(rounds),
                                        *[f.hex() for f in frames]])
        if wait:
            p.wait()
        return p

    def neigh(self, ip):
        out = self.sh("ip", "-j", "neigh", "show", "to", ip, "dev", "eth0").stdout
        return [n.get("lladdr") for n in json.loads(out or "[]")]


def host_neigh(br, ip):
    out = subprocess.run(["ip", "-j", "neigh", "show", "to", ip, "dev", br], capture_output=True,
                         text=True).stdout
    return [n.get("lladdr") for n in json.loads(out or "[]")]


def fdb_port(br, mac):
    out = subprocess.run(["bridge", "-j", "fdb", "show", "br", br], capture_output=True,
                         text=True).stdout
    return [e.get("ifname") for e in json.loads(out or "[]") if e.get("mac") == mac]


def attack_round(br, web, m, b):
    """Mallory's attacks and both neighbours' honest traffic: {what: observed}."""
    subprocess.run(["ip", "neigh", "flush", "dev", br], capture_output=True)
    b.sh("ip", "neigh", "flush", "dev", "eth0", check_rc=False)
    m.sh("ip", "neigh", "flush", "dev", "eth0", check_rc=False)
    subprocess.run(["bridge", "fdb", "flush", "dev", m.tap], capture_output=True)
    # the host knows web (a real guest) at its MAC, as after any exchange
    wait_at(web["ip"])
    check(host_neigh(br, web["ip"]) == [web["mac"]],
          "host's neighbour entry of web: %s" % host_neigh(br, web["ip"]))
    gw = "10.89.0.1"
    bc = "ff:ff:ff:ff:ff:ff"
    sniff = subprocess.Popen(b.ns + [sys.executable, "-c", SNIFF, "eth0", "4", "UKS-ipforged",
                                     "UKS-macforged", "UKS-ipv6", "UKS-vlan", "UKS-honest"],
                             stdout=subprocess.PIPE, text=True)
    check(sniff.stdout.readline().strip() == "ready", "sniffer did not start")
    m.send(
        # "web is at mallory's MAC" to the gateway (the host), "the gateway is at mallory's" to bob
        arp_frame(m.mac, bc, m.mac, web["ip"], gw),
        arp_frame(m.mac, b.mac, m.mac, gw, b.ip),
        udp_frame(m.mac, b.mac, web["ip"], b.ip, b"UKS-ipforged"),
        ip6_frame(m.mac, b"UKS-ipv6"),
        udp_frame(m.mac, b.mac, m.ip, b.ip, b"UKS-vlan", vlan=7),
        # honest: mallory's own address and MAC
        udp_frame(m.mac, b.mac, m.ip, b.ip, b"UKS-honest"),
        arp_frame(m.mac, b.mac, m.mac, m.ip, b.ip))
    # for a second, watched meanwhile: the victim's next frame teaches the bridge its MAC's
    # port back
    p = m.send(udp_frame(web["mac"], b.mac, web["ip"], b.ip, b"UKS-macforged"), rounds=20,
               wait=False)
    learnt = False
    while p.poll() is None:
        learnt = learnt or m.tap in fdb_port(br, web["mac"])
    p.wait()
    got = {
        "arp: web's address stolen from the host": host_neigh(br, web["ip"]) == [m.mac],
        "arp: the gateway impersonated to bob": b.neigh(gw) == [m.mac],
        "web's MAC learnt on mallory's port": learnt,
    }
    seen = json.loads(sniff.communicate(timeout=30)[0])
    for marker, what in (("UKS-ipforged", "ipv4 from web's address"),
                         ("UKS-macforged", "a frame from web's MAC"),
                         ("UKS-ipv6", "ipv6"), ("UKS-vlan", "an 802.1Q-tagged frame")):
        got[what + " reached bob"] = marker in seen
    honest = {
        "mallory's own udp reached bob": "UKS-honest" in seen,
        "mallory's own arp taught bob its MAC": b.neigh(m.ip) == [m.mac],
    }
    # an honest client in mallory's namespace (Linux's stack: ARP, TCP) gets web's page
    r = m.py("import socket; s = socket.create_connection((%r, 80), timeout=10); "
             "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print(s.recv(64))" % web["ip"])
    honest["mallory's HTTP to web"] = "HTTP/1." in r.stdout
    # and bob asks ukd's DNS on the gateway
    r = b.py(DNS_ASK, gw, "udp", "1", "web")
    honest["bob's DNS query answered"] = r.stdout.strip() == "1"
    subprocess.run(["ip", "neigh", "flush", "dev", br], capture_output=True)
    print("attacks:", got, "\nhonest:", honest)
    return got, honest


# Asks GW for NAME N times over udp or tcp; prints how many got an answer (2 s each).
DNS_ASK = r"""
import socket, struct, sys
gw, proto, n, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0\0\1\0\1"
ok = 0
for _ in range(n):
    try:
        if proto == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.sendto(q, (gw, 53))
            ok += len(s.recv(2048)) > 12
        else:
            s = socket.create_connection((gw, 53), timeout=2)
            s.settimeout(2)
            s.sendall(struct.pack(">H", len(q)) + q)
            ok += len(s.recv(2048)) > 14
        s.close()
    except OSError:
        pass
print(ok)
"""

# Floods GW:53 for SECONDS: udp queries as fast as it can send, or tcp: N connections held
# open without a query.
DNS_FLOOD = r"""
import socket, struct, sys, time
gw, proto, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
q = struct.pack(">HHHHHH", 0x4343, 0x0100, 1, 0, 0, 0) + b"\3web\0\0\1\0\1"
end = time.time() + secs
print("go", flush=True)
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    while time.time() < end:
        try:
            s.sendto(q, (gw, 53))
        except BlockingIOError:
            time.sleep(0.0005)
else:
    held = []
    while time.time() < end:
        if len(held) < 64:
            try:
                held.append(socket.create_connection((gw, 53), timeout=2))
            except OSError:
                pass
        time.sleep(0.01)
"""


def dns_checks(d, m, b):
    """ukd's DNS: an asker outside the network gets nothing; a flood leaves others answered."""
    gw = "10.89.0.1"
    # an outsider: a host routed to the network through this host, not on the bridge
    o = Peer("tvout0", "tvout1", here_addr="172.31.99.1/24", addr="172.31.99.2/24",
             routes=[["10.89.0.0/24", "via", "172.31.99.1"]])
    try:
        for proto in ("udp", "tcp"):
            r = o.py(DNS_ASK, gw, proto, "2", "web")
            check(r.stdout.strip() == "0",
                  "an asker outside the network got %s answers over %s" % (r.stdout, proto))
    finally:
        o.close()
    # a flood from mallory: bob still gets his answers (2 s timeouts)
    for proto, secs in (("udp", 8), ("tcp", 12)):
        fl = subprocess.Popen(m.ns + [sys.executable, "-c", DNS_FLOOD, gw, proto, str(secs)],
                              stdout=subprocess.PIPE, text=True)
        check(fl.stdout.readline().strip() == "go", "flood did not start")
        time.sleep(2)
        r = b.py(DNS_ASK, gw, proto, "5", "web")
        fl.wait(timeout=60)
        check(r.stdout.strip() == "5",
              "bob got %s of 5 answers over %s while mallory flooded" % (r.stdout.strip(),
                                                                         proto))


def nft_bridge(stateless=True):
    t = [l.split()[2] for l in subprocess.run(["nft", "list", "tables", "bridge"],
                                               capture_output=True, text=True).stdout.splitlines()
         if l.startswith("table bridge uk_")]
    if not t:
        return ""
    return subprocess.run(["nft"] + (["-s"] if stateless else []) +
                          ["list", "table", "bridge", t[0]], capture_output=True,
                          text=True).stdout


def pinned(tap):
    t = nft_bridge()
    return '"%s" : jump nic_%s' % (tap, tap) in t and "chain nic_%s {" % tap in t


def drops(tap):
    """The packets counted in (tap)'s chain (its drops)."""
    t = nft_bridge(stateless=False)
    part = t.split("chain nic_%s {" % tap)[1].split("}")[0] if "nic_" + tap in t else ""
    return sum(int(w.split()[0]) for w in part.split("counter packets ")[1:])


def main(d):
    require_qemu()
    d.build_ok(WEBSITE, "site")
    d.build_ok(NETCLIENT, "netclient")
    r = uk(d, "network", "create", "a")
    check(r.returncode == 0, "network create: %s" % r.err)
    br = d.req("GET", "/v1/networks/a").json()["bridge"]
    r = uk(d, "run", "-d", "--name", "web", "--network", "a", "site")
    check(r.returncode == 0, "run web: %s" % r.err)
    r = uk(d, "run", "-d", "--backend", "qemu", "--name", "qweb", "--network", "a", "site")
    check(r.returncode == 0, "run qweb (qemu backend): %s" % r.err)
    for n in ("mallory", "bob"):
        r = uk(d, "create", "--name", n, "--network", "a", "site")
        check(r.returncode == 0, "create %s: %s" % (n, r.err))
    eps = {e["name"]: e for e in d.req("GET", "/v1/networks/a").json()["endpoints"]}
    web, qweb = eps["web"], eps["qweb"]
    m, b = Neighbour(d, "mallory", br), Neighbour(d, "bob", br)
    try:
        time.sleep(1)  # the bridge ports forward once they are up
        # the guests' own traffic through pinned taps, both backends: DNS, ARP, TCP by name
        for backend, server in (("libvirt", "qweb"), ("qemu", "web")):
            r = uk(d, "run", "--rm", "--backend", backend, "--network", "a", "netclient",
                   server, "80")
            check(r.returncode == 0 and "answered: HTTP/1." in r.out,
                  "netclient (%s) to %s: %s %s" % (backend, server, r.out, r.err))
        for victim in (web, qweb):
            got, honest = attack_round(br, victim, m, b)
            check(not any(got.values()), "attacks got through against %s: %s" %
                  (victim["name"], [k for k, v in got.items() if v]))
            check(all(honest.values()), "honest traffic blocked: %s" %
                  [k for k, v in honest.items() if not v])
        for e in eps.values():
            check(pinned(e["tap"]), "no rule pins %s's NIC %s:\n%s" % (e["name"], e["tap"],
                                                                       nft_bridge()))
        print(nft_bridge())
        check(drops(m.tap) > 0, "no drop counted on %s:\n%s" % (m.tap, nft_bridge(False)))
        dns_checks(d, m, b)
        # the control: without ukd's bridge table every attack gets through
        t = nft_bridge().split()[2]
        subprocess.run(["nft", "delete", "table", "bridge", t], check=True)
        got, honest = attack_round(br, web, m, b)
        check(all(got.values()), "without the rules some attacks failed anyway: %s" %
              [k for k, v in got.items() if not v])
        uk(d, "network", "create", "rebuild")  # any change rebuilds the tables
        uk(d, "network", "rm", "rebuild")
        got, honest = attack_round(br, web, m, b)
        check(not any(got.values()) and all(honest.values()), "not rebuilt: %s %s" %
              (got, honest))
    finally:
        m.close()
        b.close()
    # the rules follow the NICs: connect, disconnect, kill -9, restart, rm, network rm
    r = uk(d, "network", "create", "b")
    check(r.returncode == 0, "network create b: %s" % r.err)
    r = uk(d, "network", "connect", "b", "bob")
    check(r.returncode == 0, "connect: %s" % r.err)
    bob_b = [e for e in d.req("GET", "/v1/networks/b").json()["endpoints"]][0]["tap"]
    r = uk(d, "start", "bob")
    check(r.returncode == 0, "start bob: %s" % r.err)
    check(pinned(bob_b) and pinned(eps["bob"]["tap"]), "bob's NICs:\n%s" % nft_bridge())
    before = nft_bridge()
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    check(nft_bridge() == before, "the rules changed while ukd was down")
    d.start()
    check(nft_bridge() == before, "the rules after the restart:\n%s" % nft_bridge())
    d.proc.send_signal(signal.SIGTERM)  # live restore: the guests stay
    d.proc.wait()
    d.start()
    check(nft_bridge() == before, "the rules after a restart:\n%s" % nft_bridge())
    wait_at(web["ip"])
    uk(d, "stop", "bob")
    r = uk(d, "network", "disconnect", "b", "bob")
    check(r.returncode == 0, "disconnect: %s" % r.err)
    check(not pinned(bob_b) and pinned(eps["bob"]["tap"]), "after disconnect:\n%s" %
          nft_bridge())
    uk(d, "rm", "-f", "mallory")
    check(not pinned(eps["mallory"]["tap"]), "mallory's rule after rm:\n%s" % nft_bridge())
    uk(d, "rm", "-f", "web", "qweb", "bob")
    check("nic_" not in nft_bridge(), "rules left after rm:\n%s" % nft_bridge())
    for n in ("a", "b"):
        r = uk(d, "network", "rm", n)
        check(r.returncode == 0, "network rm %s: %s" % (n, r.err))
    check(nft_bridge() == "" and uk_links() == [], "left behind: %s %s" % (nft_bridge(),
                                                                         uk_links()))


if __name__ == "__main__":
    in_namespace()
    run(main, live_restore=True)
