#!/usr/bin/env python3
"""Unit tests of the uk CLI: argument parsing, tables, references, errors and streams, against a
fake ukd (fake_ukd.py) that replays canned answers. Usage: test_cli_unit.py UK_BINARY FAMILY."""
import calendar
import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_ukd import FakeUkd  # noqa: E402

UK = None
TESTS = {}
ID = "3f1a9c2b7d4e" + "0" * 52
IMG = "sha256:" + "ab12cd34ef56" + "1" * 52


def family(name):
    def deco(fn):
        TESTS.setdefault(name, []).append(fn)
        return fn
    return deco


class Ctx:
    def __init__(self, tmp):
        self.tmp = tmp
        self.sock = os.path.join(tmp, "s.sock")
        self.fake = FakeUkd(self.sock)

    def uk(self, *args, env=None, stdin=None, input=None, host=True, timeout=20):
        e = dict(os.environ)
        e.pop("UK_HOST", None)
        e["LC_ALL"] = "C.UTF-8"
        if env:
            e.update(env)
        argv = [UK] + (["-H", "unix://" + self.sock] if host else []) + list(args)
        p = subprocess.run(argv, capture_output=True, env=e, stdin=stdin, input=input,
                           timeout=timeout)
        p.out = p.stdout.decode(errors="replace")
        p.err = p.stderr.decode(errors="replace")
        return p


def check(cond, what, p=None):
    if not cond:
        extra = ""
        if p is not None:
            extra = "\n  exit %d\n  stdout: %r\n  stderr: %r" % (p.returncode, p.out, p.err)
        raise AssertionError(what + extra)


def expect(p, code, out=None, err=None):
    check(p.returncode == code, "exit status %d, want %d" % (p.returncode, code), p)
    if out is not None:
        check(re.search(out, p.out, re.M), "stdout lacks /%s/" % out, p)
    if err is not None:
        check(re.search(err, p.err, re.M), "stderr lacks /%s/" % err, p)


COMMANDS = ["build", "run", "create", "start", "stop", "kill", "restart", "wait", "rm", "ps",
            "logs", "inspect", "images", "rmi", "tag", "save", "load", "events", "info",
            "version", "port"]

# ---------------------------------------------------------------- usage


@family("usage")
def t_help(c):
    p = c.uk("--help")
    expect(p, 0, out=r"^Usage: uk \[OPTIONS\] COMMAND")
    for cmd in COMMANDS:
        check(re.search(r"^  %s\s+\S" % cmd, p.out, re.M), "uk --help lacks " + cmd, p)
        q = c.uk(cmd, "--help")
        expect(q, 0, out=r"^Usage: uk %s" % cmd)
        check(q.err == "", "%s --help wrote to stderr" % cmd, q)
        q = c.uk("help", cmd)
        expect(q, 0, out=r"^Usage: uk %s" % cmd)


@family("usage")
def t_bad_flags(c):
    for cmd in COMMANDS:
        p = c.uk(cmd, "--no-such-flag", "x")
        expect(p, 2, err=r"^uk %s: unknown option '--no-such-flag'" % cmd)
        check(p.out == "", "usage error wrote to stdout", p)
        check("See 'uk %s --help'." % cmd in p.err, "no help hint", p)
    expect(c.uk("frobnicate"), 2, err="'frobnicate' is not a uk command")
    expect(c.uk(), 2, err="Usage: uk")
    expect(c.uk("--bogus", "ps"), 2, err="unknown or incomplete option")
    expect(c.uk("--format", "yaml", "ps"), 2, err="bad --format 'yaml'")
    expect(c.uk("ps", "-Z"), 2, err="unknown option '-Z'")
    expect(c.uk("logs", "--tail"), 2, err="option '--tail' needs a value")
    expect(c.uk("stop", "-t"), 2, err="option '-t' needs a value")
    check(c.fake.requests == [], "a usage error reached the daemon: %r" % c.fake.requests)


@family("usage")
def t_subcommands(c):
    """One dispatcher for every command made of subcommands: the same texts for Docker's groups
    (container, image, system) and uk's own (volume, trust)."""
    for group, sub in (("container", "ls"), ("image", "prune"), ("system", "df"),
                       ("volume", "ls"), ("trust", "keygen")):
        p = c.uk(group)
        expect(p, 2, err=r"^uk %s: needs a subcommand: .*\b%s\b" % (group, sub))
        check("See 'uk %s --help'." % group in p.err and p.out == "", "no hint", p)
        p = c.uk(group, "frob")
        expect(p, 2, err=r"^uk %s: 'frob' is not a subcommand of uk %s \(.*\b%s\b" %
               (group, group, sub))
        p = c.uk(group, "--frob")
        expect(p, 2, err=r"^uk %s: unknown option '--frob' \(a subcommand comes first: " % group)
        for h in ("--help", "-h", "help"):
            p = c.uk(group, h)
            expect(p, 0, out=r"^Usage: uk %s" % group)
            expect(p, 0, out=r"^Subcommands: .*\b%s\b" % sub)
    # a subcommand's usage errors name it
    expect(c.uk("volume", "ls", "extra"), 2, err=r"^uk volume ls: ")
    expect(c.uk("container", "ls", "extra"), 2, err=r"^uk container ls: ")


@family("usage")
def t_docker_habits(c):
    # long options are exact, as Docker's: a prefix is an unknown option, named
    expect(c.uk("ps", "--al"), 2, err=r"^uk ps: unknown option '--al'$")
    expect(c.uk("ps", "--no-tr"), 2, err=r"^uk ps: unknown option '--no-tr'$")
    expect(c.uk("logs", "--tai=3", "x"), 2, err=r"^uk logs: unknown option '--tai'$")
    expect(c.uk("ps", "--all=x"), 2, err=r"^uk ps: option '--all' takes no value$")
    expect(c.uk("--hos", "unix:///x", "ps", host=False), 2, err=r"^uk: unknown option '--hos'$")
    # flags and commands that cannot apply: one sentence, why and what instead
    for args in (["run", "-it", "hello"], ["run", "-i", "hello"], ["create", "-t", "hello"],
                 ["run", "--interactive", "hello"], ["start", "--tty", "x"]):
        p = c.uk(*args)
        expect(p, 2, err=r"^uk %s: (-i|-t|--interactive|--tty) does not apply: a unikernel has "
                         r"no terminal and reads no input: .*uk logs -f INSTANCE" % args[0])
        check("unknown option" not in p.err, "unknown option for %r" % args, p)
    expect(c.uk("run", "-u", "1000", "hello"), 2, err="-u does not apply: a unikernel is one "
                                                     "program with no users inside")
    for cmd, words in (("exec", "no shell"), ("cp", "in a volume"), ("attach", "uk logs -f"),
                       ("commit", "uk build"), ("export", "uk save"), ("diff", "volume")):
        p = c.uk(cmd, "web", "x")
        expect(p, 2, err=r"^uk %s: not available: .*%s" % (cmd, words))
        check("is not a uk command" not in p.err, "plain unknown-command answer", p)
    check(c.fake.requests == [], "a usage error reached the daemon: %r" % c.fake.requests)


@family("usage")
def t_env_file_labels(c):
    c.fake.on("POST", "/v1/instances", body={"id": ID}, status=201)
    envf = os.path.join(c.tmp, "env.list")
    with open(envf, "w") as f:
        f.write("# a comment\n\nA=1\n  B=two words = ok\nFROM_ENV\nUNSET_VAR\r\nC=\n")
    p = c.uk("create", "--env-file", envf, "-e", "D=4", "--label", "tier=front", "-l", "solo",
             "-l", "x=a=b", "hello", env={"FROM_ENV": "yes"})
    expect(p, 0)
    body = c.fake.requests[-1].json()
    check(body.get("env") == ["A=1", "B=two words = ok", "FROM_ENV=yes", "C=", "D=4"],
          "--env-file env %r" % body.get("env"))
    check(body.get("labels") == {"tier": "front", "solo": "", "x": "a=b"},
          "labels %r" % body.get("labels"))
    n = len(c.fake.requests)
    with open(envf, "w") as f:
        f.write("A=1\nBAD KEY=2\n")
    expect(c.uk("run", "--env-file", envf, "hello"), 2,
           err=r"^uk run: --env-file .*env.list line 2: expected KEY=VALUE or KEY, got 'BAD KEY=2'")
    expect(c.uk("run", "--env-file", os.path.join(c.tmp, "none"), "hello"), 2,
           err="none: No such file or directory")
    expect(c.uk("create", "--label", "=v", "hello"), 2, err="bad --label '=v'")
    expect(c.uk("build", "--build-arg", "X=1", c.tmp), 2,
           err="--build-arg does not apply: a Ukfile has no variables")
    check(len(c.fake.requests) == n, "a usage error reached the daemon")


