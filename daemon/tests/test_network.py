"""uk networks end to end, inside a network namespace this test makes (unshare -n): network
create/ls/inspect/rm/prune and their bad input (400, 409); bridges and the nftables table made and
removed; two instances on one network reach each other by name and by alias (netclient ->
website), an unknown name is NXDOMAIN; a second network cannot reach the first; an --internal
network has no way out; a published port on a network answers a burst of 200 connects and wrk
-c50 with no error; rm of a network in use is a 409 naming the instance; kill -9 of ukd with a
guest on a network: after the restart the guest answers by name and on its port, its tap kept,
a stale tap of ours removed, a foreign uk* link left alone.
usage: test_network.py UKD UK"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from ukdtest import (SRC, check, fail, free_port, publish_load, require_qemu, run, uk_cli,
                     wait_until)

UK = sys.argv[2] if len(sys.argv) > 2 else None
WEBSITE = os.path.join(SRC, "images", "examples", "website")
NETCLIENT = os.path.join(SRC, "images", "examples", "netclient")


def in_namespace():
    """Re-runs this script in a new network namespace (loopback up) unless it already is."""
    if os.environ.get("UKT_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        # a host that routes (as one with Docker or an --outbound network does): what isolates
        # networks must be ukd's rules, not a kernel that does not forward
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write("1")
        return
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nft"):
        print("SKIP: needs root, unshare(1) and nft(8) (a network namespace of its own)")
        sys.exit(77)
    if subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        print("SKIP: cannot make a network namespace here")
        sys.exit(77)
    env = dict(os.environ, UKT_NETNS="1")
    sys.exit(subprocess.run(["unshare", "-n", sys.executable, *sys.argv], env=env).returncode)


def uk(d, *args, timeout=300):
    return uk_cli(UK, d, *args, timeout=timeout)


class Peer:
    """A network namespace of this test's own (a sleeping process holds it) joined to this one by
    a veth pair: (here) in this namespace, up, on bridge (master) or with address (here_addr),
    MAC (here_mac) if given; its peer (there) inside, renamed (name), with MAC (mac), address
    (addr, "IP/PREFIX") and routes (each `ip route add`'s arguments), up with its lo."""

    def __init__(self, here, there, name=None, master=None, here_addr=None, here_mac=None,
                 mac=None, addr=None, routes=()):
        self.here, self.dev = here, name or there
        self.proc = subprocess.Popen(["unshare", "-n", "sleep", "3600"])
        ours = os.readlink("/proc/self/ns/net")
        wait_until(lambda: os.readlink("/proc/%d/ns/net" % self.proc.pid) != ours, 10,
                   "unshare -n made its namespace")
        self.ns = ["nsenter", "--net=/proc/%d/ns/net" % self.proc.pid]
        try:
            self.setup(here, there, name, master, here_addr, here_mac, mac, addr, routes)
        except BaseException:
            self.close()
            raise

    def setup(self, here, there, name, master, here_addr, here_mac, mac, addr, routes):
        subprocess.run(["ip", "link", "add", here] + (["address", here_mac] if here_mac else []) +
                       ["type", "veth", "peer", "name", there, "netns", str(self.proc.pid)],
                       check=True)
        subprocess.run(["ip", "link", "set", here] + (["master", master] if master else []) +
                       ["up"], check=True)
        if here_addr:
            subprocess.run(["ip", "addr", "add", here_addr, "dev", here], check=True)
        if name:
            self.sh("ip", "link", "set", there, "name", name)
        if mac:
            self.sh("ip", "link", "set", self.dev, "address", mac)
        self.sh("ip", "link", "set", self.dev, "up")
        self.sh("ip", "link", "set", "lo", "up")
        if addr:
            self.sh("ip", "addr", "add", addr, "dev", self.dev)
        for r in routes:
            self.sh("ip", "route", "add", *r)

    def sh(self, *args, check_rc=True):
        return subprocess.run(self.ns + list(args), check=check_rc, capture_output=True,
                              text=True)

    def py(self, code, *args, timeout=60):
        return subprocess.run(self.ns + [sys.executable, "-c", code, *args],
                              capture_output=True, text=True, timeout=timeout)

    def close(self):
        self.proc.kill()
        self.proc.wait()
        subprocess.run(["ip", "link", "del", self.here], capture_output=True)


def links():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {l.split(": ")[1].split("@")[0]: l for l in out.splitlines()}


def link_mac(name):
    """The MAC address of link (name) in this namespace."""
    return links()[name].split("link/ether ")[1].split()[0]


def uk_links():
    return sorted(n for n in links() if n.startswith("uk"))


def nft_tables():
    """The uk tables (ip uk_HASH, one per ukd root) in this namespace."""
    out = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True).stdout
    return [l.split()[2] for l in out.splitlines() if l.startswith("table ip uk_")]


