"""Volumes end to end on real libvirt + QEMU (TCG) through the CLI and REST: the counter run with
-v three times prints 1, 2, 3 (--mount and the qemu backend go on); read-only mounts refuse writes and leave the
volume as it was; `uk volume rm` of a volume in use is 409 naming the instance (force never
for a running one); two writers refused, two read-only readers allowed; export/import round trip
byte-identical; hostile archives (.., absolute, symlink, hardlink, huge size claim) refused with
the volume unchanged; a full tiny volume gives the guest ENOSPC and stays sound; QEMU killed
with SIGKILL while the guest commits records loses none it printed; volumes outlive uk rm, a
restart and kill -9 of ukd.
usage: test_volumes.py UKD UK UKKV"""
import hashlib
import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

from ukdtest import (SRC, HERE, UnixHTTPConnection, check, fail, require_qemu, run, skip_under_asan,
                     uk_cli, wait_until)

COUNTER = os.path.join(SRC, "images", "examples", "counter")
GUEST = os.path.join(HERE, "guest_volume")
KV_GUEST = os.path.join(SRC, "tests", "storage", "kv_guest.c")
UK = sys.argv[2] if len(sys.argv) > 2 else None
UKKV = sys.argv[3] if len(sys.argv) > 3 else None
CRASH_ROUNDS = 5


def uk(d, *args, timeout=180):
    return uk_cli(UK, d, *args, timeout=timeout)


def uk_ok(d, *args, timeout=180):
    p = uk(d, *args, timeout=timeout)
    check(p.returncode == 0, "uk %s: exit %d\n%s%s" % (" ".join(args), p.returncode, p.out, p.err))
    return p


def img_path(d, name):
    return os.path.join(d.root, "volumes", name, "data.img")


