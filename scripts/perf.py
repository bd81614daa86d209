#!/usr/bin/env python3
"""Performance at fleet scale (issue 10): prints the figures of
docs/performance.md and draws docs/perf-growth.svg.

For each size (default 1,000, 10,000 and 100,000 agents) it writes a
synthetic estate with `cargo run --release --example gen_estate` into a
temporary directory (never into the repository), then, interleaving the
runs so that every tool sees the same machine load, takes the best of N:

  * rapidyaml (`ryml.parse_in_arena`) parsing desired.yaml + observed.yaml,
    in process, files already in memory;
  * `handover plan --format json` end to end (process start, read, load,
    validate, plan, render), with observed.yaml and with observed.json;
  * `handover plan` of a converged estate (nothing to do) end to end;
  * `handover simulate` of the migration end to end.

Wall time and CPU time (user + system, from wait4) are both reported: on a
shared machine the wall time depends on the load, the CPU time much less.
Peak RSS is the largest of the runs. The ratio handover / rapidyaml is
printed for the largest size.

With --svg it draws the growth plot, adding the in-process pipeline
figures of `cargo bench --bench e2e` (target/criterion) when present, and
with --instructions a second plot of the instruction counts beside it
(`perf-growth-instructions.svg` for `--svg docs/perf-growth.svg`).

With --instructions it also counts the instructions each `handover plan`
and `handover simulate` executes, under valgrind's callgrind (slow: about
two minutes at 100,000 agents). Instruction counts do not depend on the
machine's load or caches, so they show whether the work itself grows
linearly, apart from the memory effects that wall time adds.

Usage: scripts/perf.py [--sizes 1000,10000,100000] [--runs 5] [--no-build]
                       [--no-simulate] [--svg docs/perf-growth.svg]
                       [--instructions]
Needs: python3, `pip install rapidyaml`, a Rust toolchain; valgrind for
--instructions.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "handover"
GEN = ROOT / "target" / "release" / "examples" / "gen_estate"


def run(cmd):
    """Runs cmd with stdout discarded; returns (wall s, cpu s, peak RSS MB).

    Peak RSS comes from GNU time when installed: Linux keeps ru_maxrss
    across exec, so wait4 on a child forked from this (large) Python
    process would report Python's own peak.
    """
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        full = [gnu_time, "-f", "%M", "-o", rss_file.name, *cmd] if gnu_time else list(cmd)
        start = time.perf_counter()
        p = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        err = p.stderr.read().decode(errors="replace")
        p.stderr.close()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            sys.exit(f"{' '.join(map(str, cmd))} exited {code}:\n{err}")
        kb = int(rss_file.read().split()[-1]) if gnu_time else ru.ru_maxrss
    return wall, ru.ru_utime + ru.ru_stime, kb / 1024


def instructions(cmd):
    """Instructions `cmd` executes, counted by callgrind (deterministic)."""
    import re

    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Collected : (\d+)", p.stderr)
    if p.returncode != 0 or not m:
        sys.exit(f"valgrind {' '.join(map(str, cmd))} failed:\n{p.stderr[-2000:]}")
    return int(m.group(1))


def ryml_parse(bufs):
    """Parses each buffer with rapidyaml; returns (wall s, cpu s)."""
    import ryml

    start, cpu = time.perf_counter(), time.process_time()
    for b in bufs:
        tree = ryml.parse_in_arena(b)
        assert tree.size() > 0
        del tree
    return time.perf_counter() - start, time.process_time() - cpu


class Best:
    """Best wall, best CPU and largest RSS over runs."""

    def __init__(self):
        self.wall = self.cpu = float("inf")
        self.rss = 0.0

    def add(self, wall, cpu, rss=0.0):
        self.wall, self.cpu = min(self.wall, wall), min(self.cpu, cpu)
        self.rss = max(self.rss, rss)

    def __str__(self):
        rss = f", peak RSS {self.rss:6.0f} MB" if self.rss else ""
        return f"wall {self.wall:7.3f} s, CPU {self.cpu:7.3f} s{rss}"


def measure(n, runs, simulate, count=False):
    d = Path(tempfile.mkdtemp(prefix=f"handover-perf-{n}-"))
    try:
        subprocess.run([GEN, str(n), d], check=True, stdout=subprocess.DEVNULL)
        desired, obs_yaml, obs_json, conv = (
            d / "desired.yaml", d / "observed.yaml", d / "observed.json", d / "converged.yaml")
        bufs = [bytearray(desired.read_bytes()), bytearray(obs_yaml.read_bytes())]
        size_mb = sum(len(b) for b in bufs) / 1e6
        plan = lambda o: [BIN, "plan", "--desired", desired, "--observed", o, "--format", "json"]
        r = {k: Best() for k in ["ryml", "plan", "plan_json", "idle", "simulate"]}
        for _ in range(runs):
            r["ryml"].add(*ryml_parse(bufs))
            r["plan"].add(*run(plan(obs_yaml)))
            r["plan_json"].add(*run(plan(obs_json)))
            r["idle"].add(*run(plan(conv)))
        if simulate:
            for _ in range(max(1, min(runs, 3))):
                r["simulate"].add(*run([BIN, "simulate", "--desired", desired,
                                        "--observed", obs_yaml, "--format", "json"]))
        if count:
            r["plan_ir"] = instructions(plan(obs_yaml))
            if simulate:
                r["simulate_ir"] = instructions([BIN, "simulate", "--desired", desired,
                                                 "--observed", obs_yaml, "--format", "json"])
        return size_mb, r
    finally:
        shutil.rmtree(d, ignore_errors=True)


def criterion(n):
    """The median of `cargo bench --bench e2e`'s plan_pipeline/n, in s, if run."""
    import json

    f = ROOT / "target" / "criterion" / "plan_pipeline" / str(n) / "new" / "estimates.json"
    try:
        return json.loads(f.read_text())["median"]["point_estimate"] / 1e9
    except (OSError, KeyError, ValueError):
        return None


