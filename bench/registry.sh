#!/bin/bash
# Registry benchmark: uk push, re-push and pull through ukd next to the floor (the same blobs and
# manifest sent and fetched over one kept-alive HTTP connection straight to the same
# docker-registry, no digest checks), in one run.
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
    uk("build", "-q", "-t", "hello", "images/examples/hello")
    uk("build", "-q", "-t", "big", ctx)
    rows = []
    for image in ("hello", "big"):
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
            # the floor: the same bytes over one kept-alive connection from this process
            data = top + "/data/docker/registry/v2/blobs/sha256"
            mt = "application/vnd.oci.image.manifest.v1+json"
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("GET", "/v2/bench/%s-%d/manifests/v1" % (image, i), headers={"Accept": mt})
            man = c.getresponse().read()
            base = "/v2/floor/%s-%d" % (image, i)

            def push_floor():
                for d, _ in blobs:
                    with open("%s/%s/%s/data" % (data, d[7:9], d[7:]), "rb") as f:
                        body = f.read()
                    c.request("POST", base + "/blobs/uploads/", body=b"")
                    r = c.getresponse()
                    r.read()
                    url = r.getheader("Location")
                    url = url[url.index("/v2/"):] if "://" in url else url
                    c.request("PUT", url + ("&" if "?" in url else "?") + "digest=" + d,
                              body=body, headers={"Content-Type": "application/octet-stream"})
                    r = c.getresponse()
                    r.read()
                    assert r.status == 201, r.status
                c.request("PUT", base + "/manifests/v1", body=man, headers={"Content-Type": mt})
                r = c.getresponse()
                r.read()
                assert r.status == 201, r.status

            def pull_floor():
                for path in [base + "/manifests/v1"] + [base + "/blobs/" + d for d, _ in blobs]:
                    c.request("GET", path, headers={"Accept": mt})
                    r = c.getresponse()
                    r.read()
                    assert r.status == 200, r.status
            f_push.append(timed(push_floor))
            f_pull.append(timed(pull_floor))
        med = statistics.median
        rows.append((image, size, med(t_push), med(f_push), med(t_repush), med(t_pull),
                     med(f_pull)))
    print("registry push/pull, median of %d, ms (floor: plain HTTP to the same registry)" % runs)
    print("%-6s %10s %9s %11s %9s %9s %11s" % ("image", "bytes", "uk push", "HTTP floor",
                                                "re-push", "uk pull", "HTTP floor"))
    for r in rows:
        print("%-6s %10d %9.1f %11.1f %9.1f %9.1f %11.1f" % r)
finally:
    for p in reversed(procs):
        p.terminate()
        p.wait()
    shutil.rmtree(top, ignore_errors=True)
PY
