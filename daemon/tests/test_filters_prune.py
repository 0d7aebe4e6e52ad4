"""Docker's --filter on the list routes and the prune and df routes (issue 16), on a real ukd
with real guests, through REST and the CLI: label=K / label=K=V (ANDed), ancestor=, status=,
dangling=, reference=, name= on volumes and networks; an unknown filter key is a 400 naming
the known ones (the CLI says it and exits non-zero); POST /v1/instances/prune and
/v1/images/prune return what they removed and the bytes reclaimed, never a running instance
nor an image an instance uses; GET /v1/system/df; "Total reclaimed space:" in the CLI.
usage: test_filters_prune.py UKD UK"""
import json
import time
import os
import re
import sys
import urllib.parse

from ukdtest import SRC, HERE, check, require_qemu, run, uk_cli, wait_until

HELLO = os.path.join(SRC, "images", "examples", "hello")
GUEST = os.path.join(HERE, "guest")
UK = sys.argv[2] if len(sys.argv) > 2 else None


def q(filters):
    return urllib.parse.quote(json.dumps(filters))


def uk(d, *args):
    return uk_cli(UK, d, *args, timeout=300)


def uk_ok(d, *args):
    p = uk(d, *args)
    check(p.returncode == 0, "uk %s: exit %d\n%s%s" % (" ".join(args), p.returncode, p.out, p.err))
    return p


def names(d, path):
    r = d.req("GET", path)
    check(r.status == 200, "GET %s: %r" % (path, r))
    return sorted(i["names"][0] for i in r.json())


