#!/usr/bin/env python3
"""runuk command by command against bundle directories, as runc's integration tests do, with this
process as the containers' subreaper (as containerd's shim is): real QEMU (TCG), real kernels.
usage: test_runuk.py RUNUK UKCC REPO [TEST...]"""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

RUNUK, UKCC, REPO = (os.path.abspath(a) for a in sys.argv[1:4])
ONLY = sys.argv[4:]
TMP = tempfile.mkdtemp(prefix="runuk-", dir=os.environ.get("TMPDIR", "/tmp"))
ROOT = os.path.join(TMP, "root")
LOG = os.path.join(TMP, "log.json")
KERNEL = os.path.join(TMP, "guest")
failures = []
started = []  # supervisor pids this test made, killed at the end whatever happens


def fail(msg):
    raise AssertionError(msg)


def rk(*args, env=None, stdout=subprocess.PIPE, timeout=60, root=ROOT):
    """runuk's result; stderr through a file: a container's process keeps create's stdio."""
    e = dict(os.environ, **(env or {}))
    with tempfile.TemporaryFile("w+", dir=TMP) as err:
        r = subprocess.run([RUNUK, "--root", root, "--log", LOG, "--log-format", "json", *args],
                           stdout=stdout, stderr=err, text=True, env=e, timeout=timeout)
        err.seek(0)
        r.stderr = err.read()
    return r


