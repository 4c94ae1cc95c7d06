# shellcheck shell=bash
# Shared helpers for the project's scripts: where the tools live and how to install them.
# Every tool the scripts need is installed here, into the project (.venv, .tools), never by hand.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$ROOT/.build"
VENV="$ROOT/.venv"
CHECKOV_VENV="$ROOT/.tools/checkov-venv"
NODE_DIR="$ROOT/.tools/node"
mkdir -p "$BUILD_DIR"

# One target directory layout for every cargo command the scripts run: clippy, `cargo test` and
# the dev-profile Lambda zips (scripts/build.sh --dev) all build for the Lambda target triple, so
# the zips' cargo invocation and the tests share their compiled dependencies instead of building
# them twice (once for the host default, once for the explicit target cargo-lambda passes).
HOST_LAMBDA_TARGET=x86_64-unknown-linux-gnu
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$HOST_LAMBDA_TARGET}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Python virtualenv with moto (the local AWS), boto3, pytest, cargo-lambda and zig.
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv"
  fi
  if ! "$VENV/bin/python" -c 'import moto, boto3, pytest, xdist, yaml, phonenumbers, duckdb' 2>/dev/null \
     || [ ! -x "$VENV/bin/cargo-lambda" ] || ! "$VENV/bin/python" -c 'import ziglang' 2>/dev/null; then
    log "installing Python tools into $VENV (moto, boto3, pytest, pytest-xdist, phonenumbers, duckdb, cargo-lambda, ziglang)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements.txt" \
      || die "pip install failed: the package registry must be reachable"
  fi
  export PATH="$VENV/bin:$PATH"
}

# checkov pins older boto3/botocore than moto wants: it gets its own virtualenv.
ensure_checkov() {
  if [ ! -x "$CHECKOV_VENV/bin/checkov" ]; then
    log "installing checkov into $CHECKOV_VENV"
    python3 -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check checkov \
      || die "pip install checkov failed"
  fi
}

# Headless Chromium from the distribution's packages, for the browser test of the operator's HTML
# report (tests/report). Root installs it; otherwise sudo, when it needs no password.
ensure_chromium() {
  CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
  if [ -z "$CHROMIUM" ]; then
    command -v apt-get >/dev/null || die "chromium is not installed and there is no apt-get: install Chromium and put it on PATH"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || { sudo -n true 2>/dev/null && sudo="sudo -n"; } \
      || die "chromium is not installed: run 'sudo apt-get install -y chromium'"
    log "installing chromium (apt-get)"
    $sudo apt-get install -y -q chromium >/dev/null 2>&1 \
      || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; } \
      || die "apt-get install chromium failed"
    CHROMIUM="$(command -v chromium)"
  fi
  export CHROMIUM
}

# asl-validator from npm, into .tools/node.
ensure_asl_validator() {
  if [ ! -x "$NODE_DIR/node_modules/.bin/asl-validator" ]; then
    log "installing asl-validator into $NODE_DIR"
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } \
      && npm install --silent --no-audit --no-fund asl-validator) || die "npm install asl-validator failed"
  fi
  ASL_VALIDATOR="$NODE_DIR/node_modules/.bin/asl-validator"
  export ASL_VALIDATOR
}

# Terraform: use the local provider mirror when this machine has one (offline machines),
# otherwise the public registry. The CLI config is written into .build, never into $HOME.
ensure_terraform() {
  command -v terraform >/dev/null || die "terraform is not on PATH (>= 1.7 needed for terraform test mocks)"
  local mirror=""
  local provider
  provider=$(find / -path /proc -prune -o -name 'terraform-provider-aws_*' -type f -print 2>/dev/null | head -n 1)
  if [ -n "$provider" ]; then
    # <mirror>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_*
    mirror="${provider%/registry.terraform.io/*}"
  fi
  local rc="$BUILD_DIR/terraform.rc"
  if [ -n "$mirror" ] && [ -d "$mirror/registry.terraform.io" ]; then
    cat > "$rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
RC
  else
    printf '# no local mirror found: providers come from the registry\n' > "$rc"
  fi
  export TF_CLI_CONFIG_FILE="$rc"
  export TF_IN_AUTOMATION=1
  export CHECKPOINT_DISABLE=1
}

# terraform init that fails with a clear message when neither the mirror nor the registry works.
tf_init() {
  local dir="$1"
  terraform -chdir="$dir" init -backend=false -input=false -no-color >"$BUILD_DIR/tf-init.log" 2>&1 || {
    cat "$BUILD_DIR/tf-init.log" >&2
    die "terraform init failed in $dir: no provider mirror on this machine and the registry is unreachable?"
  }
}

# Workspace crates with a binary target: `crate_list functions` gives the deployable ones (under
# functions/; the shared library has no binary), `crate_list local` the local-stack ones (the
# Connect simulator and the no-op Lambda, under local/), which are never zipped. A binary
# anywhere else (the operator's CLI under cli/) is in neither list: cargo test and clippy build
# it with the workspace, and the Lambda zips and the local stack leave it out.
crate_list() {
  cargo metadata --manifest-path "$ROOT/Cargo.toml" --no-deps --format-version 1 --locked | python3 -c '
import json, os, sys
meta = json.load(sys.stdin)
under = os.path.join(meta["workspace_root"], sys.argv[1]) + os.sep
for p in meta["packages"]:
    if any("bin" in t["kind"] for t in p["targets"]) and p["manifest_path"].startswith(under):
        print(p["name"])
' "$1"
}

# The cargo package selection of a dev build for the local stack: every function and every
# local-only binary, in one invocation (scripts/build.sh --dev and make demo select the same set,
# so cargo resolves the same features and reuses what the other built), plus the operator's CLI,
# which make demo runs at its end (`outbound report`; it enables no feature of a shared crate
# that the functions do not, so selecting it changes nothing in their build).
local_stack_packages() {
  local crate
  for crate in $(crate_list functions) $(crate_list local) outbound; do printf -- '-p\n%s\n' "$crate"; done
}
