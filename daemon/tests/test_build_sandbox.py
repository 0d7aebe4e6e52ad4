"""Sandboxed builds through the API (daemon.json build-limits): a source that keeps the compiler
busy is stopped at its CPU or time limit, and while it runs the compiler is the build user's
(when ukd is root) in a network namespace of its own; a source whose object file outgrows the
file-size limit is refused with that limit named; nothing is stored; the daemon stays fine.

Then the escape of issue 10: a source named @opts.c that gcc read as a response file
(-wrapper /bin/sh,./evil.sh) must be compiled as a file, evil.sh never run; and a hostile
compiler (UKCC_CC, standing for any code run inside a build) that daemonizes a process meant to
overwrite other builds' kernels, writes to /tmp and lists /proc must find a private /tmp, only
its own processes, and nothing of it may outlive its build or touch a build in parallel or
after it."""
import atexit
import json
import os
import pwd
import re
import shutil
import signal
import tempfile
import threading
import time

from ukdtest import SRC, Daemon, check, descendants, run, tar_dir

HELLO = os.path.join(SRC, "images", "examples", "hello")
LIMITS = {"cpu-s": 4, "timeout-s": 15, "file-size-mb": 8, "memory-mb": 2048}

# 2^40 nested includes of itself: the preprocessor never finishes, in constant memory.
INCLUDE_BOMB = """#if __INCLUDE_LEVEL__ < 40
#include __FILE__
#include __FILE__
#endif
#if __INCLUDE_LEVEL__ == 0
int main(void) { return 0; }
#endif
"""
# 16 MiB of initialized data: the assembler's object file passes the 8 MiB limit.
HUGE_OBJECT = """char big[16 << 20] = {1};
int main(void) { return big[12345]; }
"""


def context(src):
    ctx = tempfile.mkdtemp(prefix="ukt-sbx-")
    with open(os.path.join(ctx, "Ukfile"), "w") as f:
        f.write("SOURCES main.c\n")
    with open(os.path.join(ctx, "main.c"), "w") as f:
        f.write(src)
    body = tar_dir(ctx)
    shutil.rmtree(ctx)
    return body


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")


def compilers(d):
    """The compiler (ukcc, a child of ukd) and its children: (pid, uid, network namespace,
    cwd). Not libvirt's QEMU capability probes, which are ukd's children too."""
    found, pids = [], []
    for pid in descendants(d.proc.pid):
        try:
            if any(a.endswith(b"/ukcc") for a in cmdline(pid)[:2]):
                pids += [pid] + descendants(pid)
        except OSError:
            pass  # gone meanwhile
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                uid = int([l for l in f if l.startswith("Uid:")][0].split()[1])
            found.append((pid, uid, os.readlink("/proc/%d/ns/net" % pid),
                          os.readlink("/proc/%d/cwd" % pid)))
        except (OSError, IndexError, ValueError):
            pass  # gone meanwhile
    return found


def build(d, body, out):
    out.append(d.req("POST", "/v1/images/build?t=sbx", body=body,
                     headers={"Content-Type": "application/x-tar"}))


def main(d):
    # (a) + (b): a compile that never ends; look at the compiler while it runs.
    result, seen = [], []
    t = threading.Thread(target=build, args=(d, context(INCLUDE_BOMB), result))
    t.start()
    deadline = time.time() + LIMITS["timeout-s"] + 30
    while t.is_alive() and time.time() < deadline:
        seen += compilers(d)
        time.sleep(0.2)
    t.join(60)
    check(result, "the build request did not end")
    r = result[0]
    check(r.status == 200, "include bomb: %r" % r)
    last = r.lines()[-1]
    check("error" in last and "build exceeded its" in last["error"] and
          ("CPU limit" in last["error"] or "time limit" in last["error"]),
          "include bomb: expected a CPU or time limit error, got %s (after %s)" %
          (last, r.lines()[:-1]))
    print("include bomb: %s" % last["error"])
    check(seen, "never saw the compiler running in the build context")
    own_net = os.readlink("/proc/self/ns/net")
    for pid, uid, net, cwd in seen:
        check(cwd == "/tmp/ctx",
              "compiler pid %d works in %s, not the sandbox's mount of the context" % (pid, cwd))
        check(net != own_net, "compiler pid %d shares the host's network namespace" % pid)
        if os.geteuid() == 0:
            check(uid == pwd.getpwnam("uk-build").pw_uid if has_build_user() else uid == 65534,
                  "compiler pid %d runs as uid %d" % (pid, uid))
    print("compiler processes seen: %d, uids %s, net %s (ours %s)" %
          (len(seen), sorted({p[1] for p in seen}), sorted({p[2] for p in seen}), own_net))
    check(not compilers(d), "compiler processes left behind: %s" % compilers(d))

    # (c): an object file over the file-size limit.
    result = []
    build(d, context(HUGE_OBJECT), result)
    last = result[0].lines()[-1]
    check("error" in last and last["error"].startswith("build output exceeded 8 MiB"),
          "huge object: %s" % last)
    print("huge object: %s" % last["error"])

    check(d.req("GET", "/v1/images").json() == [], "a refused build stored an image")
    d.ping()
    d.build_ok(HELLO, "hello")  # an ordinary build still works under the same limits

    response_file_attack(d)
    hostile_compiler(d.ukd)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def shared_dir(base):
    """A fresh dir the build user can reach (the test's umask is 077)."""
    path = tempfile.mkdtemp(prefix="ukt-sbx-", dir=base)
    os.chmod(path, 0o1777)
    atexit.register(shutil.rmtree, path, True)
    return path


