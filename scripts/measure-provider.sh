#!/usr/bin/env bash
# Measures what a move costs through an exec provider, protocol version 1
# (one process per request) against version 2 (one session, batches):
# process starts per moved member, apply requests, wall time, and the
# forecast apply made beforehand (policy.cost set to the figures below)
# against what it took.
#
# usage: scripts/measure-provider.sh AGENTS START_MS OP_MS MODE [MAX_BATCH] [PARALLEL]
#   MODE: v1 or v2. The test provider sleeps START_MS at every process
#   start (the cost of starting powershell.exe and connecting to the SDK)
#   and OP_MS per operation. Every agent moves from gw1 to gw2 with
#   maxInFlight: 500. The test provider's virtual time moves on 300 s
#   before each observe, so propagation costs no wall time here: the floor
#   is the operations' own time, AGENTS x 2 x OP_MS / PARALLEL.
# Uses the binaries in $BIN_DIR (default target/debug; build them first).
set -euo pipefail
n=${1:?agents}; start_ms=${2:?start ms}; op_ms=${3:?op ms}; mode=${4:?v1 or v2}
max_batch=${5:-500}; parallel=${6:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN_DIR:-$root/target/debug}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
python3 - "$dir" "$n" "$start_ms" "$op_ms" "$mode" "$max_batch" "$parallel" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
start_ms, op_ms, mode, max_batch, parallel = sys.argv[3:]
ms = "ms1.contoso.local"
gw = lambda i: f"gw{i}.contoso.local"
obs = {"apiVersion": "handover/v1", "kind": "Observed",
       "managementServers": [{"name": ms, "up": True}],
       "gateways": [{"name": gw(i), "primary": ms, "failover": [], "connected": ms, "up": True, "ready": True} for i in (1, 2)],
       "agents": [{"name": f"a{i:05d}.contoso.local", "primary": gw(1), "failover": [], "connected": gw(1)} for i in range(n)]}
json.dump({"observed": obs}, open(f"{d}/provider.json", "w"))
open(f"{d}/desired.yaml", "w").write(f"""apiVersion: handover/v1
kind: Topology
managementServers:
  - name: {ms}
gateways:
  - name: {gw(1)}
    primary: {ms}
  - name: {gw(2)}
    primary: {ms}
agentRules:
  - match: "*"
    primary: {gw(2)}
policy:
  maxInFlight: 500
  capacity:
    gateway: {max(2000, n)}
  cost:
    startup: {start_ms}ms
    perCall: 0s
    perOperation: {op_ms}ms
    observe: 0s
    propagation: 0s
    batch: {max_batch if mode == "v2" else 1}
    parallel: {parallel if mode == "v2" else 1}
    sessions: {"true" if mode == "v2" else "false"}
""")
PY
args=(--target-arg=--state="$dir/provider.json" --target-arg=--start-delay-ms="$start_ms" --target-arg=--apply-delay-ms="$op_ms")
[ "$mode" = v2 ] && args+=(--target-arg=--session --target-arg=--max-batch="$max_batch" --target-arg=--parallel="$parallel")
t0=$(date +%s.%N)
HANDOVER_LOCK_DIR=$dir/locks "$bin/handover" apply --auto-approve --desired "$dir/desired.yaml" \
  --target "exec:$bin/handover-test-provider" "${args[@]}" --report "$dir/report.json" >/dev/null
t1=$(date +%s.%N)
python3 - "$dir" "$n" "$t0" "$t1" "$op_ms" "$parallel" "$mode" "$start_ms" <<'PY'
import json, sys
d, n, t0, t1, op_ms, par, mode, start_ms = sys.argv[1:]
n = int(n); wall = float(t1) - float(t0)
s = json.load(open(f"{d}/provider.json")); rep = json.load(open(f"{d}/report.json")); r = rep["execution"]
starts = len(s["starts"]); ops = len(s["applied"])
floor = ops * int(op_ms) / 1000 / int(par)
print(f"{mode}: {n} agents, start {start_ms} ms, op {op_ms} ms: {starts} process starts "
      f"({starts / n:.4f} per moved member), {r['provider_calls']} apply requests, "
      f"{r['observe_calls']} observe requests, {ops} operations, restarts {r.get('session_restarts', 0)}, "
      f"wall {wall:.1f} s, floor {floor:.1f} s, ratio {wall / floor if floor else float('nan'):.2f}")
c = rep.get("forecast")
if c:
    f, a = c["forecast"], c["actual"]
    print(f"forecast {f['wall_seconds']:.1f} s (floor {f['floor_seconds']:.1f} s), {f['apply_calls']} apply / "
          f"{f['observe_calls']} observe requests, {f['process_starts']} process starts; "
          f"actual {a['wall_seconds']:.1f} s, {a['apply_calls']} apply / {a['observe_calls']} observe requests, "
          f"{a['process_starts']} process starts; actual / forecast {a['wall_seconds'] / f['wall_seconds'] if f['wall_seconds'] else float('nan'):.2f}")
PY
