#!/usr/bin/env python3
"""Cold start and peak RSS of caller-id, side by side with its floor and its seed.

Three functions, each run the same way, in one run:

- **caller-id**: the release `bootstrap` Terraform deploys (dist/x86_64/caller-id), as deployed
  (trusting Amazon Trust Services' roots from the binary) and with `TRUST_ROOTS=system` (the
  system's trust store, read on the first request) to show what that costs;
- **no-op**: local/noop-lambda, a Lambda on the same runtime that returns its input, built in the
  same cargo invocation (same profile, target and linker) by `scripts/build.sh --noop`: the floor
  any function built this way pays before its own code runs;
- **seed**: the reference design's original Python caller-ID function (local/seed-caller-id),
  run by the project virtualenv's Python behind a Runtime API client (local/python_bootstrap.py),
  as Lambda's Python runtime runs it.

Cold start = from spawning the process to the Runtime API receiving its first answer: process
start, runtime (and for the seed, interpreter and imports) set-up, the routing file's GET from S3
(moto on loopback; caller-id and the seed read the same file from the same moto), the first
handler call. The event is queued before the process starts, as Lambda does. RUNS rounds; in each,
every function gets a fresh process with a fresh Runtime API (local/runtime.py's `LocalFunction`),
in an order that rotates from round to round so that a burst of load on the shared machine does
not always fall on the same function. Every first answer is checked: caller-id's against
tests/fixtures/connect-events/expected/answers.json, the seed's against
local/seed-caller-id/expected-answers.json, the no-op's against the event itself.

Peak RSS = VmHWM of the process after the first answer and WARM_CALLS more invocations (SEED_WARM_CALLS
for the seed, whose every call re-reads the file from S3; fewer calls can only understate its peak).

What this does not include: Lambda's own sandbox start and the download of the code, which happen
before the process exists and do not depend on it (for the seed, Lambda's Python runtime is in its
image already; here the interpreter starts from the page cache).

Usage: scripts/bench_caller_id_cold.py [--runs N] [--warm-calls N] [--seed-warm-calls N]
Environment: MOTO_ENDPOINT (use a running moto) or CALLER_ID_BENCH_MOTO_PORT (default: a free port),
CALLER_ID_BOOTSTRAP / NOOP_BOOTSTRAP (binary or zip to measure; else the newest builds, the no-op
one built with caller-id's profile if missing).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "local" / "tests")]

from caller_id_harness import (  # noqa: E402
    SEED_DIR,
    Moto,
    bootstrap_path,
    caller_id_profile,
    free_port,
    function_env,
    noop_bootstrap_path,
    peak_rss_kib,
    seed_command,
)

from local.runtime import LocalFunction  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "connect-events"
FIRST_ANSWER_TIMEOUT = 30.0

# The targets ("caller ID that starts in milliseconds").
FLOOR_MARGIN_MS = 10.0  # caller-id cold start p50 at most 10 ms above the no-op's
SEED_FACTOR = 50.0  # ... and at least 50 times faster than the seed's
RSS_LIMIT_MIB = 20.0  # caller-id peak RSS


@dataclass
class Subject:
    name: str
    label: str
    argv0: Path
    args: list[str]
    extra_env: dict[str, str]
    cwd: Path | None
    expected: Callable[[str, Any], Any]  # (fixture name, event) -> the answer wanted
    warm_calls: int
    cold_ms: list[float] = field(default_factory=list)
    ready_ms: list[float] = field(default_factory=list)
    warm_ms: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        return {
            "p50": statistics.median(self.cold_ms),
            "p90": percentile(self.cold_ms, 90),
            "max": max(self.cold_ms),
            "ready_p50": statistics.median(self.ready_ms),
            "rss_mib": max(self.rss_kib) / 1024 if self.rss_kib else float("nan"),
            "warm_p50_us": statistics.median(self.warm_ms) * 1000 if self.warm_ms else float("nan"),
            "warm_p99_us": percentile(self.warm_ms, 99) * 1000 if self.warm_ms else float("nan"),
        }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


def bench_line(name: str, value: float, unit: str, target: str | None = None):
    row: dict[str, Any] = {"name": name, "value": round(value, 2), "unit": unit}
    if target is not None:
        row["target"] = target
    print("BENCH " + json.dumps(row))


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def run_once(subject: Subject, run: int, event: Any, fixture: str, warm_events: list[Any], moto: Moto, bucket: str,
             logs: Path) -> None:
    fn = LocalFunction(function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{subject.name}")
    env = {**function_env(moto.endpoint, bucket, "routing.json", ttl=60), **subject.extra_env,
           "AWS_LAMBDA_FUNCTION_NAME": subject.name}
    log = logs / f"{subject.name}-{run}.log"
    first = fn.submit(event)
    try:
        proc = fn.start(subject.argv0, env, log, subject.args, subject.cwd)
        t0 = fn.spawned_at
        if not first.done.wait(FIRST_ANSWER_TIMEOUT):
            raise RuntimeError(f"{subject.name}: no answer; log: {log.read_text()[-2000:]}")
        want = subject.expected(fixture, event)
        if not first.ok or first.answer != want:
            raise RuntimeError(f"{subject.name}: unexpected first answer to {fixture}: {first.answer}, "
                               f"expected {want}; log: {log.read_text()[-2000:]}")
        subject.cold_ms.append((first.answered_at - t0) * 1000)
        subject.ready_ms.append((fn.first_poll_at - t0) * 1000)
        for i in range(subject.warm_calls):
            inv = fn.invoke(warm_events[i % len(warm_events)])
            subject.warm_ms.append((inv.answered_at - inv.picked_at) * 1000)
        rss = peak_rss_kib(proc.pid)
        if rss is not None:
            subject.rss_kib.append(rss)
    finally:
        fn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="cold starts per function (default 15)")
    parser.add_argument("--warm-calls", type=int, default=500, help="invocations after the first, Rust (default 500)")
    parser.add_argument("--seed-warm-calls", type=int, default=100,
                        help="invocations after the first, the Python seed (default 100)")
    args = parser.parse_args()

    say = lambda m: print(m, file=sys.stderr)  # noqa: E731
    caller_id = bootstrap_path(log=say)
    profile = caller_id_profile()
    if os.environ.get("CALLER_ID_BOOTSTRAP"):
        # A binary given by hand: dist/'s profile marker says nothing about it.
        profile = "given"
    # The floor is only a floor when built the same way: the no-op gets caller-id's profile.
    noop = noop_bootstrap_path(profile="release" if profile == "release" else "dev", log=say)
    python, seed_args, seed_env, seed_cwd = seed_command()

    expected = json.loads((FIXTURES / "expected" / "answers.json").read_text())
    seed_expected = json.loads((SEED_DIR / "expected-answers.json").read_text())
    names = sorted(expected)
    events = {name: json.loads((FIXTURES / name).read_text()) for name in names}

    subjects = [
        Subject("caller-id", f"caller-id ({profile} bootstrap)", caller_id, [], {}, None,
                lambda name, event: expected[name], args.warm_calls),
        # The same binary trusting the system's store instead of Amazon's roots from the binary
        # (caller_id_trust_roots = "system"): what reading the trust store costs a cold start.
        Subject("caller-id-system-roots", "caller-id, TRUST_ROOTS=system", caller_id, [],
                {"TRUST_ROOTS": "system"}, None, lambda name, event: expected[name], args.warm_calls),
        Subject("noop-lambda", f"no-op Rust Lambda ({profile} bootstrap)", noop, [], {}, None,
                lambda name, event: event, args.warm_calls),
        Subject("seed-caller-id", "seed: original Python function", python, seed_args, seed_env, seed_cwd,
                lambda name, event: seed_expected[name], args.seed_warm_calls),
    ]

    moto = Moto(int(os.environ.get("CALLER_ID_BENCH_MOTO_PORT") or free_port()))
    logs = Path(tempfile.mkdtemp(prefix="caller-id-bench-"))
    try:
        bucket = f"caller-id-bench-{uuid.uuid4().hex[:10]}"
        s3 = moto.s3()
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="routing.json", Body=(ROOT / "sample-files" / "routing.json").read_bytes())
        for run in range(args.runs):
            fixture = names[run % len(names)]
            order = subjects[run % len(subjects):] + subjects[:run % len(subjects)]
            for subject in order:
                run_once(subject, run, events[fixture], fixture, list(events.values()), moto, bucket, logs)
    finally:
        moto.stop()

    fig = {s.name: s.figures() for s in subjects}
    c, n, s = fig["caller-id"], fig["noop-lambda"], fig["seed-caller-id"]
    over_floor = c["p50"] - n["p50"]
    seed_factor = s["p50"] / c["p50"]

    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "?"
    print(f"caller-id: {caller_id} ({caller_id.stat().st_size / 1e6:.1f} MB); no-op: {noop} "
          f"({noop.stat().st_size / 1e6:.1f} MB); seed: {python.name} {Path(seed_args[0]).name} "
          f"{seed_env['_HANDLER']}")
    print(f"{args.runs} cold starts each against moto S3 at {moto.endpoint}, one process per start, "
          f"rotating order (load average at the end: {load})\n")
    w = max(len(x.label) for x in subjects)
    print(f"{'function':<{w}}  {'cold p50':>9} {'p90':>9} {'max':>9} {'1st poll':>9}   {'peak RSS':>9}"
          f"   {'warm p50':>9} {'warm p99':>9}")
    for x in subjects:
        f = fig[x.name]
        print(f"{x.label:<{w}}  {f['p50']:>6.1f} ms {f['p90']:>6.1f} ms {f['max']:>6.1f} ms "
              f"{f['ready_p50']:>6.1f} ms   {f['rss_mib']:>5.1f} MiB   {f['warm_p50_us']:>6.0f} µs "
              f"{f['warm_p99_us']:>6.0f} µs")
    print("  (1st poll: start to the first GET /next, median; warm calls go through the emulator's HTTP,")
    print("   the handler time alone is in `cargo bench -p caller-id --bench handler`)\n")
    print(f"caller-id − no-op floor, cold p50: {over_floor:6.1f} ms   target ≤ {FLOOR_MARGIN_MS:.0f} ms: "
          f"{met(over_floor <= FLOOR_MARGIN_MS)}")
    print(f"seed ÷ caller-id, cold p50:        {seed_factor:6.1f} ×    target ≥ {SEED_FACTOR:.0f} ×: "
          f"{met(seed_factor >= SEED_FACTOR)}")
    print(f"caller-id peak RSS:                {c['rss_mib']:6.1f} MiB  target < {RSS_LIMIT_MIB:.0f}: "
          f"{met(c['rss_mib'] < RSS_LIMIT_MIB)} ({c['rss_mib'] * 1.048576:.1f} MB)\n")

    bench_line("caller_id_cold_start_p50", c["p50"], "ms", f"<= {n['p50'] + FLOOR_MARGIN_MS:.1f}")
    bench_line("caller_id_cold_start_p90", c["p90"], "ms")
    bench_line("caller_id_cold_start_max", c["max"], "ms")
    bench_line("caller_id_peak_rss", c["rss_mib"], "MiB", f"< {RSS_LIMIT_MIB:.0f}")
    bench_line("noop_lambda_cold_start_p50", n["p50"], "ms")
    bench_line("noop_lambda_cold_start_p90", n["p90"], "ms")
    bench_line("noop_lambda_cold_start_max", n["max"], "ms")
    bench_line("noop_lambda_peak_rss", n["rss_mib"], "MiB")
    bench_line("seed_cold_start_p50", s["p50"], "ms")
    bench_line("seed_cold_start_p90", s["p90"], "ms")
    bench_line("seed_cold_start_max", s["max"], "ms")
    bench_line("seed_peak_rss", s["rss_mib"], "MiB")
    bench_line("caller_id_system_roots_cold_start_p50", fig["caller-id-system-roots"]["p50"], "ms")
    bench_line("caller_id_cold_start_over_noop_p50", over_floor, "ms", f"<= {FLOOR_MARGIN_MS:.0f}")
    bench_line("seed_over_caller_id_cold_start_p50", seed_factor, "x", f">= {SEED_FACTOR:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
