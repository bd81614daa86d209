#!/usr/bin/env python3
"""Syntax check of handover-scom.ps1 without PowerShell.

Parses the script with the tree-sitter PowerShell grammar and lists every
syntax error with its line and column. A grammar is not PowerShell's own
parser: passing this proves the script is well-formed, not that it runs.

    python3 -m venv .venv && .venv/bin/pip install tree-sitter tree-sitter-powershell
    .venv/bin/python providers/scom/check-syntax.py [FILE.ps1]
"""
import pathlib
import sys

import tree_sitter_powershell
from tree_sitter import Language, Parser


def errors(source: bytes):
    tree = Parser(Language(tree_sitter_powershell.language())).parse(source)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            yield node
        stack.extend(node.children)


def main() -> int:
    here = pathlib.Path(__file__).parent
    path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else here / "handover-scom.ps1"
    source = path.read_bytes()
    found = sorted(errors(source), key=lambda n: n.start_byte)
    for n in found:
        line, col = n.start_point
        what = "missing " + n.type if n.is_missing else "syntax error"
        text = source[n.start_byte:n.end_byte][:60].decode(errors="replace")
        print(f"{path}:{line + 1}:{col + 1}: {what} near {text!r}", file=sys.stderr)
    if not found:
        print(f"{path}: no syntax errors")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
