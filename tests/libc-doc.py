#!/usr/bin/env python3
"""docs/libc.md against runtime-lib's headers: every header of the libc subset has a section
(### `NAME.h`) whose "Functions:" line names exactly the functions the header declares, and the
uk/ extension headers are all listed. --print writes the lists from the headers (to paste).
Usage: libc-doc.py SRCDIR [--print]"""
import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
INC = os.path.join(SRC, "runtime-lib", "include")
DOC = os.path.join(SRC, "docs", "libc.md")


def headers():
    out = []
    for root, _, files in os.walk(INC):
        for f in files:
            if f.endswith(".h"):
                out.append(os.path.relpath(os.path.join(root, f), INC))
    return sorted(out)


def functions(path):
    """Names of the functions (path) declares: prototypes at file scope, after comments,
    preprocessor lines and bodies (static inline ones count) are set aside."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"\\\n", " ", text)
    text = re.sub(r"^[ \t]*#[^\n]*", " ", text, flags=re.M)
    names, depth, stmt = set(), 0, ""
    for ch in text:
        if ch == "{":
            if depth == 0:
                stmt += ";"  # an inline body ends a declaration
                names |= decl_names(stmt)
                stmt = ""
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            stmt += ch
            if ch == ";":
                names |= decl_names(stmt)
                stmt = ""
    return names


def decl_names(stmt):
    s = " ".join(stmt.split())
    if not s or s.startswith(("typedef", "struct", "union", "enum")) and "(" not in s.split("{")[0]:
        return set()
    if s.startswith("typedef"):
        return set()
    s = re.sub(r"__attribute__\s*\(\(.*?\)\)", " ", s)
    m = re.match(r"^(?:extern\s+|static\s+|inline\s+|_Noreturn\s+)*[\w\s\*]+?[\s\*](\w+)\s*\(", s)
    return {m.group(1)} if m else set()


def doc_sections():
    """{header: set of names on its Functions: line} from docs/libc.md."""
    out, cur = {}, None
    with open(DOC) as f:
        for line in f:
            m = re.match(r"^### `([\w/]+\.h)`", line)
            if m:
                cur = m.group(1)
                out[cur] = None
            elif cur and line.startswith("Functions:"):
                out[cur] = set(re.findall(r"`(\w+)`", line)) - {"none"}
    return out


def main():
    libc = [h for h in headers() if not h.startswith("uk/")]
    if "--print" in sys.argv:
        for h in libc:
            fs = sorted(functions(os.path.join(INC, h)))
            print("### `%s`\n\nFunctions: %s\n" % (h, ", ".join("`%s`" % f for f in fs) or "none"))
        return 0
    doc, bad = doc_sections(), []
    for h in libc:
        want = functions(os.path.join(INC, h))
        if h not in doc:
            bad.append("%s: no section ### `%s` in docs/libc.md" % (h, h))
        elif doc[h] is None:
            bad.append("%s: its section has no Functions: line" % h)
        elif doc[h] != want:
            bad.append("%s: the header declares %s but docs/libc.md does not list them; "
                       "docs/libc.md lists %s that the header does not declare" %
                       (h, sorted(want - doc[h]) or "nothing more",
                        sorted(doc[h] - want) or "nothing more"))
    for h in doc:
        if h not in libc:
            bad.append("docs/libc.md has a section for %s, which runtime-lib does not have" % h)
    with open(DOC) as f:
        text = f.read()
    for h in headers():
        if h.startswith("uk/") and h != "uk/internal.h" and "`<%s>`" % h not in text:
            bad.append("extension header <%s> is not listed in docs/libc.md" % h)
    for b in bad:
        print("libc-doc: " + b)
    print("libc-doc: %s (%d headers)" % ("FAILED" if bad else "ok", len(libc)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
