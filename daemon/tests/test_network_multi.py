"""Instances on several uk networks, in a network namespace this test makes (unshare -n):
`--network` repeated at create and `uk network connect` adding a NIC (up to 4, in order), one
refused past that or on a missing network with nothing half-written, disconnect removing one
(the others keep their order), inspect listing every network (and Docker's
NetworkSettings.Networks). With guests: a tap per network on the right bridge, QEMU (libvirt and
qemu backends) given a NIC per network and the guest each NIC's address and MAC (UK_IP, UK_MAC, UK_IP1, UK_MAC1, ...); an instance on A and B
resolves a server on B through A's gateway and reaches it over its second NIC (and one on A
over its first), an instance on A alone cannot resolve it; kill -9 of ukd keeps
both taps; disconnected from B, B's name and tap are gone. usage: test_network_multi.py UKD UK"""
import json
import os
import signal
import time

from ukdtest import check, require_qemu, run
from test_network import NETCLIENT, WEBSITE, in_namespace, links, uk
from test_network_connect import resolve


def nets_of(d, name):
    net = d.inspect(name)["network"]
    return [(e["network"], e["ip_address"]) for e in net.get("networks", [])]


def endpoint_names(d, net):
    return sorted(e["name"] for e in d.req("GET", "/v1/networks/" + net).json()["endpoints"])


def api(d):
    """Several networks on a created instance: create, connect, the bound, disconnect."""
    for n in ("a", "b", "c", "d", "e"):
        r = uk(d, "network", "create", n)
        check(r.returncode == 0, "create %s: %s" % (n, r.err))
    r = uk(d, "create", "--name", "m", "--network", "a", "--network-alias", "em",
           "--network", "b", "site")
    check(r.returncode == 0, "create on a and b: %s" % r.err)
    check(nets_of(d, "m") == [("a", "10.89.0.2"), ("b", "10.89.1.2")], "m: %r" % nets_of(d, "m"))
    net = d.inspect("m")["network"]
    check(net["network"] == "a" and net["aliases"] == ["em"] and
          net["networks"][1]["aliases"] == [] and
          net["networks"][0]["mac_address"] != net["networks"][1]["mac_address"],
          "inspect m: %r" % net)
    r = uk(d, "inspect", "--format", "{{json .NetworkSettings.Networks}}", "m")
    docker = json.loads(r.out) if r.returncode == 0 else {}
    check(sorted(docker) == ["a", "b"] and docker["b"]["IPAddress"] == "10.89.1.2" and
          docker["a"]["Aliases"] == ["em"], "NetworkSettings.Networks: %s %s" % (r.out, r.err))
    for n in ("c", "d"):
        r = uk(d, "network", "connect", n, "m")
        check(r.returncode == 0, "connect %s m: %s" % (n, r.err))
    check([n for n, _ in nets_of(d, "m")] == ["a", "b", "c", "d"], "m: %r" % nets_of(d, "m"))
    before = d.req("GET", "/v1/instances/m").json()
    r = uk(d, "network", "connect", "e", "m")
    check(r.returncode == 1 and "on 4 networks" in r.err, "a fifth network: %s" % r.err)
    # all or none: a create whose second network is missing leaves nothing on the first
    r = d.req("POST", "/v1/instances", body={"image": "site", "name": "half", "networks": [
        {"name": "e"}, {"name": "nosuch"}]})
    check(r.status == 404 and endpoint_names(d, "e") == [], "half a create: %r %r" %
          (r, endpoint_names(d, "e")))
    check(d.req("GET", "/v1/instances/m").json() == before, "a refused connect changed m")
    r = uk(d, "network", "disconnect", "b", "m")
    check(r.returncode == 0 and [n for n, _ in nets_of(d, "m")] == ["a", "c", "d"] and
          endpoint_names(d, "b") == [], "disconnect b: %s %r" % (r.err, nets_of(d, "m")))
    r = uk(d, "network", "connect", "b", "m")
    check(r.returncode == 0 and [n for n, _ in nets_of(d, "m")] == ["a", "c", "d", "b"],
          "connect b again: %s %r" % (r.err, nets_of(d, "m")))
    r = uk(d, "rm", "m")
    check(r.returncode == 0 and all(endpoint_names(d, n) == [] for n in "abcde"),
          "rm m left endpoints")
    for n in ("c", "d", "e"):
        uk(d, "network", "rm", n)


def qemu_cmdline(d, name):
    pid = d.inspect(name)["state"]["pid"]
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().decode(errors="replace").split("\0")


