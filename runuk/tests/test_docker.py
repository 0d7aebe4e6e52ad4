#!/usr/bin/env python3
"""A private dockerd (own data root, exec root, socket) with --add-runtime uk=runuk, inside a
network namespace this test makes (dockerd's bridge and iptables rules stay there): docker run
of uk images (output, exit status), -p 127.0.0.1:P:80 answered, docker stop graceful, a busybox
image passed through to runc.
usage: test_docker.py BUILD_DIR REPO"""
import os
import sys
import time

import engine


def expect(r, code, *wants, what):
    if r.returncode != code:
        raise AssertionError(f"{what}: exit {r.returncode}, expected {code}: {r.stdout!r} "
                             f"{r.stderr!r}")
    for w in wants:
        if w not in r.stdout:
            raise AssertionError(f"{what}: {w!r} not in {r.stdout!r}")


def run(env):
    engine.need("dockerd", "/usr/bin/docker", "docker-registry", "qemu-system-x86_64",
                "nsenter", "ip", "curl", "/bin/busybox")
    runuk = os.path.abspath(os.path.join(env.build, "bin/runuk"))
    env.netns()
    reg = env.registry()
    env.ukd()
    guest = env.guest_image(reg, "test/guest:v1", ["exit", "7"])
    web = env.push_context(reg, "test/website:v1",
                           os.path.join(env.repo, "images/examples/website"))
    env.dockerd(runuk)
    for ref in (guest, web):
        r = env.docker("pull", ref)
        if r.returncode:
            raise AssertionError(f"docker pull {ref}: {r.stderr}")
    expect(env.docker("run", "--rm", "--runtime=uk", "-e", "FOO=docker", guest), 7,
           "arg[1]=exit", "arg[2]=7", "FOO=docker", what="docker run --runtime=uk")
    expect(env.docker("run", "--rm", "--runtime=uk", guest, "exit", "9"), 9, "arg[2]=9",
           what="docker run --runtime=uk IMAGE exit 9")
    # -t: the console is a pty runuk sends over the shim's console socket
    expect(env.docker("run", "--rm", "-t", "--runtime=uk", guest, "exit", "3"), 3, "arg[2]=3",
           what="docker run -t --runtime=uk")
    bb = env.busybox_image()
    expect(env.docker("run", "--rm", "--runtime=uk", bb, "echo", "through-runc"), 0,
           "through-runc", what="busybox under runtime uk (runc)")
    expect(env.docker("run", "--rm", "--runtime=uk", bb, "sh", "-c", "exit 5"), 5,
           what="busybox's exit status through runc")
    port = engine.free_port()
    r = env.docker("run", "-d", "-p", f"127.0.0.1:{port}:80", "--runtime=uk", web)
    if r.returncode:
        raise AssertionError(f"docker run -d website: {r.stderr}")
    cid = r.stdout.strip()
    want = open(os.path.join(env.repo, "images/examples/website/site/index.html")).read()
    got, end = "", time.time() + 120
    while want not in got and time.time() < end:
        got = env.docker("version").stdout and __import__("subprocess").run(
            env.inns(["curl", "-s", "--max-time", "3", f"http://127.0.0.1:{port}/"]),
            capture_output=True, text=True).stdout
        time.sleep(0.2)
    if want not in got:
        logs = env.docker("logs", cid)
        raise AssertionError(f"GET 127.0.0.1:{port}: {got!r}; logs {logs.stdout!r}")
    t = time.time()
    r = env.docker("stop", "-t", "60", cid)
    code = env.docker("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip()
    if r.returncode or code not in ("0", "143"):
        raise AssertionError(f"docker stop: exit code {code} (137 = killed, not graceful): "
                             f"{r.stderr}")
    env.docker("rm", cid)
    print(f"PASS docker run (7, 9, -t 3), busybox via runc (0, 5), website on 127.0.0.1:{port}, "
          f"docker stop graceful (exit {code}, {time.time() - t:.1f} s)")


sys.exit(engine.main(run))