def ukkv(*args):
    p = subprocess.run([UKKV, *args], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_tar(entries):
    """entries: (name, kind, data_or_link); kind f (file), d (dir), l (symlink), h (hardlink)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.type = {"f": tarfile.REGTYPE, "d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE,
                       "h": tarfile.LNKTYPE}[kind]
            if kind == "f":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                if kind in "lh":
                    ti.linkname = data
                t.addfile(ti)
    return buf.getvalue()


def tar_files(blob):
    with tarfile.open(fileobj=io.BytesIO(blob)) as t:
        return {m.name.rstrip("/"): (t.extractfile(m).read() if m.isfile() else None)
                for m in t.getmembers()}


def export(d, name):
    r = d.req("GET", "/v1/volumes/%s/export" % name)
    check(r.status == 200, "export %s: %r" % (name, r))
    return r.body


def import_(d, name, blob):
    return d.req("POST", "/v1/volumes/%s/import" % name, body=blob,
                 headers={"Content-Type": "application/x-tar"})


def wait_log(d, ref, pattern, timeout=120):
    return wait_until(lambda: re.search(pattern, d.logs(ref)), timeout,
                      "%s: console line %r" % (ref, pattern))


def test_counter(d):
    outs = []
    for _ in range(3):
        p = uk_ok(d, "run", "--rm", "-v", "cnt:/data", "counter")
        outs.append(p.out.strip().splitlines()[-1])
    check(outs == ["1", "2", "3"], "counter with -v cnt:/data printed %s" % outs)
    p = uk_ok(d, "run", "--rm", "--mount", "type=volume,src=cnt,dst=/data", "counter")
    check(p.out.strip().splitlines()[-1] == "4", "counter with --mount: %r" % p.out)
    # the other backend: ukd runs QEMU itself (ukvmm), the same disk and mount=
    p = uk_ok(d, "run", "--rm", "--backend", "qemu", "-v", "cnt:/data", "counter")
    check(p.out.strip().splitlines()[-1] == "5", "counter on the qemu backend: %r" % p.out)
    # the instances are gone (--rm), the volume and its count are not
    check(not uk_ok(d, "ps", "-aq").out.strip(), "instances left: %r" % uk(d, "ps", "-a").out)
    check("cnt" in uk_ok(d, "volume", "ls", "-q").out.split(), "volume cnt gone after uk rm")
    rc, out, _ = ukkv("get", img_path(d, "cnt"), "f/count")
    check(rc == 0 and out == b"5\n", "ukkv get f/count: %d %r" % (rc, out))
    print("counter: 1, 2, 3 with -v, 4 with --mount, 5 on the qemu backend; the volume "
          "outlives uk rm")


def test_read_only(d):
    before = sha(img_path(d, "cnt"))
    p = uk(d, "run", "--rm", "-v", "cnt:/data:ro", "uktest-volume", "write")
    check(p.returncode == 1 and "Read-only file system" in p.out,
          "a write on a :ro mount: exit %d %r %r" % (p.returncode, p.out, p.err))
    p = uk(d, "run", "--rm", "--mount", "type=volume,src=cnt,dst=/data,readonly", "counter")
    check(p.returncode == 1 and "Read-only file system" in p.out,
          "counter on a readonly --mount: exit %d %r" % (p.returncode, p.out))
    check(sha(img_path(d, "cnt")) == before, "a read-only mount changed the volume file")
    print("read-only: the guest's writes fail with EROFS, the volume file is unchanged")


def test_in_use(d):
    uk_ok(d, "create", "--name", "holder", "-v", "cnt:/data", "counter")
    p = uk(d, "volume", "rm", "cnt")
    check(p.returncode == 1 and "holder" in p.err and "in use" in p.err,
          "volume rm of a volume a created instance uses: %d %r" % (p.returncode, p.err))
    r = d.req("DELETE", "/v1/volumes/cnt")
    check(r.status == 409 and "holder" in r.json()["message"], "DELETE in use: %r" % r)
    iv = d.req("GET", "/v1/volumes/cnt").json()
    check(iv["used_by"] == ["holder"], "inspect used_by: %r" % iv)
    # force removes a volume only stopped instances use; never a running one's
    uk_ok(d, "create", "--name", "holder2", "-v", "spare:/data", "counter")
    uk_ok(d, "volume", "rm", "-f", "spare")
    check(d.req("GET", "/v1/volumes/spare").status == 404, "rm -f left spare")
    uk_ok(d, "rm", "holder2")
    uk_ok(d, "run", "-d", "--name", "sleeper", "-v", "busy:/data", "uktest-volume")
    wait_log(d, "sleeper", r"up: ")
    r = d.req("DELETE", "/v1/volumes/busy?force=1")
    check(r.status == 409 and "sleeper" in r.json()["message"], "rm -f of a running one: %r" % r)
    r = d.req("POST", "/v1/volumes/prune")
    check(r.status == 200 and "busy" not in r.json()["volumes_deleted"] and
          "cnt" not in r.json()["volumes_deleted"], "prune removed a volume in use: %r" % r)
    # targets the guest cannot mount: 400 at create, no instance and no volume made
    for targets in (["/da ta"], ["/data", "/data/sub"], ["/x" * 40]):
        r = d.req("POST", "/v1/instances", body={"image": "counter", "mounts": [
            {"type": "volume", "source": "nv%d" % i, "target": t} for i, t in enumerate(targets)]})
        check(r.status == 400 and "target" in r.json()["message"], "targets %s: %r" % (targets, r))
    r = d.req("POST", "/v1/instances", body={"image": "counter", "mounts": [
        {"type": "volume", "source": "nv", "target": t} for t in ("/a", "/b")]})
    check(r.status == 400 and "twice" in r.json()["message"], "one volume at two targets: %r" % r)
    check(not [v for v in d.req("GET", "/v1/volumes").json() if v["name"].startswith("nv")],
          "a refused create made a volume")
    print("in use: rm 409 naming the instance; -f for stopped users only; prune keeps them")


def test_writers(d):
    # sleeper (running) writes busy: nobody else may mount it, read-write or read-only
    uk_ok(d, "create", "--name", "w2", "-v", "busy:/data", "uktest-volume")
    r = d.req("POST", "/v1/instances/w2/start")
    check(r.status == 409 and "sleeper" in r.json()["message"], "second writer: %r" % r)
    check(d.inspect("w2")["state"]["status"] == "created", "the refused writer is not created")
    uk_ok(d, "create", "--name", "r0", "-v", "busy:/data:ro", "uktest-volume")
    r = d.req("POST", "/v1/instances/r0/start")
    check(r.status == 409 and "sleeper" in r.json()["message"], "reader beside a writer: %r" % r)
    # export refuses while a writer runs, import while anyone mounts it
    r = d.req("GET", "/v1/volumes/busy/export")
    check(r.status == 409 and "sleeper" in r.json()["message"], "export with a writer: %r" % r)
    r = import_(d, "busy", make_tar([("x", "f", b"x")]))
    check(r.status == 409, "import with a writer: %r" % r)
    uk_ok(d, "rm", "-f", "sleeper", "w2", "r0")
    # two read-only readers together; then no writer
    for n in ("r1", "r2"):
        uk_ok(d, "run", "-d", "--name", n, "-v", "busy:/data:ro", "uktest-volume")
    for n in ("r1", "r2"):
        wait_log(d, n, r"up: ")
        check(d.inspect(n)["state"]["running"], "%s not running" % n)
    uk_ok(d, "create", "--name", "w3", "-v", "busy:/data", "uktest-volume")
    r = d.req("POST", "/v1/instances/w3/start")
    check(r.status == 409 and re.search("r1|r2", r.json()["message"]), "writer beside readers: %r" % r)
    export(d, "busy")  # readers do not block an export
    uk_ok(d, "rm", "-f", "r1", "r2", "w3")
    print("writers: a second writer and a reader beside a writer 409; two readers run together")


def test_export_import(d):
    rnd = random.Random(13)
    files = {"hello": b"hello from the host\n", "bin/blob": bytes(rnd.randrange(256) for _ in
                                                                      range(300000)),
             "a/b/c/deep.txt": b"deep\n", "empty": b""}
    blob = make_tar([("a", "d", None), ("a/b", "d", None), ("a/b/c", "d", None),
                     ("bin", "d", None), ("keep", "d", None)] +
                    [(n, "f", v) for n, v in files.items()])
    uk_ok(d, "volume", "create", "--opt", "size=8m", "--label", "k=v", "src")
    r = import_(d, "src", blob)
    check(r.status == 204, "import: %r" % r)
    got = tar_files(export(d, "src"))
    for n, v in files.items():
        check(got.get(n) == v, "export: %s differs (%r)" % (n, (got.get(n) or b"")[:40]))
    check("keep" in got and got["keep"] is None, "the empty directory is gone: %r" % list(got))
    # through the CLI: export to a file, import into another volume, the same archive again
    tmp = tempfile.mkdtemp(prefix="ukt-vol-")
    try:
        x = os.path.join(tmp, "x.tar")
        uk_ok(d, "volume", "export", "-o", x, "src")
        uk_ok(d, "volume", "create", "dst")
        uk_ok(d, "volume", "import", "-i", x, "dst")
        with open(x, "rb") as f:
            check(export(d, "dst") == f.read(), "export, import, export: archives differ")
    finally:
        shutil.rmtree(tmp)
    # the guest sees the imported files
    p = uk_ok(d, "run", "-d", "--name", "seer", "-v", "src:/data:ro", "uktest-volume")
    wait_log(d, "seer", r"up: /data/hello exists")
    uk_ok(d, "rm", "-f", "seer")
    check(d.req("GET", "/v1/volumes/src").json()["labels"] == {"k": "v"}, "labels lost")
    print("export/import: %d files byte-identical, export-import-export the same archive" %
          len(files))


def test_hostile(d):
    img = img_path(d, "src")
    before, snap = sha(img), export(d, "src")
    huge = bytearray(make_tar([("big", "f", b"")]))
    # a header claiming 100 GiB (octal size field, checksum fixed)
    hdr = huge[:512]
    hdr[124:136] = b"%011o\0" % (100 << 30)
    hdr[148:156] = b" " * 8
    hdr[148:156] = b"%06o\0 " % sum(hdr)
    huge[:512] = hdr
    cases = [("dotdot", make_tar([("../x", "f", b"x")]), 400),
             ("absolute", make_tar([("/etc/x", "f", b"x")]), 400),
             ("symlink", make_tar([("l", "l", "hello"), ("z", "f", b"z")]), 400),
             ("symlink out", make_tar([("l", "l", "/etc/passwd")]), 400),
             ("hardlink", make_tar([("z", "f", b"z"), ("h", "h", "z")]), 400),
             ("file over a directory", make_tar([("a", "f", b"x")]), 400),
             ("huge size claim", bytes(huge), 413),
             ("over the volume", make_tar([("f%d" % i, "f", os.urandom(1 << 20))
                                           for i in range(5)]), 413),
             ("garbage", b"\x01" * 1024, 400)]
    for what, blob, status in cases:
        r = import_(d, "src", blob)
        check(r.status == status, "hostile tar (%s): want %d, got %r" % (what, status, r))
        check(sha(img) == before, "hostile tar (%s) changed the volume" % what)
    check(export(d, "src") == snap, "the volume's files changed")
    print("hostile archives: %d refused (400/413), the volume byte for byte as before" % len(cases))


def test_all_keys(d):
    """Keys outside f/ (programs on uk/kv.h) travel as .ukkv/NAME, escaped, and come back."""
    uk_ok(d, "volume", "create", "--opt", "size=4m", "keys")
    img = img_path(d, "keys")
    check(import_(d, "keys", make_tar([("doc", "f", b"a file\n")])).status == 204, "seed keys")
    keys = {"rec/00000001": b"one", "a": b"", "%odd key/./..": b"odd", ".hidden": b"h",
            "ctl\x01x": b"\x00\x01", "g/" + "k" * 240: b"long"}
    for k, v in keys.items():
        p = subprocess.run([UKKV, "put", img, k], input=v, capture_output=True, timeout=60)
        check(p.returncode == 0, "ukkv put %r: %s" % (k, p.stderr))
    blob = export(d, "keys")
    got = tar_files(blob)
    check(got.get("doc") == b"a file\n", "the file is not exported: %r" % list(got))
    check(got.get(".ukkv/rec%2F00000001") == b"one" and got.get(".ukkv/%25odd key%2F.%2F..") ==
          b"odd" and got.get(".ukkv/%2Ehidden") == b"h" and got.get(".ukkv/ctl%01x") ==
          b"\x00\x01" and got.get(".ukkv/a") == b"", "keys outside f/ in the archive: %r" %
          sorted(got))
    uk_ok(d, "volume", "create", "--opt", "size=4m", "keys2")
    check(import_(d, "keys2", blob).status == 204, "import of every key")
    for k, v in keys.items():
        rc, out, err = ukkv("get", img_path(d, "keys2"), k)
        check(rc == 0 and out == v, "key %r after import: %d %r %s" % (k, rc, out, err))
    check(export(d, "keys2") == blob, "every key: export, import, export differ")
    # what .ukkv/ may hold: escaped keys outside f/, files only
    before = sha(img_path(d, "keys2"))
    for what, entries in [("a file key", [(".ukkv/f%2Fx", "f", b"x")]),
                          ("a bad escape", [(".ukkv/%zz", "f", b"x")]),
                          ("a directory", [(".ukkv/sub", "d", None), (".ukkv/sub/x", "f", b"")]),
                          ("the name as a file", [(".ukkv", "f", b"x")])]:
        r = import_(d, "keys2", make_tar(entries))
        check(r.status == 400 and ".ukkv" in r.json()["message"], "%s under .ukkv: %r" % (what, r))
        check(sha(img_path(d, "keys2")) == before, "%s under .ukkv changed the volume" % what)
    # a guest file at /data/.ukkv would be ambiguous: the export refuses it, naming the key
    p = subprocess.run([UKKV, "put", img, "f/.ukkv"], input=b"x", capture_output=True, timeout=60)
    r = d.req("GET", "/v1/volumes/keys/export")
    check(r.status == 422 and "f/.ukkv" in r.json()["message"], "file .ukkv exported: %r" % r)
    uk_ok(d, "volume", "rm", "keys", "keys2")
    print("every key: %d outside f/ exported as .ukkv/NAME and imported back; 4 bad .ukkv "
          "entries refused" % len(keys))


def test_export_busy(d):
    """An export runs outside the volumes lock: while its client has not read it all, another
    volume's instance starts and finishes; rm and import of the exported volume are 409."""
    files = {"f%d" % i: os.urandom(4 << 20) for i in range(6)}  # 24 MiB: far over the buffers
    uk_ok(d, "volume", "create", "--opt", "size=64m", "bigx")
    check(import_(d, "bigx", make_tar([(n, "f", v) for n, v in files.items()])).status == 204,
          "seed bigx")
    c = UnixHTTPConnection(d.sock, 300)
    try:
        c.request("GET", "/v1/volumes/bigx/export")
        r = c.getresponse()
        check(r.status == 200, "export bigx: %d" % r.status)
        head = r.read(65536)  # then the client stops reading: the export stays in progress
        p = uk_ok(d, "run", "--rm", "-v", "other:/data", "counter", timeout=300)
        check(p.out.strip().splitlines()[-1] == "1", "a start during an export: %r" % p.out)
        r2 = d.req("DELETE", "/v1/volumes/bigx")
        check(r2.status == 409 and "export" in r2.json()["message"], "rm during export: %r" % r2)
        r2 = import_(d, "bigx", make_tar([("x", "f", b"x")]))
        check(r2.status == 409 and "export" in r2.json()["message"],
              "import during export: %r" % r2)
        uk_ok(d, "create", "--name", "bw", "-v", "bigx:/data", "uktest-volume")
        r2 = d.req("POST", "/v1/instances/bigx/start".replace("bigx", "bw"))
        check(r2.status == 409 and "export" in r2.json()["message"],
              "a writer during export: %r" % r2)
        uk_ok(d, "rm", "bw")
        rest = r.read()
    finally:
        c.close()
    got = tar_files(head + rest)
    check(all(got.get(n) == v for n, v in files.items()), "the export read slowly differs")
    # done: the volume is free again (the mark goes once the reply is finished)
    wait_until(lambda: d.req("DELETE", "/v1/volumes/bigx").status == 204, 60,
               "rm bigx after its export")
    print("export outside the lock: a start finished while 24 MiB were half read; rm, import "
          "and a writer 409 meanwhile; the archive whole")


def test_full(d):
    uk_ok(d, "volume", "create", "--opt", "size=1m", "tiny")
    p = uk(d, "run", "--rm", "-v", "tiny:/data", "uktest-volume", "fill")
    check(p.returncode == 0 and "full: ENOSPC as expected" in p.out,
          "fill a 1m volume: exit %d %r" % (p.returncode, p.out))
    rc, out, err = ukkv("check", img_path(d, "tiny"))
    check(rc == 0, "ukkv check after ENOSPC: %s" % err)
    rc, out, _ = ukkv("get", img_path(d, "tiny"), "f/small")
    check(rc == 0 and out == b"s" * 1000, "the file before the full one: %d %r" % (rc, out[:20]))
    rc, _, _ = ukkv("get", img_path(d, "tiny"), "f/big")
    check(rc != 0, "the file that did not fit is in the store")
    print("full disk: ENOSPC in the guest, ukkv check clean, the earlier file whole")


def test_crash(d):
    last = 0
    img = img_path(d, "crash")
    for rnd in range(1, CRASH_ROUNDS + 1):
        name = "crash%d" % rnd
        uk_ok(d, "run", "-d", "--name", name, "-v", "crash:/data", "uktest-kv", "records")
        wait_log(d, name, r"committed \d+")
        time.sleep(random.random())
        pid = d.inspect(name)["state"]["pid"]
        check(pid > 0, "no QEMU pid for %s" % name)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not d.inspect(name)["state"]["running"], 60, "%s to stop" % name)
        log = d.logs(name)
        check("FAIL" not in log, "round %d: %s" % (rnd, log[-500:]))
        m = re.search(r"verified (\d+) records", log)
        check(m and int(m.group(1)) >= last, "round %d: verified %s, %d were committed" %
              (rnd, m and m.group(1), last))
        lines = log.splitlines()
        if log and not log.endswith("\n"):
            lines = lines[:-1]  # SIGKILL may cut the last line short
        nums = [int(x) for x in re.findall(r"^committed (\d+)$", "\n".join(lines), re.M)]
        last = max(nums + [int(m.group(1))])
        rc, out, err = ukkv("check", img)
        check(rc == 0, "round %d: ukkv check: %s" % (rnd, err))
        rc, out, _ = ukkv("ls", img, "rec/")
        n = len(out.splitlines())
        check(last <= n <= last + 1, "round %d: %d records on disk, %d committed" % (rnd, n, last))
        uk_ok(d, "rm", name)
        print("crash round %d: committed to %d, QEMU killed, %d on disk" % (rnd, last, n))


