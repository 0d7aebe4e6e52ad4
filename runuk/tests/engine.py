"""Shared pieces of runuk's engine tests: a private docker-registry on 127.0.0.1, a private ukd to
`uk build` + `uk push` images, a private containerd (own root, state, socket), cleanup of only
what was started here."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


class Skip(Exception):
    pass


def need(*tools):
    for t in tools:
        if not shutil.which(t) and not os.path.exists(t):
            raise Skip(f"{t} is not installed (deploy/install-deps.sh installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out ({timeout} s) waiting for {what}")


class Env:
    """One test's temp dir and the processes it started (killed by pid, never by name)."""

    def __init__(self, build, repo):
        self.build, self.repo = os.path.abspath(build), os.path.abspath(repo)
        self.top = tempfile.mkdtemp(prefix="rk-", dir=os.environ.get("TMPDIR", "/tmp"))
        self.procs = []
        self.ns = None  # a network namespace this test made: registry, ukd, dockerd run there
        self.all_ns = []

    def netns(self, suffix=""):
        """A network namespace of this test's; the first one is where spawn() runs things."""
        name = f"rkd{os.getpid()}{suffix}"
        if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode:
            raise Skip("cannot create a network namespace here (ip netns add)")
        self.all_ns.append(name)
        self.ns = self.ns or name
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        return name

    def inns(self, argv, ns=None):
        """(argv) run in the test's network namespace (nsenter: /sys and cgroups stay)."""
        ns = ns or self.ns
        return ["nsenter", "--net=/run/netns/" + ns, *argv] if ns else argv

    def listening(self, port):
        return subprocess.run(self.inns(["curl", "-s", "-o", "/dev/null", "--max-time", "1",
                                         f"http://127.0.0.1:{port}/"]),
                              capture_output=True).returncode in (0, 22)

    def spawn(self, argv, log, ns=None, **kw):
        f = open(os.path.join(self.top, log), "w")
        p = subprocess.Popen(self.inns(argv, ns), stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
                             **kw)
        self.procs.append(p)
        return p

    def registry(self):
        port = free_port()
        reg = f"127.0.0.1:{port}"
        yml = os.path.join(self.top, "reg.yml")
        with open(yml, "w") as f:
            f.write("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                    f"    rootdirectory: {self.top}/regdata\nhttp:\n  addr: {reg}\n")
        self.spawn(["docker-registry", "serve", yml], "registry.log")
        wait_for(lambda: self.listening(port), 20, "docker-registry")
        return reg

    def ukd(self):
        sock = os.path.join(self.top, "ukd.sock")
        self.spawn([os.path.join(self.build, "bin/ukd"), "--root", self.top + "/ukd", "--host",
                    "unix://" + sock, "--accelerator", "tcg", "--log-level", "warn"], "ukd.log")
        wait_for(lambda: os.path.exists(sock), 30, "ukd's socket")
        self.uk_env = dict(os.environ, UK_HOST="unix://" + sock, UK_CONFIG=self.top + "/ukcfg")

    def uk(self, *args):
        p = subprocess.run([os.path.join(self.build, "bin/uk"), *args], capture_output=True,
                           text=True, env=self.uk_env, timeout=300)
        if p.returncode:
            raise AssertionError(f"uk {' '.join(args)}: {p.stderr}")
        return p.stdout

    def guest_image(self, reg, name, cmd):
        """uk build of runuk/tests/guest.c with CMD (cmd), pushed as REG/NAME."""
        ctx = os.path.join(self.top, "ctx-" + name.replace("/", "_").replace(":", "_"))
        os.makedirs(ctx)
        shutil.copy(os.path.join(self.repo, "runuk/tests/guest.c"), ctx)
        with open(os.path.join(ctx, "Ukfile"), "w") as f:
            f.write("FROM uk/runtime:1\nSOURCES guest.c\nCMD [%s]\n" %
                    ", ".join('"%s"' % c for c in cmd))
        ref = f"{reg}/{name}"
        self.uk("build", "-q", "-t", ref, ctx)
        self.uk("push", ref)
        return ref

    def push_context(self, reg, name, ctx):
        ref = f"{reg}/{name}"
        self.uk("build", "-q", "-t", ref, ctx)
        self.uk("push", ref)
        return ref

    def busybox_image(self):
        """A Linux image made here from busybox-static (no internet): docker import."""
        root = os.path.join(self.top, "bb")
        os.makedirs(root + "/bin")
        shutil.copy("/bin/busybox", root + "/bin/busybox")
        for applet in ("sh", "echo", "true", "sleep"):
            os.symlink("busybox", f"{root}/bin/{applet}")
        tar = os.path.join(self.top, "bb.tar")
        subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True)
        r = self.docker("import", tar, "busybox-local:1")
        if r.returncode:
            raise AssertionError(f"docker import: {r.stderr}")
        return "busybox-local:1"

    def containerd(self):
        d = os.path.join(self.top, "ctd")
        os.makedirs(d)
        self.ctd_sock = os.path.join(d, "sock")
        cfg = os.path.join(d, "config.toml")
        with open(cfg, "w") as f:
            f.write(f"""version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.ctd_sock}"
[ttrpc]
  address = "{self.ctd_sock}.ttrpc"
[debug]
  address = "{d}/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
""")
        self.spawn(["containerd", "--config", cfg], "containerd.log")
        wait_for(lambda: os.path.exists(self.ctd_sock), 30, "containerd's socket")

    def dockerd(self, runuk, extra_json=None, ns=None, name="docker"):
        """A private dockerd in the test's namespace (or (ns)): own data root, exec root,
        socket, config; runtime "uk" = (runuk). Returns a docker(*args) for it."""
        import json
        d = os.path.join(self.top, name)
        os.makedirs(d)
        sock = os.path.join(d, "docker.sock")
        self.docker_sock = getattr(self, "docker_sock", sock)
        cfg = {"runtimes": {"uk": {"path": runuk}}, "storage-driver": "vfs"}
        cfg.update(extra_json or {})
        with open(os.path.join(d, "daemon.json"), "w") as f:
            json.dump(cfg, f)
        self.spawn(["dockerd", "--config-file", d + "/daemon.json", "--data-root", d + "/data",
                    "--exec-root", d + "/exec", "--pidfile", d + "/docker.pid", "-H",
                    "unix://" + sock], name + "d.log", ns=ns)

        def docker(*args, timeout=300):
            return subprocess.run(self.inns(["/usr/bin/docker", "-H", "unix://" + sock, *args],
                                            ns), capture_output=True, text=True,
                                  timeout=timeout)

        wait_for(lambda: docker("version").returncode == 0, 90, name + "d")
        return docker

    def docker(self, *args, timeout=300):
        return subprocess.run(self.inns(["/usr/bin/docker", "-H", "unix://" + self.docker_sock,
                                         *args]), capture_output=True, text=True,
                              timeout=timeout)

    def ctr(self, *args, timeout=300):
        return subprocess.run(["ctr", "--address", self.ctd_sock, "--namespace", "runuk", *args],
                              capture_output=True, text=True, timeout=timeout)

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        for ns in self.all_ns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if os.environ.get("RUNUK_KEEP"):
            print("kept", self.top)
        else:
            subprocess.run(["umount", "-R", "-l", self.top], stderr=subprocess.DEVNULL)
            shutil.rmtree(self.top, ignore_errors=True)


def main(run):
    """Runs (run)(env) with skips as exit 77 and failures as 1."""
    build, repo = sys.argv[1], sys.argv[2]
    env = None
    try:
        env = Env(build, repo)
        run(env)
        return 0
    except Skip as e:
        print("SKIP:", e)
        return 77
    except AssertionError as e:
        print("FAIL:", e)
        for log in ("containerd.log", "dockerd.log", "docker2d.log", "ukd.log"):
            p = os.path.join(env.top, log) if env else ""
            if p and os.path.exists(p):
                print(f"--- {log} (tail)")
                print("".join(open(p).readlines()[-30:]))
        return 1
    finally:
        if env:
            env.close()
