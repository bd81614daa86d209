#!/usr/bin/env python3
"""What the poll backoff's longest wait (policy.poll.max) costs in the
simulator: simulated time and provider requests, for each example topology
and fault file, at each of the given maxima.

usage: scripts/measure-poll.py [MAX ...]   (default: 15s 30s 1m 2m)

For each case it runs `handover simulate --format json` (the rehearsal:
`virtual_seconds`, `provider_calls`, which counts apply requests) and the
same migration with `handover apply` against a `sim:` copy of the observed
state with `--report r.json` (the executor's `observe_calls` and its
`clock_seconds`). Everything runs in a temporary directory deleted
afterwards; the example files are not changed. Uses the binary in
$BIN_DIR (default target/debug; build it first).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("BIN_DIR", os.path.join(ROOT, "target", "debug")), "handover")
TOPO = os.path.join(ROOT, "examples", "topologies")
FAULTS = os.path.join(ROOT, "examples", "faults")

CASES = [(t, None) for t in sorted(os.listdir(TOPO))] + [
    ("replace-gateway", "hung-agent.yaml"),
    ("replace-gateway", "gateway-outage.yaml"),
    ("replace-gateway", "flaky-provider.yaml"),
]


def with_poll(text, maximum):
    """The desired topology with policy.poll.max set (interval stays 15s)."""
    poll = f"  poll:\n    interval: 15s\n    max: {maximum}\n"
    if re.search(r"^policy:\n", text, re.M):
        return re.sub(r"^policy:\n", "policy:\n" + poll, text, count=1, flags=re.M)
    return text.rstrip("\n") + "\npolicy:\n" + poll


def run(args, cwd):
    p = subprocess.run([BIN] + args, cwd=cwd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def measure(d, topo, faults, maximum):
    src = os.path.join(TOPO, topo)
    desired = os.path.join(d, "desired.yaml")
    with open(os.path.join(src, "desired.yaml")) as f:
        text = with_poll(f.read(), maximum)
    with open(desired, "w") as f:
        f.write(text)
    observed = os.path.join(src, "observed.yaml")
    sim_args = ["simulate", "--desired", desired, "--observed", observed, "--format", "json"]
    if faults:
        sim_args += ["--faults", os.path.join(FAULTS, faults)]
    _, out, err = run(sim_args, d)
    s = json.loads(out)
    row = {"simulated": s["virtual_seconds"], "apply_requests": s["provider_calls"]}
    if faults is None:
        estate = os.path.join(d, "estate.yaml")
        with open(observed) as f, open(estate, "w") as g:
            g.write(f.read())
        report = os.path.join(d, "r.json")
        env = dict(os.environ, HANDOVER_LOCK_DIR=os.path.join(d, "locks"))
        p = subprocess.run(
            [BIN, "apply", "--auto-approve", "--desired", desired, "--target", f"sim:{estate}",
             "--report", report, "--state-dir", os.path.join(d, "state")],
            cwd=d, capture_output=True, text=True, env=env)
        if os.path.exists(report):
            e = json.load(open(report))["execution"]
            row["apply_observes"] = e["observe_calls"]
            row["apply_clock"] = e["clock_seconds"]
        for f in ("r.json", "estate.yaml"):
            if os.path.exists(os.path.join(d, f)):
                os.remove(os.path.join(d, f))
    return row


def main():
    maxima = sys.argv[1:] or ["15s", "30s", "1m", "2m"]
    print("| case | " + " | ".join(f"max {m}" for m in maxima) + " |")
    print("|---|" + "---|" * len(maxima))
    for topo, faults in CASES:
        cells = []
        for m in maxima:
            with tempfile.TemporaryDirectory() as d:
                r = measure(d, topo, faults, m)
            cell = f"{r['simulated']:.0f} s, {r['apply_requests']} apply"
            if "apply_observes" in r:
                cell += f"; apply: {r['apply_clock']:.0f} s, {r['apply_observes']} observe"
            cells.append(cell)
        name = topo + (f" + {faults}" if faults else "")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
