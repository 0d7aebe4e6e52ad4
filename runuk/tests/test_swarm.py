#!/usr/bin/env python3
"""Swarm on a private dockerd (in a network namespace this test makes) whose default runtime is
runuk: a service of the website example (dnsrr, host-mode publishing: no IPVS) scaled to 3
replicas, each answering on its published port.
With "two": two dockerds in separate namespaces (a veth between them) joined into one swarm, the
replicas spread over both nodes, each answering on its node.
usage: test_swarm.py BUILD_DIR REPO [two]"""
import os
import re
import subprocess
import sys
import time

import engine


def run(env):
    """One node."""
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


def replicas(docker, ns, env, want, n):
    """The published ports of this node's running replicas, each checked to answer (want)."""
    out = docker("ps", "--filter", "label=com.docker.swarm.service.name=web", "--format",
                 "{{.Ports}}").stdout
    ports = sorted(set(re.findall(r":(\d+)->80/tcp", out)))
    for p in ports:
        got, end = "", time.time() + 120
        while want not in got and time.time() < end:
            got = subprocess.run(env.inns(["curl", "-s", "--max-time", "3",
                                           f"http://127.0.0.1:{p}/"], ns),
                                 capture_output=True, text=True).stdout
            time.sleep(0.2)
        if want not in got:
            raise AssertionError(f"replica on {ns} port {p}: {got!r}")
    return ports


def run_two(env):
    engine.need("dockerd", "/usr/bin/docker", "docker-registry", "qemu-system-x86_64",
                "nsenter", "ip", "curl")
    runuk = os.path.abspath(os.path.join(env.build, "bin/runuk"))
    a, b = env.netns(), env.netns("b")
    subprocess.run(["ip", "-n", b, "link", "set", "lo", "up"], check=True)
    for cmd in (["-n", a, "link", "add", "sw0", "type", "veth", "peer", "name", "sw1", "netns",
                 b], ["-n", a, "addr", "add", "10.198.0.1/24", "dev", "sw0"],
                ["-n", b, "addr", "add", "10.198.0.2/24", "dev", "sw1"],
                ["-n", a, "link", "set", "sw0", "up"], ["-n", b, "link", "set", "sw1", "up"]):
        subprocess.run(["ip", *cmd], check=True)
    reg = env.registry()
    env.ukd()
    web = env.push_context(reg, "test/website:v1",
                           os.path.join(env.repo, "images/examples/website"))
    da = env.dockerd(runuk, {"default-runtime": "uk"})
    db = env.dockerd(runuk, {"default-runtime": "uk"}, ns=b, name="docker2")
    # the worker cannot reach the registry on the manager's loopback: it gets the image by
    # save/load, and the service uses the tag as it is (--no-resolve-image)
    if da("pull", web).returncode:
        raise AssertionError("docker pull on the manager")
    tar = os.path.join(env.top, "web.tar")
    if da("save", "-o", tar, web).returncode or db("load", "-i", tar).returncode:
        raise AssertionError("docker save | load to the worker")
    r = da("swarm", "init", "--advertise-addr", "10.198.0.1")
    if r.returncode:
        raise engine.Skip(f"docker swarm init does not work here: {r.stderr.strip()}")
    token = da("swarm", "join-token", "-q", "worker").stdout.strip()
    r = db("swarm", "join", "--token", token, "10.198.0.1:2377")
    if r.returncode:
        raise AssertionError(f"swarm join from the second namespace: {r.stderr}")
    nodes = da("node", "ls", "--format", "{{.Hostname}} {{.Status}}").stdout.split("\n")
    r = da("service", "create", "--detach", "--no-resolve-image", "--name", "web", "--replicas",
           "3", "--endpoint-mode", "dnsrr", "--publish", "mode=host,target=80", web)
    if r.returncode:
        raise AssertionError(f"service create: {r.stderr}")
    want = open(os.path.join(env.repo, "images/examples/website/site/index.html")).read()
    end = time.time() + 300
    while time.time() < end:
        n = sum(len(re.findall(r"->80/tcp", d("ps", "--format", "{{.Ports}}").stdout))
                for d in (da, db))
        if n >= 3:
            break
        time.sleep(1)
    pa, pb = replicas(da, a, env, want, 3), replicas(db, b, env, want, 3)
    if len(pa) + len(pb) != 3 or not pa or not pb:
        tasks = da("service", "ps", "--no-trunc", "web").stdout
        raise AssertionError(f"replicas: manager {pa}, worker {pb} (nodes {nodes}):\n{tasks}")
    da("service", "rm", "web")
    db("swarm", "leave", "--force")
    da("swarm", "leave", "--force")
    print(f"PASS two-node swarm: replicas answering on the manager {pa} and the worker {pb}")


sys.exit(engine.main(run_two if sys.argv[3:] == ["two"] else run))
