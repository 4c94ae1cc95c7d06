"""Start and stop the local stack's processes from Python (tests, demo, benchmarks).

    from local.stack import Launcher, ConnectSim
    with Launcher() as moto, ConnectSim(events_endpoint=moto.endpoint) as sim:
        ...

Both wait for their ready file before returning and stop their process (SIGTERM, then SIGKILL)
on exit. Nothing here is product code: it is test infrastructure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port(lo: int = 5201, hi: int = 5299) -> int:
    """A port in [lo, hi] nobody listens on (the range given to the local stack's own runs).

    Prefer port 0 (the launcher and the simulator bind any free port and report it in their
    ready file): a port found free here can be taken before its process binds it. Where a port
    must be known before its process starts, parallel test workers (pytest-xdist) each search
    their own slice of the range, so two workers never pick the same one."""
    worker, workers = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and workers.isdigit() and int(workers) > 1:
        size = (hi - lo + 1) // int(workers)
        lo = lo + int(worker[2:]) * size
        hi = lo + size - 1
    for port in range(lo, hi + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {lo}-{hi}")


def http_json(method: str, url: str, body: Any = None, timeout: float = 10.0) -> Any:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


class _Process:
    name = "process"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.tmp = tempfile.mkdtemp(prefix=f"{self.name}-")
        self.ready_file = os.path.join(self.tmp, "ready.json")
        self.log_path = os.path.join(self.tmp, f"{self.name}.log")
        self.ready: dict[str, Any] = {}

    def _spawn(self, cmd: list[str], env: dict[str, str] | None = None, timeout: float = 60.0) -> None:
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.ready_file):
                with open(self.ready_file, encoding="utf-8") as f:
                    self.ready = json.load(f)
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log()[-3000:]}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s: {self.log()[-3000:]}")

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class Launcher(_Process):
    """`python -m local.launcher` (moto + the real Lambda functions)."""

    name = "launcher"

    def __init__(self, port: int = 0, connect_endpoint: str | None = None, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None):
        super().__init__()
        self.port = port
        self.connect_endpoint = connect_endpoint
        self.extra_args = extra_args or []
        self.env = env
        self.stats_file = os.path.join(self.tmp, "stats.json")
        self.function_logs = os.path.join(self.tmp, "functions")

    def __enter__(self) -> Launcher:
        cmd = [sys.executable, "-m", "local.launcher", "--port", str(self.port),
               "--ready-file", self.ready_file, "--stats-file", self.stats_file,
               "--log-dir", self.function_logs, "--work-dir", os.path.join(self.tmp, "code")]
        if self.connect_endpoint:
            cmd += ["--connect-endpoint", self.connect_endpoint]
        self._spawn(cmd + self.extra_args, self.env)
        return self

    @property
    def endpoint(self) -> str:
        return self.ready["endpoint"]

    def stats(self) -> dict[str, Any]:
        return http_json("GET", f"{self.endpoint}/_launcher/stats")

    def reset_stats(self) -> None:
        http_json("POST", f"{self.endpoint}/_launcher/stats/reset")

    def function_log(self, name: str) -> str:
        try:
            with open(os.path.join(self.function_logs, f"{name}.log"), encoding="utf-8") as f:
                return f.read()
        except OSError:
            return ""


# What the local stack runs: the function zips Terraform uploads and the Connect simulator, both
# from one dev-profile build (scripts/build.sh --dev) into the target directory clippy and the
# tests share (CARGO_BUILD_TARGET in scripts/lib.sh).
HOST_TARGET = "x86_64-unknown-linux-gnu"
ARTIFACTS = ROOT / "dist" / "x86_64"
RUST_SOURCES = [ROOT / "functions", ROOT / "local" / "connect-sim", ROOT / "Cargo.toml", ROOT / "Cargo.lock"]


def dev_binary(name: str) -> Path:
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    return target_dir / HOST_TARGET / "debug" / name


def newest_source_mtime(sources: list[Path] = RUST_SOURCES) -> float:
    newest = 0.0
    for src in sources:
        paths = [src] if src.is_file() else [*src.rglob("*.rs"), *src.rglob("Cargo.toml")]
        for p in paths:
            if p.exists():
                newest = max(newest, p.stat().st_mtime)
    return newest


def ensure_local_build() -> None:
    """Builds the zips and the simulator when either is missing or older than the Rust sources,
    so a stale binary never answers for the current source. One cargo invocation for both: a
    separate `cargo build -p connect-sim` would resolve other features and rebuild tokio."""
    outputs = [ARTIFACTS / "dial" / "bootstrap.zip", dev_binary("connect-sim")]
    if all(p.exists() for p in outputs) and min(p.stat().st_mtime for p in outputs) >= newest_source_mtime():
        return
    subprocess.run([str(ROOT / "scripts" / "build.sh"), "--dev", "x86_64"], cwd=ROOT, check=True)


def connect_sim_binary(build: bool = True) -> Path:
    """The connect-sim binary: `$CONNECT_SIM_BIN` if set (make bench points it at a release
    build), else the dev build, brought up to date first."""
    if os.environ.get("CONNECT_SIM_BIN"):
        return Path(os.environ["CONNECT_SIM_BIN"])
    if build:
        ensure_local_build()
    binary = dev_binary("connect-sim")
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing: scripts/build.sh --dev x86_64")
    return binary


class ConnectSim(_Process):
    """`connect-sim` (the Amazon Connect simulator)."""

    name = "connect-sim"

    def __init__(self, port: int = 0, events_endpoint: str | None = None, config: dict[str, Any] | None = None,
                 binary: Path | None = None, extra_args: list[str] | None = None):
        super().__init__()
        self.port = port
        self.events_endpoint = events_endpoint
        self.config_patch = config or {}
        self.binary = binary
        self.extra_args = extra_args or []
        self.stats_file = os.path.join(self.tmp, "stats.json")

    def __enter__(self) -> ConnectSim:
        binary = self.binary or connect_sim_binary()
        cmd = [str(binary), "--port", str(self.port), "--ready-file", self.ready_file,
               "--stats-file", self.stats_file]
        if self.events_endpoint:
            cmd += ["--events-endpoint", self.events_endpoint]
        if self.config_patch:
            path = os.path.join(self.tmp, "config.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(self.config_patch, f)
            cmd += ["--config", path]
        self._spawn(cmd + self.extra_args)
        return self

    @property
    def endpoint(self) -> str:
        return self.ready["endpoint"]

    def configure(self, **patch: Any) -> dict[str, Any]:
        return http_json("POST", f"{self.endpoint}/_sim/config", patch)

    def stats(self, contacts: bool = True) -> dict[str, Any]:
        suffix = "" if contacts else "?contacts=false"
        return http_json("GET", f"{self.endpoint}/_sim/stats{suffix}")

    def reset(self, config: bool = False) -> None:
        http_json("POST", f"{self.endpoint}/_sim/reset{'?config=true' if config else ''}")
