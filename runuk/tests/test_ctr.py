#!/usr/bin/env python3
"""ctr run --runc-binary runuk of a uk image built by `uk build`, pushed to a private
docker-registry and pulled by a private containerd: the guest's output and exit status.
usage: test_ctr.py BUILD_DIR REPO"""
import os
import sys

import engine


def run(env):
    engine.need("containerd", "ctr", "containerd-shim-runc-v2", "docker-registry",
                "qemu-system-x86_64")
    runuk = os.path.abspath(os.path.join(env.build, "bin/runuk"))
    reg = env.registry()
    env.ukd()
    ref = env.guest_image(reg, "test/guest:v1", ["exit", "7"])
    env.containerd()
    r = env.ctr("images", "pull", "--plain-http", ref)
    if r.returncode:
        raise AssertionError(f"ctr images pull: {r.stderr}")
    base = ["run", "--rm", "--runc-binary", runuk, "--runc-root", env.top + "/runuk-root"]
    # the image as it is: Entrypoint /uk/kernel + Cmd ["exit", "7"]
    r = env.ctr(*base, "--env", "FOO=from-ctr", ref, "c1")
    if r.returncode != 7:
        raise AssertionError(f"ctr run: exit {r.returncode}, expected the guest's 7: "
                             f"{r.stdout!r} {r.stderr!r}")
    for want in ("arg[1]=exit", "arg[2]=7", "FOO=from-ctr"):
        if want not in r.stdout:
            raise AssertionError(f"ctr run: {want!r} not in {r.stdout!r}")
    # args given on ctr's command line replace Entrypoint + Cmd
    r = env.ctr(*base, ref, "c2", "/uk/kernel", "exit", "42")
    if r.returncode != 42 or "arg[2]=42" not in r.stdout:
        raise AssertionError(f"ctr run with args: exit {r.returncode}: {r.stdout!r}")
    # nothing left behind in runuk's root
    left = os.listdir(env.top + "/runuk-root/runuk") if os.path.isdir(
        env.top + "/runuk-root/runuk") else []
    if left:
        raise AssertionError(f"runuk's root keeps {left} after ctr run --rm")
    print("PASS ctr run: output and exit status (7, 42)")


sys.exit(engine.main(run))