def svg(results, path):
    """The growth plots: wall time (to `path`) and, when counted,
    instructions (beside it, `<name>-instructions.svg`)."""
    series = [("plan", "handover plan (process)", "#1f77b4"),
              ("bench", "plan pipeline (criterion)", "#2ca02c"),
              ("simulate", "handover simulate (process)", "#d62728"),
              ("ryml", "rapidyaml parse", "#7f7f7f")]
    sizes = sorted(results)
    pts = {k: [(n, results[n][1][k].wall) for n in sizes
               if results[n][1][k].wall != float("inf")] for k, _, _ in series if k != "bench"}
    pts["bench"] = [(n, criterion(n)) for n in sizes if criterion(n)]
    plot(path, "Wall time against estate size", lambda v: f"{v:g} s", series, pts, sizes)
    counted = [("plan_ir", "handover plan (process)", "#1f77b4"),
               ("simulate_ir", "handover simulate (process)", "#d62728")]
    ir = {k: [(n, results[n][1][k]) for n in sizes if k in results[n][1]] for k, _, _ in counted}
    if any(ir.values()):
        p = Path(path)
        plot(p.with_name(p.stem + "-instructions" + p.suffix),
             "Instructions (callgrind) against estate size",
             lambda v: f"{v / 1e9:g} G" if v >= 1e9 else f"{v / 1e6:g} M", counted, ir, sizes)


