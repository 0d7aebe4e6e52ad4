"""The typed instance spec on a real ukd and QEMU: a root whose instances were stored by the
previous ukd (config text exactly as it wrote it, no networks/mounts/labels/backend/vcpus keys)
loads after an upgrade, inspects with the same fields and starts with the same behaviour (env,
command, published port, restart policy); a config that no longer decodes is shown and removable
but refuses to start; the create body's new keys (networks none/user, labels, vcpus, backend)
reach the guest and inspect, and what this ukd cannot run yet is refused at create.

UKT_OLD_UKD=PATH makes the previous ukd binary itself create the instances (else this ukd does and
the test writes the old config text into the database)."""
import json
import os
import signal
import sqlite3
import time

from ukdtest import HERE, check, free_port, require_qemu, run

GUEST = os.path.join(HERE, "guest")
NEW_KEYS = ("networks", "mounts", "labels", "backend", "vcpus")


def jsonc(obj):
    """(obj) as json-c's JSON_C_TO_STRING_PLAIN writes it (what ukd stores): no spaces, '/'
    escaped."""
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/")


def main_config(img_env, cmd, env=(), memory=33554432, restart=("no", 0), ports=(),
                healthcheck=None, log_opts=(10485760, 3)):
    """The config text main's ukd stored for such a create (its key order and normal forms)."""
    merged = [e for e in img_env if e.split("=")[0] not in [x.split("=")[0] for x in env]]
    return jsonc({
        "accelerator": "auto", "cmd": list(cmd), "env": merged + list(env), "memory": memory,
        "restart_policy": {"name": restart[0], "maximum_retry_count": restart[1]},
        "auto_remove": False,
        "ports": [{"host_ip": "127.0.0.1", "host_port": h, "guest_port": g, "protocol": "tcp"}
                  for h, g in ports],
        "healthcheck": healthcheck or {"type": "none"},
        "log_opts": {"max-size": log_opts[0], "max-file": log_opts[1]},
        "exposed_ports": []})


def restart_ukd(d, binary):
    """Stops (d)'s ukd (SIGTERM) and starts (binary) on the same root."""
    d.proc.send_signal(signal.SIGTERM)
    d.proc.wait(timeout=120)
    d.ukd = binary
    d.start()


def upgrade(d):
    new_ukd = d.ukd
    old_ukd = os.environ.get("UKT_OLD_UKD")
    if old_ukd:
        restart_ukd(d, old_ukd)
    d.build_ok(GUEST, "uktest")
    img_env = d.req("GET", "/v1/images/uktest").json()["config"]["env"]
    port = free_port()
    hc = {"type": "tcp", "port": 80, "interval": 30000000000, "timeout": 30000000000,
          "start_period": 0, "retries": 3}
    # name -> (create body, the text main stored for it)
    rows = {
        "envi": ({"image": "uktest", "name": "envi", "cmd": ["env", "FOO"],
                  "env": ["FOO=from-main"], "ports": [{"host_port": port, "guest_port": 80}],
                  "log_opts": {"max-size": "64k", "max-file": "2"}},
                 main_config(img_env, ["env", "FOO"], ["FOO=from-main"],
                             ports=[(port, 80)], log_opts=(65536, 2))),
        "flaky": ({"image": "uktest", "name": "flaky", "cmd": ["exit", "3"], "memory": 8388608,
                   "restart_policy": {"name": "on-failure", "maximum_retry_count": 1}},
                  main_config(img_env, ["exit", "3"], memory=8388608, restart=("on-failure", 1))),
        "hc": ({"image": "uktest", "name": "hc", "cmd": ["exit", "0"],
                "healthcheck": {"tcp": 80}, "restart_policy": {"name": "on-unhealthy"}},
               main_config(img_env, ["exit", "0"], healthcheck=hc, restart=("on-unhealthy", 0))),
        "bad": ({"image": "uktest", "name": "bad"}, '{"cmd":"exit 0"}'),
    }
    for body, _ in rows.values():
        d.create(**body)
    d.proc.send_signal(signal.SIGTERM)  # stopped while the database is rewritten
    d.proc.wait(timeout=120)
    d.ukd = new_ukd
    db = sqlite3.connect(os.path.join(d.root, "ukd.db"))
    with db:
        for name, (_, text) in rows.items():
            if old_ukd and name != "bad":
                stored = db.execute("SELECT config FROM instances WHERE name = ?",
                                    (name,)).fetchone()[0]
                check(stored == text, "main stored %s as %s, the test expected %s"
                      % (name, stored, text))
            db.execute("UPDATE instances SET config = ? WHERE name = ?", (text, name))
    db.close()
    d.start()

    # inspect: the same fields, and the new ones at their defaults
    for name, (body, text) in rows.items():
        if name == "bad":
            continue
        cfg = d.inspect(name)["config"]
        old = json.loads(text)
        check({k: v for k, v in cfg.items() if k not in NEW_KEYS} == old,
              "%s: inspect's config %s, stored %s" % (name, cfg, old))
        check(cfg["backend"] == "libvirt" and cfg["vcpus"] == 1 and cfg["networks"] == []
              and cfg["mounts"] == [] and cfg["labels"] == {}, "%s: new keys %s" % (name, cfg))
    check(d.inspect("envi")["network"]["mode"] == "user", "envi publishes a port: a NIC")
    check(d.inspect("flaky")["network"]["mode"] == "none", "flaky: no NIC")
    ps = {i["names"][0]: i for i in d.req("GET", "/v1/instances?all=1").json()}
    check(ps["envi"]["command"] == "env FOO" and ps["envi"]["state"] == "created",
          "ps: %s" % ps["envi"])
    check(ps["envi"]["ports"][0]["host_port"] == port, "ps ports: %s" % ps["envi"])

    # they start and behave as they did
    d.post("/v1/instances/envi/start")
    check(d.wait("envi") == 0, "envi exit")
    check("env FOO=from-main" in d.logs("envi"), "envi's env: %r" % d.logs("envi"))
    since = time.time()
    d.post("/v1/instances/flaky/start")

    def dies():
        ev = d.req("GET", "/v1/events?since=%f&until=%f" % (since, time.time())).lines()
        return [e for e in ev if e["name"] == "flaky" and e["action"] == "die"]
    deadline = time.time() + 120
    while len(dies()) < 2 and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # past the next backoff: no third run
    st = d.inspect("flaky")["state"]
    check(len(dies()) == 2 and st["restart_count"] == 1 and st["exit_code"] == 3
          and st["status"] == "exited", "flaky's on-failure:1: %d runs, %s" % (len(dies()), st))

    # a config that does not decode: listed, inspected, refused at start, removable
    check(d.inspect("bad")["config"] == {}, "bad's config: %s" % d.inspect("bad")["config"])
    r = d.req("POST", "/v1/instances/bad/start")
    check(r.status == 500 and "instance config is corrupt: cmd" in r.json()["message"]
          and "create it again" in r.json()["message"], "start of a corrupt config: %r" % r)
    r = d.req("DELETE", "/v1/instances/bad")
    check(r.status in (200, 204), "rm of a corrupt config: %r" % r)


