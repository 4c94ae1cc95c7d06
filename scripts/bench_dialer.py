#!/usr/bin/env python3
"""Dialer efficiency on the local stack, and the AWS cost per 1,000 dialed contacts.

The local stack (local/tests/harness.py): moto with the state machine really executed, the real
Rust functions from dist/x86_64 behind the launcher, the Connect simulator with compressed call
durations, and `terraform apply` of examples/local. Three campaigns run on one deployment:

1. efficiency (--contacts, default 400, calls 10x shorter than real): concurrency-bound (the
   simulator's quota and the `callspersecond` parameter far above what the lanes can place),
   every request to moto recorded. Gives billed state transitions, Lambda invocations and AWS requests per dialed
   contact, lane utilisation, the end-to-next-dial gap, and the cost model;
2. history (--history-sizes, default 1500): bigger campaigns of very short calls, to show
   that the largest execution history does not grow with the campaign (waves), fed to the
   queue in parts (--chunk) as it drains. `--history-budget 8000 --history-sizes 20000` runs
   the 20,000-contact campaign at the module's default budget (50 min on 2 shared cores);
3. rate (--rate-contacts, default 150): the simulator's quota at Connect's default (2/s, burst
   5), `callspersecond` = the quota, short calls so the lanes could place far more: the
   achieved dial rate against the quota.

Each prints what it saw; the end is a table of every figure with its target, then one
`BENCH {json}` line per figure. How each figure is counted: BENCHMARKS.md.

Usage: scripts/bench_dialer.py [--contacts N] [--lanes L] [--history-sizes N,N] [--history-budget E]
                               [--chunk N] [--rate-contacts N] [--quota Q] [--time-scale S]
                               [--skip rate,history] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    BenchStack,
    always_open,
    bench_line,
    classify_request,
    machine,
    median,
    percentile,
    print_table,
    say,
    ts,
)
from harness import contacts_csv  # noqa: E402

# us-east-1 list prices (USD), as published on the AWS pricing pages; see BENCHMARKS.md for the date.
PRICES = {
    "sfn_transition": 0.025 / 1000,  # Step Functions Standard, per state transition
    "lambda_request": 0.20 / 1_000_000,  # per request
    "lambda_gb_s_x86": 0.0000166667,  # per GB-second, x86_64, first 6 billion GB-s
    "sqs_request": 0.40 / 1_000_000,  # standard queue, per 64 KB request, first 100 billion
    "ddb_wru": 0.625 / 1_000_000,  # on-demand write request unit (since the November 2024 cut)
    "ddb_rru": 0.125 / 1_000_000,  # on-demand read request unit
    "s3_put": 0.005 / 1000,  # S3 Standard PUT/COPY/POST/LIST, per request
    "s3_get": 0.0004 / 1000,  # S3 Standard GET and others, per request
}
PRICES_AS_OF = "2026-11-22"

# The original design (reference solution): 5 billed transitions per contact plus 4 per minute
# of its monitor loop, about 20 history events per contact in one execution.
ORIGINAL_TRANSITIONS_PER_CONTACT = 5
ORIGINAL_MONITOR_PER_MINUTE = 4
ORIGINAL_EVENTS_PER_CONTACT = 20
CONNECT_DEFAULT_QUOTA = 2.0  # StartOutboundVoiceContact, calls per second per account

DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
DDB_READS = {"GetItem", "Query", "Scan"}


# ----------------------------------------------------------------------------- campaign driver

def run_campaign(stack: BenchStack, campaign: str, n: int, start: int, timeout: float, chunk: int,
                 record: bool = False) -> dict[str, Any]:
    """Uploads n contacts for `campaign`, waits until the campaign is done, and returns what the
    simulator, the launcher, the executions and (when `record`) moto's recorder saw.

    A list longer than `chunk` is uploaded in parts of `chunk` contacts (`part-NNNN/<campaign>.csv`,
    the same campaign), the next part whenever fewer than half a part of the contacts uploaded
    so far are still to be placed (the simulator counts placed calls; the queue's own count lags
    while load-list runs asynchronously after the upload): moto's SQS scans
    the whole queue on every send and receive, so a deep queue would make the local stack, not
    the dialer, the bottleneck. A part arriving during a run joins it (its execution finds the
    run claimed and ends at once)."""
    stack.launcher.reset_stats()
    stack.sim.reset(config=False)
    if record:
        stack.start_recording()
    since = time.time()
    parts = [(i, min(chunk, n - i)) for i in range(0, n, chunk)] if chunk > 0 else [(0, n)]
    t0 = time.monotonic()
    for k, (offset, size) in enumerate(parts):
        if k:
            while offset - stack.sim.stats(contacts=False)["placed"] >= max(1, chunk // 2):
                if time.monotonic() - t0 > timeout:
                    raise TimeoutError(f"{campaign}: the queue did not drain to feed part {k + 1}")
                time.sleep(1.0)
            say(f"part {k + 1}/{len(parts)}: {size} contacts")
        key = f"{campaign}.csv" if len(parts) == 1 else f"part-{k + 1:04d}/{campaign}.csv"
        stack.upload_csv(key, contacts_csv(size, start=start + offset))
    wall = time.monotonic() - t0
    wall += stack.wait_until_idle(campaign, expected_results=n, timeout=timeout, progress=say, settle=2.0)
    requests = stack.stop_recording() if record else []
    calls = stack.sim_calls(campaign)
    return {"campaign": campaign, "n": n, "wall": wall, "since": since, "calls": calls,
            "sim": stack.sim.stats(contacts=False), "lambda": stack.launcher.stats(),
            "requests": requests, "executions": executions_since(stack, since)}


def executions_since(stack: BenchStack, since: float) -> list[dict[str, Any]]:
    out = []
    for e in stack.executions():
        if e["startDate"].timestamp() >= since - 1:
            out.append({"arn": e["executionArn"], "status": e["status"], "events": stack.history(e["executionArn"])})
    return out


# ----------------------------------------------------------------------------- figures

def billed_transitions(events: list[dict[str, Any]]) -> dict[str, int]:
    """Billed state transitions of one execution, from its history.

    Step Functions bills one transition per state entered (each Map iteration's states
    included) and one more per retry of a Task. The history has one `*StateEntered` event per
    state entered; a retried Task has one `TaskScheduled` (or `LambdaFunctionScheduled`) per
    attempt inside one `TaskStateEntered`, so retries = scheduled attempts - task entries.
    """
    entered = Counter()
    scheduled = 0
    for ev in events:
        t = ev["type"]
        if t.endswith("StateEntered"):
            entered[t] += 1
        elif t in ("TaskScheduled", "LambdaFunctionScheduled"):
            scheduled += 1
    task_entries = entered["TaskStateEntered"]
    retries = max(0, scheduled - task_entries)
    return {"entered": sum(entered.values()), "retries": retries, "total": sum(entered.values()) + retries}


def state_entries(events: list[dict[str, Any]]) -> Counter[str]:
    names: Counter[str] = Counter()
    for ev in events:
        if ev["type"].endswith("StateEntered"):
            names[ev.get("stateEnteredEventDetails", {}).get("name", "?")] += 1
    return names


def lane_records(stack: BenchStack, campaign: str) -> dict[str, dict[str, Any]]:
    """contactId -> {runId, lane, call} from the ActiveDialing table's CONTACT# items (one Scan
    instead of one GetObject per results record)."""
    table = stack.param("table-activedialing")
    out: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": table, "FilterExpression": "begins_with(pk, :p) AND campaign = :c",
                              "ExpressionAttributeValues": {":p": {"S": "CONTACT#"}, ":c": {"S": campaign}}}
    while True:
        page = stack.ddb.scan(**kwargs)
        for item in page["Items"]:
            cid = item["pk"]["S"].split("#", 1)[1]
            lane = item.get("lane", {})
            call = item.get("call", {})
            out[cid] = {"runId": item.get("runId", {}).get("S"),
                        "lane": int(lane.get("N") or lane.get("S") or 0),
                        "call": int(call.get("N") or call.get("S") or 0)}
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def lane_figures(calls: list[dict[str, Any]], lanes_of: dict[str, dict[str, Any]], lanes: int) -> dict[str, Any]:
    """Utilisation and end-to-next-dial gaps from the simulator's calls and their lanes."""
    placed = [(ts(c["placedAt"]), ts(c.get("endedAt")), c["contactId"]) for c in calls]
    placed = [p for p in placed if p[0] is not None]
    t0 = min(p[0] for p in placed)
    t1 = max(p[0] for p in placed)  # the last contact was taken from the queue just before
    busy = 0.0
    for start, end, _ in placed:
        end = end if end is not None else t1
        busy += max(0.0, min(end, t1) - max(start, t0))
    utilisation = 100.0 * busy / (lanes * (t1 - t0)) if t1 > t0 else float("nan")

    by_lane: dict[tuple[str, int], list[tuple[float, float | None, int]]] = defaultdict(list)
    unknown = 0
    for start, end, cid in placed:
        lane = lanes_of.get(cid)
        if not lane:
            unknown += 1
            continue
        by_lane[(lane["runId"], lane["lane"])].append((start, end, lane["call"]))
    gaps, within, across = [], [], []
    for seq in by_lane.values():
        seq.sort()
        for (s0, e0, c0), (s1, _e1, c1) in zip(seq, seq[1:]):
            if e0 is None:
                continue
            gap = s1 - e0
            gaps.append(gap)
            (within if c1 > c0 else across).append(gap)
    durations = [e - s for s, e, _ in placed if e is not None]
    return {"utilisation": utilisation, "window": t1 - t0, "gaps": gaps, "within": within, "across": across,
            "lanes_seen": len(by_lane), "unmatched": unknown, "mean_call": sum(durations) / len(durations),
            "first": t0, "last": t1}


