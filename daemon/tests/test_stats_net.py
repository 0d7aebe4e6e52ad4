"""uk stats on a uk network, inside a network namespace this test makes (unshare -n): the NET I/O
of a guest on a tap counts its traffic (20 HTTP requests through a published port raise both
directions), where a user-mode NIC shows "--" (test_stats.py).
usage: test_stats_net.py UKD UK"""
import sys

from test_network import WEBSITE, get, in_namespace, wait_answer
from ukdtest import check, free_port, require_qemu, run, uk_cli

UK = sys.argv[2] if len(sys.argv) > 2 else None


def net(d):
    s = d.req("GET", "/v1/instances/web/stats?one-shot=1").json()
    check(s["running"] and s["network"] is not None, "a guest on a tap has counters: %s" % s)
    return s["network"]["rx_bytes"], s["network"]["tx_bytes"]


def main(d):
    require_qemu()
    d.build_ok(WEBSITE, "site")
    p = uk_cli(UK, d, "network", "create", "n1")
    check(p.returncode == 0, "network create: %s" % p.err)
    port = free_port()
    p = uk_cli(UK, d, "run", "-d", "--name", "web", "--network", "n1", "-p",
               "127.0.0.1:%d:80" % port, "site", timeout=300)
    check(p.returncode == 0, "run web: %s" % p.err)
    wait_answer(port)
    rx0, tx0 = net(d)
    for _ in range(20):
        check(get(port).startswith("HTTP/1."), "web did not answer")
    rx1, tx1 = net(d)
    print("web: rx %d -> %d, tx %d -> %d bytes" % (rx0, rx1, tx0, tx1))
    check(rx1 >= rx0 + 20 * 18, "20 requests in, rx %d -> %d" % (rx0, rx1))
    check(tx1 >= tx0 + 20 * 100, "20 answers out, tx %d -> %d" % (tx0, tx1))
    p = uk_cli(UK, d, "stats", "--no-stream", "--format", "{{.NetIO}}", "web")
    check(p.returncode == 0 and p.out.strip() not in ("--", "0B / 0B", ""),
          "uk stats NET I/O of web: %r %s" % (p.out, p.err))
    uk_cli(UK, d, "rm", "-f", "web")
    uk_cli(UK, d, "network", "rm", "n1")


if __name__ == "__main__":
    in_namespace()
    run(main)
