"""Shared pieces of the local-stack benchmarks (scripts/bench_dialer.py, scripts/bench_local_lambda.py).

A benchmark prints a readable table and ends with one `BENCH {json}` line per figure
(`name`, `value` as a number, `unit`, `target` as a comparison such as "< 50"); scripts/bench.sh
collects those lines. Benchmarks measure, they never pass or fail.

Test infrastructure only: nothing here is deployed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "local" / "tests"))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from harness import REGION, Stack  # noqa: E402

BENCH_USER_AGENT = "outbound-voice-bench"
ALWAYS_OPEN_DAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


def say(msg: str) -> None:
    print(f"    {msg}", flush=True)


def bench_line(name: str, value: float, unit: str, target: str | None = None) -> None:
    row: dict[str, Any] = {"name": name, "value": round(float(value), 4), "unit": unit}
    if target is not None:
        row["target"] = target
    print("BENCH " + json.dumps(row), flush=True)


def met(value: float, target: str | None) -> str:
    """'met' / 'missed' for a target written as '<op> <number>' ('-' without a target)."""
    if not target or value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    op, _, num = target.partition(" ")
    limit = float(num)
    ok = {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}.get(op)
    return "-" if ok is None else ("met" if ok else "MISSED")


def print_table(title: str, rows: Iterable[tuple[str, float, str, str | None]], fmt: str = ".2f") -> None:
    """rows: (figure, value, unit, target)."""
    rows = list(rows)
    w = max([len(r[0]) for r in rows] + [10])
    print(f"\n{title}")
    print(f"{'figure':<{w}}  {'value':>12} {'unit':<12} {'target':<10} result")
    print("-" * (w + 48))
    for name, value, unit, target in rows:
        v = f"{value:>12{fmt}}" if isinstance(value, (int, float)) else f"{value!s:>12}"
        print(f"{name:<{w}}  {v} {unit:<12} {target or '-':<10} {met(value, target)}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ts(value: str | None) -> float | None:
    """Epoch seconds of an ISO 8601 timestamp ('Z' or offset), None for None."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def always_open() -> dict[str, Any]:
    return {"id": "00000000-0000-4000-8000-000000000004", "name": "Always", "timeZone": "UTC",
            "config": [{"Day": d, "StartTime": {"Hours": 0, "Minutes": 0}, "EndTime": {"Hours": 0, "Minutes": 0}}
                       for d in ALWAYS_OPEN_DAYS]}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024, 1), "cpu": cpu,
            "date": time.strftime("%Y-%m-%d", time.gmtime())}


