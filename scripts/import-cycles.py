#!/usr/bin/env python3
"""Lists the import circles among handover's modules.

Reads every `.rs` file under `src/` (tests excluded: `tests.rs`,
`tests/` folders and `#[cfg(test)]` blocks), takes each path it names
through `crate::` (in the library) or `handover::` (in the binary), or
through `super::` from a module's own file, and draws an edge from the
file's module to the module named, both cut to DEPTH path segments
(default 2: `run::pass`, `reconcile::serve`, `plan`). Prints each circle
(a strongly connected set of two or more modules) with one edge that
closes it, and exits 1 when there is one, 0 when there is none.

The cut makes a module's own files one node: `run::apply` and its
`journaled.rs` are one, so a type split over its own files is never a
circle. Usage: scripts/import-cycles.py [DEPTH] [SRC]
"""

import re
import sys
from pathlib import Path

DEPTH = int(sys.argv[1]) if len(sys.argv) > 1 else 2
SRC = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent.parent / "src"

PATH = re.compile(r"\b(crate|handover|super)((?:::[a-z_][a-z0-9_]*)+)")
CFG_TEST = re.compile(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{")


def module_of(file: Path) -> list[str]:
    """The module path of a file below SRC (`run/pass.rs` -> [run, pass])."""
    parts = list(file.relative_to(SRC).with_suffix("").parts)
    if parts in (["lib"], ["main"]):
        return []
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def strip_tests(text: str) -> str:
    """Drops `#[cfg(test)] mod x { ... }` blocks (brace-matched)."""
    out, i = [], 0
    for m in CFG_TEST.finditer(text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def strip_comments(text: str) -> str:
    """Drops `//` comments (docs name modules without importing them)."""
    return "\n".join(re.sub(r"//.*", "", line) for line in text.splitlines())


def target(mod: list[str], root: str, rest: list[str]) -> list[str]:
    """The module path a path names: `crate::` and `handover::` from the
    root (the binary's `crate::cli::...` is its own `cli`), `super::` from
    the file's parent module."""
    if root in ("crate", "handover"):
        return rest
    path = list(mod[:-1])
    while rest and rest[0] == "super":
        path, rest = path[:-1], rest[1:]
    return path + rest


def main() -> int:
    edges: dict[str, dict[str, str]] = {}
    for file in sorted(SRC.rglob("*.rs")):
        rel = file.relative_to(SRC)
        if rel.name == "tests.rs" or "tests" in rel.parts[:-1]:
            continue
        mod = module_of(file)
        if not mod:
            continue
        node = "::".join(mod[:DEPTH])
        text = strip_comments(strip_tests(file.read_text()))
        for m in PATH.finditer(text):
            rest = m.group(2).strip(":").split("::")
            path = target(mod, m.group(1), rest)
            if not path:
                continue
            # Keep only module segments (lower case); stop at items.
            to = "::".join(path[:DEPTH])
            if to and to != node and not node.startswith(to + "::") and not to.startswith(node + "::"):
                edges.setdefault(node, {}).setdefault(to, f"{rel}")
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
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
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    if not sccs:
        print(f"no import circle among {len(edges)} modules (depth {DEPTH})")
        return 0
    for comp in sccs:
        print("circle: " + " <-> ".join(comp))
        for a in comp:
            for b, where in sorted(edges.get(a, {}).items()):
                if b in comp:
                    print(f"  {a} -> {b}   ({where})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