def test_daemon_restarts(d):
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.start()
    check("cnt" in uk_ok(d, "volume", "ls", "-q").out.split(), "cnt gone after kill -9 of ukd")
    p = uk_ok(d, "run", "--rm", "-v", "cnt:/data", "counter")
    check(p.out.strip().splitlines()[-1] == "6", "after kill -9 of ukd: %r" % p.out)
    d.proc.send_signal(signal.SIGTERM)
    d.proc.wait(timeout=120)
    d.start()
    p = uk_ok(d, "run", "--rm", "-v", "cnt:/data", "counter")
    check(p.out.strip().splitlines()[-1] == "7", "after a restart of ukd: %r" % p.out)
    check(d.req("GET", "/v1/volumes/holder").status == 404, "a volume named like the instance?")
    check(d.req("DELETE", "/v1/volumes/cnt").status == 409, "holder's claim lost in restarts")
    print("volumes outlive kill -9 and a restart of ukd (count 6, 7)")


def main(d):
    require_qemu()
    skip_under_asan(d.ukd, "volume tests")
    if not UK or not UKKV:
        fail("usage: test_volumes.py UKD UK UKKV")
    d.build_ok(COUNTER, "counter")
    d.build_ok(GUEST, "uktest-volume")
    ctx = tempfile.mkdtemp(prefix="ukt-kv-")
    try:
        shutil.copy(KV_GUEST, os.path.join(ctx, "main.c"))
        with open(os.path.join(ctx, "Ukfile"), "w") as f:
            f.write("FROM uk/runtime:1\nSOURCES main.c\nLIBS block\nMEMORY 32M\n")
        d.build_ok(ctx, "uktest-kv")
    finally:
        shutil.rmtree(ctx)
    test_counter(d)
    test_read_only(d)
    test_in_use(d)
    test_writers(d)
    test_export_import(d)
    test_hostile(d)
    test_all_keys(d)
    test_export_busy(d)
    test_full(d)
    test_crash(d)
    test_daemon_restarts(d)


if __name__ == "__main__":
    run(main)