def bundle(name, args, env=("PATH=/bin", "FOO=bar"), memory=None, terminal=False, kernel=True,
           raw=None, netns=None, kernel_path=None):
    b = os.path.join(TMP, name)
    os.makedirs(os.path.join(b, "rootfs", "uk"))
    if kernel:
        shutil.copy(kernel_path or KERNEL, os.path.join(b, "rootfs", "uk", "kernel"))
    cfg = {"ociVersion": "1.0.2",
           "process": {"terminal": terminal, "args": list(args), "env": list(env), "cwd": "/"},
           "root": {"path": "rootfs"}, "annotations": {"org.example": "yes"},
           "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}
    if netns:
        cfg["linux"]["namespaces"].append({"type": "network", "path": "/run/netns/" + netns})
    if memory:
        cfg["linux"]["resources"] = {"memory": {"limit": memory}}
    with open(os.path.join(b, "config.json"), "w") as f:
        f.write(raw if raw is not None else json.dumps(cfg))
    return b


def reap(pid, timeout):
    """The container's exit status as the engine sees it (128+N for a signal)."""
    end = time.time() + timeout
    while time.time() < end:
        p, ws = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            started.remove(pid)
            return os.waitstatus_to_exitcode(ws) if os.WIFEXITED(ws) else 128 + os.WTERMSIG(ws)
        time.sleep(0.05)
    fail(f"container process {pid} still alive after {timeout} s")


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    fail(f"timed out ({timeout} s) waiting for {what}")


def create(cid, b, out, extra=()):
    pidf = os.path.join(TMP, cid + ".pid")
    with open(out, "w") as f:
        r = rk("create", "--bundle", b, "--pid-file", pidf, *extra, cid, stdout=f)
    if r.returncode:
        fail(f"create {cid}: {r.returncode} {r.stderr}")
    text = open(pidf).read()
    if not re.fullmatch(r"[0-9]+", text):
        fail(f"pid file holds {text!r}, not digits only")
    started.append(int(text))
    return int(text)


def state(cid):
    r = rk("state", cid)
    if r.returncode:
        fail(f"state {cid}: {r.stderr}")
    return json.loads(r.stdout)


def expect_error(r, pattern, what):
    if r.returncode == 0:
        fail(f"{what}: succeeded, expected an error")
    if not re.search(pattern, r.stderr):
        fail(f"{what}: error {r.stderr!r} does not match {pattern!r}")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except FileNotFoundError:
        return False


def qemu_pid(cid):
    r = rk("ps", "--format", "json", cid)
    pids = json.loads(r.stdout)
    if len(pids) != 2:
        fail(f"ps {cid}: {pids}, expected the supervisor and QEMU")
    return pids[1]


# ---- tests ----

def t_version_features():
    r = rk("--version")
    if r.returncode or not r.stdout.startswith("runuk version ") or "spec: " not in r.stdout:
        fail(f"--version: {r.stdout!r}")
    # runc's global flags, as engines pass them: accepted, ignored where they do not apply
    f = json.loads(rk("--rootless", "true", "--systemd-cgroup", "--debug", "features").stdout)
    if f["ociVersionMax"] < "1.0" or "hooks" not in f:
        fail(f"features: {f}")


def t_run_status():
    b = bundle("run7", ["/uk/kernel", "exit", "7", "a b"])
    r = rk("run", "--bundle", b, "run7", timeout=120)
    if r.returncode != 7:
        fail(f"run: exit {r.returncode}, expected the guest's 7: {r.stderr}")
    for want in ("arg[1]=exit", "arg[3]=a b", "FOO=bar"):
        if want not in r.stdout:
            fail(f"run: {want!r} not in the console: {r.stdout!r}")
    if "/uk/kernel" in r.stdout:
        fail("the kernel's path reached the guest's argv")
    if os.path.exists(os.path.join(ROOT, "run7")):
        fail("run left its state behind")
    # an image without Entrypoint: process.args is the Cmd alone, all of it the guest's
    b = bundle("run3", ["exit", "203"], env=["FOO=old"])
    r = rk("run", "--bundle", b, "run3", timeout=120)
    if r.returncode != 203 or "FOO=old" not in r.stdout:
        fail(f"run without /uk/kernel in args: {r.returncode} {r.stdout!r}")


def t_lifecycle():
    b = bundle("life", ["/uk/kernel", "wait"], memory=48 << 20)
    out = os.path.join(TMP, "life.out")
    pid = create("life", b, out)
    s = state("life")
    if s["status"] != "created" or s["pid"] != pid or s["id"] != "life":
        fail(f"state after create: {s}")
    if s["bundle"] != os.path.realpath(b) or s["annotations"].get("org.example") != "yes":
        fail(f"state's bundle/annotations: {s}")
    if not s["ociVersion"] or not s["created"]:
        fail(f"state lacks ociVersion/created: {s}")
    q = qemu_pid("life")
    cmd = open(f"/proc/{q}/cmdline").read().split("\0")
    if any("netdev" in a for a in cmd):
        fail(f"a container on the host's network got a NIC: {cmd}")
    if cmd[cmd.index("-m") + 1] not in ("48", "48M", "size=48M", "48m"):
        fail(f"memory.limit 48 MiB: QEMU has -m {cmd[cmd.index('-m') + 1]}")
    time.sleep(1.0)
    if open(out).read():
        fail(f"the guest ran before start: {open(out).read()!r}")
    r = rk("start", "life")
    if r.returncode:
        fail(f"start: {r.stderr}")
    if state("life")["status"] != "running":
        fail("state after start is not running")
    wait_for(lambda: "ready" in open(out).read(), 120, "the guest's ready")
    expect_error(rk("start", "life"), "running, not created", "start of a running container")
    expect_error(rk("delete", "life"), "not stopped", "delete of a running one without --force")
    if not alive(pid) or state("life")["status"] != "running":
        fail("a refused delete hurt the container")
    if rk("kill", "life", "TERM").returncode:
        fail("kill TERM failed")
    code = reap(pid, 120)
    if code != 143:
        fail(f"SIGTERM: exit {code}, expected 143 (the runtime's power button exit)")
    s = state("life")
    if s["status"] != "stopped" or s["pid"] != 0:
        fail(f"state after exit: {s}")
    wait_for(lambda: not alive(q), 10, "QEMU to end")
    expect_error(rk("kill", "life", "KILL"), "not running", "kill of a stopped container")
    if rk("delete", "life").returncode:
        fail("delete of a stopped container failed")
    if os.path.exists(os.path.join(ROOT, "life")):
        fail("delete left the state directory")
    expect_error(rk("state", "life", env={"RUNUK_RUNC": "/nonexistent/runc"}),
                 "does not exist|cannot be run", "state after delete")


def t_graceful():
    b = bundle("grace", ["/uk/kernel", "wait", "handler"])
    out = os.path.join(TMP, "grace.out")
    pid = create("grace", b, out)
    rk("start", "grace")
    wait_for(lambda: "ready" in open(out).read(), 120, "ready")
    rk("kill", "grace", "SIGTERM")
    code = reap(pid, 120)
    if code != 0 or "graceful shutdown" not in open(out).read():
        fail(f"uk_on_shutdown: exit {code}, console {open(out).read()!r}")
    rk("delete", "grace")


def t_sigkill():
    b = bundle("killed", ["/uk/kernel", "wait"])
    out = os.path.join(TMP, "killed.out")
    pid = create("killed", b, out)
    rk("start", "killed")
    q = qemu_pid("killed")
    wait_for(lambda: "ready" in open(out).read(), 120, "ready")
    rk("kill", "killed", "9")
    if reap(pid, 30) != 137:
        fail("SIGKILL: not 137")
    wait_for(lambda: not alive(q), 10, "QEMU to die with its supervisor")
    if rk("delete", "killed").returncode:
        fail("delete after SIGKILL")


def t_negatives():
    expect_error(rk("create", "--bundle", os.path.join(TMP, "nope"), "x1"),
                 "nope.*No such file", "missing bundle")
    b = bundle("badjson", [], raw="{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": ")
    expect_error(rk("create", "--bundle", b, "x2"), "not a JSON object", "bad config.json")
    b = bundle("noargs", [])
    expect_error(rk("create", "--bundle", b, "x3"), "process.args is missing",
                 "config.json without args")
    b = bundle("badenv", ["/uk/kernel"], env=["NOEQUALS"])
    expect_error(rk("create", "--bundle", b, "x4"), r"process.env\[0\]", "env without =")
    b = bundle("tiny", ["/uk/kernel"], memory=1 << 20)
    expect_error(rk("create", "--bundle", b, "x5"), "at least 4 MiB", "1 MiB of memory")
    b = bundle("ok", ["/uk/kernel", "wait"])
    expect_error(rk("create", "--bundle", b, "../evil"), "invalid container id", "id ../evil")
    nl = os.path.join(TMP, "new\nline")
    os.makedirs(nl)
    expect_error(rk("create", "--bundle", nl, "x6"), "control characters", "bundle with \\n")
    expect_error(rk("create", "--bundle", b, "--bogus", "x7"), "unknown flag --bogus",
                 "unknown flag")
    for cid in ("x1", "x2", "x3", "x4", "x5", "x6", "x7"):
        if os.path.exists(os.path.join(ROOT, cid)):
            fail(f"a refused create left {ROOT}/{cid}")
    # the JSON lines containerd shows to users
    lines = [json.loads(l) for l in open(LOG)]
    if not lines or lines[-1]["level"] != "error" or "unknown flag" not in lines[-1]["msg"]:
        fail(f"--log: {lines[-1:]}")
    out = os.path.join(TMP, "dup.out")
    pid = create("dup", b, out)
    expect_error(rk("create", "--bundle", b, "dup"), "exists already", "duplicate id")
    if state("dup")["status"] != "created" or not alive(pid):
        fail("the refused duplicate hurt the first container")
    for verb in ("exec", "pause", "resume", "update"):
        expect_error(rk(verb, "dup"), "not supported for unikernels", verb)
    # a created container may be deleted (runc's rule): the guest never ran
    if rk("delete", "dup").returncode:
        fail("delete of a created container")
    if reap(pid, 30) not in (137, 143):
        fail("delete of a created container left its process")


def t_passthrough():
    fake = os.path.join(TMP, "fake-runc")
    rec = os.path.join(TMP, "fake-runc.rec")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\" > " + rec +
                "\n[ -e /proc/self/fd/7 ] && echo fd7 >> " + rec + "\nexit 42\n")
    os.chmod(fake, 0o755)
    env = {"RUNUK_RUNC": fake}
    linux = bundle("linux", ["/bin/true"], kernel=False)
    # a symlink out of the rootfs is no kernel: resolved inside the rootfs it names nothing
    esc = bundle("escape", ["/uk/kernel"], kernel=False)
    os.symlink(KERNEL, os.path.join(esc, "rootfs", "uk", "kernel"))
    r7, w7 = os.pipe()
    os.dup2(r7, 7)
    for b in (linux, esc):
        argv = [RUNUK, "--root", ROOT, "--log", LOG, "--log-format", "json", "create",
                "--bundle", b, "--pid-file", os.path.join(TMP, "l.pid"), "lin"]
        r = subprocess.run(argv, env=dict(os.environ, **env), pass_fds=(7,),
                           stderr=subprocess.PIPE)
        if r.returncode != 42:
            fail(f"passthrough of {b}: exit {r.returncode}, not runc's 42: {r.stderr}")
        got = open(rec).read().split("\n")
        if got[:len(argv)] != [fake] + argv[1:] or "fd7" not in got:
            fail(f"runc got {got}, expected {[fake] + argv[1:]} and fd 7")
    os.close(7)
    os.close(r7)
    os.close(w7)
    for cmd in (["state", "lin"], ["kill", "lin", "KILL"], ["delete", "lin"], ["exec", "lin"],
                ["pause", "lin"]):
        r = rk(*cmd, env=env)
        if r.returncode != 42:
            fail(f"{cmd} of an id runuk does not own: {r.returncode}, not handed to runc")


def t_hooks():
    """prestart/createRuntime hooks run at create with the state on stdin (dockerd's
    libnetwork-setkey moves eth0 in from one); a failing hook fails create, leaving nothing."""
    rec = os.path.join(TMP, "hook.rec")
    hook = os.path.join(TMP, "hook.sh")
    with open(hook, "w") as f:
        f.write(f"#!/bin/sh\ncat >> {rec}\necho \" $1 $HOOKVAR\" >> {rec}\n")
    os.chmod(hook, 0o755)
    b = bundle("hooked", ["/uk/kernel", "exit", "0"])
    cfg = json.load(open(os.path.join(b, "config.json")))
    cfg["hooks"] = {"prestart": [{"path": hook, "args": ["hook.sh", "first"],
                                  "env": ["HOOKVAR=v1"]}],
                    "createRuntime": [{"path": hook, "args": ["hook.sh", "second"]}]}
    json.dump(cfg, open(os.path.join(b, "config.json"), "w"))
    pid = create("hooked", b, os.devnull)
    text = open(rec).read()
    first = json.loads(text[:text.index("}") + 1] if text.count("{") == 1 else
                       text.split("\n")[0].split(" first")[0])
    if first["id"] != "hooked" or first["pid"] != pid or first["status"] != "creating":
        fail(f"prestart hook's state: {first}")
    if " first v1" not in text or " second " not in text or text.index("first") > \
            text.index("second"):
        fail(f"hooks' args/env/order: {text!r}")
    rk("delete", "--force", "hooked")
    reap(pid, 30)
    cfg["hooks"] = {"prestart": [{"path": "/bin/false"}]}
    json.dump(cfg, open(os.path.join(b, "config.json"), "w"))
    expect_error(rk("create", "--bundle", b, "hookfail"), "prestart hook /bin/false failed",
                 "a failing prestart hook")
    if os.path.exists(os.path.join(ROOT, "hookfail")):
        fail("a failed hook left state behind")


def t_terminal():
    path = os.path.join(TMP, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got = {}

    def accept():
        c, _ = srv.accept()
        _, fds, _, _ = socket.recv_fds(c, 64, 1)
        got["fd"] = fds[0]
        c.close()

    t = threading.Thread(target=accept)
    t.start()
    b = bundle("tty", ["/uk/kernel", "exit", "5"], terminal=True)
    expect_error(rk("create", "--bundle", b, "tty0"), "console-socket is required",
                 "terminal without a console socket")
    pid = create("tty", b, os.devnull, extra=("--console-socket", path))
    t.join(10)
    if "fd" not in got:
        fail("no pty arrived over the console socket")
    rk("start", "tty")
    text = b""
    end = time.time() + 120
    while b"FOO=bar" not in text and time.time() < end:
        try:
            text += os.read(got["fd"], 4096)
        except OSError:
            break
    if b"arg[2]=5" not in text or b"FOO=bar" not in text:
        fail(f"console over the pty: {text!r}")
    if reap(pid, 60) != 5:
        fail("terminal container's exit status")
    rk("delete", "tty")


def t_concurrent():
    b = bundle("race", ["/uk/kernel", "wait"])
    procs = [subprocess.Popen([RUNUK, "--root", ROOT, "create", "--bundle", b, "--pid-file",
                               os.path.join(TMP, f"race{i}.pid"), "race"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    codes = [p.wait(120) for p in procs]
    if codes.count(0) != 1:
        fail(f"4 creates of one id: exit codes {codes}, expected exactly one success")
    winner = codes.index(0)
    pid = int(open(os.path.join(TMP, f"race{winner}.pid")).read())
    started.append(pid)
    if state("race")["pid"] != pid:
        fail("the state names another pid than the winner's pid file")
    ds = [subprocess.Popen([RUNUK, "--root", ROOT, "delete", "--force", "race"],
                           stderr=subprocess.PIPE) for _ in range(3)]
    dcodes = [p.wait(60) for p in ds]
    if 0 not in dcodes or os.path.exists(os.path.join(ROOT, "race")):
        fail(f"3 concurrent deletes: {dcodes}")
    reap(pid, 30)


class Skip(Exception):
    pass


def sh(*argv, check=True):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if check and r.returncode:
        fail(f"{' '.join(argv)}: {r.stderr}")
    return r


def t_network():
    """The guest takes over eth0 of a namespace this test made (a veth to a second one, never
    the host's): tc mirred both ways, eth0's address on the guest, HTTP answered from the peer;
    a namespace with only lo gives no NIC."""
    for tool in ("ip", "tc", "curl"):
        if not shutil.which(tool):
            raise Skip(f"{tool} is not installed")
    c, p, e = (f"rk{os.getpid()}{x}" for x in "cpe")
    if subprocess.run(["ip", "netns", "add", c], capture_output=True).returncode:
        raise Skip("cannot create network namespaces here (ip netns add)")
    try:
        sh("ip", "netns", "add", p)
        sh("ip", "netns", "add", e)
        sh("ip", "-n", p, "link", "add", "veth-p", "type", "veth", "peer", "name", "eth0",
           "netns", c)
        sh("ip", "-n", c, "addr", "add", "10.199.0.2/24", "dev", "eth0")
        sh("ip", "-n", p, "addr", "add", "10.199.0.1/24", "dev", "veth-p")
        for ns, dev in ((c, "eth0"), (c, "lo"), (p, "veth-p"), (p, "lo"), (e, "lo")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", c, "route", "add", "default", "via", "10.199.0.1")
        mac = json.loads(sh("ip", "-n", c, "-j", "link", "show", "eth0").stdout)[0]["address"]
        site = os.path.join(REPO, "images/examples/website")
        web = os.path.join(TMP, "website")
        r = subprocess.run([UKCC, "-O2", "-o", web, "--embed", "site/:/www", "main.c", "-lnet",
                            "-lhttp"], cwd=site, capture_output=True, text=True)
        if r.returncode:
            fail(f"build the website: {r.stderr}")
        b = bundle("web", ["/uk/kernel", "--port=80"], netns=c, kernel_path=web)
        # the engine's resolv.conf: its first server the guest can route to becomes UK_DNS
        with open(os.path.join(b, "resolv.conf"), "w") as f:
            f.write("search example\nnameserver 127.0.0.11\nnameserver 10.199.0.53\n")
        cfg = json.load(open(os.path.join(b, "config.json")))
        cfg["mounts"] = [{"destination": "/etc/resolv.conf", "type": "bind",
                          "source": os.path.join(b, "resolv.conf")}]
        json.dump(cfg, open(os.path.join(b, "config.json"), "w"))
        out = os.path.join(TMP, "web.out")
        pid = create("web", b, out)
        cmd = open(f"/proc/{qemu_pid('web')}/cmdline").read().split("\0")
        if not any(f"mac={mac}" in a for a in cmd) or not any("UK_IP=10.199.0.2/24" in a
                                                               for a in cmd):
            fail(f"the guest has not eth0's MAC {mac} and address: {cmd}")
        if not any("UK_DNS=10.199.0.53" in a for a in cmd) or any("127.0.0.11" in a for a in cmd):
            fail(f"the guest's DNS is not the engine's routable server: {cmd}")
        if "10.199.0.2" in sh("ip", "-n", c, "-4", "addr", "show", "eth0").stdout:
            fail("eth0 kept its address: the namespace's kernel would answer for the guest")
        if "mirred" not in sh("tc", "-n", c, "filter", "show", "dev", "eth0", "ingress").stdout:
            fail("no tc mirred redirect on eth0")
        rk("start", "web")
        want = open(os.path.join(site, "site/index.html")).read()
        got = ""
        end = time.time() + 120
        while want not in got and time.time() < end:
            got = subprocess.run(["ip", "netns", "exec", p, "curl", "-s", "--max-time", "3",
                                  "http://10.199.0.2/"], capture_output=True, text=True).stdout
        if want not in got:
            fail(f"GET http://10.199.0.2/ from the peer namespace: {got!r}; console "
                 f"{open(out).read()!r}")
        rk("kill", "web", "TERM")
        reap(pid, 120)
        rk("delete", "web")
        # a namespace with only lo: no NIC, no address
        b = bundle("nonic", ["/uk/kernel", "exit", "3"], netns=e)
        pid = create("nonic", b, os.path.join(TMP, "nonic.out"))
        cmd = open(f"/proc/{qemu_pid('nonic')}/cmdline").read()
        if "netdev" in cmd or "UK_IP" in cmd:
            fail(f"a namespace without a link gave the guest a NIC: {cmd!r}")
        rk("start", "nonic")
        if reap(pid, 120) != 3:
            fail("the NIC-less guest's exit status")
        rk("delete", "nonic")
    finally:
        for ns in (c, p, e):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


TESTS = [t_version_features, t_run_status, t_lifecycle, t_graceful, t_sigkill, t_negatives,
         t_passthrough, t_hooks, t_terminal, t_concurrent, t_network]
DEFAULT = [t for t in TESTS if t is not t_network]  # runuk.net runs t_network alone


def main():
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP: qemu-system-x86_64 not installed")
        return 77
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER, as containerd's shim
        print("FAIL: prctl(PR_SET_CHILD_SUBREAPER)")
        return 1
    r = subprocess.run([UKCC, "-O2", "-o", KERNEL, os.path.join(REPO, "runuk/tests/guest.c")],
                       capture_output=True, text=True)
    if r.returncode:
        print("FAIL: build the guest:", r.stderr)
        return 1
    for t in TESTS:
        if (ONLY and t.__name__[2:] not in ONLY) or (not ONLY and t not in DEFAULT):
            continue
        t0 = time.time()
        try:
            t()
            print(f"PASS {t.__name__[2:]} ({time.time() - t0:.1f} s)", flush=True)
        except Skip as e:
            print(f"SKIP {t.__name__[2:]}: {e}", flush=True)
            if ONLY == [t.__name__[2:]]:
                return 77
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next test
            failures.append(t.__name__)
            print(f"FAIL {t.__name__[2:]}: {e}", flush=True)
    return 1 if failures else 0


try:
    rc = main()
finally:
    # whatever a failed test left: every container in this test's root (a create that timed
    # out never reported its pid), then the pids the test knows
    if os.path.isdir(ROOT):
        for cid in subprocess.run([RUNUK, "--root", ROOT, "list", "-q"], capture_output=True,
                                  text=True).stdout.split():
            subprocess.run([RUNUK, "--root", ROOT, "delete", "--force", cid],
                           capture_output=True)
    for p in list(started):
        try:
            os.kill(p, signal.SIGKILL)
            os.waitpid(p, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(rc)
