#!/usr/bin/env bash
# Builds every Lambda function into dist/<arch>/<binary>/bootstrap.zip with cargo-lambda.
#   scripts/build.sh                 # release zips, x86_64 (what a deployment uploads)
#   scripts/build.sh arm64           # release zips for Graviton (needs `rustup target add aarch64-unknown-linux-gnu`)
#   scripts/build.sh --dev           # dev-profile zips for the local stack (make demo)
#   scripts/build.sh --dev --tests   # the same, and every test and bench target in the same cargo
#                                    # invocation (make test): `cargo test` then reuses the build
#   scripts/build.sh --noop x86_64   # also the no-op Lambda of the cold-start benchmark (make bench),
#                                    # into .build/noop-lambda/<arch>/bootstrap.zip, never dist/
# Terraform reads the zips from the directory given as `lambda_artifacts_dir`.
#
# Why two profiles: a release build (thin LTO, zig linker for a portable glibc floor) costs most
# of half an hour on two cores and only matters for what is deployed and measured (make build,
# make bench). The local stack and CI run the same code unoptimised, built once with the host's
# compiler into the target directory that clippy and `cargo test` use too (CARGO_BUILD_TARGET in
# scripts/lib.sh), so no crate is compiled twice for the same profile.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
profile=release
with_tests=false
with_noop=false
arch="${LAMBDA_ARCH:-x86_64}"
for arg in "$@"; do
  case "$arg" in
    --dev) profile=dev ;;
    --tests) with_tests=true ;;
    --noop) with_noop=true ;;
    x86_64 | arm64) arch="$arg" ;;
    *) die "unknown argument '$arg': scripts/build.sh [--dev [--tests]] [--noop] [x86_64|arm64]" ;;
  esac
done
ensure_venv
cd "$ROOT"

mapfile -t crates < <(crate_list functions)
mapfile -t local_crates < <(crate_list local)
[ "${#crates[@]}" -gt 0 ] || die "no function crates found under functions/"
packages=()
for crate in "${crates[@]}"; do packages+=(-p "$crate"); done
# A dev build is for the local stack, which also runs the local-only binaries: they are built in
# the same invocation so cargo resolves one feature set for the shared dependencies (a separate
# `cargo build -p connect-sim` would rebuild tokio and hyper with its features alone). With
# --tests, the whole workspace is selected, exactly as `cargo test --workspace` selects it, for
# the same reason.
if [ "$profile" = dev ]; then
  if $with_tests; then
    packages=(--workspace)
  else
    for crate in "${local_crates[@]}"; do packages+=(-p "$crate"); done
  fi
fi
# The benchmark's no-op Lambda (local/noop-lambda, the cold-start floor) is built "the same way" as
# caller-id: in the same cargo invocation, so the same profile, target, linker and feature
# resolution. Its dependencies are a subset of every function's, with the same features, so
# selecting it changes nothing in the functions' build (their zips are the same with or without).
if $with_noop && [ "$profile" = release ]; then
  packages+=(-p noop-lambda)
fi

flags=(--output-format zip --locked)
case "$profile/$arch" in
  release/x86_64) flags+=(--release --target x86_64-unknown-linux-gnu) ;;
  release/arm64) flags+=(--release --arm64) ;;
  dev/x86_64) flags+=(--compiler cargo --profile dev --target "$HOST_LAMBDA_TARGET") ;;
  dev/arm64) die "dev builds are for the local stack, which runs on this machine: use x86_64" ;;
esac
$with_tests && flags+=(--all-targets)

# One directory per architecture: building both into one directory would overwrite the zips.
out="dist/$arch"
log "cargo lambda build ${flags[*]} --lambda-dir $out (${#crates[@]} functions: ${crates[*]})"
cargo lambda build "${flags[@]}" --lambda-dir "$out" "${packages[@]}"
# The no-op Lambda's zip goes outside dist/: Terraform reads dist/<arch>, and nothing there may be
# anything but a function.
if $with_noop; then
  noop_dir="$BUILD_DIR/noop-lambda/$arch"
  [ -f "$out/noop-lambda/bootstrap.zip" ] || die "noop-lambda was not built into $out"
  rm -rf "$noop_dir" && mkdir -p "$noop_dir"
  mv "$out/noop-lambda/bootstrap.zip" "$noop_dir/bootstrap.zip"
  echo "$profile" > "$noop_dir/PROFILE"
  log "no-op Lambda (benchmark floor, not deployed): ${noop_dir#"$ROOT"/}/bootstrap.zip"
fi
# cargo-lambda zips every workspace binary it finds built (the local stack's, and with --tests the
# operator's CLI too): keep only the functions.
for dir in "$out"/*/; do
  name=$(basename "$dir")
  [[ " ${crates[*]} " == *" $name "* ]] || rm -rf "${out:?}/$name"
done
# Which profile the zips were built with, so make bench can tell dev zips from release ones.
echo "$profile" > "$out/PROFILE"
ls -1 "$out"/*/bootstrap.zip | sed 's/^/  /'