def nft_table():
    return nft_tables() != []


def get(port, timeout=10):
    """The status line of GET / on 127.0.0.1:port, or the error."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.settimeout(timeout)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        s.close()
        return data.split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError as e:
        return "error: %s" % e


def wait_answer(port, limit=120):
    t0 = time.time()
    while time.time() - t0 < limit:
        if get(port, timeout=2).startswith("HTTP/1."):
            return
        time.sleep(0.2)
    fail("nothing answered on 127.0.0.1:%d within %d s" % (port, limit))


def networks_api(d):
    """Create/list/inspect/rm/prune and their bad input, no guest needed."""
    for bad in ["../x", "x" * 64, "n\u00e9t", "", "-a", "a b", "none", "user"]:
        r = d.req("POST", "/v1/networks", body={"name": bad})
        check(r.status == 400, "network name %r: expected 400, got %r" % (bad, r))
    for body in [{"name": "q", "subnet": "10.0.0.1/24"}, {"name": "q", "subnet": "10.0.0.0/33"},
                 {"name": "q", "subnet": "10.90.0.0/24", "gateway": "10.91.0.1"},
                 {"name": "q", "internal": True, "outbound": True}, {"name": "q", "x": 1},
                 {"name": "q", "internal": "yes"}, {"name": 5}]:
        r = d.req("POST", "/v1/networks", body=body)
        check(r.status == 400, "%r: expected 400, got %r" % (body, r))
    check(uk_links() == [] and not nft_table(), "bad input left %s" % uk_links())
    r = uk(d, "network", "create", "a")
    check(r.returncode == 0, "create a: %s" % r.err)
    a = d.req("GET", "/v1/networks/a").json()
    check(a["subnet"] == "10.89.0.0/24" and a["gateway"] == "10.89.0.1", "a: %r" % a)
    check(a["bridge"] in links() and "10.89.0.1/24" in subprocess.run(
        ["ip", "-o", "addr", "show", "dev", a["bridge"]], capture_output=True,
        text=True).stdout, "bridge %s without its gateway address" % a["bridge"])
    check(nft_table(), "no nftables table ip uk_* after create")
    r = uk(d, "network", "create", "a")
    check(r.returncode == 1 and "already exists" in r.err, "create a twice: %s" % r.err)
    r = d.req("POST", "/v1/networks", body={"name": "q", "subnet": "10.89.0.128/25"})
    check(r.status == 409 and "overlaps network a" in r.json()["message"], "overlap: %r" % r)
    # a host route is not a uk network's to take
    subprocess.run(["ip", "link", "add", "hostdummy", "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", "10.89.1.1/24", "dev", "hostdummy"], check=True)
    subprocess.run(["ip", "link", "set", "hostdummy", "up"], check=True)
    b = json.loads(uk(d, "network", "create", "--format", "json", "b").out)
    check(b["subnet"] == "10.89.2.0/24", "IPAM took a host route's subnet: %r" % b)
    r = d.req("POST", "/v1/networks", body={"name": "q", "subnet": "10.89.1.0/24"})
    check(r.status == 409 and "hostdummy" in r.json()["message"], "host route: %r" % r)
    r = uk(d, "network", "ls")
    check(r.returncode == 0 and " a " in r.out and " b " in r.out, "ls: %s" % r.out)
    r = uk(d, "network", "create", "--subnet", "172.30.0.0/16", "--gateway", "172.30.9.9",
           "--internal", "c")
    check(r.returncode == 0, "create c: %s" % r.err)
    c = d.req("GET", "/v1/networks/c").json()
    check(c["internal"] and c["gateway"] == "172.30.9.9", "c: %r" % c)
    r = uk(d, "network", "rm", "c")
    check(r.returncode == 0 and c["bridge"] not in links(), "rm c: %s %s" % (r.err, uk_links()))
    r = uk(d, "network", "inspect", "nosuch")
    check(r.returncode == 1 and "no such network" in r.err, "inspect nosuch: %s" % r.err)


def guests(d):
    require_qemu()
    d.build_ok(WEBSITE, "site")
    d.build_ok(NETCLIENT, "netclient")
    port = free_port()
    uk(d, "network", "create", "--internal", "c")
    r = uk(d, "run", "-d", "--name", "web", "--network", "a", "--network-alias", "www", "-p",
           "127.0.0.1:%d:80" % port, "site")
    check(r.returncode == 0, "run web: %s" % r.err)
    wait_answer(port)
    web_ip = d.req("GET", "/v1/networks/a").json()["endpoints"][0]["ip"]
    check(web_ip == "10.89.0.2", "web's address: %s" % web_ip)
    dns_checks(web_ip)
    for name in ("web", "www", "WEB"):
        r = uk(d, "run", "--rm", "--network", "a", "netclient", name, "80")
        check(r.returncode == 0 and "answered: HTTP/1." in r.out,
              "netclient %s on a: %d %s %s" % (name, r.returncode, r.out, r.err))
    r = uk(d, "run", "--rm", "--network", "a", "netclient", "nosuch", "80")
    check(r.returncode == 2 and "getaddrinfo nosuch" in r.out, "nosuch: %s" % r.out)
    # another network: neither the name nor the address of web
    r = uk(d, "run", "--rm", "--network", "b", "netclient", "web", "80")
    check(r.returncode == 2, "web resolved from b: %s" % r.out)
    r = uk(d, "run", "--rm", "--network", "b", "netclient", web_ip, "80")
    check(r.returncode == 3, "b reached web at %s: %d %s" % (web_ip, r.returncode, r.out))
    # --internal: not a's guest, not a's gateway, not a listener of the host on its own gateway
    host = socket.socket()
    host.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    host.bind(("0.0.0.0", 8099))
    host.listen(16)

    def answer():
        while True:
            try:
                c, _ = host.accept()
            except OSError:
                return
            c.settimeout(10)
            try:
                c.recv(4096)  # the request first: closing with it unread would reset
                c.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
            except OSError:
                pass
            c.close()
    threading.Thread(target=answer, daemon=True).start()
    c_gw = d.req("GET", "/v1/networks/c").json()["gateway"]
    for target in (web_ip, "10.89.0.1", c_gw):
        r = uk(d, "run", "--rm", "--network", "c", "netclient", target, "8099" if target !=
               web_ip else "80")
        check(r.returncode == 3, "c reached %s: %d %s" % (target, r.returncode, r.out))
    # the control: without ukd's table both get through, so the checks above test the rules
    subprocess.run(["nft", "delete", "table", "ip", nft_tables()[0]], check=True)
    r = uk(d, "run", "--rm", "--network", "b", "netclient", web_ip, "80")
    check(r.returncode == 0, "without the rules b should reach web: %s" % r.out)
    r = uk(d, "run", "--rm", "--network", "c", "netclient", c_gw, "8099")
    check(r.returncode == 0, "without the rules c should reach the host: %s" % r.out)
    uk(d, "network", "create", "rebuild")  # any change rebuilds the whole table
    uk(d, "network", "rm", "rebuild")
    check(nft_table(), "table ip uk_* not rebuilt")
    r = uk(d, "run", "--rm", "--network", "b", "netclient", web_ip, "80")
    check(r.returncode == 3, "b reached web again: %s" % r.out)
    host.close()
    outbound(d)
    before = len(d.req("GET", "/v1/instances?all=1").json())
    r = uk(d, "run", "-d", "--network", "c", "-p", "127.0.0.1:%d:80" % free_port(), "site")
    check(r.returncode != 0 and "internal" in r.err, "port on internal: %s" % r.err)
    r = uk(d, "run", "-d", "--network", "nosuch", "site")
    check(r.returncode != 0 and "no such network" in r.err, "unknown network: %s" % r.err)
    r = uk(d, "run", "-d", "--network", "a", "--ip", "10.89.0.2", "site")
    check(r.returncode != 0 and "already used" in r.err, "taken ip: %s" % r.err)
    r = uk(d, "run", "-d", "--network", "a", "--ip", "10.89.5.2", "site")
    check(r.returncode != 0 and "not a free host address" in r.err, "ip outside: %s" % r.err)
    r = uk(d, "run", "-d", "--network", "../x", "site")
    check(r.returncode != 0 and "expected a name" in r.err, "bad network name: %s" % r.err)
    after = len(d.req("GET", "/v1/instances?all=1").json())
    check(after == before, "refused runs left %d instances" % (after - before))
    # the published port: a burst of 200 connects at once, then wrk -c50, no error
    publish_load(port, get, 5)
    r = uk(d, "port", "web")
    check(r.out.strip() == "80/tcp -> 127.0.0.1:%d" % port, "uk port: %s" % r.out)
    # -p GUESTPORT on a network, -P behind slirp: a free host port, shown by uk port, answering
    for name, args in (("picked", ["--network", "a", "-p", "80"]), ("all", ["-P"])):
        r = uk(d, "run", "-d", "--name", name, *args, "site")
        check(r.returncode == 0, "run %s: %s" % (name, r.err))
        r = uk(d, "port", name, "80")
        hp = int(r.out.strip().rsplit(":", 1)[1]) if r.returncode == 0 else 0
        check(r.out.startswith("127.0.0.1:") and hp > 0, "uk port %s 80: %s" % (name, r.out))
        wait_answer(hp)
        uk(d, "rm", "-f", name)
    # rm of a network in use
    r = d.req("DELETE", "/v1/networks/a")
    check(r.status == 409 and "web" in r.json()["message"], "rm a in use: %r" % r)
    return port


def dns_query(name, qtype=1, qid=0x1234, flags=0x0100):
    q = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


def dns_ask(packet, server="10.89.0.1", timeout=2):
    """The answer to (packet) from ukd's resolver on (server):53, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(packet, (server, 53))
        return s.recv(2048)
    except socket.timeout:
        return None
    finally:
        s.close()