def new_keys(d):
    # networks user: a NIC without ports, and its address in the guest's env
    d.create(image="uktest", name="user", cmd=["env", "UK_IP"], networks=[{"name": "user"}],
             labels={"com.example.team": "web", "tier": ""}, vcpus=1, backend="libvirt")
    i = d.inspect("user")
    check(i["network"]["mode"] == "user", "user network: %s" % i["network"])
    check(i["config"]["networks"] == [{"name": "user"}] and i["config"]["labels"] ==
          {"com.example.team": "web", "tier": ""} and i["config"]["backend"] == "libvirt",
          "inspect: %s" % i["config"])
    d.post("/v1/instances/user/start")
    check(d.wait("user") == 0, "user exit")
    check("env UK_IP=10.0.2.15/24" in d.logs("user"), "user's UK_IP: %r" % d.logs("user"))
    # networks none: no NIC, even with UK_IP unset
    d.create(image="uktest", name="none", cmd=["env", "UK_IP"], networks=[{"name": "none"}])
    check(d.inspect("none")["network"]["mode"] == "none", "none network")
    d.post("/v1/instances/none/start")
    check(d.wait("none") == 0, "none exit")
    check("env UK_IP=(unset)" in d.logs("none"), "none's UK_IP: %r" % d.logs("none"))
    # no backend asked: the daemon's, stored
    d.create(image="uktest", name="dflt")
    check(d.inspect("dflt")["config"]["backend"] == "libvirt", "default backend")
    # bad or not yet runnable: 400 naming the field, and no instance left behind
    for body, want in (
            ({"networks": [{"name": "none"}, {"name": "x"}]}, "stands alone"),
            ({"networks": [{"name": "front"}]}, "networks \"front\""),
            ({"mounts": [{"type": "volume", "source": "v", "target": "/data"}]}, "mounts"),
            ({"mounts": [{"source": "v", "target": "data"}]}, "mounts[0].target"),
            ({"backend": "qemu"}, "backend \"qemu\""),
            ({"backend": "xen"}, "backend \"xen\""),
            ({"vcpus": 17}, "vcpus 17"),
            ({"labels": ["a=b"]}, "labels")):
        r = d.req("POST", "/v1/instances", body=dict(body, image="uktest", name="refused"))
        check(r.status == 400 and want in r.json()["message"],
              "%s: expected 400 with %r, got %r" % (body, want, r))
        check(d.req("GET", "/v1/instances/refused").status == 404, "%s left an instance" % body)


def main(d):
    upgrade(d)
    new_keys(d)


if require_qemu() is None:
    run(main)
