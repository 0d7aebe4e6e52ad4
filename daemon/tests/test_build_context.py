"""Hostile build contexts through POST /v1/images/build: a tar bomb (a huge entry, too many
entries), an absolute path, "..", symlinks and hardlinks leading out, a path through a symlink,
device nodes and fifos are each refused with 400 or 413 and a message naming the entry; nothing
is written outside the context, no temp dir or blob is left, the daemon still serves."""
import io
import os
import tarfile

from ukdtest import check, run

UKFILE = b"SOURCES main.c\n"
MAIN = b"int main(void) { return 0; }\n"


def entry(t, name, kind=tarfile.REGTYPE, data=b"", **kw):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    for k, v in kw.items():
        setattr(ti, k, v)
    if kind == tarfile.REGTYPE and "size" not in kw:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)  # header only: a special file, or a size the data never follows


def context(*hostile):
    """A valid context (Ukfile, main.c) followed by the hostile entries: (name, kind, kw)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        entry(t, "Ukfile", data=UKFILE)
        entry(t, "main.c", data=MAIN)
        for name, kind, kw in hostile:
            entry(t, name, kind, **kw)
    return buf.getvalue()


def many_entries(n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        entry(t, "Ukfile", data=UKFILE)
        entry(t, "main.c", data=MAIN)
        for i in range(n):
            entry(t, "f/%05d" % i)
    return buf.getvalue()


def leftovers(d):
    """Temp dirs and blobs under the daemon's root that a refused build must not leave."""
    img = os.path.join(d.root, "images")
    out = [os.path.join(img, "tmp", n) for n in os.listdir(os.path.join(img, "tmp"))]
    for dirpath, _, files in os.walk(os.path.join(img, "blobs")):
        out += [os.path.join(dirpath, f) for f in files]
    return out


def refused(d, what, body, status, words):
    r = d.req("POST", "/v1/images/build?t=hostile", body=body,
              headers={"Content-Type": "application/x-tar"})
    check(r.status == status, "%s: expected %d, got %r" % (what, status, r))
    msg = r.json().get("message", "")
    for w in words:
        check(w in msg, "%s: message %r does not mention %r" % (what, msg, w))
    d.ping()
    check(d.req("GET", "/v1/images/hostile").status == 404, "%s: an image was stored" % what)
    check(not leftovers(d), "%s: left %s" % (what, leftovers(d)))
    print("%s -> %d %s" % (what, r.status, msg))


def main(d):
    canary = os.path.join(os.path.dirname(d.root), "ukt-escaped-%d" % os.getpid())
    rel_out = "../" * 12 + canary.lstrip("/")
    cases = [
        ("huge entry (tar bomb)", context(("big", tarfile.REGTYPE, {"size": 300 << 20})),
         413, ["big"]),
        ("too many entries", many_entries(10001), 413, ["entries"]),
        ("absolute path", context((canary, tarfile.REGTYPE, {})), 400, ["absolute"]),
        ("dot-dot path", context((rel_out, tarfile.REGTYPE, {})), 400, [".."]),
        ("symlink leading out", context(("out", tarfile.SYMTYPE, {"linkname": rel_out})),
         400, ["out"]),
        ("absolute symlink", context(("abs", tarfile.SYMTYPE, {"linkname": "/etc"})),
         400, ["abs"]),
        ("path through a symlink", context(("s", tarfile.SYMTYPE, {"linkname": "."}),
                                           ("s/x", tarfile.REGTYPE, {})), 400, ["s/x"]),
        ("hardlink leading out", context(("h", tarfile.LNKTYPE, {"linkname": "/etc/passwd"})),
         400, ["h"]),
        ("hardlink up", context(("h2", tarfile.LNKTYPE, {"linkname": rel_out})), 400, ["h2"]),
        ("character device", context(("tty", tarfile.CHRTYPE, {"devmajor": 5, "devminor": 0})),
         400, ["tty"]),
        ("block device", context(("sda", tarfile.BLKTYPE, {"devmajor": 8, "devminor": 0})),
         400, ["sda"]),
        ("fifo", context(("pipe", tarfile.FIFOTYPE, {})), 400, ["pipe"]),
        ("not a tar", b"x" * 4096, 400, []),
    ]
    for what, body, status, words in cases:
        refused(d, what, body, status, words)
        check(not os.path.lexists(canary), "%s: wrote %s outside the context" % (what, canary))
    # The same context without the hostile entry builds.
    r = d.req("POST", "/v1/images/build?t=fine", body=context(),
              headers={"Content-Type": "application/x-tar"})
    check(r.status == 200 and "aux" in r.lines()[-1], "clean context: %r" % r)


run(main)
