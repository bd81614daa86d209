#!/usr/bin/env python3
"""`handover plan` of two builds side by side (issue 18: "plan performance
within 5 %").

For each size it writes one synthetic estate with GEN (a `gen_estate`
binary: `GEN N DIR`), then runs `BASE plan` and `NEW plan --format json`
on it, interleaved (base, new, base, new, ...) so both see the same
machine load, and prints the best of N wall and CPU time (user + system,
from wait4, as scripts/perf.py measures them) and new / base. The
estate, the flags and the measurement are those of scripts/perf.py; only
the binaries differ.

Usage: scripts/perf_compare.py BASE NEW GEN [--sizes 10000,100000] [--runs 9]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perf import run  # noqa: E402  (the one measurement of a process)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("new")
    ap.add_argument("gen")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--runs", type=int, default=9)
    a = ap.parse_args()
    for n in [int(s) for s in a.sizes.split(",")]:
        d = tempfile.mkdtemp(prefix="handover-perf-")
        try:
            subprocess.run([a.gen, str(n), d], check=True, stdout=subprocess.DEVNULL)
            best = {"base": [float("inf")] * 2, "new": [float("inf")] * 2}
            for _ in range(a.runs):
                for name, binary in (("base", a.base), ("new", a.new)):
                    wall, cpu, _ = run([binary, "plan", "--desired", f"{d}/desired.yaml",
                                        "--observed", f"{d}/observed.yaml",
                                        "--format", "json"])
                    best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
            (bw, bc), (nw, nc) = best["base"], best["new"]
            print(f"{n:>7} agents, best of {a.runs}: base wall {bw:.3f} s CPU {bc:.3f} s; "
                  f"new wall {nw:.3f} s CPU {nc:.3f} s; new/base wall {nw / bw:.3f} "
                  f"CPU {nc / bc:.3f}", flush=True)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
