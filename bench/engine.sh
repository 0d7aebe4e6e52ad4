#!/bin/bash
# Engines through runuk: `docker run --rm --runtime=uk hello` next to `docker run --rm` of a
# busybox `true` under runc, same private dockerd (in a network namespace made here), same run,
# alternated so a load change hits both columns alike. Goal (issue 14): uk <= 1.5x runc.
# usage: bench/engine.sh [BUILD_DIR]   (default: build)   RUNS=N (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
export RUNS=${RUNS:-10}
for t in "$build/bin/ukd" "$build/bin/uk" "$build/bin/runuk"; do
	[ -x "$t" ] || { echo "engine.sh: $t missing: build first" >&2; exit 1; }
done
exec python3 - "$build" "$PWD" <<'PY'
import os, statistics, sys, time
sys.path.insert(0, os.path.join(sys.argv[2], "runuk/tests"))
import engine

def run(env):
    engine.need("dockerd", "/usr/bin/docker", "docker-registry", "qemu-system-x86_64",
                "nsenter", "ip", "curl", "/bin/busybox")
    env.netns()
    reg = env.registry()
    env.ukd()
    hello = env.push_context(reg, "bench/hello:v1", os.path.join(env.repo, "images/examples/hello"))
    env.dockerd(os.path.join(env.build, "bin/runuk"))
    if env.docker("pull", hello).returncode:
        raise AssertionError("docker pull hello")
    bb = env.busybox_image()
    rows = {"uk": [], "runc": []}
    cmds = {"uk": ["run", "--rm", "--runtime=uk", hello],
            "runc": ["run", "--rm", bb, "true"]}
    for k in cmds:  # warm: first container of each kind, not counted
        if env.docker(*cmds[k]).returncode:
            raise AssertionError(f"docker {' '.join(cmds[k])} failed")
    for i in range(int(os.environ["RUNS"])):
        for k in (("uk", "runc") if i % 2 == 0 else ("runc", "uk")):
            t = time.perf_counter()
            r = env.docker(*cmds[k])
            rows[k].append((time.perf_counter() - t) * 1000)
            if r.returncode:
                raise AssertionError(f"docker {' '.join(cmds[k])}: {r.stderr}")
    q = lambda v, p: sorted(v)[min(len(v) - 1, int(round(p * (len(v) - 1))))]
    print(f"| docker run --rm, same dockerd ({len(rows['uk'])} runs each, alternated), ms | p50 | p90 |")
    print("| --- | --- | --- |")
    print(f"| `--runtime=uk` hello (runuk, QEMU TCG, pc) | {q(rows['uk'], .5):.0f} | {q(rows['uk'], .9):.0f} |")
    print(f"| busybox `true` (runc) | {q(rows['runc'], .5):.0f} | {q(rows['runc'], .9):.0f} |")
    print(f"\nuk / runc at p50: {statistics.median(rows['uk']) / statistics.median(rows['runc']):.2f}x "
          f"(goal <= 1.5x); load average {os.getloadavg()[0]:.1f}")

sys.exit(engine.main(run))
PY
