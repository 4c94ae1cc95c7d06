#!/usr/bin/env bash
# `make demo`: installs what it needs (virtualenv with moto and cargo-lambda, Terraform's offline
# provider configuration), builds the functions and the Connect simulator if needed (dev profile:
# the local stack does not need release optimisation, and it builds several times quicker), then
# runs local/demo.py: a sample campaign end to end on the local stack, ending with one
# `SUMMARY {json}` line.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
ensure_terraform
if [ ! -f dist/x86_64/dial/bootstrap.zip ] || [ -n "$(find functions local/connect-sim Cargo.toml Cargo.lock -newer dist/x86_64/dial/bootstrap.zip -type f 2>/dev/null | head -1)" ]; then
  scripts/build.sh --dev x86_64
fi
exec "$VENV/bin/python" local/demo.py