def guests(d):
    require_qemu()
    d.build_ok(NETCLIENT, "netclient")
    for name, net in (("srva", "a"), ("srvb", "b")):
        r = uk(d, "run", "-d", "--name", name, "--network", net, "site")
        check(r.returncode == 0, "run %s: %s" % (name, r.err))
    r = uk(d, "run", "-d", "--name", "web2", "--network", "a", "--network", "b", "site")
    check(r.returncode == 0, "run web2 on a and b: %s" % r.err)
    ips = dict(nets_of(d, "web2"))
    iid = d.inspect("web2")["id"]
    taps = {"uk%s%d" % (iid[:12], k): n for k, n in enumerate("ab")}
    bridges = {n: d.req("GET", "/v1/networks/" + n).json()["bridge"] for n in "ab"}
    now = links()
    for tap, n in taps.items():
        check(tap in now and "master %s " % bridges[n] in now[tap],
              "tap %s on %s: %r" % (tap, bridges[n], now.get(tap)))
    cmd = " ".join(qemu_cmdline(d, "web2"))
    macs = [e["mac_address"] for e in d.inspect("web2")["network"]["networks"]]
    check("UK_IP=%s/24" % ips["a"] in cmd and "UK_IP1=%s/24" % ips["b"] in cmd and
          "UK_GW1=10.89.1.1" in cmd and "UK_DNS=10.89.0.1" in cmd and
          "UK_MAC=%s" % macs[0] in cmd and "UK_MAC1=%s" % macs[1] in cmd and
          cmd.count("virtio-net") == 2 and all(m in cmd for m in macs),
          "QEMU's command line (%r): %s" % (macs, cmd))
    # the qemu backend too: a NIC per network, each one's address on the command line
    r = uk(d, "run", "-d", "--backend", "qemu", "--name", "q2", "--network", "a", "--network",
           "b", "site")
    check(r.returncode == 0, "run q2 (qemu backend) on a and b: %s" % r.err)
    q = d.inspect("q2")["network"]["networks"]
    cmd = " ".join(qemu_cmdline(d, "q2"))
    check("UK_IP1=%s/24" % q[1]["ip_address"] in cmd and cmd.count("virtio-net") == 2 and
          "UK_MAC1=%s" % q[1]["mac_address"] in cmd and
          all(e["mac_address"] in cmd for e in q), "q2's QEMU: %s" % cmd)
    uk(d, "rm", "-f", "q2")
    # DNS: the names of each network web2 is on, on its gateway
    t0 = time.time()
    while resolve("web2", "10.89.1.1") != ips["b"] and time.time() - t0 < 30:
        time.sleep(0.2)
    check(resolve("web2", "10.89.0.1") == ips["a"] and resolve("web2", "10.89.1.1") == ips["b"],
          "web2 on a and b: %s %s" % (resolve("web2", "10.89.0.1"), resolve("web2", "10.89.1.1")))
    # a client on a and b asks a's gateway for a name on b only: answered; on a alone: not
    srvb = dict(nets_of(d, "srvb"))["b"]
    r = uk(d, "run", "--rm", "--network", "a", "--network", "b", "netclient", "srvb", "80")
    check(r.returncode == 0 and "srvb is %s" % srvb in r.out and "answered: HTTP/1." in r.out,
          "netclient on a and b to srvb (on b, through the second NIC): %d %s %s" %
          (r.returncode, r.out, r.err))
    print("netclient on a and b: %s" % r.out.strip().replace("\n", " | "))
    r = uk(d, "run", "--rm", "--backend", "qemu", "--network", "a", "--network", "b",
           "netclient", "srvb", "80")
    check(r.returncode == 0 and "answered: HTTP/1." in r.out,
          "netclient (qemu backend) on a and b to srvb: %d %s %s" % (r.returncode, r.out, r.err))
    r = uk(d, "run", "--rm", "--network", "a", "--network", "b", "netclient", "srva", "80")
    check(r.returncode == 0 and "answered: HTTP/1." in r.out, "netclient on a and b to srva: "
          "%d %s" % (r.returncode, r.out))
    r = uk(d, "run", "--rm", "--network", "a", "netclient", "srvb", "80")
    check(r.returncode == 2 and "srvb is" not in r.out, "netclient on a alone resolved srvb: "
          "%d %s" % (r.returncode, r.out))
    # kill -9 of ukd: both taps kept, both names answered again
    idx = {t: links()[t].split(":")[0] for t in taps}
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.start()
    now = links()
    check(all(t in now and now[t].split(":")[0] == idx[t] for t in taps),
          "taps after kill -9: %r" % {t: now.get(t) for t in taps})
    t0 = time.time()
    while resolve("web2", "10.89.1.1") != ips["b"] and time.time() - t0 < 30:
        time.sleep(0.2)
    check(resolve("web2", "10.89.0.1") == ips["a"] and resolve("web2", "10.89.1.1") == ips["b"],
          "web2 after kill -9")
    # disconnected from b: its name there and its tap on b are gone, a's stay
    check(uk(d, "stop", "web2").returncode == 0, "stop web2")
    r = uk(d, "network", "disconnect", "b", "web2")
    check(r.returncode == 0, "disconnect b web2: %s" % r.err)
    check(uk(d, "start", "web2").returncode == 0, "start web2 on a")
    t0 = time.time()
    while resolve("web2", "10.89.0.1") != ips["a"] and time.time() - t0 < 30:
        time.sleep(0.2)
    now = links()
    check(resolve("web2", "10.89.1.1") == "NXDOMAIN" and "uk%s0" % iid[:12] in now and
          "uk%s1" % iid[:12] not in now, "web2 off b: %s %r" %
          (resolve("web2", "10.89.1.1"), sorted(now)))
    uk(d, "rm", "-f", "web2", "srva", "srvb")


def main(d):
    d.build_ok(WEBSITE, "site")
    api(d)
    if os.environ.get("UKT_NET_NO_GUESTS") != "1":
        guests(d)
    for n in "ab":
        uk(d, "network", "rm", n)


if __name__ == "__main__":
    in_namespace()
    run(main, live_restore=True)