def plot(path, title, fmt, series, pts, sizes):
    """A log-log plot of `pts` against agents, drawn by hand (no deps),
    each series with a dashed line of linear growth from its smallest size."""
    import math
    ys = [y for v in pts.values() for _, y in v]
    lx0, lx1 = math.log10(min(sizes)) - 0.1, math.log10(max(sizes)) + 0.1
    ly0, ly1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    W, H, L, R, T, B = 700, 420, 70, 20, 30, 60
    X = lambda n: L + (math.log10(n) - lx0) / (lx1 - lx0) * (W - L - R)
    Y = lambda s: H - B - (math.log10(s) - ly0) / (ly1 - ly0) * (H - T - B)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W/2}" y="18" text-anchor="middle">{title} '
           f'(log-log; dashed: linear growth from the smallest size)</text>']
    for e in range(ly0, ly1 + 1):
        y = Y(10 ** e)
        out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W-R}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{L-6}" y="{y+4:.1f}" text-anchor="end">{fmt(10**e)}</text>')
    for n in sizes:
        x = X(n)
        out.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H-B}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{H-B+16}" text-anchor="middle">{n:,}</text>')
    out.append(f'<text x="{(L+W-R)/2}" y="{H-B+34}" text-anchor="middle">agents</text>')
    for i, (k, label, colour) in enumerate(series):
        p = pts.get(k)
        if not p:
            continue
        line = " ".join(f"{X(n):.1f},{Y(s):.1f}" for n, s in p)
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        n0, s0 = p[0]
        lin = " ".join(f"{X(n):.1f},{Y(s0 * n / n0):.1f}" for n, _ in p)
        out.append(f'<polyline points="{lin}" fill="none" stroke="{colour}" '
                   f'stroke-dasharray="4 4" stroke-width="1"/>')
        for n, s in p:
            out.append(f'<circle cx="{X(n):.1f}" cy="{Y(s):.1f}" r="3" fill="{colour}"/>')
        ly = H - 14
        lx = 10 + i * 172
        out.append(f'<line x1="{lx}" y1="{ly-4}" x2="{lx+18}" y2="{ly-4}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{lx+22}" y="{ly}" font-size="11">{label}</text>')
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-simulate", action="store_true")
    ap.add_argument("--svg", default=None, help="write the growth plot here")
    ap.add_argument("--instructions", action="store_true",
                    help="also count instructions under callgrind (slow)")
    a = ap.parse_args()
    try:
        import ryml  # noqa: F401
    except ImportError:
        sys.exit("rapidyaml is missing: pip install rapidyaml")
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--bin", "handover",
                        "--example", "gen_estate"], cwd=ROOT, check=True)
    sizes = [int(s) for s in a.sizes.split(",")]
    print(f"machine: {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; best of {a.runs}")
    results = {}
    for n in sizes:
        mb, r = measure(n, a.runs, not a.no_simulate, a.instructions)
        results[n] = (mb, r)
        print(f"\n{n:,} agents ({mb:.1f} MB of YAML: desired + observed)")
        print(f"  rapidyaml parse           {r['ryml']}  ({mb / r['ryml'].wall:.0f} MB/s)")
        print(f"  handover plan (YAML)      {r['plan']}")
        print(f"  handover plan (JSON obs.) {r['plan_json']}")
        print(f"  idle plan (converged)     {r['idle']}")
        if not a.no_simulate:
            print(f"  handover simulate         {r['simulate']}")
        for k in ["plan_ir", "simulate_ir"]:
            if k in r:
                print(f"  instructions, {k[:-3]:<11} {r[k] / 1e9:7.3f} G")
    n = max(sizes)
    r = results[n][1]
    print(f"\nratio at {n:,} agents, handover plan / rapidyaml parse:"
          f" wall {r['plan'].wall / r['ryml'].wall:.2f}x, CPU {r['plan'].cpu / r['ryml'].cpu:.2f}x"
          f" (with JSON observed: wall {r['plan_json'].wall / r['ryml'].wall:.2f}x,"
          f" CPU {r['plan_json'].cpu / r['ryml'].cpu:.2f}x); target <= 1.5x")
    if len(sizes) > 1:
        lo, hi = min(sizes), max(sizes)
        for k in ["plan", "simulate"]:
            a0, a1 = results[lo][1][k].wall, results[hi][1][k].wall
            if a0 != float("inf"):
                print(f"growth {k}: {hi // lo}x the agents -> {a1 / a0:.1f}x the wall time")
        for k in ["plan_ir", "simulate_ir"]:
            if k in results[lo][1] and k in results[hi][1]:
                steps = " -> ".join(f"{results[n][1][k] / 1e9:.3f} G" for n in sizes)
                print(f"growth {k[:-3]} instructions: {steps};"
                      f" {hi // lo}x the agents -> {results[hi][1][k] / results[lo][1][k]:.1f}x")
        b0, b1 = criterion(lo), criterion(hi)
        if b0 and b1:
            mid = [f"{criterion(n) * 1e3:.1f} ms" for n in sizes if criterion(n)]
            print(f"growth plan pipeline (criterion, cargo bench --bench e2e): {' / '.join(mid)};"
                  f" {hi // lo}x the agents -> {b1 / b0:.1f}x the time")
    if a.svg:
        svg(results, a.svg)
        print(f"wrote {a.svg}")


if __name__ == "__main__":
    main()