class BenchStack(Stack):
    """The harness's Stack, with what the benchmarks add:

    - moto's request recorder (`/moto-api/recorder/...`) writing to a file of ours, so the AWS
      requests a campaign makes can be counted per service and operation (the cost model);
    - overrides of a deployed function's environment through the Lambda API (the launcher starts
      a new warm pool on a configuration change), for settings examples/local does not expose;
    - no `terraform destroy` on exit: moto keeps everything in memory and stops with the
      launcher, so a destroy would only spend a minute; the Terraform state directory is removed.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        # One attempt per contact unless a benchmark asks for redials: the figures are per call.
        variables = {"redial": {"max_attempts": 1}, **(kwargs.pop("variables", None) or {})}
        super().__init__(*args, variables=variables, **kwargs)
        self.recording = Path(os.environ.get("BENCH_RECORDING_DIR") or "/tmp") / f"moto-recording-{os.getpid()}.jsonl"

    def __enter__(self) -> BenchStack:
        # The launcher (moto in-process) inherits this environment: the recorder's file.
        os.environ["MOTO_RECORDER_FILEPATH"] = str(self.recording)
        super().__enter__()
        # The benchmark's own requests (polling the campaign) carry a mark in their User-Agent,
        # so the recording can leave them out: only the product's requests are priced.
        cfg = Config(retries={"max_attempts": 8, "mode": "standard"}, user_agent_extra=BENCH_USER_AGENT)
        kw = dict(endpoint_url=self.launcher.endpoint, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing", config=cfg)
        self.s3 = boto3.client("s3", **kw)
        self.sqs = boto3.client("sqs", **kw)
        self.sfn = boto3.client("stepfunctions", **kw)
        self.ssm = boto3.client("ssm", **kw)
        self.ddb = boto3.client("dynamodb", **kw)
        self.lambda_ = boto3.client("lambda", **kw)
        return self

    def __exit__(self, *exc: Any) -> None:
        for proc in (self.sim, self.launcher):
            if proc:
                proc.stop()
        if os.environ.get("KEEP_STACK") != "1":
            # Our own temporary directories: Terraform's state, the launcher's unpacked zips and
            # logs, the simulator's files.
            for d in (self.deployment.workdir if self.deployment else None,
                      self.launcher.tmp if self.launcher else None, self.sim.tmp if self.sim else None):
                if d:
                    shutil.rmtree(d, ignore_errors=True)
        try:
            self.recording.unlink()
        except OSError:
            pass

    # ----- moto's recorder

    def _recorder(self, action: str) -> None:
        # The recorder answers with an empty (not JSON) body.
        assert self.launcher
        req = urllib.request.Request(f"{self.launcher.endpoint}/moto-api/recorder/{action}", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()

    def start_recording(self) -> None:
        self._recorder("reset-recording")
        self._recorder("start-recording")

    def stop_recording(self) -> list[dict[str, Any]]:
        """The product's requests since start_recording (the benchmark's own left out)."""
        self._recorder("stop-recording")
        entries = []
        if self.recording.exists():
            with open(self.recording, encoding="utf-8") as f:
                for line in f:
                    if not line.strip():
                        continue
                    entry = json.loads(line)
                    ua = {k.lower(): v for k, v in entry.get("headers", {}).items()}.get("user-agent", "")
                    if BENCH_USER_AGENT not in ua:
                        entries.append(entry)
        return entries

    # ----- deployed functions

    def function_name(self, function: str) -> str:
        return self.out["lambda_function_names"].get(function) or function

    def override_env(self, function: str, **variables: str) -> None:
        name = self.function_name(function)
        current = self.lambda_.get_function_configuration(FunctionName=name)
        env = dict(current.get("Environment", {}).get("Variables", {}))
        env.update({k: str(v) for k, v in variables.items()})
        self.lambda_.update_function_configuration(FunctionName=name, Environment={"Variables": env})

    def function_stats(self, function: str) -> dict[str, Any]:
        """The launcher's counters of one function (keyed by the deployed name)."""
        assert self.launcher
        return self.launcher.stats()["functions"].get(self.function_name(function), {})

    def memory_mb(self, function: str) -> int:
        return int(self.lambda_.get_function_configuration(FunctionName=self.function_name(function))["MemorySize"])


def classify_request(entry: dict[str, Any]) -> tuple[str, str]:
    """(service, operation) of one recorded moto request.

    JSON protocols name the operation in `X-Amz-Target` (DynamoDB, SQS, SSM, Step Functions);
    the service is in the SigV4 credential scope. S3 and Lambda are REST: method + path.
    """
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    auth = headers.get("authorization", "")
    service = "unknown"
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
    target = headers.get("x-amz-target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    method = entry.get("method", "")
    url = entry.get("url", "")
    path = url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url.lstrip("/")
    path = path.split("?", 1)[0]
    if service == "s3":
        parts = [p for p in path.split("/") if p]
        if method == "PUT" and len(parts) >= 2:
            return service, "PutObject"
        if method == "GET" and len(parts) >= 2:
            return service, "GetObject"
        if method == "HEAD" and len(parts) >= 2:
            return service, "HeadObject"
        return service, f"{method} bucket"
    if service == "lambda":
        return service, "Invoke" if path.endswith("/invocations") else f"{method} {path.split('/')[1] if '/' in path else path}"
    if service in ("sqs", "sns", "iam", "sts") and entry.get("body"):
        # Query protocol: Action=... in the form body (base64 when recorded as bytes).
        body = entry["body"]
        if entry.get("body_encoded"):
            import base64

            body = base64.b64decode(body).decode("utf-8", "replace")
        for part in body.split("&"):
            if part.startswith("Action="):
                return service, part[7:]
    return service, method


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
