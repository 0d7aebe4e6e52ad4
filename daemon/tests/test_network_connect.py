"""uk network connect/disconnect and health checks on a network, in a network namespace this
test makes (unshare -n): a created instance joins a network (alias, fixed address), its bad
requests are refused with nothing half-written (unknown network or instance 404, a duplicate
connect 409, an address or alias taken 409, bad bodies 400), a running one is a 409
saying to stop it first; connected and started, ukd's DNS answers its name and alias and a
netclient connected the same way reaches it by name; disconnected, the names are gone and it is
back in the default mode; a health check on a network probes the guest's address on the bridge
and becomes healthy. usage: test_network_connect.py UKD UK"""
import os
import socket
import struct
import sys
import time

from ukdtest import check, require_qemu, run
from test_network import (NETCLIENT, WEBSITE, dns_ask, dns_query, in_namespace, uk, uk_links,
                          nft_table)


def endpoints(d, net):
    return {e["name"]: e for e in d.req("GET", "/v1/networks/" + net).json()["endpoints"]}


def resolve(name, gw):
    """ukd's answer for (name) on the gateway (gw): the address, 'NXDOMAIN' or None."""
    r = dns_ask(dns_query(name), server=gw)
    if not r:
        return None
    if r[3] & 0xf == 3:
        return "NXDOMAIN"
    return socket.inet_ntoa(r[-4:]) if struct.unpack(">H", r[6:8])[0] else "no record"


def connect_api(d):
    """What connect and disconnect accept and refuse, on created instances (no guest runs)."""
    for n in ("a", "b"):
        r = uk(d, "network", "create", n)
        check(r.returncode == 0, "create %s: %s" % (n, r.err))
    for n in ("web", "other"):
        r = uk(d, "create", "--name", n, "site")
        check(r.returncode == 0, "create %s: %s" % (n, r.err))
    check(d.inspect("web")["network"]["mode"] == "user", "web before: %r" %
          d.inspect("web")["network"])
    r = uk(d, "network", "connect", "--alias", "www", "--ip", "10.89.0.7", "a", "web")
    check(r.returncode == 0 and r.out == "", "connect a web: %d %s %s" % (r.returncode, r.out,
                                                                           r.err))
    eps = endpoints(d, "a")
    check(list(eps) == ["web"] and eps["web"]["ip"] == "10.89.0.7" and
          eps["web"]["aliases"] == ["www"], "a's endpoints: %r" % eps)
    net = d.inspect("web")["network"]
    check(net["mode"] == "bridge" and net["network"] == "a" and
          net["ip_address"] == "10.89.0.7" and net["aliases"] == ["www"], "inspect web: %r" % net)
    before = (d.req("GET", "/v1/networks/a").json()["endpoints"],
              d.req("GET", "/v1/networks/b").json()["endpoints"],
              d.req("GET", "/v1/instances/other").json())
    refused = [
        (["connect", "nosuch", "other"], "no such network: nosuch"),
        (["connect", "a", "nosuch"], "no such instance"),
        (["connect", "a", "web"], "already on network a"),
        (["connect", "--ip", "10.89.0.7", "a", "other"], "ip 10.89.0.7 is already used"),
        (["connect", "--ip", "10.89.9.9", "a", "other"], "not a free host address"),
        (["connect", "--ip", "10.89.0.1", "a", "other"], "not a free host address"),
        (["connect", "--alias", "WWW", "a", "other"], "www is already taken on network a by "
                                                      "instance web"),
        (["connect", "--alias", "web", "a", "other"], "web is already taken"),
        (["connect", "--alias", "../x", "a", "other"], "aliases[0] '../x'"),
        (["connect", "--ip", "nope", "a", "other"], "ip 'nope'"),
        (["disconnect", "b", "web"], "web is not on network b"),
        (["disconnect", "a", "other"], "other is not on network a"),
        (["disconnect", "nosuch", "web"], "no such network"),
    ]
    for args, want in refused:
        r = uk(d, "network", *args)
        check(r.returncode == 1 and want in r.err, "network %s: want %r, got %d %s" %
              (" ".join(args), want, r.returncode, r.err))
    for path, body, status in [
            ("a/connect", {"instance": "other", "x": 1}, 400),
            ("a/connect", {"aliases": ["q"]}, 400),
            ("a/connect", {"instance": "other", "aliases": "q"}, 400),
            ("a/connect", {"instance": "other", "aliases": ["q"] * 9}, 400),
            ("a/connect", [1], 400),
            ("a/disconnect", {"instance": "web", "ip": "10.89.0.7"}, 400),
            ("nosuch/connect", {"instance": "other"}, 404),
            ("a/connect", {"instance": "nosuch"}, 404),
            ("a/connect", {"instance": "web"}, 409)]:
        r = d.req("POST", "/v1/networks/" + path, body=body)
        check(r.status == status and r.json().get("message"), "POST %s %r: want %d, got %r" %
              (path, body, status, r))
    after = (d.req("GET", "/v1/networks/a").json()["endpoints"],
             d.req("GET", "/v1/networks/b").json()["endpoints"],
             d.req("GET", "/v1/instances/other").json())
    check(before == after, "refused requests changed something:\n%r\n%r" % (before, after))
    r = uk(d, "network", "disconnect", "a", "web")
    check(r.returncode == 0 and endpoints(d, "a") == {} and
          d.inspect("web")["network"]["mode"] == "user", "disconnect: %s %r" %
          (r.err, d.inspect("web")["network"]))
    r = d.req("POST", "/v1/networks/a/connect", body={"instance": "web", "aliases": ["www"]})
    check(r.status == 204, "connect again: %r" % r)
    check(endpoints(d, "a")["web"]["ip"] == "10.89.0.2", "IPAM's address: %r" % endpoints(d, "a"))
    uk(d, "rm", "other")


