"""docs/cli.md's examples against a real ukd: every fenced block of `$ uk ...` lines whose
commands need only the images this test builds (hello, counter) runs in order, in one daemon,
from the source tree; what each prints must be what the doc shows, with ids (12 or 64 hex
digits) and sizes (8.19kB) as placeholders and a `...` line standing for any lines. Blocks
that need ports, networks, registries or images the doc only imagines are listed as skipped.
usage: test_docs_examples.py UKD UK"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "daemon", "tests"))
from ukdtest import SRC, check, require_qemu, run  # noqa: E402

UK = sys.argv[2] if len(sys.argv) > 2 else None
DOC = os.path.join(SRC, "docs", "cli.md")
# what a runnable block must not need (stats and top show measurements of guests the doc
# imagines, different at every run)
NEEDS = re.compile(r"-p |curl|site|httpd|reader|seed|port web|network|push|pull|login|-H |"
                   r"uk stats|uk top")


def blocks():
    """(line, [(command, [expected lines])]) for each fenced block holding `$ ` lines."""
    out, cur, start, ind = [], None, 0, ""
    for n, line in enumerate(open(DOC).read().split("\n"), 1):
        s = line.strip()
        if s.startswith("```"):
            if cur is None:
                cur, start, ind = [], n, line[:len(line) - len(line.lstrip())]
            else:
                if any(c.startswith("$ ") for c in cur):
                    out.append((start, cur))
                cur = None
            continue
        if cur is not None:
            cur.append(line[len(ind):] if line.startswith(ind) else line)
    res = []
    for start, lines in out:
        cmds = []
        for line in lines:
            if line.startswith("$ "):
                cmds.append((line[2:], []))
            elif cmds:
                cmds[-1][1].append(line)
        res.append((start, cmds))
    return res


def norm(text):
    text = re.sub(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b", "<ID>", text)
    text = re.sub(r"\(\d+ bytes\)", "(<N> bytes)", text)
    return re.sub(r"\b[0-9.]+[kMG]?B\b", "<SIZE>", text)


def matches(want, got):
    """(want) lines, where '...' is any number of lines, against (got) lines."""
    if not want:
        return not got
    if want[0] == "...":
        return any(matches(want[1:], got[i:]) for i in range(len(got) + 1))
    return bool(got) and norm(want[0].rstrip()) == norm(got[0].rstrip()) and \
        matches(want[1:], got[1:])


def main(d):
    require_qemu()
    env = dict(os.environ, UK_HOST="unix://" + d.sock, LC_ALL="C.UTF-8",
               PATH=os.path.dirname(os.path.abspath(UK)) + ":" + os.environ["PATH"])
    subprocess.run([UK, "build", "-q", "-t", "counter", "images/examples/counter"], cwd=SRC,
                   env=env, check=True, capture_output=True)
    ran = 0
    for start, cmds in blocks():
        if any(NEEDS.search(c) or not (c.startswith("uk ") or c == "echo $?") for c, _ in cmds):
            print("skipped docs/cli.md:%d (%s)" % (start, cmds[0][0]))
            continue
        last = 0
        for cmd, want in cmds:
            if cmd == "echo $?":
                got = ["%d" % last]
            else:
                p = subprocess.run(["bash", "-c", cmd], cwd=SRC, env=env, capture_output=True,
                                   timeout=300)
                last = p.returncode
                got = p.stdout.decode(errors="replace").rstrip("\n").split("\n")
                got = [] if got == [""] else got
                check(p.returncode == 0, "docs/cli.md:%d: %s: exit %d: %s" %
                      (start, cmd, p.returncode, p.stderr.decode(errors="replace")))
            check(matches(want, got), "docs/cli.md:%d: `%s` prints\n%s\nthe doc shows\n%s" %
                  (start, cmd, "\n".join(got), "\n".join(want)))
        ran += 1
        print("ok docs/cli.md:%d (%d commands)" % (start, len(cmds)))
    check(ran >= 4, "only %d example blocks ran" % ran)


run(main)