def dial_rate(calls: list[dict[str, Any]]) -> float:
    t = sorted(ts(c["placedAt"]) for c in calls)
    return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else float("nan")


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB item size in bytes (attribute names + values, the documented rules, roughly)."""
    def value(v: dict[str, Any]) -> int:
        (kind, x), = v.items()
        if kind == "S":
            return len(x.encode("utf-8"))
        if kind == "N":
            return (len(x.strip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
        if kind == "B":
            return len(x)
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + 1 + value(w) for k, w in x.items())
        if kind == "L":
            return 3 + sum(1 + value(w) for w in x)
        if kind in ("SS", "NS", "BS"):
            return sum(len(str(e)) for e in x)
        return 0
    return sum(len(k.encode("utf-8")) + value(v) for k, v in item.items())


def table_item_sizes(stack: BenchStack) -> dict[str, int]:
    """Item sizes by `pk`, at the end of the run, of the two tables the dialer writes: the
    ActiveDialing table and the campaign ledger (their keys never collide: `CONTACT#`, `RUN#`,
    `LANE#`... against `<campaign>#<contact key>` and `CAMPAIGNS`)."""
    sizes: dict[str, int] = {}
    for table in (stack.param("table-activedialing"), stack.out["campaign_ledger_table_name"]):
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = stack.ddb.scan(**kwargs)
            for item in page["Items"]:
                sizes[item["pk"]["S"]] = item_size(item)
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sizes


# The campaign ledger's indexes (modules/dialer/ledger.tf): a write that puts, moves or removes an
# item in an index also writes the index, one WRU per put or delete (keys only, under 1 KB).
LEDGER_INDEX_KEYS = {"due": ("dueShard", "dueAt"), "held": ("heldShard", "leaseUntil")}


def index_write_units(req: dict[str, Any]) -> int:
    """Index WRU of one ledger write, from the request alone: an item put with an index's keys
    is one put; an UpdateItem that SETs an index key is counted as a move (delete and put, 2:
    the upper bound, as the item's previous state is not in the request) and one that REMOVEs it
    as one delete."""
    if "Item" in req:
        return sum(1 for keys in LEDGER_INDEX_KEYS.values() if keys[0] in req["Item"])
    expr = req.get("UpdateExpression") or ""
    if not expr:
        return 0
    names = req.get("ExpressionAttributeNames") or {}
    # Clauses: "SET a = :x, #b = :y REMOVE c" → which attribute names each clause touches.
    import re

    clauses = re.split(r"\b(SET|REMOVE|ADD|DELETE)\b", expr)
    units = 0
    for verb, body in zip(clauses[1::2], clauses[2::2]):
        touched = set()
        for part in body.split(","):
            target = part.split("=")[0].strip().split(" ")[0]
            touched.add(names.get(target, target))
        for keys in LEDGER_INDEX_KEYS.values():
            if touched & set(keys):
                units += 2 if verb == "SET" else 1 if verb == "REMOVE" else 0
    return units


def request_units(requests: list[dict[str, Any]], sizes: dict[str, int]) -> dict[str, Any]:
    """Per service and operation counts of the recorded requests, and DynamoDB request units:
    a write costs ceil(item size / 1 KB) WRU (the item as it is at the end of the run: an
    UpdateItem is billed on the larger of the item before and after), a strongly consistent
    read ceil(size / 4 KB) RRU, an eventually consistent one half of that."""
    ops: Counter[tuple[str, str]] = Counter()
    wru = rru = 0.0
    index_wru = 0
    import base64

    for entry in requests:
        service, op = classify_request(entry)
        ops[(service, op)] += 1
        if service != "dynamodb" or (op not in DDB_WRITES and op not in DDB_READS):
            continue
        body = entry.get("body") or "{}"
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        try:
            req = json.loads(body)
        except ValueError:
            req = {}
        key = (req.get("Key") or req.get("Item") or {}).get("pk", {}).get("S", "")
        size = sizes.get(key)
        if size is None and "Item" in req:
            size = item_size(req["Item"])
        size = size or 100
        if op in DDB_WRITES:
            wru += max(1, math.ceil(size / 1024))
            index_wru += index_write_units(req)
        elif op == "GetItem":
            units = max(1, math.ceil(size / 4096))
            rru += units if req.get("ConsistentRead") else units / 2
        else:
            # The feeder's and get-contacts' queries of the ledger's keys-only indexes (and of the
            # CAMPAIGNS item): a few hundred bytes each, one 4 KB unit at most, counted as a
            # strongly consistent unit (an upper bound: index queries are eventually consistent).
            rru += 1
    return {"ops": ops, "wru": wru + index_wru, "index_wru": index_wru, "rru": rru}


# ----------------------------------------------------------------------------- phases

def configure(stack: BenchStack, lanes: int, rate: float, quota: float, burst: float, time_scale: float) -> None:
    stack.set_param("activeBlaster", "True")
    stack.set_param("concurrentcalls", str(lanes))
    stack.set_param("callspersecond", str(rate))
    stack.sim.configure(quotaRate=quota, quotaBurst=burst, timeScale=time_scale, errorRate=0.0,
                        dropEventShare=0.0, duplicateEventShare=0.0, queueStatus="ENABLED")
    stack.sim.configure(hours=always_open())


def efficiency(stack: BenchStack, args: argparse.Namespace) -> dict[str, Any]:
    say(f"efficiency: {args.contacts} contacts, {args.lanes} lanes, timeScale {args.time_scale}, "
        "quota and callspersecond far above what the lanes place")
    configure(stack, args.lanes, rate=100, quota=1000, burst=1000, time_scale=args.time_scale)
    run = run_campaign(stack, "bench-efficiency", args.contacts, 100_000, args.timeout, 0, record=True)
    n_calls = len(run["calls"])
    n = run["n"]
    per_exec = [billed_transitions(e["events"]) for e in run["executions"]]
    transitions = sum(p["total"] for p in per_exec)
    retries = sum(p["retries"] for p in per_exec)
    states: Counter[str] = Counter()
    for e in run["executions"]:
        states.update(state_entries(e["events"]))
    events_total = sum(len(e["events"]) for e in run["executions"])
    largest = max(len(e["events"]) for e in run["executions"])
    lam = run["lambda"]
    lanes_of = lane_records(stack, run["campaign"])
    lanes = lane_figures(run["calls"], lanes_of, args.lanes)
    sizes = table_item_sizes(stack)
    units = request_units(run["requests"], sizes)
    memory = {f: stack.memory_mb(f) for f in lam["functions"]}
    short = {v: k for k, v in stack.out["lambda_function_names"].items()}
    say(f"{n_calls} calls placed for {n} contacts in {run['wall']:.0f} s; {len(run['executions'])} executions; "
        f"{transitions} billed transitions ({retries} retries); {lam['totalInvocations']} Lambda invocations")
    types: Counter[str] = Counter(ev["type"] for e in run["executions"] for ev in e["events"])
    say("history events: " + ", ".join(f"{k} {v}" for k, v in types.most_common()))
    say("states entered: " + ", ".join(f"{k} {v}" for k, v in states.most_common()))
    say("invocations: " + ", ".join(f"{short.get(f, f)} {s['invocations']} (mean {s['durationMsMean']:.1f} ms, "
                                    f"{memory[f]} MB)" for f, s in sorted(lam["functions"].items())))
    say("requests to moto: " + ", ".join(f"{s}:{o} {c}" for (s, o), c in sorted(units["ops"].items())))
    return {"run": run, "n": n, "calls": n_calls, "transitions": transitions, "retries": retries,
            "events_total": events_total, "largest": largest, "executions": len(run["executions"]),
            "lanes": lanes, "units": units, "memory": memory, "lambda": lam, "time_scale": args.time_scale}


def history(stack: BenchStack, args: argparse.Namespace, size: int, index: int) -> dict[str, Any]:
    say(f"history: {size} contacts, {args.lanes} lanes, timeScale {args.history_time_scale}")
    configure(stack, args.lanes, rate=100, quota=1000, burst=1000, time_scale=args.history_time_scale)
    run = run_campaign(stack, f"bench-history-{size}", size, 200_000 + 100_000 * index, args.timeout,
                       args.chunk)
    sizes = sorted((len(e["events"]) for e in run["executions"]), reverse=True)
    transitions = sum(billed_transitions(e["events"])["total"] for e in run["executions"])
    say(f"{size} contacts in {run['wall']:.0f} s: {len(sizes)} executions, largest history {sizes[0]} events "
        f"(then {sizes[1:4]}), {transitions / size:.3f} transitions per contact")
    return {"n": size, "largest": sizes[0], "executions": len(sizes), "wall": run["wall"],
            "transitions": transitions, "rate": dial_rate(run["calls"])}


def rate(stack: BenchStack, args: argparse.Namespace) -> dict[str, Any]:
    say(f"rate: {args.rate_contacts} contacts, {args.lanes} lanes, quota {args.quota}/s (burst 5), "
        f"callspersecond {args.quota}, timeScale {args.history_time_scale}")
    configure(stack, args.lanes, rate=args.quota, quota=args.quota, burst=5.0, time_scale=args.history_time_scale)
    run = run_campaign(stack, "bench-rate", args.rate_contacts, 900_000, args.timeout, 0)
    achieved = dial_rate(run["calls"])
    durations = [ts(c["endedAt"]) - ts(c["placedAt"]) for c in run["calls"] if c.get("endedAt")]
    capacity = args.lanes / (median(durations) + 0.5) if durations else float("nan")
    say(f"{len(run['calls'])} calls in {run['wall']:.0f} s: {achieved:.2f} calls/s against a {args.quota}/s quota; "
        f"the simulator throttled {run['sim']['throttled']} requests; lanes could place ~{capacity:.1f}/s "
        f"(median call {median(durations):.2f} s)")
    return {"achieved": achieved, "quota": args.quota, "throttled": run["sim"]["throttled"],
            "capacity": capacity, "n": len(run["calls"])}


# ----------------------------------------------------------------------------- cost model

def cost_model(eff: dict[str, Any]) -> dict[str, Any]:
    n = eff["calls"]
    per = 1000 / n
    lam = eff["lambda"]["functions"]
    gb_s = 0.0
    for f, s in lam.items():
        # Lambda bills each invocation's duration rounded up to the millisecond.
        gb_s += s["invocations"] * math.ceil(s["durationMsMean"]) / 1000 * eff["memory"][f] / 1024
    invocations = sum(s["invocations"] for s in lam.values())
    ops = eff["units"]["ops"]
    sqs = sum(c for (s, _), c in ops.items() if s == "sqs")
    s3_put = sum(c for (s, o), c in ops.items() if s == "s3" and o == "PutObject")
    s3_get = sum(c for (s, o), c in ops.items() if s == "s3" and o in ("GetObject", "HeadObject"))
    lines = {
        "Step Functions transitions": eff["transitions"] * per * PRICES["sfn_transition"],
        "Lambda requests": invocations * per * PRICES["lambda_request"],
        "Lambda duration (GB-s)": gb_s * per * PRICES["lambda_gb_s_x86"],
        "SQS requests": sqs * per * PRICES["sqs_request"],
        "DynamoDB writes (WRU)": eff["units"]["wru"] * per * PRICES["ddb_wru"],
        "DynamoDB reads (RRU)": eff["units"]["rru"] * per * PRICES["ddb_rru"],
        "S3 requests (results, routing)": (s3_put * PRICES["s3_put"] + s3_get * PRICES["s3_get"]) * per,
    }
    quantities = {
        "Step Functions transitions": eff["transitions"] * per,
        "Lambda requests": invocations * per,
        "Lambda duration (GB-s)": gb_s * per,
        "SQS requests": sqs * per,
        "DynamoDB writes (WRU)": eff["units"]["wru"] * per,
        "DynamoDB reads (RRU)": eff["units"]["rru"] * per,
        "S3 requests (results, routing)": (s3_put + s3_get) * per,
    }
    total = sum(lines.values())
    # The original's lanes poll their call in a monitor loop, 4 transitions per minute a call is
    # up: its cost grows with the call length, ours does not (one .waitForTaskToken task per call).
    # Priced at the measured call mix at real length (the simulator's durations before the time
    # scale) and at 3-minute calls.
    real_minutes = eff["lanes"]["mean_call"] / eff["time_scale"] / 60
    orig = {m: 1000 * (ORIGINAL_TRANSITIONS_PER_CONTACT + ORIGINAL_MONITOR_PER_MINUTE * m) for m in (real_minutes, 3.0)}
    return {"lines": lines, "quantities": quantities, "total": total, "real_minutes": real_minutes,
            "orig_transitions": orig[real_minutes], "orig_sfn": orig[real_minutes] * PRICES["sfn_transition"],
            "orig_transitions_3min": orig[3.0], "orig_sfn_3min": orig[3.0] * PRICES["sfn_transition"]}


# ----------------------------------------------------------------------------- main

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--contacts", type=int, default=400, help="contacts of the efficiency campaign")
    p.add_argument("--lanes", type=int, default=10, help="concurrentcalls (at most examples/local's max_concurrent_calls, 10)")
    p.add_argument("--time-scale", type=float, default=0.1,
                   help="simulated seconds to real seconds for the efficiency campaign (0.1: a 60 s call lasts 6 s)")
    p.add_argument("--history-sizes", default="1500", help="comma-separated sizes of the history campaigns ('' for none)")
    p.add_argument("--chunk", type=int, default=500,
                   help="history campaigns are uploaded in parts of this many contacts as the queue drains (0: one file)")
    p.add_argument("--history-time-scale", type=float, default=0.01, help="time scale of the history and rate campaigns")
    p.add_argument("--history-budget", type=int, default=0,
                   help="HISTORY_BUDGET of get-config (0: examples/local's, 2000; the module's default is 8000)")
    p.add_argument("--rate-contacts", type=int, default=150)
    p.add_argument("--quota", type=float, default=CONNECT_DEFAULT_QUOTA)
    p.add_argument("--timeout", type=float, default=3600, help="seconds one campaign may take")
    p.add_argument("--skip", default="", help="comma-separated phases to skip: history, rate")
    p.add_argument("--json", help="also write every figure and the raw per-phase numbers to this file")
    args = p.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    sizes = [int(s) for s in args.history_sizes.split(",") if s.strip()] if "history" not in skip else []
    if not 1 <= args.lanes <= 10:
        p.error("--lanes must be 1..10 (examples/local deploys max_concurrent_calls = 10)")

    m = machine()
    print(f"machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}; {m['date']}")
    started = time.monotonic()
    variables = {"concurrent_calls": args.lanes, "call_timeout_seconds": 20, "calls_per_second": 100}
    with BenchStack(sim_config={"timeScale": args.time_scale, "quotaRate": 1000, "quotaBurst": 1000, "seed": 7},
                    variables=variables, log=say) as stack:
        budget = int(stack.lambda_.get_function_configuration(
            FunctionName=stack.function_name("get-config"))["Environment"]["Variables"].get("HISTORY_BUDGET", 8000))
        if args.history_budget:
            stack.override_env("get-config", HISTORY_BUDGET=str(args.history_budget))
            budget = args.history_budget
        say(f"deployed in {time.monotonic() - started:.0f} s; HISTORY_BUDGET {budget}")
        eff = efficiency(stack, args)
        hist = [history(stack, args, size, i) for i, size in enumerate(sizes)]
        rt = rate(stack, args) if "rate" not in skip else None

    cost = cost_model(eff)
    n = eff["calls"]
    lanes = eff["lanes"]
    inv = eff["lambda"]["totalInvocations"]
    points = [(eff["n"], eff["largest"], eff["executions"])] + [(h["n"], h["largest"], h["executions"]) for h in hist]
    largest_any = max(pt[1] for pt in points)
    biggest = max(points)
    gap_med = median(lanes["gaps"])
    # Model, not a measurement: the measured mean gap next to the same calls at real length
    # (the simulator divides every duration by the time scale; the gap is the product's own).
    real_call = lanes["mean_call"] / args.time_scale
    mean_gap = sum(lanes["gaps"]) / len(lanes["gaps"]) if lanes["gaps"] else 0.0
    projected = 100 * real_call / (real_call + mean_gap)
    gap_p99 = percentile(lanes["gaps"], 99)

    print(f"\nAll campaigns done in {time.monotonic() - started:.0f} s "
          f"(efficiency campaign: {eff['run']['wall']:.0f} s for {n} calls).")
    print("\nLargest execution history by campaign size (HISTORY_BUDGET "
          f"{budget}, {args.lanes} lanes):")
    for size, largest, execs in points:
        print(f"  {size:>7} contacts: {execs:>3} executions, largest {largest:>6} events")
    print(f"\nLane gaps: {len(lanes['gaps'])} (within a wave {len(lanes['within'])}, median "
          f"{median(lanes['within']):.3f} s; across a wave boundary {len(lanes['across'])}, median "
          f"{median(lanes['across']):.3f} s); mean call {lanes['mean_call']:.2f} s; "
          f"{lanes['unmatched']} calls without a lane record")

    figures: list[tuple[str, float, str, str | None]] = [
        ("dialer_transitions_per_contact", eff["transitions"] / n, "transitions", "<= 1.2"),
        ("dialer_lambda_invocations_per_contact", inv / n, "invocations", None),
        ("dialer_history_events_per_contact", eff["events_total"] / n, "events", None),
        (f"dialer_largest_history_{biggest[0]}_contacts", biggest[1], "events", "< 10000"),
        ("dialer_largest_history_any_size", largest_any, "events", "< 10000"),
        ("dialer_lane_utilisation", lanes["utilisation"], "%", ">= 95"),
        ("dialer_lane_utilisation_real_call_model", projected, "%", None),
        ("dialer_gap_end_to_next_dial_p50", gap_med, "s", "< 1"),
        ("dialer_gap_end_to_next_dial_p99", gap_p99, "s", None),
    ]
    if rt:
        figures.append(("dialer_dial_rate_vs_quota", 100 * rt["achieved"] / rt["quota"], "% of quota", ">= 90"))
    figures += [
        ("cost_per_1000_contacts", cost["total"], "USD", "<= 0.10"),
        ("cost_per_1000_contacts_step_functions", cost["lines"]["Step Functions transitions"], "USD", None),
        ("original_cost_per_1000_contacts_step_functions", cost["orig_sfn"], "USD", None),
    ]
    print_table("Dialer efficiency (local stack)", figures, fmt=".3f")

    print(f"\nCost per 1,000 dialed contacts (us-east-1 list prices as of {PRICES_AS_OF}; "
          f"quantities measured on the efficiency campaign, {n} calls)")
    print(f"{'item':<34} {'quantity':>12} {'USD':>10}")
    for k, v in cost["lines"].items():
        print(f"{k:<34} {cost['quantities'][k]:>12.1f} {v:>10.5f}")
    print(f"{'total':<34} {'':>12} {cost['total']:>10.5f}")
    print(f"\nOriginal design vs this one, per 1,000 contacts (Step Functions; the original's monitor loop "
          f"spends 4 transitions per minute a call is up: calls of {cost['real_minutes']:.2f} min, the measured "
          "mix at real length, and of 3 min)")
    this_sfn = cost["lines"]["Step Functions transitions"]
    print(f"{'':<40} {'original':>12} {'orig. 3 min':>12} {'this':>12}")
    print(f"{'billed transitions':<40} {cost['orig_transitions']:>12.0f} {cost['orig_transitions_3min']:>12.0f} "
          f"{eff['transitions'] / n * 1000:>12.0f}")
    print(f"{'Step Functions USD':<40} {cost['orig_sfn']:>12.4f} {cost['orig_sfn_3min']:>12.4f} {this_sfn:>12.4f}")
    print(f"{'history events per contact':<40} {ORIGINAL_EVENTS_PER_CONTACT:>12} {ORIGINAL_EVENTS_PER_CONTACT:>12} "
          f"{eff['events_total'] / n:>12.2f}")
    print(f"{'largest history, 20,000 contacts':<40} {ORIGINAL_EVENTS_PER_CONTACT * 20000:>12} "
          f"{ORIGINAL_EVENTS_PER_CONTACT * 20000:>12} {'<= ' + str(largest_any):>12}")
    print()
    for name, value, unit, target in figures:
        bench_line(name, value, unit, target)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": m, "args": vars(args), "history_budget": budget, "figures": figures,
            "history_points": points, "cost": {k: v for k, v in cost.items()},
            "lanes": {k: v for k, v in lanes.items() if k not in ("gaps", "within", "across")},
            "gaps": {"within_p50": median(lanes["within"]), "across_p50": median(lanes["across"]),
                     "max": max(lanes["gaps"]) if lanes["gaps"] else None},
            "rate": rt, "history": hist,
            "requests": {f"{s}:{o}": c for (s, o), c in eff["units"]["ops"].items()},
            "wru": eff["units"]["wru"], "rru": eff["units"]["rru"],
            "lambda": eff["lambda"], "memory": eff["memory"], "calls": n, "transitions": eff["transitions"],
            "retries": eff["retries"], "events_total": eff["events_total"],
        }, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
