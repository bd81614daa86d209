#!/usr/bin/env bash
# Differential fuzzing of the loader: the fast path (crates/handover-core/src/load/fast.rs,
# crates/handover-core/src/load/fast_json.rs) against serde-saphyr alone, on mutants of the
# example topologies and generated estates, for a set time.
#
#   scripts/fuzz-load.sh [SECONDS] [SEED]
#
# SECONDS defaults to 600; SEED defaults to the clock (printed, so a run
# can be repeated). Disagreeing inputs are written to target/fuzz-load/
# (SEED-CASE.yaml with SEED-CASE.txt saying how the two paths differ); the
# script exits non-zero when there is one. Stable Rust only: it drives the
# ignored test load::tests::fuzz::for_a_set_time (cargo-fuzz needs nightly).
# See docs/yaml.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
case "$secs" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS] [SEED]" >&2; exit 2 ;;
esac
export FUZZ_LOAD_SECONDS="$secs"
if [ -n "${2:-}" ]; then
  export FUZZ_LOAD_SEED="$2"
fi
exec cargo test -p handover-core --lib load::tests::fuzz::for_a_set_time -- --ignored --nocapture --test-threads 1