def dns_checks(web_ip):
    """ukd's resolver on network a's gateway, asked from this namespace's host side."""
    r = dns_ask(dns_query("Www"))
    check(r and r[3] & 0xf == 0 and struct.unpack(">H", r[6:8])[0] == 1 and
          socket.inet_ntoa(r[-4:]) == web_ip, "A www: %r" % r)
    r = dns_ask(dns_query("nosuch"))
    check(r and r[3] & 0xf == 3 and r[6:8] == b"\0\0", "nosuch: not NXDOMAIN: %r" % r)
    r = dns_ask(dns_query("web", qtype=28))
    check(r and r[3] & 0xf == 0 and r[6:8] == b"\0\0", "AAAA web: %r" % r)
    check(dns_ask(dns_query("web") + b"\0" * 600, timeout=1) is None, "a 600-byte query answered")
    check(dns_ask(dns_query("web", flags=0x8100), timeout=1) is None, "a response answered")
    # the rate limit: a burst of 1500 from one socket, at most the burst (400) plus 200 a second
    # of the time it took (and some slack for the clock) get an answer
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    t0 = time.monotonic()
    for i in range(1500):  # paced so that no kernel buffer drops what the limiter should
        s.sendto(dns_query("web", qid=i), ("10.89.0.1", 53))
        if i % 50 == 49:
            time.sleep(0.005)
    sent_in = time.monotonic() - t0
    s.settimeout(1)
    got = 0
    try:
        while True:
            s.recv(2048)
            got += 1
    except socket.timeout:
        pass
    s.close()
    bound = 400 + 200 * (sent_in + 1.5) + 20
    print("dns rate limit: %d of 1500 answered, sent in %.2f s (bound %d)" % (got, sent_in, bound))
    check(0 < got <= bound, "rate limit: %d of 1500 answered in %.2f s (bound %d)" %
          (got, sent_in, bound))
    time.sleep(2.5)  # the bucket refills for the guests' lookups


