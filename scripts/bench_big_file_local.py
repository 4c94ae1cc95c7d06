#!/usr/bin/env python3
"""A 1 GB contact list loaded end to end on the local stack: the deployed load-list, segment after
segment, from the real object in moto S3 into the campaign ledger in moto DynamoDB.

What runs is what runs in an account: the CSV is uploaded to the input bucket (multipart, as a
client uploads a big file), the bucket's notification invokes load-list asynchronously, and each
invocation streams the object from its checkpoint (a ranged `GetObject` from the byte offset the
previous segment stopped at), admits each valid contact with a conditional put, writes its
rejects report and, a fifth of its timeout before the end, hands the rest over to a new
asynchronous invocation. The stop switch is off, so nothing dials.

moto admits about 150 contacts a second (one Python process, one conditional put each), so the
whole file would take most of a day: the benchmark lets the chain run for `--minutes` and then
measures what it did: segments (invocations), contacts admitted and rows/s (moto's pace, not the
function's: the function alone is `cargo bench -p load-list --bench big_file`), how far into the
file the checkpoint got, and the function's peak memory (the launcher's `VmHWM` of the process
that ran the segments) against the 128 MB target. Every segment starts from a checkpoint with a
fresh reader, so the memory of the first segments is that of any later one; the rows of the
rest of the file are not read, and the time they would take is extrapolated at the measured
pace, not measured.

moto announces a multipart upload twice (`ObjectCreated:Put` and
`ObjectCreated:CompleteMultipartUpload`; S3 sends the latter only), so two chains load the
file side by side: S3 delivers notifications at least once, and the check that no line is
admitted twice holds for that too.

Usage: scripts/bench_big_file_local.py [--rows N] [--minutes M] [--timeout S]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from boto3.s3.transfer import TransferConfig  # noqa: E402

from bench_common import BenchStack, bench_line, machine, print_table, say  # noqa: E402

HEADER = "custID,phone,firstName,lastName,tier,notes\n"
MARK = 10_000  # rows per offset mark


def write_list(path: Path, rows: int, bad_every: int) -> tuple[int, list[int]]:
    """`rows` contacts with distinct GB mobile numbers (07400 000000 onwards, all in the 0740
    mobile range, so every one is valid),
    every `bad_every`-th an invalid number, about 120 bytes a row. Returns the file's size and
    the byte offset at which each block of `MARK` rows starts (for where a checkpoint got to)."""
    marks = []
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        size = len(HEADER)
        chunk = []
        for i in range(rows):
            if i % MARK == 0:
                text = "".join(chunk)
                out.write(text)
                size += len(text)  # ASCII only: characters are bytes
                chunk = []
                marks.append(size)
            phone = "+44123" if (i + 1) % bad_every == 0 else f"+4474{i:08d}"
            chunk.append(f"C-{i:08d},{phone},Name{i % 1000},Lastname{i},gold,"
                         f"\"customer since 2019, likes calls in the mornings, account {i:08d}\"\n")
        text = "".join(chunk)
        out.write(text)
        size += len(text)
    return size, marks


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="rows of the generated list (about 120 bytes each)")
    p.add_argument("--minutes", type=float, default=6.0, help="how long the segments run before the measurement")
    p.add_argument("--timeout", type=int, default=60, help="load-list's timeout: a segment lasts about 4/5 of it")
    p.add_argument("--bad-every", type=int, default=50)
    args = p.parse_args()
    m = machine()
    print(f"machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}; {m['date']}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="big-list-") as tmp:
        path = Path(tmp) / "big.csv"
        t0 = time.monotonic()
        size, marks = write_list(path, args.rows, args.bad_every)
        say(f"generated {args.rows:,} rows, {size / 1e9:.2f} GB in {time.monotonic() - t0:.0f} s")
        variables = {"load_list_timeout_seconds": args.timeout}
        with BenchStack(variables=variables, log=say) as stack:
            say(f"deployed in {time.monotonic() - started:.0f} s")
            stack.set_param("activeBlaster", "False")
            campaign = "bench-big-file"
            key = f"campaigns/{campaign}/big.csv"
            memory_mb = stack.memory_mb("load-list")
            stack.launcher.reset_stats()
            t0 = time.monotonic()
            stack.s3.upload_file(str(path), stack.out["input_bucket_name"], key,
                                 Config=TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=64 << 20))
            uploaded = time.monotonic()
            say(f"uploaded to the input bucket in {uploaded - t0:.0f} s; the notification starts load-list")
            deadline = uploaded + args.minutes * 60
            while time.monotonic() < deadline:
                time.sleep(15)
                s = stack.function_stats("load-list")
                say(f"[{time.monotonic() - uploaded:5.0f}s] load-list invocations {s.get('invocations', 0)} "
                    f"(running {s.get('running', 0)}, errors {s.get('errors', 0)}), peak RSS "
                    f"{s.get('peakRssKiB', 0) / 1024:.1f} MiB")
            elapsed = time.monotonic() - uploaded
            stats = stack.function_stats("load-list")
            items = stack.campaign_ledger_items(campaign)
            lines = [int(json.loads(i["source"])["line"]) for i in items]
            rejects = stack.rejects(campaign)
    furthest = max(lines + [r["line"] for r in rejects]) if lines else 0
    offset = marks[(furthest - 2) // MARK] if furthest >= 2 else 0
    admitted = len(items)
    rate = (admitted + len(rejects)) / elapsed if elapsed else 0.0
    peak_mib = stats.get("peakRssKiB", 0) / 1024
    whole_hours = args.rows / rate / 3600 if rate else float("nan")
    errors = stats.get("errors", 0)
    say(f"{stats.get('invocations', 0)} segments in {elapsed:.0f} s: {admitted:,} contacts admitted, "
        f"{len(rejects):,} rejected with their line numbers; furthest line {furthest:,} "
        f"(past byte {offset / 1e6:,.0f} MB of {size / 1e9:.2f} GB); {errors} errors; "
        f"peak RSS {peak_mib:.1f} MiB of the function's {memory_mb} MB")
    if errors:
        say(f"WARNING: load-list failed {errors} time(s): {stats.get('errorTypes')}")
    if len(set(lines)) != len(lines):
        say("WARNING: a line was admitted twice")
    figures = [
        (f"load_list_big_file_local_segments ({size / 1e9:.2f} GB, {args.minutes:g} min)",
         stats.get("invocations", 0), "invocations", None),
        ("load_list_big_file_local_rows_per_s_into_moto", rate, "rows/s", None),
        ("load_list_big_file_local_peak_rss", peak_mib, "MiB", "< 128"),
        ("load_list_big_file_local_whole_file_at_this_pace", whole_hours, "hours (extrapolated)", None),
    ]
    print_table("1 GB list through the deployed load-list (local stack)", figures)
    print(f"\n(total run {time.monotonic() - started:.0f} s)\n")
    for name, value, unit, target in figures:
        bench_line(name, value, unit, target)
    return 1 if errors or len(set(lines)) != len(lines) else 0


if __name__ == "__main__":
    sys.exit(main())