def layer_of(lines):
    for line in lines:
        m = re.match(r"layer (sha256:[0-9a-f]{64}) ", line.get("stream", "").strip())
        if m:
            return m.group(1)
    return None


def stream(lines):
    return "\n".join(l.get("stream", "") + l.get("error", "") for l in lines)


def token_procs(token):
    """Host pids whose command line holds (token): what a build left running."""
    found = []
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            if token.encode() in b" ".join(cmdline(pid)):
                found.append(pid)
        except OSError:
            pass
    return found


def response_file_attack(d):
    """Issue 10's reproduction: gcc reads an argument @FILE as the arguments in FILE; a source
    named @opts.c (next to an opts.c holding -wrapper) made gcc run evil.sh (as uk-build,
    sharing the host's /tmp), whose daemonized child then replaced a later build's kernel.
    Fixed, @opts.c is compiled as the C file it is and evil.sh never runs."""
    mark = shared_dir("/var/tmp")
    ctx = tempfile.mkdtemp(prefix="ukt-sbx-atk-")
    atexit.register(shutil.rmtree, ctx, True)
    for name in os.listdir(HELLO):
        shutil.copy(os.path.join(HELLO, name), ctx)
    with open(os.path.join(ctx, "Ukfile")) as f:
        ukfile = f.read()
    write(os.path.join(ctx, "Ukfile"), re.sub(r"(?m)^SOURCES (.*)$", r"SOURCES \1 @opts.c",
                                               ukfile))
    # gcc reads the argument @opts.c as the options in the file opts.c (when it exists):
    # evil.sh as the wrapper of every tool gcc runs, to compile extra.c.
    write(os.path.join(ctx, "@opts.c"), "int uk_opts_unused;\n")
    write(os.path.join(ctx, "opts.c"), "-wrapper /bin/sh,./evil.sh extra.c\n")
    write(os.path.join(ctx, "extra.c"), "int uk_opts_unused;\n")
    write(os.path.join(ctx, "evil.sh"), """echo EVIL-RAN >&2
touch %s/evil-ran
( setsid sh -c 'while :; do for k in /tmp/uk-build.*/kernel; do
  [ -f "$k" ] && ! cmp -s /bin/true "$k" && cat /bin/true >"$k"; done; done' ukt-evil-%s & )
exec "$@"
""" % (mark, os.path.basename(mark)), 0o755)
    ref = layer_of(d.build(HELLO, "ref"))
    check(ref, "no layer digest in the hello build's output")
    try:
        lines = d.build(ctx, "atk")
        out = stream(lines)
        print("@opts.c build: %s" % lines[-1])
        check("EVIL-RAN" not in out and not os.path.exists(os.path.join(mark, "evil-ran")),
              "gcc read @opts.c as a response file and ran evil.sh:\n%s" % out)
        check("aux" in lines[-1], "the build of @opts.c as a C file failed: %s" % out)
        left = token_procs("ukt-evil-" + os.path.basename(mark))
        check(not left, "the @opts.c build left processes running: %s" % left)
        check(layer_of(d.build(HELLO, "after")) == ref, "a later build's kernel was replaced")
    finally:
        for pid in token_procs("ukt-evil-" + os.path.basename(mark)):
            os.kill(pid, signal.SIGKILL)


HOSTILE_CC = r"""#!/bin/bash
# Stands for a compromised compiler: the real one (gcc) does the work; with a file "hostile" in
# the build context (the working directory) it first tries to escape. Mode (its contents):
# attack or probe.
mode=$(cat hostile 2>/dev/null || true)
if [ "$mode" = attack ] && [ "$1" = -print-file-name=include ]; then
	echo "leak" >/tmp/ukt-leak-TOKEN 2>/dev/null && echo "HOSTILE wrote /tmp/ukt-leak-TOKEN" >&2
	for p in /proc/[0-9]*; do
		echo "HOSTILE-PROC ${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" >&2
	done
	grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status | sed 's/^/HOSTILE-STATUS /' >&2
	# A daemon (double fork, own session) that overwrites every build's kernel it finds.
	( setsid bash -c 'touch "$TMPDIR/survivor-up"
	  while :; do for k in /tmp/uk-build.*/kernel; do
	    [ -f "$k" ] && ! cmp -s /bin/true "$k" && cat /bin/true >"$k" 2>/dev/null; done
	  sleep 0.01; done' ukt-survivor-TOKEN </dev/null >/dev/null 2>&1 & )
	for i in $(seq 100); do [ -e "$TMPDIR/survivor-up" ] && break; sleep 0.05; done
	[ -e "$TMPDIR/survivor-up" ] && echo "HOSTILE survivor up" >&2
	sleep 4 # a build in parallel runs now
fi
if [ "$mode" = probe ] && [ "$1" = -print-file-name=include ]; then
	if [ -e /tmp/ukt-leak-TOKEN ]; then echo "HOSTILE-LEAK seen" >&2; fi
fi
exec REALCC "$@"
"""


