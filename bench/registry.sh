#!/bin/bash
# Registry benchmark: uk push, re-push and pull through ukd next to the floor (curl moving the
# same blobs and manifest to and from the same docker-registry, connections reused, no digest
# checks, no fsync), in one run.
# usage: bench/registry.sh [BUILD_DIR]   (default: build; RUNS=5, BIG_MIB=32)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -x "$build/bin/ukd" ] && [ -x "$build/bin/uk" ] || { echo "registry.sh: build first" >&2; exit 1; }
[ -x /usr/bin/docker-registry ] || { echo "registry.sh: needs docker-registry" >&2; exit 1; }
exec python3 - "$build" "${RUNS:-5}" "${BIG_MIB:-32}" <<'PY'
import http.client, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time
build, runs, big_mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
top = tempfile.mkdtemp(prefix="ukbr-", dir="/tmp")
procs = []

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def wait_port(port):
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.025)
    sys.exit("registry.sh: nothing listens on %d" % port)

def uk(*args, sock="s"):
    env = dict(os.environ, UK_HOST="unix://%s/%s" % (top, sock), UK_CONFIG=top + "/cfg")
    p = subprocess.run([build + "/bin/uk", *args], capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit("uk %s: %s" % (" ".join(args), p.stderr))
    return p.stdout

def timed(fn):
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000

try:
    port = free_port()
    reg = "127.0.0.1:%d" % port
    with open(top + "/reg.yml", "w") as f:
        f.write("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                "    rootdirectory: %s/data\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n"
                % (top, reg))
    procs.append(subprocess.Popen(["/usr/bin/docker-registry", "serve", top + "/reg.yml"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(port)
    for sock in ("s", "s2"):  # s pushes, s2 pulls (a store without the blobs)
        procs.append(subprocess.Popen([build + "/bin/ukd", "--root", top + "/r" + sock,
                                       "--host", "unix://%s/%s" % (top, sock), "--accelerator",
                                       "tcg", "--log-level", "warn"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(400):
            if os.path.exists(top + "/" + sock):
                break
            time.sleep(0.025)
    ctx = top + "/big"
    os.makedirs(ctx)
    shutil.copy("images/examples/hello/main.c", ctx)
    with open(ctx + "/big.bin", "wb") as f:
        f.write(os.urandom(big_mib << 20))
    with open(ctx + "/Ukfile", "w") as f:
        f.write("FROM uk/runtime:1\nSOURCES main.c\nFILES big.bin /big.bin\n")
    uk("build", "-q", "-t", "website", "images/examples/website")
    uk("build", "-q", "-t", "big", ctx)
    rows = []
    for image in ("website", "big"):
        t_push, t_repush, t_pull, f_push, f_pull = [], [], [], [], []
        for i in range(runs):
            name = "%s/bench/%s-%d:v1" % (reg, image, i)
            uk("tag", image, name)
            t_push.append(timed(lambda: uk("push", name)))
            t_repush.append(timed(lambda: uk("push", name)))
            lines = [json.loads(l) for l in uk("--format", "json", "push", name).splitlines()]
            blobs = [(o["digest"], o["size"]) for o in lines if o["status"] == "exists"]
            digest = lines[-1]["digest"]
            size = sum(s for _, s in blobs)
            t_pull.append(timed(lambda: uk("pull", name, sock="s2")))
            uk("rmi", name, sock="s2")  # its blobs go with it
            # the floor: curl moving the same bytes, one curl process per direction with its
            # connection reused (--next): blobs go up as single-POST monolithic uploads, come
            # down into files (no digest checks, no fsync)
            data = top + "/data/docker/registry/v2/blobs/sha256"
            mt = "application/vnd.oci.image.manifest.v1+json"
            man = top + "/manifest-%s-%d" % (image, i)
            subprocess.run(["curl", "-sf", "-o", man, "-H", "Accept: " + mt,
                            "http://%s/v2/bench/%s-%d/manifests/v1" % (reg, image, i)],
                           check=True)
            base = "http://%s/v2/floor/%s-%d" % (reg, image, i)
            out = top + "/floor-out"

            def push_floor():
                # docker-registry has no single-POST upload: one curl opens every upload, a
                # second one PUTs the blobs to the Locations and then the manifest
                hdrs = top + "/floor-hdrs"
                args = ["curl", "-sf", "-o", "/dev/null", "-D", hdrs]
                for n in range(len(blobs)):
                    args += ["-X", "POST", base + "/blobs/uploads/"] + (
                        ["--next", "-sf", "-o", "/dev/null", "-D", hdrs + str(n + 1)]
                        if n + 1 < len(blobs) else [])
                subprocess.run(args, check=True)
                args = ["curl", "-sf", "-o", "/dev/null"]
                for n, (d, _) in enumerate(blobs):
                    with open(hdrs + (str(n) if n else "")) as f:
                        loc = [l.split(":", 1)[1].strip() for l in f.read().splitlines()
                               if l.lower().startswith("location:")][0]
                    args += ["-X", "PUT", "-H", "Content-Type: application/octet-stream",
                             "--data-binary", "@%s/%s/%s/data" % (data, d[7:9], d[7:]),
                             loc + ("&" if "?" in loc else "?") + "digest=" + d,
                             "--next", "-sf", "-o", "/dev/null"]
                args += ["-X", "PUT", "-H", "Content-Type: " + mt, "--data-binary", "@" + man,
                         base + "/manifests/v1"]
                subprocess.run(args, check=True)

            def pull_floor():
                os.makedirs(out, exist_ok=True)
                args = ["curl", "-sf", "-H", "Accept: " + mt, "-o", out + "/m",
                        base + "/manifests/v1"]
                for n, (d, _) in enumerate(blobs):
                    args += ["--next", "-sfL", "-o", "%s/%d" % (out, n), base + "/blobs/" + d]
                subprocess.run(args, check=True)
            f_push.append(timed(push_floor))
            f_pull.append(timed(pull_floor))
        med = statistics.median
        rows.append((image, size, med(t_push), med(f_push), med(t_repush), med(t_pull),
                     med(f_pull)))
    print("registry push/pull, median of %d, ms (floor: curl moving the same bytes to the same registry)" % runs)
    print("%-8s %10s %9s %10s %9s %9s %10s" % ("image", "bytes", "uk push", "curl floor",
                                                "re-push", "uk pull", "curl floor"))
    for r in rows:
        print("%-8s %10d %9.1f %10.1f %9.1f %9.1f %10.1f" % r)
finally:
    for p in reversed(procs):
        p.terminate()
        p.wait()
    shutil.rmtree(top, ignore_errors=True)
PY