def outbound(d):
    """An 'outside' of this namespace: a second one the test makes, behind a veth pair, with an
    HTTP listener. Only an --outbound network reaches it (masqueraded); a plain one does not."""
    outside = Peer("vout", "vin", here_addr="198.51.100.2/24", addr="198.51.100.1/24")
    try:
        srv = subprocess.Popen(outside.ns + [sys.executable, "-c", OUTSIDE_SERVER])
        time.sleep(0.5)
        uk(d, "network", "create", "--outbound", "o")
        r = uk(d, "run", "--rm", "--network", "o", "netclient", "198.51.100.1", "8098")
        check(r.returncode == 0 and "answered: HTTP/1.0 200" in r.out,
              "outbound network o did not reach the outside: %s" % r.out)
        r = uk(d, "run", "--rm", "--network", "a", "netclient", "198.51.100.1", "8098")
        check(r.returncode == 3, "network a (not --outbound) reached the outside: %s" % r.out)
        srv.kill()
        uk(d, "network", "rm", "o")
    finally:
        outside.close()


OUTSIDE_SERVER = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.1", 8098))
s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\\r\\n\\r\\n")
    c.close()
"""


def restore(d, port):
    """kill -9 of ukd; the guest keeps its tap and is reachable again after the restart."""
    tap = [l for l in uk_links() if not l.startswith("uk-")]
    check(len(tap) == 1, "taps: %s" % uk_links())
    idx = links()[tap[0]].split(":")[0]
    subprocess.run(["ip", "tuntap", "add", "dev", "ukdeadbeef00000", "mode", "tap"], check=True)
    subprocess.run(["ip", "link", "set", "dev", "ukdeadbeef00000", "alias", "ukd:" + d.root],
                   check=True)
    subprocess.run(["ip", "link", "add", "uk-foreign", "type", "bridge"], check=True)
    # a bridge as an older ukd left it (no fixed MAC: it had its lowest port's); a neighbour on
    # it knows the gateway by that MAC, and must learn the new one without asking (a running
    # guest would otherwise address the gateway by a MAC the host drops, for its ARP entry's
    # lifetime: 300 s in runtime-lib)
    br = d.req("GET", "/v1/networks/a").json()["bridge"]
    mac = link_mac(br)
    subprocess.run(["ip", "link", "set", "dev", br, "address", "02:00:00:00:00:05"], check=True)
    nb = Peer("tvgw0", "tvgw1", master=br, addr="10.89.0.201/24")
    try:
        nb.sh("ip", "neigh", "replace", "10.89.0.1", "lladdr", "02:00:00:00:00:05", "dev",
              nb.dev, "nud", "stale")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.start()
        check(link_mac(br) == mac,
              "the bridge's MAC not set back to %s at the restart: %s" % (mac, links()[br]))
        wait_until(lambda: mac in nb.sh("ip", "neigh", "show", "10.89.0.1").stdout, 10,
                   "the neighbour learning the gateway's MAC %s without asking" % mac)
    finally:
        nb.close()
    now = links()
    check(tap[0] in now and now[tap[0]].split(":")[0] == idx, "tap %s not kept" % tap[0])
    check("ukdeadbeef00000" not in now, "stale tap kept")
    check("uk-foreign" in now, "a link that is not ours was removed")
    wait_answer(port, limit=30)
    r = uk(d, "run", "--rm", "--network", "a", "netclient", "www", "80")
    check(r.returncode == 0, "www after restart: %s" % r.out)
    uk(d, "rm", "-f", "web")
    check(tap[0] not in links(), "tap of a removed instance kept")
    subprocess.run(["ip", "link", "del", "uk-foreign"], check=True)


def main(d):
    networks_api(d)
    if os.environ.get("UKT_NET_NO_GUESTS") != "1":
        port = guests(d)
        restore(d, port)
    r = uk(d, "network", "prune")
    check(r.returncode == 0 and "a" in r.out.split() and "b" in r.out.split(),
          "prune: %s %s" % (r.out, r.err))
    check(uk_links() == [] and not nft_table(), "left behind: %s" % uk_links())


if __name__ == "__main__":
    in_namespace()
    run(main, live_restore=True)
