"""docs/cli.md's examples against a real ukd: every fenced block of `$ ...` lines runs in order,
in one daemon, in a scratch directory where `images/` is the source tree's; what each prints
(stdout, and stderr too when the doc's last line for it is `uk: ...`, then a failing exit is
expected) must be
what the doc shows, with ids (12 or 64 hex digits), sizes (8.19kB, 40.11MiB), "N seconds" and
spacing as placeholders, a `...` line standing for any lines and a line ending in ` ...` for
any line it begins. The images the doc names are
the examples (website as site and httpd); host ports 8080 and 8081 are replaced by free ones;
every instance is removed between blocks. An HTML comment right before a block says more:
`<!-- example: setup CMD -->` runs CMD first (not shown), `<!-- example: numbers -->` also
takes every number as a placeholder (measurements), `<!-- example: skip REASON -->` skips it
with the reason printed. A `uk ps`/`uk stats` whose output does not match yet is retried for
up to 120 s (a health check that has not passed yet).
usage: test_docs_examples.py UKD UK"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "daemon", "tests"))
from ukdtest import SRC, check, free_port, require_qemu, run  # noqa: E402

UK = sys.argv[2] if len(sys.argv) > 2 else None
DOC = os.path.join(SRC, "docs", "cli.md")
DIRECTIVE = re.compile(r"<!-- example: (setup|numbers|skip)\b ?(.*?) -->")
RETRIED = re.compile(r"^uk (ps|stats)\b")


def blocks():
    """(line, [(command, [expected lines])], {directive: [args]}) for each fenced block holding
    `$ ` lines."""
    out, cur, start, ind, pending = [], None, 0, "", {}
    for n, line in enumerate(open(DOC).read().split("\n"), 1):
        s = line.strip()
        m = DIRECTIVE.match(s)
        if cur is None and m:
            pending.setdefault(m.group(1), []).append(m.group(2))
            continue
        if s.startswith("```"):
            if cur is None:
                cur, start, ind = [], n, line[:len(line) - len(line.lstrip())]
            else:
                if any(c.startswith("$ ") for c in cur):
                    out.append((start, cur, pending))
                cur, pending = None, {}
            continue
        if cur is not None:
            cur.append(line[len(ind):] if line.startswith(ind) else line)
        elif s:
            pending = {}
    res = []
    for start, lines, directives in out:
        cmds = []
        for line in lines:
            if line.startswith("$ "):
                cmds.append([line[2:], []])
            elif cmds and cmds[-1][0].endswith("\\") and not cmds[-1][1]:
                cmds[-1][0] = cmds[-1][0][:-1] + " " + line.strip()  # a continued command
            elif cmds:
                cmds[-1][1].append(line)
        res.append((start, cmds, directives))
    return res


def norm(text, numbers):
    text = re.sub(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b", "<ID>", text)
    text = re.sub(r"\(\d+ bytes\)", "(<N> bytes)", text)
    text = re.sub(r"\b[0-9.]+[kMGT]?i?B\b", "<SIZE>", text)
    text = re.sub(r"\b(\d+|a|an) (second|minute)s?\b", "<N> seconds", text)
    if numbers:
        text = re.sub(r"\d+(\.\d+)?", "<N>", text)
    return re.sub(r"  +", "  ", text.rstrip())


def matches(want, got, numbers):
    """(want) lines, where '...' is any number of lines, against (got) lines."""
    if not want:
        return not got
    if want[0] == "...":
        return any(matches(want[1:], got[i:], numbers) for i in range(len(got) + 1))
    if not got:
        return False
    w, g = norm(want[0], numbers), norm(got[0], numbers)
    # a line ending in " ..." stands for any line beginning with what precedes it
    return (w == g or (w.endswith(" ...") and g.startswith(w[:-4]))) and \
        matches(want[1:], got[1:], numbers)


def shell(cmd, cwd, env):
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True,
                          timeout=300)


def main(d):
    require_qemu()
    work = tempfile.mkdtemp(prefix="uk-docs-")
    os.symlink(os.path.join(SRC, "images"), os.path.join(work, "images"))
    env = dict(os.environ, UK_HOST="unix://" + d.sock, LC_ALL="C.UTF-8",
               PATH=os.path.dirname(os.path.abspath(UK)) + ":" + os.environ["PATH"])
    for cmd in ("uk build -q -t counter images/examples/counter",
                "uk build -q -t website images/examples/website",
                "uk tag website site", "uk tag website httpd"):
        p = shell(cmd, work, env)
        check(p.returncode == 0, "%s: %s" % (cmd, p.stderr.decode(errors="replace")))
    ports = {"8080": str(free_port()), "8081": str(free_port())}

    def local(text):
        return re.sub(r"\b(8080|8081)\b", lambda m: ports[m.group(1)], text)

    ran, skipped = 0, []
    for start, cmds, directives in blocks():
        if "skip" in directives:
            skipped.append(start)
            print("skipped docs/cli.md:%d (%s): %s" % (start, cmds[0][0],
                                                      directives["skip"][0]))
            continue
        p = shell("uk rm -f $(uk ps -aq) >/dev/null 2>&1; true", work, env)
        for cmd in directives.get("setup", []):
            p = shell(local(cmd), work, env)
            check(p.returncode == 0, "docs/cli.md:%d: setup `%s`: %s" %
                  (start, cmd, p.stderr.decode(errors="replace")))
        numbers = "numbers" in directives
        last = 0
        for cmd, want in cmds:
            want = [local(w) for w in want]
            errors = bool(want) and want[-1].startswith("uk: ")
            deadline = time.time() + (120 if RETRIED.match(cmd) else 0)
            while True:
                if cmd == "echo $?":
                    got = ["%d" % last]
                    break
                p = shell(local(cmd) + (" 2>&1" if errors else ""), work, env)
                last = p.returncode
                got = p.stdout.decode(errors="replace").rstrip("\n").split("\n")
                got = [] if got == [""] else got
                if matches(want, got, numbers) or time.time() >= deadline:
                    break
                time.sleep(1)
            if cmd != "echo $?":
                check((p.returncode != 0) == errors, "docs/cli.md:%d: %s: exit %d: %s" %
                      (start, cmd, p.returncode, p.stderr.decode(errors="replace")))
            check(matches(want, got, numbers),
                  "docs/cli.md:%d: `%s` prints\n%s\nthe doc shows\n%s" %
                  (start, cmd, "\n".join(got), "\n".join(want)))
        ran += 1
        print("ok docs/cli.md:%d (%d commands)" % (start, len(cmds)))
    shell("uk rm -f $(uk ps -aq) >/dev/null 2>&1; true", work, env)
    print("%d blocks ran, %d skipped (each with its reason above)" % (ran, len(skipped)))
    check(ran >= 10, "only %d example blocks ran" % ran)


run(main)
