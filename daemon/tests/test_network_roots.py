"""Two ukds (two roots) with networks in one network namespace (unshare -n): each keeps its
rules in its own nftables table (ip uk_HASH of its root), so one's change never replaces the
other's rules, and removing one's last network leaves the other's table whole.
usage: test_network_roots.py UKD UK"""
import subprocess
import sys

from ukdtest import Daemon, check
from test_network import in_namespace, nft_tables, uk


def ruleset(table):
    return subprocess.run(["nft", "list", "table", "ip", table], capture_output=True,
                          text=True).stdout


def main():
    in_namespace()
    a = Daemon(sys.argv[1])
    b = None
    ok = False
    try:
        b = Daemon(sys.argv[1])
        check(uk(b, "network", "create", "nb").returncode == 0, "create nb")
        check(uk(a, "network", "create", "na").returncode == 0, "create na")
        br_a = a.req("GET", "/v1/networks/na").json()["bridge"]
        br_b = b.req("GET", "/v1/networks/nb").json()["bridge"]
        tables = nft_tables()
        check(len(tables) == 2, "tables: %s (want one per ukd)" % tables)
        holds = {t: ruleset(t) for t in tables}
        check([t for t in tables if br_a in holds[t]] != [] and
              [t for t in tables if br_b in holds[t]] != [],
              "a bridge lost its rules to the other ukd's table: %s" % holds)
        check(not any(br_a in r and br_b in r for r in holds.values()),
              "one table holds both ukds' bridges: %s" % holds)
        # a's last network goes: its table goes, b's stays as it was
        keep = [t for t in tables if br_b in holds[t]][0]
        check(uk(a, "network", "rm", "na").returncode == 0, "rm na")
        check(nft_tables() == [keep] and ruleset(keep) == holds[keep],
              "after rm na: %s" % nft_tables())
        check(uk(b, "network", "rm", "nb").returncode == 0 and nft_tables() == [],
              "after rm nb: %s" % nft_tables())
        ok = True
    except AssertionError as e:
        print("FAIL: %s" % e)
    finally:
        for d in (a, b):
            if d and not d.stop(ok):
                ok = False
    print("PASS" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
