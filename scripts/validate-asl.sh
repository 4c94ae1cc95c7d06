#!/usr/bin/env bash
# Renders the dialer's state machine for both Map modes (INLINE at max_concurrent_calls <= 40,
# DISTRIBUTED above) through tests/asl-render, checks that no template placeholder survived,
# validates each rendering with asl-validator, compares it with the reviewed rendering in
# tests/fixtures/asl/ and runs it in moto's Step Functions executor (tests/asl-render/moto_check.py),
# the executor the local stack uses. Exits non-zero on any error.
#
#   scripts/validate-asl.sh            validate
#   scripts/validate-asl.sh --update   also rewrite tests/fixtures/asl/ from the current template
#   scripts/validate-asl.sh --no-moto  skip the executor run (asl-validator and fixtures only)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

update=0
moto=1
for arg in "$@"; do
  case "$arg" in
    --update) update=1 ;;
    --no-moto) moto=0 ;;
    *) die "unknown argument: $arg (expected --update or --no-moto)" ;;
  esac
done

ensure_terraform
ensure_asl_validator

out="$BUILD_DIR/asl"
mkdir -p "$out"
render_dir="tests/asl-render"
tf_init "$render_dir"

failed=0
declare -A rendered
for spec in inline:40 distributed:100; do
  mode="${spec%%:*}"
  concurrency="${spec##*:}"
  file="$out/dialer-$mode.asl.json"
  state="$out/render-$mode.tfstate"
  rm -f "$state"
  terraform -chdir="$render_dir" apply -auto-approve -input=false -no-color -state="$state" \
    -var "max_concurrency=$concurrency" >"$out/render-$mode.log" 2>&1 \
    || { cat "$out/render-$mode.log" >&2; die "rendering the $mode definition failed"; }
  terraform -chdir="$render_dir" output -state="$state" -raw definition >"$file"
  got_mode=$(terraform -chdir="$render_dir" output -state="$state" -raw mode)
  rendered[$mode]="$file"

  want_mode=$(tr '[:lower:]' '[:upper:]' <<<"$mode")
  if [ "$got_mode" != "$want_mode" ]; then
    echo "FAIL $mode: max_concurrent_calls=$concurrency rendered a $got_mode Map" >&2
    failed=1
  fi
  # A placeholder left in the template (a typo, or a literal "${" not escaped as "$${").
  if grep -n '\${' "$file" >&2; then
    echo "FAIL $mode: unresolved template placeholder in $file" >&2
    failed=1
  fi
  if "$ASL_VALIDATOR" --json-path "$file"; then
    echo "ok   $mode: asl-validator"
  else
    echo "FAIL $mode: asl-validator rejected $file" >&2
    failed=1
  fi

  fixture="tests/fixtures/asl/dialer-$mode.asl.json"
  if [ "$update" = 1 ]; then
    python3 -m json.tool --indent 2 "$file" >"$fixture"
    echo "     $mode: wrote $fixture"
  elif python3 - "$file" "$fixture" <<'PY'
import json, sys
rendered, fixture = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:])
sys.exit(0 if rendered == fixture else 1)
PY
  then
    echo "ok   $mode: matches $fixture"
  else
    echo "FAIL $mode: the rendering differs from $fixture; review the change and run scripts/validate-asl.sh --update" >&2
    failed=1
  fi
done

if [ "$moto" = 1 ]; then
  ensure_venv
  if "$VENV/bin/python" tests/asl-render/moto_check.py "${rendered[inline]}" "${rendered[distributed]}" \
      2>"$out/moto-check.log"; then
    echo "ok   moto executor: every scenario"
  else
    echo "FAIL moto executor (executor log: ${out#$ROOT/}/moto-check.log)" >&2
    failed=1
  fi
fi

[ "$failed" = 0 ] || die "ASL validation failed"
echo "ASL valid: inline and distributed"
