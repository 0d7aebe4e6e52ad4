#!/usr/bin/env python3
"""Swarm on a private dockerd (in a network namespace this test makes) whose default runtime is
runuk: a service of the website example (dnsrr, host-mode publishing: no IPVS) scaled to 3
replicas, each answering on its published port.
usage: test_swarm.py BUILD_DIR REPO"""
import os
import re
import subprocess
import sys
import time

import engine


def run(env):
    engine.need("dockerd", "/usr/bin/docker", "docker-registry", "qemu-system-x86_64",
                "nsenter", "ip", "curl")
    runuk = os.path.abspath(os.path.join(env.build, "bin/runuk"))
    ns = env.netns()
    # an address to advertise: a veth pair inside the namespace (never the host's links)
    for cmd in (["link", "add", "sw0", "type", "veth", "peer", "name", "sw1"],
                ["addr", "add", "10.198.0.1/24", "dev", "sw0"], ["link", "set", "sw0", "up"],
                ["link", "set", "sw1", "up"]):
        subprocess.run(["ip", "-n", ns, *cmd], check=True)
    reg = env.registry()
    env.ukd()
    web = env.push_context(reg, "test/website:v1",
                           os.path.join(env.repo, "images/examples/website"))
    env.dockerd(runuk, {"default-runtime": "uk"})
    r = env.docker("swarm", "init", "--advertise-addr", "10.198.0.1")
    if r.returncode:
        raise engine.Skip(f"docker swarm init does not work here: {r.stderr.strip()}")
    r = env.docker("service", "create", "--detach", "--name", "web", "--replicas", "3",
                   "--endpoint-mode", "dnsrr", "--publish", "mode=host,target=80", web)
    if r.returncode:
        raise AssertionError(f"service create: {r.stderr}")
    want = open(os.path.join(env.repo, "images/examples/website/site/index.html")).read()
    ports, end = [], time.time() + 300
    while time.time() < end:
        out = env.docker("ps", "--filter", "label=com.docker.swarm.service.name=web",
                         "--format", "{{.Ports}}").stdout
        ports = re.findall(r":(\d+)->80/tcp", out)
        if len(set(ports)) >= 3:
            break
        time.sleep(1)
    if len(set(ports)) < 3:
        tasks = env.docker("service", "ps", "--no-trunc", "web").stdout
        raise AssertionError(f"3 replicas not up: ports {ports}; tasks:\n{tasks}")
    for p in sorted(set(ports)):
        got, end = "", time.time() + 120
        while want not in got and time.time() < end:
            got = subprocess.run(env.inns(["curl", "-s", "--max-time", "3",
                                           f"http://127.0.0.1:{p}/"]),
                                 capture_output=True, text=True).stdout
            time.sleep(0.2)
        if want not in got:
            raise AssertionError(f"replica on port {p}: {got!r}")
    env.docker("service", "rm", "web")
    env.docker("swarm", "leave", "--force")
    print(f"PASS swarm: 3 website replicas on runuk answering on ports {sorted(set(ports))}")


sys.exit(engine.main(run))
