"""Live restore and crash recovery: a normal stop leaves guests running and the next ukd
re-attaches (logs continue, exits while down recorded with their real code, restart policy and
auto-remove applied); the states a crash leaves in its rare windows, made by hand; a kill -9
while the sandboxed compiler runs (its group killed, its /tmp/uk-build.* removed); then kill -9
of ukd at random points of build/run/rm, 50 times, each followed by a restart on the same root
and a check of the invariants (docs/daemon.md).
UKT_CRASH_SEED replays a run, UKT_CRASH_ITERATIONS changes its length."""
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from ukdtest import (HERE, Daemon, alive, check, fail, free_port, kill_qemus, phase, require_qemu,
                     root_qemus, run_phases, skip_under_asan, wait_until)

GUEST = os.path.join(HERE, "guest")
MAX_LONG = 2  # long-running guests at a time: TCG on 2 shared cores


def instances(d):
    """Every instance the API lists, as inspect shows it."""
    r = d.req("GET", "/v1/instances?all=1")
    check(r.status == 200, "list instances: %r" % r)
    out = {}
    for i in r.json():
        r = d.req("GET", "/v1/instances/" + i["id"])
        if r.status == 200:  # else removed meanwhile (auto-remove)
            out[i["id"]] = r.json()
    return out


def log_text(d, iid):
    return d.logs(iid)


# ---- invariants ----

def check_db(root):
    """PRAGMA integrity_check on a copy of the database as the crash left it (with its WAL)."""
    tmp = tempfile.mkdtemp(prefix="ukt-db-", dir="/tmp")
    try:
        for suffix in ("", "-wal"):
            src = os.path.join(root, "ukd.db" + suffix)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(tmp, "ukd.db" + suffix))
        db = sqlite3.connect(os.path.join(tmp, "ukd.db"))
        res = db.execute("PRAGMA integrity_check").fetchall()
        manifests = db.execute("SELECT id, manifest FROM images").fetchall()
        db.close()
        check(res == [("ok",)], "integrity_check: %s" % res)
        return manifests
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_blobs(d):
    """Every blob is whole (sha256 = its name); every listed image has its blobs."""
    blobs = os.path.join(d.root, "images", "blobs", "sha256")
    for name in os.listdir(blobs) if os.path.isdir(blobs) else ():
        h = hashlib.sha256()
        with open(os.path.join(blobs, name), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        check(h.hexdigest() == name, "blob %s holds sha256 %s" % (name, h.hexdigest()))
    r = d.req("GET", "/v1/images")
    check(r.status == 200, "list images: %r" % r)
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.root, "ukd.db"), uri=True)
    rows = dict(db.execute("SELECT id, manifest FROM images").fetchall())
    db.close()
    for img in r.json():
        digest = rows.get(img["id"])
        check(digest is not None, "image %s listed but not in the database" % img["id"])
        path = os.path.join(blobs, digest.split(":", 1)[1])
        check(os.path.exists(path), "image %s: manifest %s missing" % (img["id"], digest))
        with open(path) as f:
            man = json.load(f)
        for desc in [man["config"]] + man["layers"]:
            path = os.path.join(blobs, desc["digest"].split(":", 1)[1])
            check(os.path.exists(path), "image %s: blob %s missing" % (img["id"], desc["digest"]))
        check(d.req("GET", "/v1/images/" + img["id"]).status == 200, "inspect %s" % img["id"])
    return {img["id"] for img in r.json()}


def check_tmp(d):
    for sub in ("tmp", os.path.join("images", "tmp")):
        left = os.listdir(os.path.join(d.root, sub))
        check(not left, "stray files in ROOT/%s after start: %s" % (sub, left))


def consistent(d):
    """running ⇔ its QEMU is alive; no QEMU of this root without a running instance."""
    inst = instances(d)
    running = {i["state"]["pid"] for i in inst.values() if i["state"]["running"]}
    qemus = set(root_qemus(d.root))
    bad = [i["id"] for i in inst.values()
           if i["state"]["running"] and not alive(i["state"]["pid"])]
    if bad or running != qemus:
        return None
    return inst


# ---- phase 1: a normal stop with live restore ----

def poke(port):
    """Connects to a guest's published port (an "await" guest exits on it); always true."""
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
    except OSError:
        pass  # not listening yet, or gone
    return True


