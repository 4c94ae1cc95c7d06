#!/usr/bin/env bash
# Benchmarks: measurements, never pass/fail. Each benchmark prints a readable table and one
# `BENCH {json}` line per figure (name, value, unit, target). All BENCH lines are collected into
# .build/bench/bench.jsonl so BENCHMARKS.md can be updated from one run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
out="$BUILD_DIR/bench"
mkdir -p "$out"
: > "$out/bench.jsonl"

run() {
  local name="$1"; shift
  log "bench: $name"
  "$@" 2>&1 | tee "$out/$name.log"
  grep '^BENCH ' "$out/$name.log" | sed 's/^BENCH //' >> "$out/bench.jsonl" || true
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F)"
run caller-id-warm cargo bench -p caller-id --bench handler
# Benchmarks measure what is deployed: release zips (cargo rebuilds nothing when they are fresh)
# and a release Connect simulator for the dialer benchmark. --noop adds the cold-start benchmark's
# no-op Lambda to the same cargo invocation (built the way caller-id is; kept out of dist/).
scripts/build.sh --noop x86_64
cargo build --release --locked -p connect-sim
export CONNECT_SIM_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$CARGO_BUILD_TARGET/release/connect-sim"
run caller-id-cold "$VENV/bin/python" scripts/bench_caller_id_cold.py
run load-list-parse cargo bench -p load-list --bench parse
# A generated 1 GB / 10,000,000-row list read across invocations from checkpoints (no network).
run load-list-big-file cargo bench -p load-list --bench big_file
# The local stack (moto + launcher + Connect simulator + terraform apply of examples/local):
# the stack's own harness builds the zips and the simulator when they are missing.
ensure_terraform
run local-lambda "$VENV/bin/python" scripts/bench_local_lambda.py
# The same 1 GB list through the deployed load-list, segment after segment, into moto (a few
# minutes of segments: moto's pace would take most of a day for the whole file).
run load-list-big-file-local "$VENV/bin/python" scripts/bench_big_file_local.py
# BENCH_DIALER_ARGS: e.g. "--history-budget 8000 --history-sizes 20000" adds the 20,000-contact
# campaign at the module's default budget (about an hour more on 2 cores).
# shellcheck disable=SC2086
run dialer "$VENV/bin/python" scripts/bench_dialer.py --json "$out/dialer.json" ${BENCH_DIALER_ARGS:-}

echo
echo "== all figures (.build/bench/bench.jsonl)"
"$VENV/bin/python" - "$out/bench.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
w = max((len(r["name"]) for r in rows), default=10)
for r in rows:
    print(f'{r["name"]:<{w}}  {r["value"]:>14.3f} {r["unit"]:<10} target {r.get("target", "-")}')
PY
