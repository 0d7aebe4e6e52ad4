"""Sandboxed builds through the API (daemon.json build-limits): a source that keeps the compiler
busy is stopped at its CPU or time limit, and while it runs the compiler is the build user's
(when ukd is root) in a network namespace of its own; a source whose object file outgrows the
file-size limit is refused with that limit named; nothing is stored; the daemon stays fine."""
import atexit
import json
import os
import pwd
import shutil
import tempfile
import threading
import time

from ukdtest import SRC, check, descendants, run, tar_dir

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
          "include bomb: expected a CPU or time limit error, got %s" % last)
    print("include bomb: %s" % last["error"])
    check(seen, "never saw the compiler running in the build context")
    own_net = os.readlink("/proc/self/ns/net")
    for pid, uid, net, cwd in seen:
        check(cwd.startswith("/tmp/uk-build.") and cwd.endswith("/ctx"),
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