@family("usage")
def t_bad_values(c):
    cases = [
        (["run", "-m", "12x", "hello"], "bad memory size '12x'"),
        (["run", "-m", "0", "hello"], "must be more than 0"),
        (["run", "-m", "-5m", "hello"], "bad memory size"),
        (["run", "-m", "1gbb", "hello"], "bad memory size"),
        (["run", "--restart", "sometimes", "hello"], "bad --restart 'sometimes'"),
        (["run", "--restart", "always:3", "hello"], "only on-failure and on-unhealthy take a count"),
        (["run", "--restart", "on-failure:x", "hello"], "only on-failure and on-unhealthy take"),
        (["run", "--restart", "on-unhealthy:", "hello"], "only on-failure and on-unhealthy take"),
        (["run", "--health-tcp", "http", "hello"], "bad --health-tcp 'http'"),
        (["run", "--health-tcp", "65536", "hello"], "bad --health-tcp '65536'"),
        (["run", "--health-retries", "0", "hello"], "bad --health-retries '0'"),
        (["create", "--health-http", "x", "--health-interval"], "needs a value"),
        (["run", "--accel", "xen", "hello"], "bad --accel 'xen'"),
        (["run", "-e", "=V", "hello"], "bad --env '=V'"),
        (["run", "--rm", "--restart", "always", "hello"], "cannot be used together"),
        (["run"], "an IMAGE is required"),
        (["create", "--restart", "bogus", "x"], "bad --restart"),
        (["stop", "-t", "soon", "x"], "bad -t 'soon'"),
        (["stop"], "at least one INSTANCE"),
        (["logs", "--tail", "-3", "x"], "bad --tail '-3'"),
        (["logs", "a", "b"], "exactly one INSTANCE"),
        (["ps", "--filter", "status"], "bad --filter 'status'"),
        (["ps", "extra"], "takes no arguments"),
        (["tag", "a"], "needs exactly SOURCE and TARGET"),
        (["tag", "a", "b:"], "bad TARGET"),
        (["build", "-t", "x:", "."], "bad -t 'x:'"),
        (["build"], "exactly one DIR"),
        (["start", "-a", "x", "y"], "exactly one INSTANCE"),
        (["save", "a", "b", "-o", "/dev/null"], "not supported yet"),
        (["events", "--since", "yesterday"], "bad time 'yesterday'"),
        (["inspect", "--type", "volume", "x"], "bad --type"),
        (["run", "-p", "0", "hello"], "bad --publish '0': expected"),
        (["run", "-p", ":80", "hello"], "bad --publish ':80': expected"),
        (["run", "-p", "8080:80/sctp", "hello"], "protocol 'sctp' is not tcp or udp"),
        (["run", "-p", "8080:0", "hello"], "ports are numbers from 1 to 65535"),
        (["run", "-p", "65536:80", "hello"], "ports are numbers from 1 to 65535"),
        (["run", "-p", "x:80", "hello"], "ports are numbers from 1 to 65535"),
        (["run", "-p", "1.2.3:8080:80", "hello"], "'1.2.3' is not an IPv4 address"),
        (["run", "-p", "[::1]:8080:80", "hello"], "IPv6 host addresses are not supported"),
        (["run", "-p", "8080-8081:80-81", "hello"], "port ranges are not supported"),
        (["create", "--publish", "1:2:3:4", "hello"], "bad --publish '1:2:3:4'"),
        (["run", "-p", "8080:80", "-p", "bad", "hello"], "bad --publish 'bad'"),
        (["port"], "an INSTANCE is required"),
        (["port", "web", "80/sctp"], "bad port '80/sctp'"),
        (["port", "web", "0"], "bad port '0'"),
        (["port", "web", "80", "81"], "takes INSTANCE"),
    ]
    for args, msg in cases:
        p = c.uk(*args)
        expect(p, 2, err=re.escape(msg))
    check(c.fake.requests == [], "a usage error reached the daemon: %r" % c.fake.requests)


@family("usage")
def t_memory_and_create_body(c):
    c.fake.on("POST", "/v1/instances", body={"id": ID, "warnings": ["low memory"]}, status=201)
    sizes = {"16m": 16 << 20, "16M": 16 << 20, "1g": 1 << 30, "1GB": 1 << 30, "512k": 512 << 10,
             "1048576": 1048576, "1.5g": 3 << 29, "100b": 100}
    for text, want in sizes.items():
        c.fake.requests.clear()
        p = c.uk("create", "-m", text, "hello")
        expect(p, 0, out="^" + ID + "$", err="warning: low memory")
        body = c.fake.requests[-1].json()
        check(body["memory"] == want, "-m %s sent %r, want %d" % (text, body["memory"], want))
    c.fake.requests.clear()
    p = c.uk("create", "--name", "web", "-e", "A=1", "-e", "FROM_ENV", "-e", "UNSET_VAR",
             "--restart", "on-failure:3", "--accel", "tcg", "hello:1", "--port=80", "a b",
             env={"FROM_ENV": "yes"})
    expect(p, 0)
    body = c.fake.requests[-1].json()
    want = {"image": "hello:1", "name": "web", "cmd": ["--port=80", "a b"],
            "env": ["A=1", "FROM_ENV=yes"],
            "restart_policy": {"name": "on-failure", "maximum_retry_count": 3},
            "accelerator": "tcg"}
    check(body == want, "create body %r, want %r" % (body, want))
    c.fake.requests.clear()
    # options after IMAGE belong to the instance
    expect(c.uk("create", "hello", "-m", "1g", "--rm"), 0)
    body = c.fake.requests[-1].json()
    check(body == {"image": "hello", "cmd": ["-m", "1g", "--rm"]}, "args after image: %r" % body)
    # --backend: passed as given (the daemon checks the name)
    c.fake.requests.clear()
    expect(c.uk("create", "--backend", "qemu", "hello"), 0)
    body = c.fake.requests[-1].json()
    check(body == {"image": "hello", "backend": "qemu"}, "--backend body: %r" % body)
    c.fake.requests.clear()
    expect(c.uk("create", "-p", "127.0.0.1:8080:80", "--publish", "8081:80", "-p",
                "0.0.0.0:5353:53/udp", "-p", "9000:9000/tcp", "hello"), 0)
    body = c.fake.requests[-1].json()
    want = [{"host_ip": "127.0.0.1", "host_port": 8080, "guest_port": 80, "protocol": "tcp"},
            {"host_port": 8081, "guest_port": 80, "protocol": "tcp"},
            {"host_ip": "0.0.0.0", "host_port": 5353, "guest_port": 53, "protocol": "udp"},
            {"host_port": 9000, "guest_port": 9000, "protocol": "tcp"}]
    check(body == {"image": "hello", "ports": want}, "-p body: %r" % body)
    # --health-*: strings passed as given (the daemon validates them), numbers as numbers
    c.fake.requests.clear()
    expect(c.uk("create", "--health-http", "80/healthz", "--health-interval", "2s",
                "--health-timeout", "500ms", "--health-start-period", "1m", "--health-retries",
                "5", "--restart", "on-unhealthy:4", "hello"), 0)
    body = c.fake.requests[-1].json()
    want = {"image": "hello",
            "restart_policy": {"name": "on-unhealthy", "maximum_retry_count": 4},
            "healthcheck": {"http": "80/healthz", "interval": "2s", "timeout": "500ms",
                            "start_period": "1m", "retries": 5}}
    check(body == want, "health body %r, want %r" % (body, want))
    c.fake.requests.clear()
    expect(c.uk("create", "--health-tcp", "6379", "hello"), 0)
    body = c.fake.requests[-1].json()
    check(body["healthcheck"] == {"tcp": 6379}, "--health-tcp body: %r" % body)
    c.fake.requests.clear()
    expect(c.uk("create", "--no-healthcheck", "hello"), 0)
    body = c.fake.requests[-1].json()
    check(body["healthcheck"] == {"disable": True}, "--no-healthcheck body: %r" % body)


