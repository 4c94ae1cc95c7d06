"""Runs the built caller-id binary locally: moto S3 for the routing file, the Runtime API emulator
(`local.runtime.LocalFunction`) for invocations. Shared by local/tests/test_caller_id_binary.py and
scripts/bench_caller_id_cold.py.

Which binary: `CALLER_ID_BOOTSTRAP` (a `bootstrap` file or a `bootstrap.zip`) when set; else
`dist/x86_64/caller-id/bootstrap.zip`, built first by `scripts/build.sh --dev` when it is missing
or older than the sources. `make bench` builds release zips into the same place before it runs,
so its cold-start figures are of the optimised binary (dist/x86_64/PROFILE says which).

The cold-start benchmark's two other subjects run through the same emulator:
- the no-op Lambda (local/noop-lambda, the floor): `NOOP_BOOTSTRAP` when set; else
  `.build/noop-lambda/x86_64/bootstrap.zip`, which `scripts/build.sh --noop` builds in the same
  cargo invocation as the functions (`noop_bootstrap_path`);
- the reference design's Python seed function (local/seed-caller-id), run by the project
  virtualenv's interpreter behind local/python_bootstrap.py (`seed_command`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from local.stack import dev_binary, ensure_local_build, newest_source_mtime  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
DIST_ZIP = ROOT / "dist" / "x86_64" / "caller-id" / "bootstrap.zip"
SOURCES = [
    ROOT / "functions" / "caller-id",
    ROOT / "functions" / "outbound-core" / "src",
    ROOT / "Cargo.lock",
]


NOOP_SOURCES = [ROOT / "local" / "noop-lambda", ROOT / "Cargo.lock"]
SEED_DIR = ROOT / "local" / "seed-caller-id"
PYTHON_BOOTSTRAP = ROOT / "local" / "python_bootstrap.py"


def noop_zip(arch: str = "x86_64") -> Path:
    return ROOT / ".build" / "noop-lambda" / arch / "bootstrap.zip"


def _unzip_bootstrap(zip_path: Path, name: str = "caller-id") -> Path:
    """Unpacks once per zip version into .build/ (a new temporary directory per run left a copy
    of the binary behind every time). Safe when several test processes ask at once (pytest -n,
    and the benchmark's test runs the benchmark beside test_caller_id_binary.py): each unpacks
    into a directory of its own and renames it into place; the first rename wins."""
    stamp = zip_path.stat()
    out = ROOT / ".build" / f"{name}-bootstrap" / f"{stamp.st_mtime_ns}-{stamp.st_size}"
    path = out / "bootstrap"
    if not path.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=out.parent))
        with zipfile.ZipFile(zip_path) as z:
            z.extract("bootstrap", staging)
        (staging / "bootstrap").chmod(0o755)
        try:
            staging.rename(out)
        except OSError:  # another process put the same version in place first
            shutil.rmtree(staging, ignore_errors=True)
        for old in out.parent.iterdir():  # earlier versions of the zip
            if old != out and not old.name.startswith(".unpacking-"):
                shutil.rmtree(old, ignore_errors=True)
    return path


def bootstrap_path(log=print) -> Path:
    """The bootstrap to run (see the module docstring for the order)."""
    override = os.environ.get("CALLER_ID_BOOTSTRAP")
    if override:
        p = Path(override)
        if not p.exists():
            raise FileNotFoundError(f"CALLER_ID_BOOTSTRAP={override} does not exist")
        return _unzip_bootstrap(p) if p.suffix == ".zip" else p

    if not DIST_ZIP.exists() or DIST_ZIP.stat().st_mtime < newest_source_mtime(SOURCES):
        log("caller-id zip missing or older than the sources: scripts/build.sh --dev x86_64")
        ensure_local_build()
    log(f"caller-id binary: {DIST_ZIP.relative_to(ROOT)} ({_profile()} profile)")
    return _unzip_bootstrap(DIST_ZIP)


def _profile() -> str:
    marker = DIST_ZIP.parent.parent / "PROFILE"
    return marker.read_text().strip() if marker.exists() else "unknown"


def caller_id_profile() -> str:
    """The profile of dist/x86_64's zips ("release", "dev", or "unknown")."""
    return _profile()


def noop_profile() -> str:
    marker = noop_zip().parent / "PROFILE"
    return marker.read_text().strip() if marker.exists() else "unknown"


def noop_bootstrap_path(profile: str = "dev", log=print) -> Path:
    """The no-op Lambda's bootstrap: `NOOP_BOOTSTRAP` (a binary or zip) when set; else the zip
    `scripts/build.sh --noop` writes, (re)built with `profile` when it is missing, older than its
    sources, or of another profile. The benchmark asks for caller-id's profile, so both are built
    the same way; a test (`profile="any"`) takes whatever is there, the dev binary
    `make test` built included, and builds a dev one if nothing is."""
    override = os.environ.get("NOOP_BOOTSTRAP")
    if override:
        p = Path(override)
        if not p.exists():
            raise FileNotFoundError(f"NOOP_BOOTSTRAP={override} does not exist")
        return _unzip_bootstrap(p, "noop-lambda") if p.suffix == ".zip" else p
    zip_path = noop_zip()
    newest = newest_source_mtime(NOOP_SOURCES)
    fresh = zip_path.exists() and zip_path.stat().st_mtime >= newest
    binary = dev_binary("noop-lambda")
    if profile != "release" and not fresh and binary.exists() and binary.stat().st_mtime >= newest:
        # `scripts/build.sh --dev --tests` (make test) built it with the workspace.
        log(f"no-op binary: {binary} (dev profile)")
        return binary
    if not fresh or (profile != "any" and noop_profile() != profile):
        flags = ["--noop", "x86_64"] if profile == "release" else ["--dev", "--noop", "x86_64"]
        log(f"no-op Lambda zip missing, stale or not {profile}: scripts/build.sh {' '.join(flags)}")
        subprocess.run([str(ROOT / "scripts" / "build.sh"), *flags], cwd=ROOT, check=True)
    log(f"no-op binary: {zip_path.relative_to(ROOT)} ({noop_profile()} profile)")
    return _unzip_bootstrap(zip_path, "noop-lambda")


def seed_command() -> tuple[Path, list[str], dict[str, str], Path]:
    """How to start the Python seed function: (interpreter, its arguments, the environment the
    Python runtime adds, working directory). The project virtualenv's interpreter, which has
    boto3 and phonenumbers (scripts/requirements.txt), runs local/python_bootstrap.py with the
    handler in LAMBDA_TASK_ROOT, as Lambda's Python runtime runs a function from /var/task."""
    python = VENV_BIN / "python"
    if not python.exists():
        raise RuntimeError("no .venv: run `source scripts/lib.sh && ensure_venv`")
    env = {
        "_HANDLER": "lambda_function.lambda_handler",
        "LAMBDA_TASK_ROOT": str(SEED_DIR),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3",
    }
    return python, [str(PYTHON_BOOTSTRAP)], env, SEED_DIR


def _port_free(port: int) -> bool:
    """Whether nothing listens on `port`. SO_REUSEADDR as the server sets it: connections of an
    earlier run still in TIME_WAIT do not make the port busy, a listener does."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """A moto server of our own, or the one named by MOTO_ENDPOINT."""

    def __init__(self, port: int):
        self.proc = None
        shared = os.environ.get("MOTO_ENDPOINT")
        if shared:
            self.endpoint = shared.rstrip("/")
            return
        moto = VENV_BIN / "moto_server"
        if not moto.exists():
            raise RuntimeError("moto_server not found in .venv: run `source scripts/lib.sh && ensure_venv`")
        if not _port_free(port):
            # Another moto (or anything) there would answer our health check and be used by
            # mistake: refuse instead.
            raise RuntimeError(f"port {port} is in use: choose another or set MOTO_ENDPOINT")
        self.endpoint = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"moto_server exited (port {port} in use?)")
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not start on port {port}")

    def s3(self):
        import boto3  # the .venv has it; imported here so the module loads without it

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


def function_env(moto_endpoint: str, bucket: str, key: str, ttl: int = 60) -> dict:
    """What Lambda would set, plus the function's own variables; nothing from the caller's shell
    except PATH, so a developer's AWS profile cannot leak in. `LocalFunction.start` adds
    AWS_LAMBDA_RUNTIME_API."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_FUNCTION_NAME": "caller-id",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/caller-id",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "BUCKET_NAME": bucket,
        "COUNTRY_ROUTING_LIST_KEY": key,
        "ROUTING_CACHE_TTL_SECONDS": str(ttl),
    }


def routing_bucket(moto: "Moto", prefix: str, key: str, body: bytes) -> str:
    """A new bucket on `moto` holding the routing file `body` at `key`; its name."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    s3 = moto.s3()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key=key, Body=body)
    return name


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM (peak resident set) of a live process, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


if __name__ == "__main__":
    print(bootstrap_path(log=lambda m: print(m, file=sys.stderr)))
