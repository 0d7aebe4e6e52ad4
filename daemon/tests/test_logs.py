"""Console and status floods on real QEMU guests (issue 10, defect 4): log options checked (400
on bad ones, nothing created), daemon.json "log-opts" as the default and --log-opt over it; a
guest printing numbered lines as fast as it can, with max-size=64k max-file=2, keeps the disk
use of its directory bounded while `uk logs -f` (started before it) prints every line once, in
order, across the rotations; `uk logs` and --tail give the most recent lines; COM2 spam keeps
the status file small; `uk logs` on a terminal shows control bytes escaped, raw with --raw or
when piped. usage: test_logs.py UKD UK"""
import json
import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time

from ukdtest import HERE, check, fail, require_qemu, run, uk_cli

GUEST = os.path.join(HERE, "guest")
UK = sys.argv[2] if len(sys.argv) > 2 else None
LIMIT = 180  # seconds a TCG guest on a loaded 2-core machine gets to reach a state
MAX_SIZE, MAX_FILE = 64 << 10, 2
# Beyond the rotated files: console.raw's unconsumed tail (what arrives in one 20 ms pass and
# a block), the status file, console.pos, and filesystem block rounding of each file.
SLACK = 96 << 10


def uk(d, *args, **kw):
    return uk_cli(UK, d, *args, **kw)


def disk_use(path):
    """Bytes the files under (path) hold on disk (blocks, not apparent sizes)."""
    total = 0
    for name in os.listdir(path):
        try:
            total += os.stat(os.path.join(path, name)).st_blocks * 512
        except FileNotFoundError:
            pass  # rotated away meanwhile
    return total


def wait_state(d, name, state, limit=LIMIT):
    deadline = time.time() + limit
    while time.time() < deadline:
        st = d.inspect(name)["state"]
        if st["status"] == state:
            return st
        time.sleep(0.1)
    fail("%s did not become %s within %d s: %s" % (name, state, limit, d.inspect(name)["state"]))


def bad_options(d):
    names = lambda: sorted(i["names"][0] for i in d.req("GET", "/v1/instances?all=1").json())
    before = names()
    cases = [
        ({"max-size": "10x"}, "log_opts.max-size \"10x\": expected a size"),
        ({"max-size": "12"}, "log_opts.max-size \"12\": expected a size from 1k"),
        ({"max-size": "-1k"}, "log_opts.max-size"),
        ({"max-size": ""}, "log_opts.max-size"),
        ({"max-file": "0"}, "log_opts.max-file \"0\": expected a number of files from 1"),
        ({"max-file": "many"}, "log_opts.max-file"),
        ({"max-file": "101"}, "log_opts.max-file"),
        ({"max-file": True}, "log_opts.max-file"),
        ({"compress": "true"}, "unknown log option \"compress\""),
        ("10m", "log_opts: expected an object"),
    ]
    for opts, want in cases:
        r = d.req("POST", "/v1/instances", body={"image": "uktest", "log_opts": opts})
        check(r.status == 400 and want in r.json().get("message", ""),
              "log_opts %r: expected 400 with %r, got %r" % (opts, want, r))
    # The CLI passes them through, and says what is wrong.
    p = uk(d, "create", "--log-opt", "max-size=1q", "uktest")
    check(p.returncode != 0 and "max-size" in p.err, "uk create --log-opt max-size=1q: %r" % p.err)
    p = uk(d, "create", "--log-opt", "max-size", "uktest")
    check(p.returncode != 0 and "expected KEY=VALUE" in p.err, "uk --log-opt max-size: %r" % p.err)
    check(names() == before, "a refused create left an instance: %s" % names())


def defaults(d):
    """daemon.json's "log-opts" (128k x 4 here) is the default; --log-opt overrides a key."""
    iid = d.create(image="uktest", name="dflt")
    check(d.inspect(iid)["config"]["log_opts"] == {"max-size": 128 << 10, "max-file": 4},
          "daemon.json log-opts not applied: %s" % d.inspect(iid)["config"])
    p = uk(d, "create", "--name", "over", "--log-opt", "max-size=1m", "uktest")
    check(p.returncode == 0, "uk create --log-opt: %s" % p.err)
    check(d.inspect("over")["config"]["log_opts"] == {"max-size": 1 << 20, "max-file": 4},
          "--log-opt max-size=1m over the default: %s" % d.inspect("over")["config"])
    for n in ("dflt", "over"):
        d.req("DELETE", "/v1/instances/" + n)


