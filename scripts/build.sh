#!/usr/bin/env bash
# Builds every Lambda function into dist/<arch>/<binary>/bootstrap.zip with cargo-lambda.
#   scripts/build.sh            # x86_64 (default)
#   scripts/build.sh arm64      # Graviton; needs the aarch64 standard library (rustup target add)
# Terraform reads the zips from the directory given as `lambda_artifacts_dir`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
arch="${1:-${LAMBDA_ARCH:-x86_64}}"
case "$arch" in
  x86_64) arch_flag=() ;;
  arm64) arch_flag=(--arm64) ;;
  *) die "unknown architecture '$arch': use x86_64 or arm64" ;;
esac
ensure_venv
cd "$ROOT"
# One package flag per function crate: the library and the test tools (tools/) are not Lambdas.
packages=()
for manifest in functions/*/Cargo.toml; do
  crate="$(basename "$(dirname "$manifest")")"
  [ "$crate" = "outbound-core" ] && continue
  packages+=(-p "$crate")
done
# One directory per architecture: building both into one directory would overwrite the zips.
out="dist/$arch"
log "cargo lambda build --release --output-format zip --lambda-dir $out ${arch_flag[*]} (${#packages[@]} packages)"
cargo lambda build --release --output-format zip --lambda-dir "$out" "${arch_flag[@]}" "${packages[@]}"
ls -1 "$out"/*/bootstrap.zip | sed 's/^/  /'
