#!/usr/bin/env python3
"""End to end through the local Lambda API: caller-id invoke latency, load-list rows/s into the ledger.

Both run on the local stack (local/tests/harness.py: moto + the real functions from dist/x86_64
behind the launcher, `terraform apply` of examples/local), through boto3's Lambda `Invoke`:

- caller-id: --invokes synchronous invocations of the deployed function with the whisper-flow
  fixtures (tests/fixtures/connect-events), after --warmup; the latency is the client's, from
  sending the request to reading the answer: boto3 -> moto's Lambda API -> the launcher's
  Runtime API -> the warm `bootstrap` process and back. The handler's own time is in
  `cargo bench -p caller-id`; the launcher's per-invocation time is shown next to it.
- load-list: a generated CSV of --rows contacts (every 50th number invalid) is put in the input
  bucket while the bucket's notification is paused (it would start a second load), then
  load-list is invoked synchronously with the S3 event for it: it streams the object from
  moto S3, validates every row, admits the valid ones into the campaign ledger in moto DynamoDB
  (one conditional put each, several in flight), writes the rejects report and starts the state
  machine. rows/s = rows / invocation time; the campaign's ledger items are counted against
  `queued`. The campaign's switch (`activeBlaster`) is off, so the execution it starts stops at
  once and nothing dials. Two sizes, each its own campaign: moto's speed, not Lambda's or
  DynamoDB's, sets the figure. The parse and batch work without network is
  `cargo bench -p load-list --bench parse`, a 10,000,000-row list across invocations
  `--bench big_file`.

Usage: scripts/bench_local_lambda.py [--invokes N] [--warmup N] [--rows N[,N...]]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from bench_common import ROOT, BenchStack, bench_line, machine, median, percentile, print_table, say  # noqa: E402
from harness import REGION, contacts_csv  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "connect-events"


def caller_id(stack: BenchStack, invokes: int, warmup: int) -> dict[str, float]:
    events = [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))]
    payloads = [json.dumps(e).encode() for e in events]
    name = stack.function_name("caller-id")
    lam = stack.lambda_

    def once(i: int) -> float:
        t0 = time.perf_counter()
        res = lam.invoke(FunctionName=name, Payload=payloads[i % len(payloads)])
        body = json.loads(res["Payload"].read())
        elapsed = time.perf_counter() - t0
        if res.get("FunctionError") or "outbound_number" not in body:
            raise RuntimeError(f"caller-id answered {body}")
        return elapsed * 1000

    cold = once(0)
    for i in range(warmup):
        once(i)
    stack.launcher.reset_stats()
    latencies = [once(i) for i in range(invokes)]
    stats = stack.function_stats("caller-id")
    out = {"cold": cold, "p50": median(latencies), "p99": percentile(latencies, 99), "max": max(latencies),
           "launcher_mean": stats["durationMsMean"], "n": invokes}
    say(f"caller-id: first invoke {cold:.1f} ms (cold process); {invokes} warm invokes p50 {out['p50']:.2f} ms, "
        f"p99 {out['p99']:.2f} ms, max {out['max']:.1f} ms; the launcher's own time per invocation "
        f"{stats['durationMsMean']:.2f} ms")
    return out


def load_list(stack: BenchStack, rows: int) -> dict[str, float]:
    stack.set_param("activeBlaster", "False")
    bucket = stack.out["input_bucket_name"]
    key = f"bench/load-list-{rows}.csv"  # the bucket's notification is paused (main)
    body = contacts_csv(rows, bad_every=50).encode("utf-8")
    stack.s3.put_object(Bucket=bucket, Key=key, Body=body)
    event = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
                          "eventName": "ObjectCreated:Put",
                          "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                 "object": {"key": key, "size": len(body), "sequencer": f"{time.time_ns():X}"}}}]}
    # A long invocation: the stack's client would time out after 60 s and retry.
    lam = boto3.client("lambda", endpoint_url=stack.launcher.endpoint, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing",
                       config=Config(read_timeout=900, retries={"max_attempts": 0}))
    stack.launcher.reset_stats()
    t0 = time.perf_counter()
    res = lam.invoke(FunctionName=stack.function_name("load-list"), Payload=json.dumps(event).encode())
    answer = json.loads(res["Payload"].read())
    elapsed = time.perf_counter() - t0
    if res.get("FunctionError"):
        raise RuntimeError(f"load-list failed: {answer}")
    result = answer[0] if isinstance(answer, list) else answer
    if result.get("error"):
        raise RuntimeError(f"load-list did not load {key}: {result['error']}")
    queued = int(result["queued"])
    in_ledger = len(stack.campaign_ledger_items(result["campaign"]))
    stats = stack.function_stats("load-list")
    out = {"rows": rows, "queued": queued, "rejected": int(result["rejected"]), "seconds": elapsed,
           "rows_per_s": rows / elapsed, "launcher_ms": stats["durationMsMax"], "in_ledger": in_ledger}
    say(f"load-list: {rows} rows ({len(body) / 1e6:.1f} MB) in {elapsed:.2f} s: {queued} admitted, "
        f"{result['rejected']} rejected, {out['rows_per_s']:.0f} rows/s; the ledger holds {in_ledger} "
        f"contacts of campaign {result['campaign']}; the launcher timed the invocation at "
        f"{stats['durationMsMax'] / 1000:.2f} s")
    if in_ledger != queued:
        say(f"WARNING: the ledger holds {in_ledger} contacts, load-list reported {queued}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--invokes", type=int, default=500)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--rows", default="500,2000", help="comma-separated list sizes, each loaded as its own campaign")
    args = p.parse_args()
    m = machine()
    print(f"machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}; {m['date']}")
    started = time.monotonic()
    with BenchStack(log=say) as stack:
        say(f"deployed in {time.monotonic() - started:.0f} s")
        cid = caller_id(stack, args.invokes, args.warmup)
        # The benchmark invokes load-list itself, timed: the input bucket's notification (which
        # would start a second, asynchronous load of the same object) is paused meanwhile.
        bucket = stack.out["input_bucket_name"]
        notification = stack.s3.get_bucket_notification_configuration(Bucket=bucket)
        notification.pop("ResponseMetadata", None)
        stack.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
        loads = []
        try:
            for rows in [int(r) for r in args.rows.split(",") if r.strip()]:
                loads.append(load_list(stack, rows))
        finally:
            stack.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notification)
    figures = [
        ("caller_id_invoke_local_api_p50", cid["p50"], "ms", None),
        ("caller_id_invoke_local_api_p99", cid["p99"], "ms", None),
    ]
    figures += [(f"load_list_rows_per_s_into_moto_ledger_{ll['rows']}_rows", ll["rows_per_s"], "rows/s", None)
                for ll in loads]
    print_table("Through the local Lambda API (moto + launcher)", figures)
    print(f"\n(caller-id: {cid['n']} warm invokes; load-list: "
          + "; ".join(f"{ll['rows']} rows, {ll['queued']} queued, {ll['rejected']} rejected in {ll['seconds']:.1f} s"
                      for ll in loads)
          + f"; total run {time.monotonic() - started:.0f} s)\n")
    for name, value, unit, target in figures:
        bench_line(name, value, unit, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