def numbers(text, what):
    """The line numbers of the guest's "flood N ..." lines in (text), checked whole."""
    out = []
    lines = text.split("\n")
    # The last line of a guest still printing (or killed) may be cut short.
    for line in lines[:-1]:
        m = re.fullmatch(r"flood (\d+) the quick brown fox jumps over the lazy dog", line)
        if m:
            out.append(int(m.group(1)))
        elif line and not line.startswith("uktest says hello") and not line.startswith("arg "):
            fail("%s: a damaged line %r" % (what, line[:200]))
    return out


def check_consecutive(nums, what):
    for a, b in zip(nums, nums[1:]):
        if b != a + 1:
            fail("%s: line %d followed by %d (lost or repeated lines at a rotation?)"
                 % (what, a, b))


def flood(d):
    iid = d.create(image="uktest", name="flood", cmd=["flood", "0"],
                   log_opts={"max-size": "64k", "max-file": "2"})
    check(d.inspect(iid)["config"]["log_opts"] == {"max-size": MAX_SIZE, "max-file": MAX_FILE},
          "log_opts stored: %s" % d.inspect(iid)["config"])
    idir = os.path.join(d.root, "instances", iid)
    env = dict(os.environ, UK_HOST="unix://" + d.sock)
    # -f before the start: it waits for the guest, then has to print every line it ever wrote.
    out = tempfile.TemporaryFile()
    follower = subprocess.Popen([UK, "logs", "-f", "flood"], stdout=out, stderr=subprocess.PIPE,
                                env=env)
    time.sleep(0.5)
    d.post("/v1/instances/flood/start")
    wait_state(d, "flood", "running")
    worst, deadline = 0, time.time() + 240
    raw = os.path.join(idir, "console.raw")
    # Until the guest has written ten times the bound (TCG on a loaded machine: some tens of
    # KB/s at the least), sampling the disk use of its directory.
    while time.time() < deadline and os.stat(raw).st_size < 10 * MAX_SIZE * MAX_FILE:
        worst = max(worst, disk_use(idir))
        time.sleep(0.2)
    written = os.stat(raw).st_size
    check(written >= 10 * MAX_SIZE * MAX_FILE,
          "the guest wrote only %d bytes in 240 s" % written)
    rotated = sorted(f for f in os.listdir(idir) if f.startswith("console.log"))
    print("flood: guest wrote %d bytes; disk use at most %d bytes (bound %d + %d); files %s"
          % (written, worst, MAX_SIZE * MAX_FILE, SLACK, rotated))
    check(worst <= MAX_SIZE * MAX_FILE + SLACK,
          "disk use of %s reached %d bytes, over %d x %d + %d" % (idir, worst, MAX_SIZE, MAX_FILE,
                                                                 SLACK))
    check(rotated == ["console.log", "console.log.1"], "log files: %s" % rotated)
    # The most recent lines, from both files: consecutive, ending near what the guest wrote.
    p = subprocess.run([UK, "logs", "flood"], capture_output=True, env=env)
    recent = numbers(p.stdout.decode(), "uk logs")
    check(len(recent) > 100 and recent[0] > 0, "uk logs: %d lines from %s" % (
        len(recent), recent[:1]))
    check_consecutive(recent, "uk logs")
    check(len(p.stdout) <= MAX_SIZE * MAX_FILE, "uk logs printed %d bytes" % len(p.stdout))
    p = subprocess.run([UK, "logs", "--tail", "5", "flood"], capture_output=True, env=env)
    tail = numbers(p.stdout.decode(), "uk logs --tail 5")
    # five lines, the last maybe still being written
    check(len(tail) in (4, 5) and tail[-1] >= recent[-1], "--tail 5: %s after %s" % (
        tail, recent[-1]))
    check_consecutive(tail, "uk logs --tail 5")
    # Timestamps come from the rotated files' console.ts too.
    p = subprocess.run([UK, "logs", "-t", "flood"], capture_output=True, env=env)
    stamped = p.stdout.decode().split("\n")[:-1]
    check(len(stamped) > 100 and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", l)
                                     for l in stamped),
          "uk logs -t: lines without a time: %r" % [l for l in stamped if l[:2] != "20"][:3])
    p = uk(d, "kill", "flood")
    check(p.returncode == 0, "uk kill flood: %s" % p.err)
    try:
        follower.wait(60)
    except subprocess.TimeoutExpired:
        follower.kill()
        fail("uk logs -f did not end within 60 s of the kill")
    out.seek(0)
    ftext = out.read().decode(errors="replace")
    followed = numbers(ftext, "uk logs -f")
    print("flood: uk logs -f printed lines 0 to %d" % (followed[-1] if followed else -1))
    check(followed and followed[0] == 0, "uk logs -f did not start at line 0: %s" % followed[:3])
    check_consecutive(followed, "uk logs -f")
    # -f printed all there is, up to the last byte the guest wrote before the kill
    full = d.logs("flood")
    check(ftext.endswith(full[-2000:]), "uk logs -f ended at line %d, the log ends with %r" % (
        followed[-1], full[-200:]))
    check(disk_use(idir) <= MAX_SIZE * MAX_FILE + SLACK, "disk use after the kill")


