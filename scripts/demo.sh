#!/usr/bin/env bash
# `make demo`: installs what it needs (virtualenv with moto and cargo-lambda, Terraform's offline
# provider configuration), builds the functions and the Connect simulator if needed (dev profile:
# the local stack does not need release optimisation, and it builds several times quicker), then
# runs local/demo.py: a sample campaign end to end on the local stack, ending with one
# `SUMMARY {json}` line.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

stale() {
  [ ! -f dist/x86_64/dial/bootstrap.zip ] \
    || [ -n "$(find functions local/connect-sim Cargo.toml Cargo.lock -newer dist/x86_64/dial/bootstrap.zip -type f 2>/dev/null | head -1)" ]
}

# On a first run the compile is most of the wait, and it needs nothing from the virtualenv: it
# runs while the tools install. scripts/build.sh then finds every crate built (the same package
# selection, profile and target) and only zips.
compile_pid=""
compile_log="$BUILD_DIR/demo-compile.log"
if stale; then
  mapfile -t packages < <(local_stack_packages)
  log "compiling the functions and the Connect simulator while the tools install (log: $compile_log)"
  cargo build --profile dev --target "$HOST_LAMBDA_TARGET" --locked "${packages[@]}" >"$compile_log" 2>&1 &
  compile_pid=$!
fi
ensure_venv
ensure_terraform
if [ -n "$compile_pid" ]; then
  wait "$compile_pid" || { tail -n 40 "$compile_log" >&2; die "the build failed (log: $compile_log)"; }
fi
if stale; then
  scripts/build.sh --dev x86_64
fi
exec "$VENV/bin/python" local/demo.py