def main(d):
    require_qemu()
    hello_id = d.build_ok(HELLO, "old")
    guest_id = d.build_ok(GUEST, "uktest")
    # created is in whole seconds: the same context rebuilt within one is the same image
    time.sleep(1.1)
    old_id = d.build_ok(GUEST, "old")  # the tag moves: hello's image is now dangling
    check(old_id not in (hello_id, guest_id), "a rebuild is a new image (its created time)")
    d.create(image="uktest", name="run1", cmd=["forever"], labels={"env": "prod"})
    d.post("/v1/instances/run1/start")
    d.create(image="uktest", name="stop1", cmd=["exit", "0"], labels={"env": "dev"})
    d.post("/v1/instances/stop1/start")
    check(d.wait("stop1") == 0, "stop1 exited non-zero")
    d.create(image="uktest", name="new1", cmd=["exit", "0"], labels={"tier": "web"})

    # instances: REST
    every = "/v1/instances?all=1&filters="
    check(names(d, every + q({"label": ["env"]})) == ["run1", "stop1"], "label=env")
    check(names(d, every + q({"label": ["env=prod"]})) == ["run1"], "label=env=prod")
    check(names(d, every + q({"label": ["env", "tier"]})) == [], "labels AND")
    check(names(d, every + q({"ancestor": ["uktest"]})) == ["new1", "run1", "stop1"],
          "ancestor=uktest")
    check(names(d, every + q({"ancestor": [guest_id[:19]]})) == ["new1", "run1", "stop1"],
          "ancestor=ID prefix")
    check(names(d, every + q({"ancestor": ["old"]})) == [], "ancestor=old: no instance made so")
    check(names(d, every + q({"status": ["exited"], "label": ["env"]})) == ["stop1"],
          "status and label")
    # Docker clients' map form
    check(names(d, every + q({"label": {"env=dev": True}})) == ["stop1"], "map form")
    r = d.req("GET", every + q({"bogus": ["x"]}))
    check(r.status == 400 and "unknown filter 'bogus'" in r.json()["message"] and
          "label" in r.json()["message"], "unknown key: %r" % r)
    r = d.req("GET", every + q({"label": ["=x"]}))
    check(r.status == 400 and "KEY or KEY=VALUE" in r.json()["message"], "bad label: %r" % r)
    # CLI
    p = uk_ok(d, "ps", "-a", "--filter", "label=env=prod", "--format", "{{.Names}}")
    check(p.out.split() == ["run1"], "uk ps label: %r" % p.out)
    p = uk_ok(d, "ps", "-a", "-f", "ancestor=uktest", "-f", "label=tier", "--format",
              "{{.Names}}")
    check(p.out.split() == ["new1"], "uk ps ancestor+label: %r" % p.out)
    p = uk(d, "ps", "--filter", "colour=red")
    check(p.returncode != 0 and "unknown filter 'colour'" in p.err and "status" in p.err,
          "uk ps bad key: %d %r" % (p.returncode, p.err))

    # images
    r = d.req("GET", "/v1/images?filters=" + q({"dangling": ["true"]}))
    check(r.status == 200 and [i["id"] for i in r.json()] == [hello_id], "dangling: %r" % r)
    r = d.req("GET", "/v1/images?filters=" + q({"reference": ["ukt*"]}))
    check([i["id"] for i in r.json()] == [guest_id], "reference=ukt*: %r" % r)
    r = d.req("GET", "/v1/images?filters=" + q({"reference": ["old:lat*"]}))
    check([i["id"] for i in r.json()] == [old_id], "reference=old:lat*: %r" % r)
    r = d.req("GET", "/v1/images?filters=" + q({"label": ["org.uk.platform=kvm"]}))
    check(len(r.json()) == 3, "image label: %r" % r)
    r = d.req("GET", "/v1/images?filters=" + q({"label": ["org.uk.platform=xen"]}))
    check(r.json() == [], "image label other value: %r" % r)
    p = uk_ok(d, "images", "-q", "--no-trunc", "--filter", "dangling=true")
    check(p.out.split() == [hello_id], "uk images dangling: %r" % p.out)
    p = uk(d, "images", "--filter", "status=running")
    check(p.returncode != 0 and "unknown filter 'status'" in p.err, "images bad key: %r" % p.err)

    # volumes and networks
    for name, labels in (("va", {"team": "a"}), ("vb", {})):
        r = d.req("POST", "/v1/volumes", body={"name": name, "labels": labels})
        check(r.status == 201, "volume create %s: %r" % (name, r))
    p = uk_ok(d, "volume", "ls", "-q", "--filter", "label=team=a")
    check(p.out.split() == ["va"], "volume label: %r" % p.out)
    p = uk_ok(d, "volume", "ls", "-q", "-f", "name=vb")
    check(p.out.split() == ["vb"], "volume name: %r" % p.out)
    r = d.req("GET", "/v1/networks?filters=" + q({"name": ["nosuchnet"]}))
    check(r.status == 200 and r.json() == [], "network name: %r" % r)
    p = uk(d, "network", "ls", "--filter", "label=x")
    check(p.returncode != 0 and "unknown filter 'label'" in p.err, "network label: %r" % p.err)

    # df before the prunes
    r = d.req("GET", "/v1/system/df")
    df = r.json()
    check(r.status == 200 and df["images"]["total"] == 3 and df["images"]["active"] == 1 and
          df["instances"]["total"] == 3 and df["instances"]["active"] == 1, "df: %r" % df)
    check(df["images"]["reclaimable"] > 0 and df["instances"]["size"] > 0, "df sizes: %r" % df)
    p = uk_ok(d, "system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}")
    check(p.out.split("\n")[:2] == ["Images 3 1", "Instances 3 1"], "uk system df: %r" % p.out)

    # prunes: a label filter first (REST), then everything stopped (CLI)
    r = d.req("POST", "/v1/instances/prune?filters=" + q({"label": ["tier=web"]}))
    res = r.json()
    check(r.status == 200 and len(res["deleted"]) == 1 and
          isinstance(res["space_reclaimed"], int), "prune label: %r" % r)
    check(names(d, "/v1/instances?all=1") == ["run1", "stop1"], "after the label prune")
    r = d.req("POST", "/v1/instances/prune?filters=" + q({"until": ["1970-01-02T00:00:00Z"]}))
    check(r.status == 200 and r.json()["deleted"] == [], "until in 1970 removes nothing: %r" % r)
    r = d.req("POST", "/v1/instances/prune?filters=" + q({"until": ["soon"]}))
    check(r.status == 400 and "until" in r.json()["message"], "bad until: %r" % r)
    p = uk_ok(d, "container", "prune", "-f")
    check(re.search(r"^Deleted Instances:\n[0-9a-f]{64}\n\nTotal reclaimed space: [0-9.]+k?B\n$",
                    p.out), "uk container prune: %r" % p.out)
    check(names(d, "/v1/instances?all=1") == ["run1"], "the running instance stays")

    p = uk_ok(d, "image", "prune", "-f")
    check("Deleted Images:\ndeleted: %s\n" % hello_id in p.out, "image prune: %r" % p.out)
    m = re.search(r"\nTotal reclaimed space: ([0-9.]+)(k?B)\n$", p.out)
    check(m and float(m.group(1)) > 0, "reclaimed: %r" % p.out)
    r = d.req("POST", "/v1/images/prune?all=1")
    check(r.status == 200 and r.json()["deleted"] == [{"untagged": "old:latest"},
                                                      {"deleted": old_id}] and
          r.json()["space_reclaimed"] > 0, "prune -a keeps the image run1 uses: %r" % r)
    check(d.req("GET", "/v1/images/uktest").status == 200, "uktest still there")
    p = uk_ok(d, "system", "prune", "-a", "-f")
    check(p.out == "Total reclaimed space: 0B\n", "nothing left to prune: %r" % p.out)

    # once run1 stops, its instance goes and then its image
    d.post("/v1/instances/run1/kill")
    wait_until(lambda: d.inspect("run1")["state"]["status"] != "running", 60, "run1 stops")
    p = uk_ok(d, "system", "prune", "-a", "-f")
    check(p.out.startswith("Deleted Instances:\n") and "\nDeleted Images:\nuntagged: " in p.out and
          "deleted: %s\n" % guest_id in p.out, "system prune -a: %r" % p.out)
    r = d.req("GET", "/v1/system/df")
    check(r.json()["images"]["total"] == 0 and r.json()["instances"]["total"] == 0,
          "df after: %r" % r)


run(main)