def phase_live_restore(d, uk):
    info = d.req("GET", "/v1/info").json()
    check(info["live_restore"] is True, "live restore is the default: %s" % info)
    out = subprocess.run([uk, "-H", "unix://" + d.sock, "info"], capture_output=True, text=True,
                         timeout=30).stdout
    check("Live restore: true" in out, "uk info: %s" % out)
    d.build_ok(GUEST, "uktest")
    since = time.time()
    d.create(image="uktest", name="keeper", cmd=["forever"])
    d.post("/v1/instances/keeper/start")
    # The late ones exit when the test connects to them, once ukd is down: a guest that slept
    # a fixed time could exit while ukd still ran (TCG starts take 3 s each under load).
    late_ports = {n: free_port() for n in ("late", "late-rm", "late-rp")}

    ctx = tempfile.mkdtemp(prefix="ukt-ctx-", dir="/tmp")
    try:
        for src in ("main.c", "await.c"):
            shutil.copy(os.path.join(GUEST, src), ctx)
        with open(os.path.join(ctx, "Ukfile"), "w") as f:
            f.write("FROM uk/runtime:1\nSOURCES main.c await.c\nLIBS net\n")
        d.build_ok(ctx, "uktest-net")
    finally:
        shutil.rmtree(ctx, ignore_errors=True)

    def late(name, code, **cfg):
        d.create(image="uktest-net", name=name, cmd=["await", "7000", str(code)],
                 ports=[{"host_ip": "127.0.0.1", "host_port": late_ports[name],
                         "guest_port": 7000}], **cfg)
    late("late", 7)
    late("late-rm", 3, auto_remove=True)
    late("late-rp", 5, restart_policy={"name": "on-failure", "maximum_retry_count": 1})
    pid = d.inspect("keeper")["state"]["pid"]
    console = os.path.join(d.root, "instances", d.inspect("keeper")["id"], "console.log")
    wait_until(lambda: "tick 2" in log_text(d, "keeper"), 60, "keeper's ticks")
    late_ids = []
    for n in ("late", "late-rm", "late-rp"):
        d.post("/v1/instances/%s/start" % n)
        late_ids.append(d.inspect(n)["id"])
    d.proc.send_signal(signal.SIGTERM)
    check(d.proc.wait(60) == 0, "ukd exit status")
    check(alive(pid), "live restore: keeper's QEMU %d died with ukd" % pid)
    with open(console) as f:
        before = f.read()
    # The late ones finish while no ukd runs: their exit status reaches the status files.
    for iid, port in zip(late_ids, late_ports.values()):
        status = os.path.join(d.root, "instances", iid, "status")
        wait_until(lambda: poke(port) and "UK_EXIT=" in open(status).read(), 60,
                   "exit of %s" % iid[:12])
    d.logf.close()
    d.start()
    st = d.inspect("keeper")["state"]
    check(st["running"] and st["pid"] == pid, "keeper after restart: %s" % st)
    st = d.inspect("late")["state"]
    check(st["status"] == "exited" and st["exit_code"] == 7 and not st["error"],
          "late (exited 7 while ukd was down): %s" % st)
    check(d.req("GET", "/v1/instances/late-rm").status == 404,
          "late-rm (auto-remove) exited while down but was not removed")
    # running again, not only scheduled: a kill in the restart's window is a 409, and the
    # restarted guest then awaits a connection for ever (the wait below never ended, once)
    wait_until(lambda: (lambda s: s["restart_count"] == 1 and s["running"])(
        d.inspect("late-rp")["state"]), 60, "on-failure restart of late-rp after ukd came back")
    # The die events of what happened while ukd was down are there, and say so.
    ev = events_since(d, since)
    dies = [e for e in ev if e["action"] == "die" and e["name"] == "late"]
    check(dies and dies[-1]["attributes"].get("exit_code") == "7" and
          dies[-1]["attributes"].get("while_ukd_down") == "true", "die event of late: %s" % dies)
    # Logs: the CLI shows the old lines and new ones the guest writes after the re-attach.
    out = wait_until(lambda: (lambda o: o if len(o) > len(before) + 20 else None)(
        subprocess.run([uk, "-H", "unix://" + d.sock, "logs", "keeper"], capture_output=True,
                       text=True, timeout=30).stdout), 30, "keeper's log growing")
    check(out.startswith(before), "uk logs lost the lines from before the restart")
    # Exits of a re-attached guest are still seen (the supervisor gets its events).
    d.post("/v1/instances/keeper/kill")
    st = wait_until(lambda: (lambda s: s if not s["running"] else None)(
        d.inspect("keeper")["state"]), 30, "kill of a re-attached guest recorded")
    check(st["exit_code"] == 137, "killed keeper: %s" % st)
    wait_until(lambda: not alive(pid), 10, "keeper's QEMU gone")
    d.post("/v1/instances/late-rp/kill")
    d.req("POST", "/v1/instances/late-rp/wait")
    print("phase 1 (SIGTERM with live restore): ok")