def status_spam(d):
    """COM2 junk as fast as the guest can: the status file stays a few KB on disk."""
    iid = d.create(image="uktest", name="spam2", cmd=["spam2"])
    status = os.path.join(d.root, "instances", iid, "status")
    d.post("/v1/instances/spam2/start")
    wait_state(d, "spam2", "running")
    worst, deadline = 0, time.time() + 240
    while time.time() < deadline and os.stat(status).st_size < 2 << 20:
        worst = max(worst, os.stat(status).st_blocks * 512)
        time.sleep(0.2)
    size = os.stat(status).st_size
    print("status spam: the guest wrote %d bytes to COM2; the file held at most %d on disk"
          % (size, worst))
    check(size >= 2 << 20, "the guest wrote only %d bytes to COM2 in 240 s" % size)
    check(worst <= 64 << 10, "the status file held %d bytes on disk" % worst)
    with open(status, "rb") as f:
        f.seek(-100, 2)
        check(b"junk on the status channel" in f.read(), "the status file lost its tail")
    p = uk(d, "rm", "-f", "spam2")
    check(p.returncode == 0, "uk rm -f spam2: %s" % p.err)


def read_pty(argv, env):
    """Runs (argv) with its stdout on a terminal; returns what it wrote there."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    data = b""
    while True:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        data += chunk
    p.wait(30)
    os.close(master)
    return data


def terminal(d):
    """Control bytes from the guest reach a terminal escaped; --raw and pipes get them as is."""
    d.create(image="uktest", name="ansi", cmd=["ansi"])
    d.post("/v1/instances/ansi/start")
    check(d.wait("ansi") == 0, "ansi exit code")
    env = dict(os.environ, UK_HOST="unix://" + d.sock, LC_ALL="C.UTF-8")
    shown = read_pty([UK, "logs", "ansi"], env)
    print("on a terminal: %r" % shown)
    line = [l for l in shown.split(b"\n") if b"red" in l]
    check(line, "uk logs on a terminal: no line: %r" % shown)
    line = line[0]
    for bad in (b"\x1b", b"\x07", b"\x7f", b"\xc2\x9b"):
        check(bad not in line, "uk logs let %r through to the terminal: %r" % (bad, line))
    check(b"^[[31mRED^[[0m" in line and b"^G" in line and b"^?" in line,
          "uk logs on a terminal: control bytes not shown as ^X: %r" % line)
    check(b"cr^MX" in line, "a lone CR not shown as ^M: %r" % line)
    raw = read_pty([UK, "logs", "--raw", "ansi"], env)
    check(b"\x1b[31mRED\x1b[0m" in raw and b"\x07" in raw, "--raw: %r" % raw)
    piped = subprocess.run([UK, "logs", "ansi"], capture_output=True, env=env).stdout
    check(b"\x1b[31mRED\x1b[0m" in piped and b"\x1b]0;pwned\x07" in piped,
          "uk logs into a pipe is not byte for byte: %r" % piped)


def main(d):
    if not UK:
        fail("usage: test_logs.py UKD UK")
    require_qemu()
    d.build_ok(GUEST, "uktest")
    bad_options(d)
    defaults(d)
    terminal(d)
    flood(d)
    status_spam(d)


def args():
    cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"log-opts": {"max-size": "128k", "max-file": "4"}}, cfg)
    cfg.close()
    return ["--config", cfg.name]


run(main, args)
