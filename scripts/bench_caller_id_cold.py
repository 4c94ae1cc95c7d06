#!/usr/bin/env python3
"""Cold start and peak RSS of the caller-id release binary.

Cold start = from spawning the `bootstrap` process to the Runtime API receiving its first answer:
process start, runtime and SDK set-up, the routing file's GET from S3 (moto on loopback), the first
handler call. The event is queued before the process starts, as Lambda does. Repeated RUNS times,
each in a fresh process with a fresh Runtime API (local/runtime.py's `LocalFunction`).

Peak RSS = VmHWM of the process after the first answer and WARM_CALLS more invocations.

What this does not include: Lambda's own sandbox start and the download of the zip, which happen
before the process exists and do not depend on the code.

Usage: scripts/bench_caller_id_cold.py [--runs N] [--warm-calls N]
Environment: MOTO_ENDPOINT (use a running moto) or CALLER_ID_BENCH_MOTO_PORT (default: a free port),
CALLER_ID_BOOTSTRAP (binary or zip to measure; else the newest build, built if missing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "local" / "tests")]

from caller_id_harness import (  # noqa: E402
    Moto,
    bootstrap_path,
    free_port,
    function_env,
    peak_rss_kib,
)

from local.runtime import LocalFunction  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "connect-events"


def bench_line(name: str, value: float, unit: str, target: str):
    print("BENCH " + json.dumps({"name": name, "value": round(value, 2), "unit": unit, "target": target}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warm-calls", type=int, default=500)
    args = parser.parse_args()

    bootstrap = bootstrap_path(log=lambda m: print(m, file=sys.stderr))
    expected = json.loads((FIXTURES / "expected" / "answers.json").read_text())
    names = sorted(expected)
    events = [json.loads((FIXTURES / name).read_text()) for name in names]
    moto = Moto(int(os.environ.get("CALLER_ID_BENCH_MOTO_PORT") or free_port()))
    logs = Path(tempfile.mkdtemp(prefix="caller-id-bench-"))
    try:
        bucket = f"caller-id-bench-{uuid.uuid4().hex[:10]}"
        s3 = moto.s3()
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="routing.json", Body=(ROOT / "sample-files" / "routing.json").read_bytes())

        cold_ms, ready_ms, rss_kib, warm_ms = [], [], [], []
        for run in range(args.runs):
            fn = LocalFunction()
            env = function_env(moto.endpoint, bucket, "routing.json", ttl=60)
            log = logs / f"run-{run}.log"
            first = fn.submit(events[run % len(events)])
            try:
                proc = fn.start(bootstrap, env, log)
                t0 = fn.spawned_at
                if not first.done.wait(15):
                    raise RuntimeError(f"no answer; log: {log.read_text()[-2000:]}")
                want = expected[names[run % len(names)]]
                if not first.ok or first.answer != want:
                    raise RuntimeError(f"unexpected first answer: {first.answer}, expected {want}; "
                                       f"log: {log.read_text()[-2000:]}")
                cold_ms.append((first.answered_at - t0) * 1000)
                ready_ms.append((fn.first_poll_at - t0) * 1000)
                for i in range(args.warm_calls):
                    inv = fn.invoke(events[i % len(events)])
                    warm_ms.append((inv.answered_at - inv.picked_at) * 1000)
                rss = peak_rss_kib(proc.pid)
                if rss is not None:
                    rss_kib.append(rss)
            finally:
                fn.close()
    finally:
        moto.stop()

    cold_ms.sort()
    p50 = statistics.median(cold_ms)
    worst = cold_ms[-1]
    ready = statistics.median(ready_ms)
    rss_mib = max(rss_kib) / 1024 if rss_kib else float("nan")
    warm_ms.sort()
    warm_p50 = statistics.median(warm_ms) if warm_ms else float("nan")
    warm_p99 = warm_ms[int(0.99 * (len(warm_ms) - 1))] if warm_ms else float("nan")

    print(f"caller-id release binary: {bootstrap} ({bootstrap.stat().st_size / 1e6:.1f} MB)")
    print(f"{args.runs} cold starts against moto S3 at {moto.endpoint}\n")
    print(f"{'figure':<44} {'value':>10}")
    print(f"{'cold start to first answer, median':<44} {p50:>8.1f} ms")
    print(f"{'cold start to first answer, worst':<44} {worst:>8.1f} ms")
    print(f"{'  of which start to first /next poll':<44} {ready:>8.1f} ms")
    print(f"{'peak RSS (VmHWM), worst run':<44} {rss_mib:>8.1f} MiB")
    print(f"{'warm call via Runtime API, p50':<44} {warm_p50 * 1000:>8.0f} µs")
    print(f"{'warm call via Runtime API, p99':<44} {warm_p99 * 1000:>8.0f} µs")
    print("  (warm calls include the emulator's HTTP; the handler time alone is in the cargo bench)\n")

    bench_line("caller_id_cold_start_p50", p50, "ms", "< 100")
    bench_line("caller_id_cold_start_max", worst, "ms", "< 100")
    bench_line("caller_id_peak_rss", rss_mib, "MiB", "< 30")
    return 0


if __name__ == "__main__":
    sys.exit(main())
