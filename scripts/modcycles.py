#!/usr/bin/env python3
"""Import circles between the modules of a crate (issue 18).

Derives the module graph of a crate from its source: every file is a
module (`a/b.rs` and `a/b/mod.rs` are `a::b`); an edge runs from a module
to every module it names by path: `crate::x::y`, `super::x`, `self::x`, or
a child module's name (`use view::View` in `render/mod.rs`). A path is
cut at the longest prefix that is a module, so `crate::plan::Plan` is an
edge to `plan` and `crate::plan::types::Step` one to `plan::types`.
`pub mod x;` is a declaration, not an edge. Test code is left out (files
named `tests.rs` or under a `tests/` folder, and `#[cfg(test)]` blocks):
tests may import whatever they test.

It prints the circles (strongly connected components of more than one
module) twice: between top-level modules (`load` <-> `validate`), which
must be none, and between files, where a module's own files may lean on
each other. Exit status 1 when a top-level circle exists.

Usage: scripts/modcycles.py [SRC_DIR ...]
       (default: crates/handover-core/src; add `src` for the runtime)
`cargo modules` would draw the same graph from rust-analyzer, but building
it takes longer than this machine's budget; this reads `use` lines only,
so a path written through a `use` alias it cannot resolve is missed.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
BRACED = re.compile(r"\b(crate|super|self)::\{([^}]*)\}")
USE_CHILD = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?use\s+([a-z_][a-z0-9_]*)::")


def module_of(src, f):
    parts = list(f.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def prod_lines(text):
    """The lines outside #[cfg(test)] items."""
    out, skip, depth, armed = [], False, 0, False
    for line in text.splitlines():
        s = line.strip()
        if not skip and s.startswith("#[cfg(test)]"):
            armed = True
            continue
        if armed:
            armed = False
            if s.endswith(";"):  # `mod tests;` or a single test-only item
                continue
            skip, depth = True, 0
        if skip:
            depth += line.count("{") - line.count("}")
            if depth <= 0 and "}" in line:
                skip = False
            continue
        if not s.startswith("//"):
            out.append(line)
    return out


def graph(src):
    files = [f for f in src.rglob("*.rs")
             if f.name != "tests.rs" and "tests" not in f.relative_to(src).parts[:-1]]
    mods = {module_of(src, f): f for f in files}
    known = set(mods)
    edges = {m: set() for m in mods}

    def resolve(m, head, rest, is_dir):
        here = m if is_dir else m[:-1]  # the module whose children `self` sees
        if head == "crate":
            base = ()
        elif head == "self":
            base = m
        else:  # super
            base = m[:-1]
        path = base + tuple(rest)
        for n in range(len(path), 0, -1):
            if path[:n] in known:
                return path[:n]
        return None

    for m, f in mods.items():
        is_dir = f.name in ("mod.rs", "lib.rs", "main.rs")
        for line in prod_lines(f.read_text()):
            heads = []
            for h, body in BRACED.findall(line):
                for item in body.split(","):
                    item = item.strip().split(" as ")[0]
                    if item and item != "self":
                        heads.append((h, item.split("::")))
            for h, tail in PATH.findall(line):
                heads.append((h, tail.strip(":").split("::")))
            c = USE_CHILD.match(line)
            if c and c.group(1) not in ("crate", "super", "self", "std", "core"):
                child = m + (c.group(1),)
                if child in known:
                    edges[m].add(child)
            for h, rest in heads:
                t = resolve(m, h, rest, is_dir)
                if t is not None and t != m and t != ():
                    edges[m].add(t)
    return edges


def sccs(edges):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def name(m):
    return "::".join(m) or "crate"


def main():
    dirs = [Path(a) for a in sys.argv[1:]] or [ROOT / "crates/handover-core/src"]
    bad = False
    for src in dirs:
        edges = graph(src)
        top = {}
        for a, ts in edges.items():
            for b in ts:
                if a[:1] != b[:1] and a and b:
                    top.setdefault(a[:1], set()).add(b[:1])
        top_cycles = sccs(top)
        file_cycles = sccs(edges)
        print(f"{src.relative_to(ROOT) if src.is_relative_to(ROOT) else src}: "
              f"{len(edges)} modules")
        print(f"  circles between top-level modules: {len(top_cycles)}")
        for c in top_cycles:
            bad = True
            print("    " + " <-> ".join(name(m) for m in c))
        print(f"  circles between files: {len(file_cycles)}")
        for c in file_cycles:
            print("    " + " <-> ".join(name(m) for m in c))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
