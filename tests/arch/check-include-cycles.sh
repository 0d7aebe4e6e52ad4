#!/bin/bash
# Fails when daemon/'s modules include each other in a circle. A module is a file name without
# its extension (instances.c + instances.h); A -> B when A.c or A.h includes "B.h". Prints each
# cycle found (one per strongly connected component) as A -> B -> ... -> A.
# usage: check-include-cycles.sh [DIR] (default: daemon/ beside this script's repository)
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")/../.." && pwd)/daemon}
[ -d "$dir" ] || { echo "check-include-cycles: no directory $dir" >&2; exit 2; }
python3 - "$dir" <<'PY'
import os, re, sys
d = sys.argv[1]
files = [f for f in os.listdir(d) if f.endswith(('.c', '.h'))]
mods = {os.path.splitext(f)[0] for f in files}
heads = {os.path.splitext(f)[0] for f in files if f.endswith('.h')}
edges = {m: set() for m in mods}
inc = re.compile(r'^\s*#\s*include\s+"([^"/]+)\.h"', re.M)
for f in files:
    a = os.path.splitext(f)[0]
    with open(os.path.join(d, f), encoding='utf-8', errors='replace') as fh:
        for b in inc.findall(fh.read()):
            if b != a and b in heads:
                edges[a].add(b)
# Tarjan's strongly connected components
index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in sorted(edges[v]):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        c = []
        while True:
            w = stack.pop(); on.discard(w); c.append(w)
            if w == v: break
        if len(c) > 1: sccs.append(sorted(c))
sys.setrecursionlimit(10000)
for v in sorted(mods):
    if v not in index: visit(v)
def path(c):
    # a shortest cycle through the component's first module, by breadth-first search
    s, comp = c[0], set(c)
    prev, todo = {s: None}, [s]
    for v in todo:
        for w in sorted(edges[v] & comp):
            if w == s:
                p = [v]
                while prev[p[-1]] is not None: p.append(prev[p[-1]])
                return ' -> '.join(reversed(p)) + ' -> ' + s
            if w not in prev:
                prev[w] = v; todo.append(w)
    return ' '.join(c)
for c in sccs:
    print('include cycle in %s: %s (modules in the circle: %s)' % (d, path(c), ' '.join(c)))
if sccs:
    print('check-include-cycles: %d cycle(s): move what both sides need into a module below them' % len(sccs))
    sys.exit(1)
print('check-include-cycles: %d modules of %s, no cycle' % (len(mods), d))
PY