def with_guests(d):
    """Connected, started: DNS answers and a connected client reaches it; running: 409."""
    r = uk(d, "start", "web")
    check(r.returncode == 0, "start web: %s" % r.err)
    t0 = time.time()
    while resolve("www", "10.89.0.1") != "10.89.0.2" and time.time() - t0 < 30:
        time.sleep(0.2)
    check(resolve("www", "10.89.0.1") == "10.89.0.2" and resolve("web", "10.89.0.1") ==
          "10.89.0.2", "web/www on a: %s" % resolve("www", "10.89.0.1"))
    for args in (["disconnect", "a", "web"], ["connect", "b", "web"]):
        r = uk(d, "network", *args)
        check(r.returncode == 1 and "web is running" in r.err and "uk stop web" in r.err,
              "%s while running: %s" % (args, r.err))
    check("web" in endpoints(d, "a"), "a 409 on a running instance changed its endpoint")
    # a client created without a network, connected, started: it resolves and reaches web
    r = uk(d, "create", "--name", "cl", "netclient", "www", "80")
    check(r.returncode == 0, "create cl: %s" % r.err)
    r = uk(d, "network", "connect", "a", "cl")
    check(r.returncode == 0, "connect a cl: %s" % r.err)
    r = uk(d, "start", "cl")
    check(r.returncode == 0, "start cl: %s" % r.err)
    code = d.wait("cl")
    out = d.logs("cl")
    check(code == 0 and "www is 10.89.0.2" in out and "answered: HTTP/1." in out,
          "cl on a: %d %s" % (code, out))
    uk(d, "rm", "cl")
    # disconnected from a, connected to b: the names move with it
    check(uk(d, "stop", "web").returncode == 0, "stop web")
    r = uk(d, "network", "disconnect", "a", "web")
    check(r.returncode == 0, "disconnect a web: %s" % r.err)
    r = uk(d, "network", "connect", "--alias", "www2", "b", "web")
    check(r.returncode == 0, "connect b web: %s" % r.err)
    check(uk(d, "start", "web").returncode == 0, "start web on b")
    t0 = time.time()
    while resolve("www2", "10.89.1.1") != "10.89.1.2" and time.time() - t0 < 30:
        time.sleep(0.2)
    check(resolve("www2", "10.89.1.1") == "10.89.1.2", "www2 on b")
    check(resolve("www", "10.89.1.1") == "NXDOMAIN", "the old alias still answers on b")
    check(resolve("web", "10.89.0.1") == "NXDOMAIN", "web still answers on a")
    uk(d, "rm", "-f", "web")


def health(d):
    """A health check on a network: ukd probes GUEST-IP:PORT over the bridge."""
    r = uk(d, "run", "-d", "--name", "hweb", "--network", "a", "--health-http", "80/",
           "--health-interval", "1s", "site")
    check(r.returncode == 0, "run with a health check on a network: %s" % r.err)
    ip = endpoints(d, "a")["hweb"]["ip"]
    t0 = time.time()
    h = {}
    while time.time() - t0 < 120:
        h = d.inspect("hweb")["state"].get("health") or {}
        if h.get("status") == "healthy":
            break
        time.sleep(0.5)
    check(h.get("status") == "healthy" and h.get("endpoint") == ip + ":80",
          "hweb's health: %r" % h)
    # a TCP check on a port nothing listens on: unhealthy, through the same path
    r = uk(d, "run", "-d", "--name", "hbad", "--network", "a", "--health-tcp", "81",
           "--health-interval", "1s", "--health-retries", "2", "site")
    check(r.returncode == 0, "run hbad: %s" % r.err)
    t0 = time.time()
    while time.time() - t0 < 120:
        h = d.inspect("hbad")["state"].get("health") or {}
        if h.get("status") == "unhealthy":
            break
        time.sleep(0.5)
    check(h.get("status") == "unhealthy", "hbad's health: %r" % h)
    uk(d, "rm", "-f", "hweb", "hbad")


def main(d):
    d.build_ok(WEBSITE, "site")
    connect_api(d)
    if os.environ.get("UKT_NET_NO_GUESTS") != "1":
        require_qemu()
        d.build_ok(NETCLIENT, "netclient")
        with_guests(d)
        health(d)
    uk(d, "rm", "-f", "web")
    r = uk(d, "network", "prune")
    check(r.returncode == 0 and uk_links() == [] and not nft_table(),
          "left behind: %s %s" % (r.err, uk_links()))


if __name__ == "__main__":
    in_namespace()
    run(main)
