"""Failed builds: a compile error streams the compiler's message and leaves no image and no blob;
a bad Ukfile is a 400 naming its line; an oversized one a 413 that does not show the daemon's
root; a later good build still works."""
import os
import shutil
import tempfile

from ukdtest import SRC, check, require_qemu, run, tar_dir

HELLO = os.path.join(SRC, "images", "examples", "hello")


def blobs(d):
    out = []
    for dirpath, _, files in os.walk(os.path.join(d.root, "images")):
        if "tmp" not in dirpath.split(os.sep):
            out += [os.path.join(dirpath, f) for f in files]
    return sorted(out)


def main(d):
    ctx = tempfile.mkdtemp(prefix="ukt-ctx-")
    try:
        with open(os.path.join(ctx, "Ukfile"), "w") as f:
            f.write("SOURCES main.c\n")
        with open(os.path.join(ctx, "main.c"), "w") as f:
            f.write("int main(void) { return undeclared_thing; }\n")
        lines = d.build(ctx, "broken")
        last = lines[-1]
        text = "".join(l.get("stream", "") for l in lines)
        check("error" in last and "compile" in last["error"], "compile error result: %s" % last)
        check("undeclared_thing" in text, "compiler output not streamed: %r" % text)
        check(d.req("GET", "/v1/images").json() == [], "a failed build left an image row")
        check(blobs(d) == [], "a failed build left blobs: %s" % blobs(d))
        check(d.req("GET", "/v1/images/broken").status == 404, "broken image resolvable")

        with open(os.path.join(ctx, "Ukfile"), "w") as f:
            f.write("SOURCES main.c\nMEMORY lots\n")
        # Refused before the compile: the reply is a 400, not a stream.
        r = d.req("POST", "/v1/images/build?t=badukfile", body=tar_dir(ctx),
                  headers={"Content-Type": "application/x-tar"})
        check(r.status == 400 and "Ukfile:2" in r.json()["message"], "Ukfile error: %r" % r)
        check(blobs(d) == [], "a bad Ukfile left blobs")

        with open(os.path.join(ctx, "Ukfile"), "w") as f:
            f.write("SOURCES main.c\n" + "# padding\n" * 120000)
        r = d.req("POST", "/v1/images/build?t=bigukfile", body=tar_dir(ctx),
                  headers={"Content-Type": "application/x-tar"})
        check(r.status == 413 and "Ukfile: larger than 1 MiB" in r.json()["message"],
              "oversized Ukfile: %r" % r)
        check(d.root not in r.json()["message"] and "/" not in r.json()["message"],
              "the 413 shows a path: %r" % r.json()["message"])
        check(blobs(d) == [], "an oversized Ukfile left blobs")
    finally:
        shutil.rmtree(ctx)
    d.build_ok(HELLO, "hello")
    check(len(d.req("GET", "/v1/images").json()) == 1, "good build after bad ones")
    # Removing the only image removes its blobs too.
    r = d.req("DELETE", "/v1/images/hello")
    check(r.status == 200 and any("deleted" in x for x in r.json()), "rmi: %r" % r)
    check(blobs(d) == [], "rmi left blobs: %s" % blobs(d))


if require_qemu() is None:
    run(main)