# ---- phase 2: the states a crash can leave, made by hand while ukd is down ----

def events_since(d, since):
    return d.req("GET", "/v1/events?since=%f&until=%f" % (since, time.time())).lines()


def phase_crafted(d):
    """Each rare window of phase 3, made deterministic: ukd is stopped (kill -9), the state a
    crash in that window leaves is written by hand, and ukd is started again."""
    for n in ("orphan", "adoptee", "shot"):
        d.create(image="uktest", name=n, cmd=["forever"])
        d.post("/v1/instances/%s/start" % n)
    ids = {n: d.inspect(n)["id"] for n in ("orphan", "adoptee", "shot")}
    pids = {n: d.inspect(n)["state"]["pid"] for n in ids}
    since = time.time()
    d.proc.kill()
    d.proc.wait()
    db = sqlite3.connect(os.path.join(d.root, "ukd.db"))
    with db:
        # ukd died inside rm: the row is gone, the guest is not
        db.execute("DELETE FROM instances WHERE id = ?", (ids["orphan"],))
        # ukd died after starting a guest but before recording it
        db.execute("UPDATE instances SET state = 'created', pid = 0 WHERE id = ?",
                   (ids["adoptee"],))
    db.close()
    # a guest killed while no ukd ran never writes its exit status
    os.kill(pids["shot"], signal.SIGKILL)
    # ukd died inside create (a directory, no row) and while spooling uploads and blobs
    stray = os.path.join(d.root, "instances", "ab" * 32)
    os.mkdir(stray)
    open(os.path.join(stray, "console.log"), "w").close()
    open(os.path.join(d.root, "tmp", "upload-crafted"), "w").close()
    open(os.path.join(d.root, "images", "tmp", "blob-crafted"), "w").close()
    # ukd died mid-build: the compiler keeps running in the store's tmp/
    bdir = os.path.join(d.root, "images", "tmp", "build-crafted")
    os.mkdir(bdir)
    compiler = subprocess.Popen(["sleep", "600"], cwd=bdir, start_new_session=True)
    wait_until(lambda: not alive(pids["shot"]), 10, "the shot QEMU gone")
    d.logf.close()
    d.start()
    check(compiler.wait(30) == -signal.SIGKILL, "orphaned build process not killed")
    check_tmp(d)
    check(not os.path.exists(stray), "instance dir without a row not removed")
    wait_until(lambda: not alive(pids["orphan"]), 30, "the QEMU of a guest without a row")
    st = d.inspect("adoptee")["state"]
    check(st["running"] and st["pid"] == pids["adoptee"], "adoptee: %s" % st)
    check(any(e["action"] == "start" and e["name"] == "adoptee" for e in events_since(d, since)),
          "no start event for the adopted guest")
    st = d.inspect("shot")["state"]
    check(st["status"] == "exited" and st["exit_code"] == 255 and "unknown" in st["error"],
          "guest killed while ukd was down: %s" % st)
    check(consistent(d), "running ⇔ QEMU alive after the crafted crash")
    for n in ("adoptee", "shot"):
        d.req("DELETE", "/v1/instances/%s?force=1" % n)
    print("phase 2 (crafted crash states): ok")


# ---- phase 2b: kill -9 while the sandboxed compiler runs ----

# 2^40 nested includes of itself: the preprocessor never finishes (test_build_sandbox.py).
INCLUDE_BOMB = """#if __INCLUDE_LEVEL__ < 40
#include __FILE__
#include __FILE__
#endif
#if __INCLUDE_LEVEL__ == 0
int main(void) { return 0; }
#endif
"""