@family("usage")
def t_hosts(c):
    with c.fake.lock:  # the first route matching wins: drop the one above
        c.fake.routes = [r for r in c.fake.routes if r[1] != "/v1/info"]
    c.fake.on("GET", "/v1/info", body={"root": "/r", "backend": {"uri": "qemu:///embed",
                                                                  "accelerator": "tcg"}})
    expect(c.uk("info", host=False, env={"UK_HOST": "unix://" + c.sock}), 0, out="Root: +/r")
    # -H wins over UK_HOST
    expect(c.uk("info", env={"UK_HOST": "unix:///nonexistent/x.sock"}), 0)
    for bad, msg in [("http://x", "expected unix:///PATH or tcp://HOST:PORT"),
                     ("unix://rel.sock", "must be absolute"),
                     ("tcp://127.0.0.1", "expected tcp://HOST:PORT"),
                     ("tcp://127.0.0.1:99999", "port must be a number"),
                     ("tcp://127.0.0.1:80/x", "expected tcp://HOST:PORT")]:
        p = c.uk("-H", bad, "info", host=False)
        expect(p, 1, err=re.escape(msg))


# ---------------------------------------------------------------- errors


@family("errors")
def t_unreachable(c):
    gone = os.path.join(c.tmp, "gone.sock")
    p = c.uk("-H", "unix://" + gone, "ps", host=False)
    expect(p, 1, err=r"^uk: cannot connect to the uk daemon at unix://%s: No such file or "
                     r"directory\. Is ukd running\?$" % re.escape(gone))
    # a socket nobody listens on: connection refused
    import socket
    s = socket.socket(socket.AF_UNIX)
    dead = os.path.join(c.tmp, "dead.sock")
    s.bind(dead)
    s.close()
    p = c.uk("-H", "unix://" + dead, "images", host=False)
    expect(p, 1, err=r"Connection refused\. Is ukd running\?")
    p = c.uk("-H", "unix://" + dead, "run", "hello", host=False)
    expect(p, 125, err=r"Connection refused\. Is ukd running\?")
    p = c.uk("-H", "tcp://127.0.0.1:1", "ps", host=False)
    expect(p, 1, err=r"at tcp://127\.0\.0\.1:1: Connection refused\. Is ukd running\?")


@family("errors")
def t_not_in_group(c):
    """A user who may not open the socket is told to join the uk group."""
    if os.geteuid() == 0:
        import shutil
        if not shutil.which("setpriv"):
            print("  (skipped the group check: root without setpriv)")
            return
        os.chmod(c.tmp, 0o700)
        e = dict(os.environ, LC_ALL="C.UTF-8")
        e.pop("UK_HOST", None)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", UK,
                            "-H", "unix://" + c.sock, "ps"], capture_output=True, env=e)
        p.out, p.err = p.stdout.decode(), p.stderr.decode()
    else:
        os.chmod(c.sock, 0)
        p = c.uk("ps")
    expect(p, 1, err=r"permission denied: only root and members of the uk group may use it; "
                     r"join the group with 'sudo usermod -aG uk \$USER', then log out and in")


@family("errors")
def t_pull_bare_name(c):
    c.fake.on("POST", "/v1/images/pull.*", lambda r, h: h.stream([
        {"error": {"message": "pull hello:latest: cannot resolve the registry's host", "code":
                   "unreachable", "status": 502}}]))
    p = c.uk("pull", "hello")
    expect(p, 1, err=r"tried docker\.io: a name without a registry is looked up there; name "
                     r"another registry as HOST\[:PORT\]/hello")
    p = c.uk("pull", "127.0.0.1:5000/hello")
    expect(p, 1)
    check("docker.io" not in p.err, "docker.io named for a named registry", p)


@family("errors")
def t_server_errors(c):
    c.fake.on("DELETE", "/v1/instances/nosuch",
              body={"message": "no such instance: nosuch", "code": "not_found"}, status=404)
    c.fake.on("DELETE", "/v1/instances/busy",
              body={"message": "instance busy is running", "code": "conflict"}, status=409)
    c.fake.on("DELETE", "/v1/instances/ok", status=204)
    p = c.uk("rm", "nosuch", "ok", "busy")
    expect(p, 1, out="^ok$", err=r"^uk: rm nosuch: no such instance: nosuch$")
    check("uk: rm busy: it is running: stop it first ('uk stop busy') or remove it anyway "
          "with 'uk rm -f busy'" in p.err, "409 in people's words", p)
    check("status" not in p.err and "force=1" not in p.err, "no HTTP words", p)
    check(p.out == "ok\n", "only ok removed", p)
    q = [r.query for r in c.fake.find("DELETE", "/v1/instances/.*")]
    check(all(x == {"force": "0"} for x in q), "force=0 expected: %r" % q)
    c.fake.on("GET", "/v1/images", body="database is on fire\n", status=500)
    expect(c.uk("images"), 1, err=r"^uk: database is on fire$")
    # a name with characters that need escaping reaches the daemon intact
    c.fake.on("POST", "/v1/instances/.*/kill", status=204)
    expect(c.uk("kill", "a b/c"), 0, out="^a b/c$")
    check(c.fake.find("POST", "/v1/instances/a b/c/kill"), "escaped path: %r" % c.fake.requests)
    raw = [r for r in c.fake.requests if r.method == "POST"]
    check(raw, "kill not sent")


@family("errors")
def t_run_errors(c):
    c.fake.on("POST", "/v1/instances", body={"message": "no such image: nope",
                                             "code": "not_found"}, status=404)
    p = c.uk("run", "nope")
    expect(p, 125, err=r"no such image: nope$")
    c.fake.reset()
    c.fake.on("POST", "/v1/instances", body={"id": ID, "warnings": []}, status=201)
    c.fake.on("POST", "/v1/instances/%s/start" % ID,
              body={"message": "cannot start: qemu failed", "code": "internal"}, status=500)
    c.fake.on("DELETE", "/v1/instances/%s" % ID, status=204)
    p = c.uk("run", "--rm", "hello")
    expect(p, 125, err="cannot start: qemu failed")
    d = c.fake.find("DELETE", "/v1/instances/" + ID)
    check(d and d[0].query == {"force": "1"}, "--rm after a failed start must remove: %r"
          % c.fake.requests)


# ---------------------------------------------------------------- tables


def now():
    return time.time()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".123456789Z"


@family("tables")
def t_port(c):
    ports = [{"host_ip": "127.0.0.1", "host_port": 8080, "guest_port": 80, "protocol": "tcp"},
             {"host_ip": "0.0.0.0", "host_port": 8081, "guest_port": 80, "protocol": "tcp"},
             {"host_ip": "127.0.0.1", "host_port": 5353, "guest_port": 53, "protocol": "udp"}]
    c.fake.on("GET", "/v1/instances/web/port", body=ports)
    c.fake.on("GET", "/v1/instances/none/port", body=[])
    c.fake.on("GET", "/v1/instances/.*/port", body={"message": "no such instance: x",
                                                     "code": "not_found"}, status=404)
    p = c.uk("port", "web")
    expect(p, 0)
    check(p.out == "80/tcp -> 127.0.0.1:8080\n80/tcp -> 0.0.0.0:8081\n"
          "53/udp -> 127.0.0.1:5353\n", "uk port", p)
    p = c.uk("port", "web", "80")
    check(p.returncode == 0 and p.out == "127.0.0.1:8080\n0.0.0.0:8081\n", "uk port 80", p)
    p = c.uk("port", "web", "53/udp")
    check(p.returncode == 0 and p.out == "127.0.0.1:5353\n", "uk port 53/udp", p)
    expect(c.uk("port", "web", "53"), 1, err="no public port '53/tcp' published for web")
    p = c.uk("port", "none")
    check(p.returncode == 0 and p.out == "", "no ports: nothing printed", p)
    expect(c.uk("port", "nosuch"), 1, err="no such instance")
    p = c.uk("--format", "json", "port", "web")
    expect(p, 0)
    check(json.loads(p.out) == ports, "port --format json", p)


