#!/usr/bin/python3
"""Kubernetes' node contract without a kubelet: a minimal CRI client (grpcio, protobuf encoded by
hand) talks to a private containerd's CRI plugin (in a network namespace this test makes) with a
runtime handler "uk" = runc shim + BinaryName runuk: the pod's sandbox (a pause image made here
from busybox-static) goes through runc, its container is a uk image pulled by CRI PullImage; the
container's exit status and its log.
usage: test_cri.py BUILD_DIR REPO"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

import engine

# ---- protobuf, by hand: only what the calls below need ----


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fb(num, data):  # length-delimited field
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def fv(num, v):  # varint field
    return varint(num << 3) + varint(v)


def decode(buf):
    """{field number: [values]}: bytes for length-delimited, int for varints."""
    out, i = {}, 0
    while i < len(buf):
        key, i = _uvarint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _uvarint(buf, i)
        elif wt == 2:
            n, i = _uvarint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise AssertionError(f"protobuf wire type {wt}")
        out.setdefault(num, []).append(v)
    return out


def _uvarint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


# ---- the pause image: a docker-archive made from busybox-static ----


def pause_archive(path):
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        t.add("/bin/busybox", arcname="bin/busybox")
        info = tarfile.TarInfo("bin/sleep")
        info.type, info.linkname = tarfile.SYMTYPE, "busybox"
        t.addfile(info)
    layer = layer.getvalue()
    diff = "sha256:" + hashlib.sha256(layer).hexdigest()
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Entrypoint": ["/bin/sleep", "100000"]},
                      "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": ["localhost/pause:1"],
                            "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(path, "w") as t:
        for name, data in (("layer.tar", layer), ("config.json", cfg),
                           ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def run(env):
    engine.need("containerd", "ctr", "containerd-shim-runc-v2", "runc", "docker-registry",
                "qemu-system-x86_64", "nsenter", "ip", "/bin/busybox")
    try:
        import grpc
    except ImportError:
        raise engine.Skip("python3-grpcio is not installed (the CRI client uses it)")
    runuk = os.path.abspath(os.path.join(env.build, "bin/runuk"))
    env.netns()
    reg = env.registry()
    env.ukd()
    image = env.guest_image(reg, "test/guest:v1", ["exit", "7"])
    d = os.path.join(env.top, "ctd")
    os.makedirs(d + "/cni/bin")
    os.makedirs(d + "/cni/conf")
    sock = d + "/sock"
    with open(d + "/config.toml", "w") as f:
        f.write(f"""version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = "{d}/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:1"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni/bin"
    conf_dir = "{d}/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      Root = "{d}/runc-root"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.uk]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.uk.options]
      BinaryName = "{runuk}"
      Root = "{d}/runuk-root"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."{reg}"]
    endpoint = ["http://{reg}"]
""")
    env.spawn(["containerd", "--config", d + "/config.toml"], "containerd.log")
    engine.wait_for(lambda: os.path.exists(sock), 30, "containerd's socket")
    pause_archive(env.top + "/pause.tar")
    r = subprocess.run(["ctr", "--address", sock, "-n", "k8s.io", "images", "import",
                        env.top + "/pause.tar"], capture_output=True, text=True)
    if r.returncode:
        raise AssertionError(f"ctr import pause: {r.stderr}")

    ch = grpc.insecure_channel("unix://" + sock)

    def call(svc, method, req):
        try:
            return decode(ch.unary_unary(f"/runtime.v1.{svc}/{method}")(req, timeout=300))
        except grpc.RpcError as e:
            raise AssertionError(f"CRI {method}: {e.code()} {e.details()}")

    # the pod: host network (no CNI here), handler uk
    logdir = env.top + "/pods"
    os.makedirs(logdir)
    meta = fb(1, "uk-pod") + fb(2, "uid-1") + fb(3, "default") + fv(4, 0)
    linux = fb(2, fb(1, fv(1, 2)))  # security_context.namespace_options.network = NODE
    sandbox_cfg = fb(1, meta) + fb(3, logdir) + fb(8, linux)  # no hostname: host network
    call("ImageService", "PullImage", fb(1, fb(1, image)) + fb(3, sandbox_cfg))
    pod = call("RuntimeService", "RunPodSandbox", fb(1, sandbox_cfg) + fb(2, "uk"))[1][0].decode()
    try:
        ctr_cfg = (fb(1, fb(1, "guest") + fv(2, 0)) + fb(2, fb(1, image)) +
                   fb(6, fb(1, "FOO") + fb(2, "from-cri")) + fb(11, "guest.log"))
        cid = call("RuntimeService", "CreateContainer", fb(1, pod) + fb(2, ctr_cfg) +
                   fb(3, sandbox_cfg))[1][0].decode()
        call("RuntimeService", "StartContainer", fb(1, cid))
        end, status = time.time() + 120, {}
        while time.time() < end:
            status = decode(call("RuntimeService", "ContainerStatus", fb(1, cid))[1][0])
            if status.get(3, [0])[0] == 2:  # CONTAINER_EXITED
                break
            time.sleep(0.3)
        code = status.get(7, [0])[0]
        log = open(os.path.join(logdir, "guest.log")).read()
        if status.get(3, [0])[0] != 2 or code != 7:
            raise AssertionError(f"uk container: state {status.get(3)}, exit {code}; {log!r}")
        for want in ("arg[1]=exit", "arg[2]=7", "FOO=from-cri"):
            if want not in log:
                raise AssertionError(f"{want!r} not in the container's log {log!r}")
        # the sandbox went through runc: its state is in runc's root, not runuk's
        runuk_root = os.path.join(d, "runuk-root", "k8s.io")
        kept = os.listdir(runuk_root) if os.path.isdir(runuk_root) else []
        if pod not in kept or not os.path.exists(os.path.join(runuk_root, pod, "state.json")):
            raise AssertionError(f"the pause container did not go through runc: {kept}")
        if os.path.exists(os.path.join(runuk_root, pod, "runuk.lock")):
            raise AssertionError("runuk ran the pause container itself")
        call("RuntimeService", "RemoveContainer", fb(1, cid))
    finally:
        call("RuntimeService", "StopPodSandbox", fb(1, pod))
        call("RuntimeService", "RemovePodSandbox", fb(1, pod))
    print("PASS CRI: pod sandbox through runc, uk container on handler uk: exit 7, log")


sys.exit(engine.main(run))