def sandbox_records(root):
    """The sandbox records of the builds in ROOT/images/tmp (format: uk/images.h)."""
    tmp = os.path.join(root, "images", "tmp")
    out = []
    for name in os.listdir(tmp):
        try:
            with open(os.path.join(tmp, name, "sandbox")) as f:
                tag, sdir, pgid, uid, _start = f.read().split()
        except (OSError, ValueError):
            continue
        check(tag == "uk-sandbox-1", "sandbox record %s: %r" % (name, tag))
        out.append((sdir, int(pgid), int(uid)))
    return out


def proc_info(pid):
    """(pgid, uid, cwd) of a live process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return None
        return int(fields[2]), os.stat("/proc/%d" % pid).st_uid, os.readlink("/proc/%d/cwd" % pid)
    except (OSError, ValueError, IndexError):
        return None


def build_procs(sdir, pgid, uid):
    """Live processes of a recorded build: in its group as its user, or working in its dir."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = proc_info(int(name))
            if info and ((pgid and info[0] == pgid and info[1] == uid) or
                         (info[2] + "/").startswith(sdir + "/")):
                out.append(int(name))
    return out


def phase_build_killed(d):
    """A build whose compiler never ends: ukd is killed while it runs in its sandbox (own user,
    PID and mount namespaces, private /tmp/uk-build.* dir as its /tmp); the next ukd kills it
    and removes its dir."""
    ctx = tempfile.mkdtemp(prefix="ukt-ctx-", dir="/tmp")
    with open(os.path.join(ctx, "Ukfile"), "w") as f:
        f.write("SOURCES main.c\n")
    with open(os.path.join(ctx, "main.c"), "w") as f:
        f.write(INCLUDE_BOMB)

    def run_build():
        try:
            d.build(ctx, "bomb")
        except (OSError, AssertionError, ValueError, http.client.HTTPException):
            pass  # ukd dies under it

    t = threading.Thread(target=run_build)
    t.start()
    try:
        def running():
            for sdir, pgid, uid in sandbox_records(d.root):
                cwds = [(proc_info(p) or (0, 0, ""))[2] for p in build_procs(sdir, pgid, uid)]
                # the context as the build's own mount namespace shows it
                if pgid and ("/tmp/ctx" in cwds or sdir + "/ctx" in cwds):
                    return sdir, pgid, uid
            return None
        sdir, pgid, uid = wait_until(running, 60, "the compiler running in its sandbox")
        d.proc.kill()
        d.proc.wait()
        t.join(60)
    finally:
        shutil.rmtree(ctx, ignore_errors=True)
    left = build_procs(sdir, pgid, uid)
    check(left and os.path.isdir(sdir), "the compiler did not outlive ukd: the test missed")
    print("compiler group %d (uid %d, %d processes) outlived ukd in %s" % (pgid, uid, len(left),
                                                                         sdir))
    d.logf.close()
    d.start()
    d.logf.flush()
    with open(d.log) as f:
        killed = [int(l.split("killing process ")[1].split()[0]) for l in f
                  if "left by an interrupted build" in l]
    # Else it may have died of its own (its sources deleted by the image gc): not recovery.
    check(set(killed) & set(left), "recovery did not kill the compiler group %d (%s): killed %s"
          % (pgid, left, killed))
    left = build_procs(sdir, pgid, uid)
    check(not left, "processes of the interrupted build still run after the restart: %s" % left)
    check(not os.path.exists(sdir), "the interrupted build's sandbox dir %s is left" % sdir)
    with open("/proc/self/mountinfo") as f:
        mounts = [l for l in f if sdir in l]
    check(not mounts, "mounts of the sandbox left: %s" % mounts)
    check_tmp(d)
    d.ping()
    print("phase 2b (kill -9 mid-compile in the sandbox): ok")


# ---- phase 3: kill -9 at random points ----

class World:
    """What the API acknowledged, to compare with what a restarted ukd reports."""

    def __init__(self):
        self.lock = threading.Lock()
        self.created = {}   # id -> {"kind": long|short, "code": n}
        self.removed = set()
        self.targeted = set()  # ids an rm of this iteration was sent for
        self.images = set()  # ids of acknowledged builds
        self.variant = 0
        self.builds_sent = 0
        self.restart_s = []  # kill -9 → the new ukd answers _ping
        self.sandboxes = 0  # builds killed with their sandbox recorded


