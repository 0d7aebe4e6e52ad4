"""A kernel that refuses part of ukd's nftables table, inside a network namespace this test makes:
nft(8) on ukd's PATH is a wrapper that refuses a rule matching UKT_NFT_REFUSE as the kernel does
("Could not process rule: No such file or directory", the rule quoted) and hands everything else
to the real nft. The per-asker DNS limits refused (a kernel without nft_limit/nft_connlimit, as
the Xen dom0 harness had): network create still works, with a warning, and the table is there
without them; an instance on the network answers on its published port. The bridge table's rules refused (a 6.1
kernel without nft_meta_bridge): create and network connect fail with an error that quotes the
refused rule and leave no endpoint, rule or instance half-made; a stopped instance connected
meanwhile does not start with an unpinned NIC, and starts once the rules pass. usage: test_network_nft_refused.py
UKD UK"""
import os
import shutil
import tempfile

from test_network import in_namespace, nft_tables, uk_links, wait_answer
from test_network_dnat import WEBSITE, dnat_lines, table, uk
from ukdtest import check, free_port, require_qemu, run

# nft(8) as a kernel that refuses some rules would answer (ukd feeds its text on stdin)
WRAP = r"""#!/usr/bin/env python3
import os, re, subprocess, sys
text = sys.stdin.read()
with open(os.environ["UKT_NFT_REFUSE_FILE"]) as f:
    pat = f.read().strip()
for n, line in enumerate(text.splitlines(), 1):
    if pat and re.search(pat, line):
        col = len(line) - len(line.lstrip()) + 1
        sys.stderr.write("/dev/stdin:%d:%d-%d: Error: Could not process rule: No such file or "
                         "directory\n%s\n%s^^^^^^^\n" % (n, col, col + 6, line, " " * (col - 1)))
        sys.exit(1)
sys.exit(subprocess.run([REAL] + sys.argv[1:], input=text, text=True).returncode)
"""

WRAPDIR = tempfile.mkdtemp(prefix="ukt-nft-")
REFUSE = os.path.join(WRAPDIR, "refuse")


def refuse(pattern):
    """Rules (lines) matching the regular expression (pattern) are refused from now on."""
    with open(REFUSE, "w") as f:
        f.write(pattern)


def setup():
    real = shutil.which("nft")
    with open(os.path.join(WRAPDIR, "nft"), "w") as f:
        f.write(WRAP.replace("REAL", repr(real)))
    os.chmod(os.path.join(WRAPDIR, "nft"), 0o755)
    refuse("")


def bridge_table():
    return table("bridge")


def main(d):
    require_qemu()
    d.build_ok(WEBSITE, "site")
    # the DNS askers' limits refused: the network is made without them, and says so
    refuse(r"limit rate over")
    r = uk(d, "network", "create", "a")
    check(r.returncode == 0, "network create with the limits refused: %s" % r.err)
    t = table()
    check("th dport 53 accept" in t and "limit rate" not in t and "ct count" not in t,
          "the table without the DNS limits: %s" % t)
    with open(d.log) as f:
        log = f.read()
    check("without the per-asker DNS limits" in log, "no warning in ukd's log")
    p = free_port()
    r = uk(d, "run", "-d", "--name", "w", "--network", "a", "-p", "127.0.0.1:%d:80" % p, "site")
    check(r.returncode == 0, "run on a without the limits: %s" % r.err)
    check(any("dport %d dnat to" % p in l for l in dnat_lines()), "no rule for %d" % p)
    wait_answer(p)
    check("nic_uk" in bridge_table(), "w's NIC not pinned: %s" % bridge_table())

    r = uk(d, "rm", "-f", "w")
    check(r.returncode == 0, "rm w: %s" % r.err)

    # the bridge table's matches refused (any NIC makes one): nothing half-made, the rule quoted
    r = uk(d, "create", "--name", "y", "site")
    check(r.returncode == 0, "create y (no network): %s" % r.err)
    refuse(r"^\s*iifname vmap")
    r = uk(d, "network", "create", "b")
    check(r.returncode == 0, "network create b (no NIC yet: no such rule): %s" % r.err)
    before = (table(), bridge_table())
    q = free_port()
    r = uk(d, "create", "--name", "x", "--network", "b", "-p", "127.0.0.1:%d:80" % q, "site")
    check(r.returncode != 0 and "Could not process rule" in r.err and "(in: iifname vmap" in r.err,
          "create x with the bridge rules refused: %d %s" % (r.returncode, r.err))
    names = [n for i in d.req("GET", "/v1/instances?all=1").json() for n in i["names"]]
    check(not any("x" in n for n in names), "x created anyway: %s" % names)
    for n in ("a", "b"):
        eps = d.req("GET", "/v1/networks/" + n).json().get("endpoints")
        check(not eps, "an endpoint left on %s: %s" % (n, eps))
    check((table(), bridge_table()) == before, "the tables changed: %s %s" %
          (table(), bridge_table()))
    # connect (a stopped instance) records the NIC and warns; the start that would give the
    # guest an unpinned NIC is refused, with the rule, and no tap is left
    r = uk(d, "network", "connect", "b", "y")
    check(r.returncode == 0, "connect y to b: %s" % r.err)
    r = uk(d, "start", "y")
    check(r.returncode != 0 and "(in: iifname vmap" in r.err, "start y: %s" % r.err)
    check(d.inspect("y")["state"] != "running", "y running with its NIC unpinned")
    check(not [l for l in uk_links() if not l.startswith("uk-")], "a tap left: %s" % uk_links())
    refuse("")
    r = uk(d, "start", "y")
    check(r.returncode == 0, "start y, the rules accepted again: %s" % r.err)
    check("nic_uk" in bridge_table(), "y's NIC not pinned: %s" % bridge_table())
    uk(d, "rm", "-f", "y")
    for n in ("a", "b"):
        r = uk(d, "network", "rm", n)
        check(r.returncode == 0, "network rm %s: %s" % (n, r.err))
    check(nft_tables() == [], "tables left: %s" % nft_tables())

if __name__ == "__main__":
    in_namespace()
    setup()
    try:
        run(main, env={"PATH": WRAPDIR + ":" + os.environ.get("PATH", ""),
                       "UKT_NFT_REFUSE_FILE": REFUSE})
    finally:
        shutil.rmtree(WRAPDIR, ignore_errors=True)