def hostile_compiler(ukd):
    """A second daemon whose builds run a hostile compiler (UKCC_CC, the operator's choice of
    compiler, stands for code execution inside a build)."""
    token = "%d%d" % (os.getpid(), time.time_ns() % 1000000)
    ccdir = shared_dir("/var/tmp")
    os.chmod(ccdir, 0o755)
    real = shutil.which("cc") or shutil.which("gcc")
    cc = os.path.join(ccdir, "cc")
    write(cc, HOSTILE_CC.replace("TOKEN", token).replace("REALCC", real), 0o755)
    ctxs = {}
    for mode in ("attack", "probe", "plain"):
        ctxs[mode] = tempfile.mkdtemp(prefix="ukt-sbx-%s-" % mode)
        atexit.register(shutil.rmtree, ctxs[mode], True)
        for name in os.listdir(HELLO):
            shutil.copy(os.path.join(HELLO, name), ctxs[mode])
        if mode != "plain":
            write(os.path.join(ctxs[mode], "hostile"), mode)
    old = os.environ.get("UKCC_CC")
    os.environ["UKCC_CC"] = cc
    try:
        h = Daemon(ukd)
    finally:
        if old is None:
            del os.environ["UKCC_CC"]
        else:
            os.environ["UKCC_CC"] = old
    try:
        hostile_builds(h, ctxs, token)
    finally:
        for pid in token_procs("ukt-survivor-" + token):
            os.kill(pid, signal.SIGKILL)
        h.stop()


def hostile_builds(h, ctxs, token):
    leak = "/tmp/ukt-leak-" + token
    atexit.register(lambda: os.path.exists(leak) and os.unlink(leak))
    ref = layer_of(h.build(ctxs["plain"], "ref"))
    check(ref, "no layer digest in the plain build's output")

    # The hostile build, with a plain one in parallel while its daemon runs.
    result, parallel = [], []
    t = threading.Thread(target=lambda: result.append(h.build(ctxs["attack"], "attack")))
    t.start()
    deadline = time.time() + 60
    while t.is_alive() and not token_procs("ukt-survivor-" + token) and time.time() < deadline:
        time.sleep(0.05)
    if t.is_alive():
        parallel.append(layer_of(h.build(ctxs["plain"], "parallel")))
    t.join(120)
    check(result, "the hostile build did not end")
    out = stream(result[0])
    check("HOSTILE survivor up" in out, "the hostile compiler did not run:\n%s" % out)
    check("aux" in result[0][-1], "the hostile build failed: %s" % out)

    left = token_procs("ukt-survivor-" + token)
    check(not left, "a process the build daemonized (setsid, double fork) outlived the build: "
          "pids %s" % left)
    check(not os.path.exists(leak), "the build wrote %s into the host's /tmp" % leak)
    procs = re.findall(r"HOSTILE-PROC (\d+) (.*)", out)
    print("processes the build saw: %s" % procs)
    check(procs and not [c for _, c in procs if c.startswith(h.ukd + " ") or
                         os.path.basename(__file__) in c],
          "the build sees processes outside it (ukd, this test): %s" % procs)
    check(any(p == "1" and "ukcc" in c for p, c in procs),
          "ukcc is not the first process of the build's PID namespace: %s" % procs)
    check(re.search(r"HOSTILE-STATUS Seccomp:\s+2", out) and
          re.search(r"HOSTILE-STATUS NoNewPrivs:\s+1", out),
          "no seccomp filter or no_new_privs in the build: %s" %
          re.findall(r"HOSTILE-STATUS .*", out))
    check(parallel, "no build ran in parallel with the hostile one (its daemon never seen)")
    check(parallel[0] == ref, "the kernel of a build run in parallel was replaced")

    # After it: another hostile build sees no /tmp of the first, and a plain build's kernel
    # is untouched.
    probe = stream(h.build(ctxs["probe"], "probe"))
    check("HOSTILE-LEAK seen" not in probe, "a build saw the /tmp of an earlier build")
    check(layer_of(h.build(ctxs["plain"], "later")) == ref, "a later build's kernel was replaced")
    print("hostile compiler: contained; kernels of the builds in parallel and after: intact")


def has_build_user():
    try:
        pwd.getpwnam("uk-build")
        return True
    except KeyError:
        return False


os.umask(0o077)  # an operator's strict umask (inherited by ukd) must not lock the build user out
CFG = tempfile.mkdtemp(prefix="ukt-sbx-cfg-")
atexit.register(shutil.rmtree, CFG, True)
with open(os.path.join(CFG, "daemon.json"), "w") as f:
    json.dump({"build-limits": LIMITS}, f)
run(main, ["--config", os.path.join(CFG, "daemon.json")])