@family("tables")
def t_ps(c):
    items = [
        {"id": ID, "names": ["web"], "image": "hello:latest", "image_id": IMG,
         "command": ["--port=80", "--verbose", "--workers=4"], "created": int(now()) - 125,
         "state": "running", "status": "Up 3 seconds", "exit_code": 0, "ports": [
             {"host_ip": "127.0.0.1", "host_port": 8080, "guest_port": 80, "protocol": "tcp"},
             {"host_ip": "0.0.0.0", "host_port": 5353, "guest_port": 53, "protocol": "udp"}]},
        {"id": "9" * 64, "names": ["job"], "image": "batch", "image_id": IMG,
         "command": "", "created": int(now()) - 3 * 3600, "state": "exited",
         "status": "exited", "exit_code": 7, "finished_at": iso(now() - 5), "ports": [
             {"host_ip": "127.0.0.1", "host_port": 9999, "guest_port": 80, "protocol": "tcp"}]},
        {"id": "8" * 64, "names": ["new"], "image": "batch", "image_id": IMG,
         "command": ["x"], "created": int(now()) - 30, "state": "created", "status": "created",
         "exit_code": 0},
    ]
    c.fake.on("GET", "/v1/instances", body=items)
    p = c.uk("ps", "-a")
    expect(p, 0)
    lines = p.out.splitlines()
    check(re.match(r"^INSTANCE ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$", lines[0]),
          "header", p)
    check(len(lines) == 4, "3 rows", p)
    hdr = lines[0]
    cols = [hdr.index(h) for h in ["IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]]
    for ln in lines[1:]:
        for col in cols:
            if col == hdr.index("PORTS") and ln is not lines[1]:
                continue  # an empty cell
            check(ln[col - 3:col] == "   " and ln[col] != " ", "column alignment: %r" % ln, p)
    check(lines[1].startswith(ID[:12] + "   "), "12-char id", p)
    check('"--port=80 --verbose\u2026"' in lines[1], "command quoted and cut at 20", p)
    check("2 minutes ago" in lines[1], "created 2 minutes ago", p)
    check("Up 3 seconds" in lines[1] and lines[1].endswith("web"), "status/names", p)
    check("   127.0.0.1:8080->80/tcp, 0.0.0.0:5353->53/udp   web" in lines[1], "PORTS column", p)
    check("->" not in lines[2], "ports of an exited instance are not shown (like Docker)", p)
    check('""' in lines[2] and "3 hours ago" in lines[2], "empty command, 3 hours", p)
    # The fake's finished_at is 5 s before its answer; second truncation may show 4 or 6.
    check(re.search(r"Exited \(7\) [456] seconds ago", lines[2]), "exited status built from state", p)
    check("Less than a second ago" in lines[3] or "30 seconds ago" in lines[3] or
          "seconds ago" in lines[3], "created seconds ago", p)
    check("Created" in lines[3], "created status", p)
    req = c.fake.requests[-1]
    check(req.query == {"all": "1"}, "ps -a query %r" % req.query)
    p = c.uk("ps", "-q")
    expect(p, 0)
    check(p.out == "%s\n%s\n%s\n" % (ID[:12], "9" * 12, "8" * 12), "ps -q", p)
    check(c.fake.requests[-1].query == {"all": "0"}, "ps query")
    p = c.uk("ps", "--filter", "status=running", "--filter", "name=web", "--filter",
             "status=exited")
    expect(p, 0)
    f = json.loads(c.fake.requests[-1].query["filters"])
    check(f == {"status": ["running", "exited"], "name": ["web"]}, "filters %r" % f)
    p = c.uk("--format", "json", "ps")
    expect(p, 0)
    check(json.loads(p.out) == items, "--format json is the daemon's list", p)
    p = c.uk("ps", "--format", "json", "-a")
    expect(p, 0)
    check(json.loads(p.out) == items, "per-command --format json", p)
    p = c.uk("ps", "--no-trunc", "-q")
    check(p.out.splitlines()[0] == ID, "--no-trunc", p)
    c.fake.reset()
    c.fake.on("GET", "/v1/instances", body=[])
    p = c.uk("ps")
    expect(p, 0)
    check(p.out.splitlines() ==
          ["INSTANCE ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   NAMES"],
          "empty table", p)


@family("tables")
def t_images(c):
    items = [
        {"id": IMG, "repo_tags": ["hello:latest", "hello:1", "registry:5000/team/app:v2"],
         "digest": "sha256:" + "f" * 64, "created": int(now()) - 2 * 86400 - 60,
         "size": 34816},
        {"id": "sha256:" + "c" * 64, "repo_tags": [], "digest": "sha256:" + "e" * 64,
         "created": int(now()) - 70, "size": 1234567},
        {"id": "sha256:" + "d" * 64, "repo_tags": ["big:latest"], "created": 0,
         "size": 512},
    ]
    c.fake.on("GET", "/v1/images", body=items)
    p = c.uk("images")
    expect(p, 0)
    rows = [re.split(r"\s{3,}", ln) for ln in p.out.splitlines()]
    check(rows[0] == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], "header", p)
    check(rows[1] == ["hello", "latest", "ab12cd34ef56", "2 days ago", "34.8kB"], "row1 %r"
          % rows[1], p)
    check(rows[2][:3] == ["hello", "1", "ab12cd34ef56"], "row2", p)
    check(rows[3][:2] == ["registry:5000/team/app", "v2"], "registry with port", p)
    check(rows[4] == ["<none>", "<none>", "c" * 12, "About a minute ago", "1.23MB"], "row4 %r"
          % rows[4], p)
    check(rows[5] == ["big", "latest", "d" * 12, "N/A", "512B"], "row5 %r" % rows[5], p)
    p = c.uk("images", "-q")
    check(p.out == "ab12cd34ef56\n%s\n%s\n" % ("c" * 12, "d" * 12), "images -q unique", p)
    p = c.uk("images", "--format", "json")
    check(json.loads(p.out) == items, "json", p)


@family("tables")
def t_format_templates(c):
    items = [
        {"id": ID, "names": ["web"], "image": "hello:latest", "command": ["x"],
         "created": int(now()) - 125, "state": "running", "status": "Up 3 seconds",
         "ports": [{"host_ip": "127.0.0.1", "host_port": 8080, "guest_port": 80,
                    "protocol": "tcp"}], "labels": {"tier": "front"}},
        {"id": "9" * 64, "names": ["job"], "image": "batch", "command": "", "created": 1,
         "state": "exited", "status": "exited", "exit_code": 7},
    ]
    c.fake.on("GET", "/v1/instances", body=items)
    p = c.uk("ps", "-a", "--format", "{{.Names}} {{.ID}} {{.State}}")
    expect(p, 0)
    check(p.out == "web %s running\njob %s exited\n" % (ID[:12], "9" * 12), "names/ids", p)
    p = c.uk("ps", "-a", "--format", r"table {{.Names}}	{{.Ports}}	{{.Status}}")
    expect(p, 0)
    lines = p.out.splitlines()
    check(re.match(r"^NAMES +PORTS +STATUS$", lines[0]), "table header", p)
    check(lines[1].startswith("web ") and "127.0.0.1:8080->80/tcp" in lines[1], "row", p)
    check(lines[0].index("PORTS") == lines[1].index("127.0.0.1"), "aligned", p)
    p = c.uk("ps", "--format", "{{json .}}")
    row = json.loads(p.out.splitlines()[0])
    check(row["Names"] == "web" and row["Labels"] == "tier=front" and row["State"] == "running",
          "json . has Docker's names", p)
    p = c.uk("--format", "{{upper .Names}}", "ps")
    check(p.out.splitlines() == ["WEB", "JOB"], "global --format", p)
    # mistakes: the column, exit 2 like every usage error, nothing asked of the daemon
    n = len(c.fake.requests)
    p = c.uk("ps", "--format", "{{.Names")
    expect(p, 2, err=r"^uk ps: bad --format: template at column 1: unclosed action")
    p = c.uk("ps", "--format", "table {{.Names}} {{.Nmes}}")
    expect(p, 2, err=r"column 20: no field Nmes here \(fields: Command, CreatedAt, ID")
    check(p.out == "", "nothing printed for a bad field", p)
    p = c.uk("ps", "--format", "{{nope}}")
    expect(p, 2, err="function nope not defined")
    p = c.uk("info", "--format", "{{.Names}}")
    expect(p, 2, err=r"templates work on ps, images, inspect, stats, system df, network "
           r"ls\|inspect and volume ls\|inspect")
    # network ls and volume ls take templates too (issue 16), with Docker's field names
    c.fake.on("GET", "/v1/networks", body=[
        {"id": "9d8c7b6a5f4e" + "2" * 52, "name": "backend", "subnet": "10.89.0.0/24", "gateway": "10.89.0.1",
         "internal": True, "outbound": False, "created": "2026-01-02T03:04:05Z",
         "endpoints": [{"instance": ID}]}])
    p = c.uk("network", "ls", "--format", "{{.Name}} {{.ID}} {{.Driver}} {{.Internal}} "
             "{{.Subnet}} {{.Instances}}")
    expect(p, 0)
    check(p.out == "backend 9d8c7b6a5f4e bridge true 10.89.0.0/24 1\n", "network ls template", p)
    p = c.uk("network", "ls", "--format", "table {{.Name}}\t{{.Mode}}")
    expect(p, 0)
    check(p.out.split() == ["NAME", "MODE", "backend", "internal"], "network ls table", p)
    c.fake.on("GET", "/v1/volumes", body=[
        {"name": "data", "driver": "local", "size": 16777216, "labels": {"tier": "db"},
         "mountpoint": "/var/lib/uk/volumes/data/data.img", "used_by": ["web", "job"]}])
    p = c.uk("volume", "ls", "--format", "{{.Name}}:{{.Driver}}:{{.Size}}:{{.Labels}}:"
             "{{.UsedBy}}")
    expect(p, 0)
    check(p.out == "data:local:16.8MB:tier=db:web,job\n", "volume ls template", p)
    p = c.uk("volume", "ls", "--format", "{{json .}}")
    check(json.loads(p.out)["Mountpoint"] == "/var/lib/uk/volumes/data/data.img",
          "volume ls json .", p)
    p = c.uk("volume", "ls", "--format", "{{.Nope}}")
    expect(p, 2, err="no field Nope here")
    # and their inspect -f/--format: Docker's names beside uk's own keys; plain JSON unchanged
    net = {"id": "9d8c7b6a5f4e" + "2" * 52, "name": "backend", "subnet": "10.89.0.0/24",
           "gateway": "10.89.0.1", "internal": False, "outbound": True,
           "created": "2026-01-02T03:04:05Z", "endpoints": [{"instance": ID}]}
    c.fake.on("GET", "/v1/networks/backend", body=net)
    p = c.uk("network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Mode}} {{.subnet}}", "backend")
    expect(p, 0)
    check(p.out == "backend bridge outbound 10.89.0.0/24\n", "network inspect -f", p)
    p = c.uk("network", "inspect", "backend")
    expect(p, 0)
    check(json.loads(p.out) == [net], "network inspect JSON unchanged", p)
    p = c.uk("network", "inspect", "--format", "{{.Nope}}", "backend")
    expect(p, 2, err="no field Nope here")
    c.fake.on("GET", "/v1/volumes/data", body={
        "name": "data", "driver": "local", "size": 16777216, "labels": {"tier": "db"},
        "mountpoint": "/var/lib/uk/volumes/data/data.img", "used_by": ["web"]})
    p = c.uk("volume", "inspect", "--format", "{{.Name}} {{.Mountpoint}} {{.UsedBy}}", "data")
    expect(p, 0)
    check(p.out == "data /var/lib/uk/volumes/data/data.img web\n", "volume inspect -f", p)
    # the global --format reaches the groups' subcommands as it reaches ps and images (it was
    # refused: the group itself took no templates)
    for args, want in (
            (("{{.Name}} {{.Subnet}} {{.Mode}}", "network", "ls"),
             "backend 10.89.0.0/24 internal\n"),
            (("table {{.Name}}\t{{.UsedBy}}", "volume", "ls"),
             "VOLUME NAME   USED BY\ndata          web,job\n"),
            (("{{.Name}} {{.Mountpoint}}", "volume", "inspect", "data"),
             "data /var/lib/uk/volumes/data/data.img\n"),
            (("{{.Name}} {{.Driver}}", "network", "inspect", "backend"), "backend bridge\n"),
            (("{{.Names}}", "container", "ls"), "web\njob\n")):
        p = c.uk("--format", *args)
        expect(p, 0)
        check(p.out == want, "uk --format %r" % (args,), p)
    p = c.uk("--format", "json", "volume", "ls")
    expect(p, 0)
    check(json.loads(p.out)[0]["name"] == "data", "uk --format json volume ls: the API's list", p)
    # still refused where no template applies, before anything is asked of the daemon
    n = len(c.fake.requests)
    p = c.uk("--format", "{{.Name}}", "network", "rm", "backend")
    expect(p, 2, err=r"^uk network rm: --format takes table or json here \(templates work on "
           r"ps, images, inspect, stats, system df, network ls\|inspect and volume ls\|inspect\)")
    check(len(c.fake.requests) == n, "a refused --format reached the daemon: %r" %
          c.fake.requests[n:])
    p = c.uk("--format", "{{.Nope}}", "volume", "ls")
    expect(p, 2, err=r"^uk volume ls: bad --format: .*no field Nope here")
    c.fake.on("GET", "/v1/images", body=[
        {"id": IMG, "repo_tags": ["hello:latest", "hello:1"], "created": 1, "size": 512}])
    p = c.uk("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}")
    expect(p, 0)
    check(p.out == "hello:latest ab12cd34ef56 512B\nhello:1 ab12cd34ef56 512B\n", "images", p)
    inst = {"id": ID, "name": "web", "image": "hello:latest", "image_id": IMG,
            "state": {"status": "exited", "exit_code": 3, "running": False},
            "config": {"env": ["A=1"], "cmd": ["x"], "memory": 16777216,
                       "labels": {"tier": "front"}},
            "ports": [{"host_ip": "127.0.0.1", "host_port": 8080, "guest_port": 80,
                       "protocol": "tcp"}]}
    c.fake.on("GET", "/v1/instances/web", body=inst)
    p = c.uk("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{json .Config.Env}} "
             "{{.HostConfig.Memory}} {{index .Config.Labels \"tier\"}} "
             "{{range $p, $b := .NetworkSettings.Ports}}{{$p}}>{{(index $b 0).HostPort}}{{end}}",
             "web")
    expect(p, 0)
    check(p.out == 'exited 3 ["A=1"] 16777216 front 80/tcp>8080\n', "inspect -f", p)
    p = c.uk("inspect", "--format", "{{.state.exit_code}}", "web")
    check(p.out == "3\n", "uk's own keys in templates", p)
    p = c.uk("inspect", "-f", "{{.State.Nope}}", "web")
    expect(p, 2, err="no field Nope here")


@family("tables")
def t_inspect_rmi_tag(c):
    inst = {"id": ID, "name": "web", "state": {"status": "running", "exit_code": 0}}
    img = {"id": IMG, "repo_tags": ["hello:latest"], "config": {"cmd": []}}
    c.fake.on("GET", "/v1/instances/web", body=inst)
    c.fake.on("GET", "/v1/instances/.*", body={"message": "no such instance", "code":
                                               "not_found"}, status=404)
    c.fake.on("GET", "/v1/images/hello", body=img)
    c.fake.on("GET", "/v1/images/.*", body={"message": "no such image", "code": "not_found"},
              status=404)
    p = c.uk("inspect", "web", "hello")
    expect(p, 0)
    got = json.loads(p.out)
    # uk's keys unchanged, Docker's beside them
    check([{k: d[k] for k in want} for d, want in zip(got, [inst, img])] == [inst, img],
          "inspect array", p)
    check(got[0]["State"]["Status"] == "running" and got[0]["Name"] == "/web" and
          got[1]["RepoTags"] == ["hello:latest"], "Docker's keys", p)
    check("\n  " in p.out, "pretty printed", p)
    p = c.uk("inspect", "web", "nothing")
    expect(p, 1, err="inspect nothing: no such instance or image: nothing")
    check(json.loads(p.out)[0]["id"] == ID and len(json.loads(p.out)) == 1,
          "found part still printed", p)
    p = c.uk("inspect", "--type", "image", "web")
    expect(p, 1, err="no such image")
    c.fake.on("DELETE", "/v1/images/hello",
              body=[{"untagged": "hello:latest"}, {"deleted": IMG}])
    c.fake.on("DELETE", "/v1/images/used",
              body={"message": "image used is in use by instance web", "code": "conflict"},
              status=409)
    p = c.uk("rmi", "hello", "used")
    expect(p, 1, out=r"^Untagged: hello:latest\nDeleted: sha256:ab12", err=r"rmi used: an instance uses it \('uk ps -a' lists them\): remove it first, or untag the image anyway with 'uk rmi -f used'")
    p = c.uk("rmi", "-f", "used")
    check(c.fake.requests[-1].query == {"force": "1"}, "rmi -f")
    c.fake.on("POST", "/v1/images/.*/tag", status=201)
    for dst, repo, tag in [("other", "other", "latest"), ("other:v1", "other", "v1"),
                           ("localhost:5000/x", "localhost:5000/x", "latest"),
                           ("localhost:5000/x:9", "localhost:5000/x", "9")]:
        expect(c.uk("tag", "hello", dst), 0)
        r = c.fake.requests[-1]
        check(r.path == "/v1/images/hello/tag" and r.query == {"repo": repo, "tag": tag},
              "tag %s: %r %r" % (dst, r.path, r.query))


@family("tables")
def t_info_version(c):
    c.fake.on("GET", "/v1/info", body={"root": "/var/lib/uk", "backend": {
        "uri": "qemu:///embed?root=/var/lib/uk/libvirt", "accelerator": "tcg",
        "accelerator_reason": "/dev/kvm is PVM"}, "images": 3, "instances": 5, "running": 1,
        "ukcc": "/usr/bin/ukcc"})
    c.fake.on("GET", "/v1/version", body={"version": "0.1.0", "api_version": "1",
                                          "os": "linux", "arch": "amd64",
                                          "libvirt_version": "9.0.0"})
    p = c.uk("info")
    expect(p, 0, out=r"^Accelerator: +tcg \(/dev/kvm is PVM\)$")
    check(re.search(r"^Backend: +qemu:///embed\?root=/var/lib/uk/libvirt$", p.out, re.M),
          "an older daemon's backend (no name)", p)
    check("Hypervisor:" not in p.out, "an older daemon (no hypervisor): no line", p)
    check(re.search(r"^Images: +3$", p.out, re.M) and re.search(r"Running: +1", p.out), "counts",
          p)
    with c.fake.lock:  # the first route matching wins: drop the one above
        c.fake.routes = [r for r in c.fake.routes if r[1] != "/v1/info"]
    c.fake.on("GET", "/v1/info", body={"root": "/r", "backend": {
        "name": "qemu", "version": "7.2.22", "uri": "qemu-system-x86_64", "accelerator": "tcg",
        "accelerator_reason": "", "hypervisor": "QEMU/TCG 7.2.22"}, "images": 0, "instances": 0,
        "running": 0, "ukcc": "u"})
    p = c.uk("info")
    expect(p, 0, out=r"^Backend: +qemu \(qemu-system-x86_64\)$")
    check(re.search(r"^Hypervisor: +QEMU/TCG 7\.2\.22$", p.out, re.M), "the hypervisor line", p)
    p = c.uk("version")
    expect(p, 0, out=r"Client:\n Version: +0\.1\.0")
    check(re.search(r"Server:\n Version: +0\.1\.0\n API version: +1", p.out), "server", p)
    p = c.uk("version", "--format", "json")
    v = json.loads(p.out)
    check(v["server"]["libvirt_version"] == "9.0.0" and v["client"]["version"], "json", p)
    p = c.uk("-v")
    expect(p, 0, out=r"^uk version ")


# ---------------------------------------------------------------- run


def lifecycle_routes(c, code=7, console=(b"Hello from uk!\n",), follow_until=None):
    state = {"killed": threading.Event(), "stopped": threading.Event(),
             "started": threading.Event()}
    c.fake.on("POST", "/v1/instances", body={"id": ID, "warnings": []}, status=201)

    def start(req, h):
        state["started"].set()
        h.reply(204)
    c.fake.on("POST", "/v1/instances/%s/start" % ID, start)

    def logs(req, h):
        h.stream(list(console), ctype="text/plain", until=follow_until)
    c.fake.on("GET", "/v1/instances/%s/logs" % ID, logs)

    def wait(req, h):
        if follow_until is not None:
            follow_until.wait(30)
            h.reply(200, {"status_code": 137 if state["killed"].is_set() else
                          143 if state["stopped"].is_set() else code})
        else:
            time.sleep(0.2)
            h.reply(200, {"status_code": code})
    c.fake.on("POST", "/v1/instances/%s/wait" % ID, wait)

    def kill(req, h):
        state["killed"].set()
        if follow_until is not None:
            follow_until.set()
        h.reply(204)
    c.fake.on("POST", "/v1/instances/%s/kill" % ID, kill)

    def stop(req, h):  # the guest honours the power button: its own exit, 143
        state["stopped"].set()
        if follow_until is not None:
            follow_until.set()
        h.reply(204)
    c.fake.on("POST", "/v1/instances/%s/stop" % ID, stop)
    c.fake.on("DELETE", "/v1/instances/%s" % ID, status=204)
    return state


def attached(c, st, *args):
    """`uk run ARGS hello` in the background, once the fake saw the start and the console."""
    proc = subprocess.Popen([UK, "-H", "unix://" + c.sock, "run"] + list(args) + ["hello"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not st["started"].wait(10):
        proc.kill()
        raise AssertionError("the instance was never started")
    time.sleep(0.5)
    return proc


def replace_route(c, method, suffix, fn):
    """Swaps the fake's answer to (method) .../(suffix) for fn(req, handler)."""
    c.fake.routes = [r for r in c.fake.routes if not (r[0] == method and r[1].endswith(suffix))]
    c.fake.on(method, "/v1/instances/%s%s" % (ID, suffix), fn)


@family("run")
def t_run_attached(c):
    lifecycle_routes(c, code=7, console=(b"Hello ", b"from uk!\n", b"\xff\x00raw\n"))
    p = c.uk("run", "hello")
    expect(p, 7)
    check(p.stdout == b"Hello from uk!\n\xff\x00raw\n", "console bytes copied exactly", p)
    check(p.err == "", "nothing on stderr", p)
    order = [(r.method, r.path.rsplit("/", 1)[-1]) for r in c.fake.requests]
    check(order[0] == ("POST", "instances") and order[1] == ("POST", "start"), "create, start: %r"
          % order)
    logs = c.fake.find("GET", "/v1/instances/%s/logs" % ID)[0]
    check(logs.query.get("follow") == "1", "logs follow: %r" % logs.query)
    check(not c.fake.find("DELETE", ".*"), "no rm without --rm")
    check("auto_remove" not in c.fake.requests[0].json(), "no auto_remove attached")
    c.fake.reset()
    lifecycle_routes(c, code=0)
    p = c.uk("run", "--rm", "--name", "x", "hello", "arg")
    expect(p, 0, out="^Hello from uk!$")
    body = c.fake.requests[0].json()
    check(body == {"image": "hello", "name": "x", "cmd": ["arg"]}, "body %r" % body)
    d = c.fake.find("DELETE", "/v1/instances/" + ID)
    check(len(d) == 1 and d[0].query == {"force": "1"}, "--rm removes after exit")
    c.fake.reset()
    lifecycle_routes(c, code=300)
    expect(c.uk("run", "hello"), 300 & 255)


@family("run")
def t_run_detached(c):
    lifecycle_routes(c)
    p = c.uk("run", "-d", "--rm", "hello")
    expect(p, 0)
    check(p.out == ID + "\n", "prints the id", p)
    check(c.fake.requests[0].json().get("auto_remove") is True, "auto_remove for -d --rm")
    check(not c.fake.find("GET", ".*/logs") and not c.fake.find("POST", ".*/wait"),
          "-d neither attaches nor waits")
    c.fake.requests.clear()
    c.fake.on("POST", "/v1/instances/(a|b)/start", status=204)
    expect(c.uk("start", "a", "b"), 0, out="^a\nb$")
    c.fake.reset()
    lifecycle_routes(c, code=3)
    c.fake.on("POST", "/v1/instances/web/start", status=204)
    c.fake.on("GET", "/v1/instances/web/logs", lambda r, h: h.stream([b"hi\n"], ctype="text/plain"))
    c.fake.on("POST", "/v1/instances/web/wait", body={"status_code": 3})
    expect(c.uk("start", "-a", "web"), 3, out="^hi$")
    expect(c.uk("wait", "web"), 0, out="^3$")


@family("run")
def t_run_signal(c):
    """SIGINT stops the instance as `uk stop` does (power button, killed after 10 s) and uk
    exits with the instance's own code; --rm removes it."""
    release = threading.Event()
    st = lifecycle_routes(c, console=(b"booting\n",), follow_until=release)
    proc = attached(c, st, "--rm")
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=15)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    stops = c.fake.find("POST", "/v1/instances/%s/stop" % ID)
    check(len(stops) == 1 and stops[0].query == {"t": "10"}, "SIGINT stops the instance: %r" %
          c.fake.requests)
    check(not st["killed"].is_set(), "a stop, not a kill")
    check(proc.returncode == 143, "exit with the stopped instance's code, got %d; %r" %
          (proc.returncode, err))
    check(out == b"booting\n", "console printed: %r" % out)
    check(b"stopping 3f1a9c2b7d4e and removing it: killed if it has not stopped in 10 s" in err,
          "says what the signal does: %r" % err)
    check(c.fake.find("DELETE", "/v1/instances/" + ID), "--rm removes after a signal too")


@family("run")
def t_run_signal_pair(c):
    """Two SIGINTs at once (timeout -s INT sends two): the instance is still stopped, waited
    for and removed; only a second signal after uk said so stops the waiting."""
    release = threading.Event()
    st = lifecycle_routes(c, console=(b"booting\n",), follow_until=release)

    def slow_stop(req, h):  # the stop takes a moment, as a real one does
        time.sleep(0.4)
        st["stopped"].set()
        release.set()
        h.reply(204)
    replace_route(c, "POST", "/stop", slow_stop)
    proc = attached(c, st, "--rm")
    try:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.1)  # while the stop is in flight, as timeout's second signal arrives
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    check(st["stopped"].is_set(), "the instance was stopped")
    check(c.fake.find("DELETE", "/v1/instances/" + ID), "--rm left the instance behind: %r" % err)
    check(b"stopping 3f1a9c2b7d4e and removing it: killed if it has not stopped in 10 s (press "
          b"^C again to stop waiting)" in err, "says what the first signal does: %r" % err)
    if b"gave up" in err:  # the second came after uk said so: it stopped waiting, removed
        check(err.index(b"again to stop waiting") < err.index(b"gave up waiting") and
              b"removed it" in err and proc.returncode == 130, "gave up: %r" % err)
    else:
        check(proc.returncode == 143, "exit 143, got %d; %r" % (proc.returncode, err))


@family("run")
def t_run_signal_twice(c):
    """SIGTERM stops too; when the instance will not go, a second signal stops waiting at once
    and uk exits as that signal would end it (128 + 2)."""
    release = threading.Event()
    st = lifecycle_routes(c, console=(b"stuck\n",), follow_until=release)

    def stop(req, h):  # acknowledges but the instance never stops
        st["stopped"].set()
        h.reply(204)
    replace_route(c, "POST", "/stop", stop)
    proc = attached(c, st)
    try:
        proc.send_signal(signal.SIGTERM)
        check(st["stopped"].wait(10), "SIGTERM stops the instance")
        time.sleep(0.5)
        check(proc.poll() is None, "still waiting for the instance to stop")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    check(proc.returncode == 130, "second signal (SIGINT): exit 130, got %d" % proc.returncode)
    check(b"gave up waiting for 3f1a9c2b7d4e (a second signal): it may still be running" in err,
          "says it gave up and why: %r" % err)
    check(err.index(b"again to stop waiting") < err.index(b"gave up waiting"),
          "said what a second signal does before it did it: %r" % err)
    check(not c.fake.find("DELETE", ".*"), "no removal without --rm")


@family("run")
def t_run_signal_no_answer(c):
    """A daemon that never answers the stop nor the wait (nor --rm's removal) cannot hold uk
    after one SIGTERM: it gives up after the stop timeout and a margin (20 s), says so and
    exits 128 + 15. (It hung for good before.) No speed is asserted beyond "returns"."""
    release = threading.Event()
    never = threading.Event()
    st = lifecycle_routes(c, console=(b"deaf\n",), follow_until=release)

    def silent(req, h):
        st["stopped"].set()
        never.wait(120)
        h.reply(204)
    for method, suffix in (("POST", "/stop"), ("POST", "/kill"), ("DELETE", "")):
        replace_route(c, method, suffix, silent)
    proc = attached(c, st, "--rm")
    try:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            raise AssertionError("uk run still waits 90 s after one SIGTERM to a daemon that "
                                 "never answers")
    finally:
        never.set()
        release.set()
        if proc.poll() is None:
            proc.kill()
    check(st["stopped"].is_set(), "asked to stop")
    check(proc.returncode == 143, "exit 128 + SIGTERM, got %d; %r" % (proc.returncode, err))
    check(b"gave up waiting for 3f1a9c2b7d4e (no exit 20 s after the stop): it may still be "
          b"running (not removed: " in err, "says it gave up, why, and that --rm could not "
          "remove it: %r" % err)
    check(b"`uk rm -f 3f1a9c2b7d4e` removes it" in err, "says what to do: %r" % err)


# ---------------------------------------------------------------- streams


def make_context(root):
    os.makedirs(os.path.join(root, "src/sub"))
    os.makedirs(os.path.join(root, "secret"))
    os.makedirs(os.path.join(root, "site/css"))
    files = {
        "Ukfile": "SOURCES main.c\nCMD hi\n",
        "main.c": "int main(void) { return 0; }\n",
        "src/sub/util.c": "x" * 1000,
        "src/skip.o": "obj",
        "secret/key": "k",
        "site/index.html": "<p>hi</p>\n",
        "site/css/a.css": "",
        "run.sh": "#!/bin/sh\n",
        ".ukignore": "# comment\n*.o\n**/*.o\nsecret/\n/notes.txt\n!keep.o\n",
        "notes.txt": "n",
        "keep.o": "kept",
    }
    for name, data in files.items():
        with open(os.path.join(root, name), "w") as f:
            f.write(data)
    os.chmod(os.path.join(root, "run.sh"), 0o700)
    os.symlink("main.c", os.path.join(root, "link.c"))
    os.symlink("/etc/passwd", os.path.join(root, "outside"))
    os.symlink("../../", os.path.join(root, "src/up"))
    os.mkfifo(os.path.join(root, "fifo"))


@family("streams")
def t_build(c):
    ctx = os.path.join(c.tmp, "ctx")
    make_context(ctx)
    got = []

    def build(req, h):
        got.append(req.body)
        h.stream([{"stream": "Step 1/2 : SOURCES main.c\n"}, {"stream": "compiling"},
                  {"aux": {"id": IMG}}], delay=0.01)
    c.fake.on("POST", "/v1/images/build", build)
    p = c.uk("build", "-t", "hello:1", ctx)
    expect(p, 0, out=r"^Step 1/2 : SOURCES main.c\ncompiling\nSuccessfully built ab12cd34ef56\n"
                     r"Successfully tagged hello:1$")
    check("warning: skipping outside: a symbolic link out of the build context" in p.err,
          "warns about the outside link", p)
    check("warning: skipping fifo: not a regular file" in p.err, "warns about the fifo", p)
    req = c.fake.requests[-1]
    check(req.query == {"t": "hello:1"}, "t= %r" % req.query)
    check(req.headers.get("Content-Type") == "application/x-tar", "content type")
    tf = tarfile.open(fileobj=io.BytesIO(got[0]))
    names = tf.getnames()
    want = [".ukignore", "Ukfile", "keep.o", "link.c", "main.c", "run.sh", "site", "site/css",
            "site/css/a.css", "site/index.html", "src", "src/sub", "src/sub/util.c"]
    check(names == want, "context entries %r, want %r" % (names, want))
    for m in tf.getmembers():
        check(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" and
              m.type in (tarfile.REGTYPE, tarfile.DIRTYPE), "deterministic header %r" % m.name)
    check(tf.getmember("run.sh").mode == 0o755 and tf.getmember("main.c").mode == 0o644,
          "modes")
    check(tf.extractfile("link.c").read() == b"int main(void) { return 0; }\n",
          "link inside stored as file")
    check(tf.extractfile("src/sub/util.c").read() == b"x" * 1000, "content")
    check(len(got[0]) % 512 == 0, "whole blocks")
    # deterministic: the same bytes again
    expect(c.uk("build", "-q", "-t", "hello", ctx), 0, out="^" + IMG + "$")
    check(got[1] == got[0], "two builds of one directory send identical archives")
    check(c.fake.requests[-1].query == {"t": "hello"}, "t without tag")
    # long paths go to the ustar prefix
    deep = os.path.join(ctx, "d" * 90, "e" * 50)
    os.makedirs(deep)
    with open(os.path.join(deep, "f" * 60), "w") as f:
        f.write("deep")
    expect(c.uk("build", ctx), 0)
    tf = tarfile.open(fileobj=io.BytesIO(got[2]))
    check(tf.extractfile("%s/%s/%s" % ("d" * 90, "e" * 50, "f" * 60)).read() == b"deep",
          "long path via prefix")
    check(c.fake.requests[-1].query == {}, "no t without -t")
    # a path ustar's prefix/name cannot hold goes in a pax header (base/tar.c, as images' layers)
    deeper = os.path.join(ctx, "d" * 90, "g" * 90)
    os.makedirs(deeper)
    with open(os.path.join(deeper, "h" * 60), "w") as f:
        f.write("x")
    expect(c.uk("build", ctx), 0)
    tf = tarfile.open(fileobj=io.BytesIO(got[3]))
    check(tf.extractfile("%s/%s/%s" % ("d" * 90, "g" * 90, "h" * 60)).read() == b"x",
          "long path via pax")


@family("streams")
def t_build_errors(c):
    ctx = os.path.join(c.tmp, "ctx")
    os.makedirs(ctx)
    p = c.uk("build", "-t", "x", ctx)
    expect(p, 1, err="has no Ukfile")
    expect(c.uk("build", os.path.join(c.tmp, "none")), 1, err="No such file or directory")
    check(c.fake.requests == [], "nothing sent for a bad context")
    with open(os.path.join(ctx, "Ukfile"), "w") as f:
        f.write("FOO bar\n")
    c.fake.on("POST", "/v1/images/build", lambda r, h: h.stream([
        {"stream": "Step 1/1 : FOO bar\n"},
        {"error": "Ukfile:1: unknown instruction FOO", "code": "bad_request"}]))
    p = c.uk("build", "-t", "x", ctx)
    expect(p, 1, out="Step 1/1", err=r"^uk: build .* failed: Ukfile:1: unknown instruction FOO$")
    check("Successfully" not in p.out, "no success line", p)
    c.fake.reset()
    c.fake.on("POST", "/v1/images/build", lambda r, h: h.stream([{"stream": "x\n"}]))
    expect(c.uk("build", ctx), 1, err="without an image id or an error")
    c.fake.reset()
    c.fake.on("POST", "/v1/images/build", lambda r, h: h.stream(["{\"stream\": \"a\"}\n",
                                                                "garbage\n"]))
    expect(c.uk("build", ctx), 1, err="not JSON")
    c.fake.reset()
    c.fake.on("POST", "/v1/images/build", status=400,
              body={"message": "bad tag 'X!'", "code": "bad_request"})
    expect(c.uk("build", "-t", "X!", ctx), 1, err=r"bad tag 'X!'$")
    p = c.uk("--format", "json", "build", ctx)
    expect(p, 1)
    c.fake.reset()
    c.fake.on("POST", "/v1/images/build", lambda r, h: h.stream([{"stream": "a\n"},
                                                                {"aux": {"id": IMG}}]))
    p = c.uk("--format", "json", "build", ctx)
    expect(p, 0)
    check([json.loads(x) for x in p.out.splitlines()] == [{"stream": "a\n"},
                                                           {"aux": {"id": IMG}}], "json", p)
    # a daemon that says "Successfully built" itself is not echoed twice
    c.fake.reset()
    c.fake.on("POST", "/v1/images/build", lambda r, h: h.stream([
        {"stream": "Successfully built sha256:ab12cd34ef56\n"},
        {"stream": "Successfully tagged x:latest\n"}, {"aux": {"id": IMG}}]))
    p = c.uk("build", "-t", "x", ctx)
    expect(p, 0)
    check(p.out.count("Successfully built") == 1 and p.out.count("Successfully tagged") == 1,
          "success lines once", p)


@family("streams")
def t_logs_events(c):
    c.fake.on("GET", "/v1/instances/web/logs", lambda r, h: h.stream(
        [b"line1\n", b"li", b"ne2\n"], ctype="text/plain", delay=0.05))
    p = c.uk("logs", "-f", "--tail", "5", "-t", "web")
    expect(p, 0)
    check(p.out == "line1\nline2\n", "raw console", p)
    check(c.fake.requests[-1].query == {"follow": "1", "tail": "5", "timestamps": "1"},
          "query %r" % c.fake.requests[-1].query)
    expect(c.uk("logs", "web"), 0)
    check(c.fake.requests[-1].query == {"follow": "0", "tail": "all", "timestamps": "0"},
          "defaults %r" % c.fake.requests[-1].query)
    ev = [{"type": "instance", "action": "start", "id": ID, "name": "web", "time": 1764193122,
           "time_nano": 1764193122123456789, "attributes": {"image": "hello", "name": "web"}},
          {"type": "image", "action": "tag", "id": IMG, "time": 1764193123,
           "time_nano": 1764193123000000000, "attributes": {}}]
    c.fake.on("GET", "/v1/events", lambda r, h: h.stream(ev))
    p = c.uk("events", "--since", "1764193000", "--until", "2026-11-26T21:40:00Z")
    expect(p, 0)
    lines = p.out.splitlines()
    check(lines[0] == "2025-11-26T21:38:42.123456789Z instance start %s (image=hello, name=web)"
          % ID, "event line %r" % lines[0], p)
    check(lines[1].startswith("2025-11-26T21:38:43.000000000Z image tag sha256:"), "line 2", p)
    q = c.fake.requests[-1].query
    until = calendar.timegm((2026, 11, 26, 21, 40, 0))
    check(float(q["since"]) == 1764193000 and float(q["until"]) == until, "since/until %r" % q)
    p = c.uk("events", "--format", "json")
    check([json.loads(x) for x in p.out.splitlines()] == ev, "json lines", p)
    p = c.uk("events", "--since", "10m")
    q = c.fake.requests[-1].query
    check(abs(float(q["since"]) - (time.time() - 600)) < 30, "duration since %r" % q)


@family("streams")
def t_save_load(c):
    blob = bytes(range(256)) * 4000
    c.fake.on("GET", "/v1/images/hello/get", lambda r, h: h.stream(
        [blob[:100000], blob[100000:]], ctype="application/x-tar"))
    c.fake.on("GET", "/v1/images/nope/get", status=404,
              body={"message": "no such image: nope", "code": "not_found"})
    out = os.path.join(c.tmp, "hello.tar")
    expect(c.uk("save", "-o", out, "hello"), 0)
    check(open(out, "rb").read() == blob, "saved bytes")
    p = c.uk("save", "hello")
    check(p.stdout == blob, "save to stdout")
    bad = os.path.join(c.tmp, "nope.tar")
    expect(c.uk("save", "-o", bad, "nope"), 1, err="no such image: nope")
    check(not os.path.exists(bad), "no file left after a failed save")
    check([f for f in os.listdir(c.tmp) if f.startswith(".uk-save")] == [], "no temp left")
    got = []

    def load(req, h):
        got.append(req)
        h.stream([{"stream": "Loaded image: hello:latest\n"}])
    c.fake.on("POST", "/v1/images/load", load)
    expect(c.uk("load", "-i", out), 0, out="^Loaded image: hello:latest$")
    check(got[-1].body == blob and got[-1].headers.get("Content-Length") == str(len(blob)),
          "load -i sends the file with its length")
    p = c.uk("load", input=blob)
    expect(p, 0, out="Loaded image")
    check(got[-1].body == blob, "load from a pipe (chunked)")
    expect(c.uk("load", "-q", "-i", out), 0)
    expect(c.uk("load", "-i", os.path.join(c.tmp, "missing.tar")), 1, err="No such file")
    c.fake.on("POST", "/v1/images/load", lambda r, h: h.stream(
        [{"error": "not an OCI layout: no index.json", "code": "bad_request"}]))
    c.fake.routes.reverse()
    expect(c.uk("load", "-i", out), 1, err="not an OCI layout")


def main():
    global UK
    UK = os.path.abspath(sys.argv[1])
    fams = sys.argv[2:] or sorted(TESTS)
    failed = 0
    for fam in fams:
        for fn in TESTS[fam]:
            with tempfile.TemporaryDirectory(prefix="ukcli-") as tmp:
                c = Ctx(tmp)
                try:
                    fn(c)
                    print("ok   %s/%s" % (fam, fn.__name__))
                except Exception as e:  # noqa: BLE001 - report every failure
                    failed += 1
                    print("FAIL %s/%s: %s: %s" % (fam, fn.__name__, type(e).__name__, e))
                finally:
                    c.fake.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