# What the restarts found, counted from ukd's log: proof the kills landed where they should.
RECOVERIES = [("re-attached to its running guest", "guests re-attached"),
              ("adopted its running guest", "guests adopted (ukd died after starting them)"),
              ("its start was interrupted", "starts ukd died in, dropped before connecting"),
              ("destroying the guest of a start", "starts ukd died in, undone (created paused)"),
              ("while ukd was down", "exits while ukd was down recorded"),
              ("left by an interrupted build", "build processes killed"),
              ("request bodies left", "spooled uploads removed"),
              ("no instance owns it", "instance dirs without a row removed"),
              ("a guest no instance owns", "guests without a row destroyed")]


FIRST_START = [0.0]


def recovery_summary(d, w):
    d.logf.flush()
    with open(d.log) as f:
        text = f.read()
    print("builds: %d sent, %d acknowledged, %d interrupted with a sandbox (cleaned)"
          % (w.builds_sent, len(w.images), w.sandboxes))
    r = sorted(w.restart_s)
    if r:
        print("restart after kill -9 until _ping answers (incl. integrity_check of a copy): "
              "p50 %.0f ms, p90 %.0f ms, max %.0f ms; first start on an empty root %.0f ms"
              % (r[len(r) // 2] * 1000, r[len(r) * 9 // 10] * 1000, r[-1] * 1000,
                 FIRST_START[0] * 1000))
    for needle, what in RECOVERIES:
        print("%5d  %s" % (text.count(needle), what))


def make_ctx(n):
    ctx = tempfile.mkdtemp(prefix="ukt-ctx-", dir="/tmp")
    shutil.copy(os.path.join(GUEST, "Ukfile"), ctx)
    with open(os.path.join(GUEST, "main.c")) as f:
        src = f.read()
    with open(os.path.join(ctx, "main.c"), "w") as f:
        f.write(src + "\n/* crash test variant %d */\n" % n)
    return ctx


def op_build(d, w, rng):
    with w.lock:
        w.variant += 1
        w.builds_sent += 1
        n = w.variant
    ctx = make_ctx(n)
    try:
        lines = d.build(ctx, "v%d" % n)
        if lines and "aux" in lines[-1]:
            with w.lock:
                w.images.add(lines[-1]["aux"]["id"])
    finally:
        shutil.rmtree(ctx, ignore_errors=True)


def op_run(d, w, rng, kind):
    if kind == "long":
        cmd, code = ["forever"], None
    else:
        code = rng.randrange(1, 120)
        cmd = ["sleep", str(rng.randrange(0, 1500)), str(code)]
    r = d.req("POST", "/v1/instances", body={"image": "uktest", "cmd": cmd})
    if r.status != 201:
        return
    iid = r.json()["id"]
    with w.lock:
        w.created[iid] = {"kind": kind, "code": code}
    d.req("POST", "/v1/instances/%s/start" % iid)


def op_rm(d, w, rng):
    with w.lock:
        live = sorted(set(w.created) - w.removed)
    if not live:
        return
    iid = rng.choice(live)
    with w.lock:
        w.targeted.add(iid)
    if d.req("DELETE", "/v1/instances/%s?force=1" % iid).status == 204:
        with w.lock:
            w.removed.add(iid)


def iteration(d, w, rng, it):
    inst = instances(d)
    n_long = sum(1 for i, v in inst.items() if v["state"]["running"]
                 and w.created.get(i, {}).get("kind") == "long")
    ops = []
    for _ in range(rng.randrange(1, 4)):
        k = rng.choice(["build", "long", "short", "short", "rm", "rm"])
        if k == "long" and n_long >= MAX_LONG:
            k = "short"
        n_long += k == "long"
        ops.append(k)
    # Guests running now that nothing here removes must survive with the same pid.
    keep = {i: v["state"]["pid"] for i, v in inst.items() if v["state"]["running"]
            and w.created.get(i, {}).get("kind") == "long"}
    logs_before = {i: log_text(d, i) for i in keep}
    w.targeted = set()
    delay = rng.uniform(0, 1.5)
    print("iteration %d: %s, kill -9 after %.0f ms" % (it, ops, delay * 1000), flush=True)

    def run_op(k, seed):
        r = random.Random(seed)
        try:
            if k == "build":
                op_build(d, w, r)
            elif k == "rm":
                op_rm(d, w, r)
            else:
                op_run(d, w, r, k)
        except (OSError, AssertionError, ValueError, http.client.HTTPException):
            pass  # the daemon died under the request: that is the point

    threads = [threading.Thread(target=run_op, args=(k, rng.random())) for k in ops]
    for t in threads:
        t.start()
    time.sleep(delay)
    d.proc.kill()
    d.proc.wait()
    for t in threads:
        t.join(120)
    t0 = time.time()
    check_db(d.root)
    sandboxes = sandbox_records(d.root)  # builds the kill interrupted
    d.logf.close()
    d.start()
    w.restart_s.append(time.time() - t0)
    check_tmp(d)
    for sdir, pgid, uid in sandboxes:
        check(not os.path.exists(sdir), "sandbox dir %s left after restart %d" % (sdir, it))
        left = build_procs(sdir, pgid, uid)
        check(not left, "processes of an interrupted build run after restart %d: %s" % (it, left))
    w.sandboxes += len(sandboxes)
    inst = wait_until(lambda: consistent(d), 20, "running ⇔ QEMU alive after restart %d" % it)
    # Acknowledged writes survived.
    for iid in list(w.created):
        if iid in w.removed or iid in inst:
            continue
        # an rm in flight when ukd died (sent, not acknowledged) may have committed: gone
        check(iid in w.targeted, "instance %s (create acknowledged) lost" % iid[:12])
        w.removed.add(iid)
    for iid in w.removed:
        check(iid not in inst, "instance %s (rm acknowledged) is back" % iid[:12])
    listed = check_blobs(d)
    check(w.images <= listed, "acknowledged builds lost: %s" % (w.images - listed))
    # Guests that ran before the kill still run, same QEMU, and their logs keep growing.
    for iid, pid in keep.items():
        if iid in w.targeted:
            continue  # an rm of this iteration may have killed it before ukd died
        st = inst[iid]["state"]
        check(st["running"] and st["pid"] == pid, "guest %s after kill -9: %s (pid was %d)"
              % (iid[:12], st, pid))
        wait_until(lambda: len(log_text(d, iid)) > len(logs_before[iid]), 30,
                   "log of %s growing after the restart" % iid[:12])
        check(log_text(d, iid).startswith(logs_before[iid]), "log of %s lost lines" % iid[:12])
    # Short guests that finished report their own exit code.
    for iid, v in inst.items():
        want = w.created.get(iid, {}).get("code")
        st = v["state"]
        if want is not None and st["status"] == "exited" and st["exit_code"] != 137:
            check(st["exit_code"] == want, "guest %s: exit %d (%s), its code is %d"
                  % (iid[:12], st["exit_code"], st["error"], want))
    # Keep the root small: drop exited short guests now and then.
    if it % 10 == 9:
        for iid, v in inst.items():
            if not v["state"]["running"] and w.created.get(iid, {}).get("kind") == "short":
                if d.req("DELETE", "/v1/instances/" + iid).status == 204:
                    w.removed.add(iid)


def setup():
    if len(sys.argv) < 3:
        sys.exit("usage: %s PATH/TO/ukd PATH/TO/uk" % sys.argv[0])
    require_qemu()
    skip_under_asan(sys.argv[1], "kill -9 and restarts")


def make():
    t = time.time()
    d = Daemon(sys.argv[1], live_restore=True)
    FIRST_START[0] = time.time() - t
    return d


def crashes(d, rng, iterations):
    uk = sys.argv[2]
    t0 = time.time()
    phase_live_restore(d, uk)
    phase_crafted(d)
    phase_build_killed(d)
    w = World()
    for it in range(iterations):
        iteration(d, w, rng, it)
    # The end: everything removed, no QEMU of this root left.
    for iid in instances(d):
        d.req("DELETE", "/v1/instances/%s?force=1" % iid)
    wait_until(lambda: not root_qemus(d.root), 30, "every QEMU gone after rm -f of all")
    d.ping()
    recovery_summary(d, w)
    print("%d iterations in %.0f s" % (iterations, time.time() - t0))


if __name__ == "__main__":
    SEED = int(os.environ.get("UKT_CRASH_SEED", "20261127"))
    ITERATIONS = int(os.environ.get("UKT_CRASH_ITERATIONS", "50"))
    print("seed %d (UKT_CRASH_SEED replays it), %d iterations" % (SEED, ITERATIONS))
    RNG = random.Random(SEED)

    def kill_and_restart():
        return phase(lambda d: crashes(d, RNG, ITERATIONS), make=make,
                     after_stop=lambda d, ok: d and kill_qemus(d.root))
    run_phases([kill_and_restart], setup, label="seed %d" % SEED)
