"""`make demo`: a sample campaign end to end on the local stack, no AWS account.

moto (with the state machine really executed) runs the real Rust functions from the zips that
`terraform apply` of `examples/local` uploaded; the Connect simulator places the calls (compressed
to seconds) and sends the contact events to moto's EventBridge. The demo uploads
`sample-files/contacts.csv`, plays the agent (a disposition for every answered call, chosen in the
disposition guide as Amazon Connect runs it: see `guide_event`), follows the campaign, prints a
report, stops the stack and ends with
one `SUMMARY {json}` line (`attempts`, `redialed`, `deferred`, `suppressed`, `final_records` and the contacts
still waiting for their window add up to `loaded`, `lost`, `dialed_twice`…). The sample's first
number is busy on its first call, so a redial is seen. The calling window is set around the time
the demo runs, open for the sample's recipients from New York to Australia and closed in
Honolulu, so the sample's Honolulu contact is deferred to its next opening and waits in the
ledger, uncalled. Before the campaign it uploads `sample-files/do-not-call.csv` under `dnc/`,
which lists the sample's Leeds number: that contact is made final `dnc` without a call. Exit status 1 when a contact was lost, dialed twice for one attempt, or has
neither a final record nor a deferral to wait for.

Options (environment): DEMO_CSV (another list), DEMO_CONCURRENCY (lanes, default 3),
DEMO_TIME_SCALE (simulated seconds → real seconds, default 0.05), DEMO_DESTROY=1 (terraform destroy
before stopping the stack).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "local" / "tests"))

from harness import REGION, Stack, dialed_per_attempt, dialed_per_contact, transitions, window_around  # noqa: E402

# The actions (buttons) of the disposition guide's view, which the agent picks in turn.
DISPOSITIONS = ["SALE", "CALLBACK", "NOT_INTERESTED"]
CALLER_ID_EVENTS = ["whisper-gb-london-prefix.json", "whisper-us-new-york-prefix.json",
                    "whisper-ca-toronto-country.json", "whisper-de-default.json"]


def say(msg: str = "") -> None:
    print(msg, flush=True)


def guide_branch(action: str) -> dict[str, str] | None:
    """The branch of the guide's Show view block that the view's action selects, as
    `sample-files/disposition-agent-guide.json.tftpl` renders it: one condition `Equals <action>`
    per action, whose Invoke AWS Lambda function block passes `disposition = <action>`. The button
    the agent chooses is the view's action, and "the Action value determines the branching path
    from the Show view block"
    (https://docs.aws.amazon.com/connect/latest/adminguide/no-code-ui-builder-setting-actions-in-flows.html);
    an action no condition matches takes the NoMatchingCondition error branch, which ends the guide
    without invoking anything
    (https://docs.aws.amazon.com/connect/latest/APIReference/participant-actions-showview.html)."""
    return {"disposition": action} if action in DISPOSITIONS else None


def guide_event(voice_contact_id: str, action: str) -> dict[str, Any] | None:
    """The event the guide's Invoke AWS Lambda function block sends to set-disposition, or None
    when the action matches no branch. ShowView routes the guide as a chat contact of its own,
    different from the customer's contact the agent handles
    (https://docs.aws.amazon.com/connect/latest/APIReference/participant-actions-showview.html):
    the flow runs in that contact (its own ContactId), related to the voice call
    (RelatedContactId), and the block's parameters arrive as Details.Parameters
    (https://docs.aws.amazon.com/connect/latest/adminguide/connect-lambda-functions.html)."""
    parameters = guide_branch(action)
    if parameters is None:
        return None
    guide_contact_id = str(uuid.uuid4())
    return {"Name": "ContactFlowEvent",
            "Details": {"ContactData": {"ContactId": guide_contact_id, "InitialContactId": guide_contact_id,
                                        "Channel": "CHAT", "RelatedContactId": voice_contact_id},
                        "Parameters": parameters}}


class Agent:
    """Sets a disposition on every answered call, once, while or after it is up."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.done: dict[str, str] = {}
        self.answers: Counter[str] = Counter()

    def work(self, calls: list[dict[str, Any]]) -> None:
        for call in calls:
            cid = call["contactId"]
            if call.get("outcome", "connected") != "connected" or not call.get("answeredAt") or cid in self.done:
                continue
            code = DISPOSITIONS[len(self.done) % len(DISPOSITIONS)]
            event = guide_event(cid, code)
            assert event is not None, code
            answer = self.stack.invoke("set-disposition", event)
            self.done[cid] = code
            self.answers[answer.get("status", "?")] += 1


def logged_fields(stack: Stack, message: str, match: dict[str, str], what: str, timeout: float = 120) -> dict[str, Any]:
    """The fields of load-list's first log line with `message` whose fields include `match`."""
    name = stack.out["lambda_function_names"]["load-list"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert stack.launcher
        # The launcher prefixes each line with the worker's id: the JSON starts at the first "{".
        for line in stack.launcher.function_log(name).splitlines():
            try:
                rec = json.loads(line[line.index("{"):])
            except ValueError:
                continue
            fields = rec.get("fields", rec)
            if fields.get("message") == message and all(fields.get(k) == v for k, v in match.items()):
                return fields
        time.sleep(0.5)
    raise TimeoutError(f"load-list did not report loading {what} within {timeout:.0f} s")


def load_summary(stack: Stack, campaign: str) -> dict[str, Any]:
    """load-list's own "list loaded" log line (rows, queued, rejected, duplicates)."""
    return logged_fields(stack, "list loaded", {"campaign": campaign}, campaign)


def dnc_summary(stack: Stack, key: str) -> dict[str, Any]:
    """load-list's "do-not-call list loaded" log line for the list `key` (listed, rejected)."""
    return logged_fields(stack, "do-not-call list loaded", {"key": key}, f"the do-not-call list {key}")


def waiting_for_window(stack: Stack, campaign: str) -> list[dict[str, Any]]:
    """The campaign's contacts the calling window deferred and that still wait for it (due later,
    not final)."""
    now_ms = time.time() * 1000
    return [i for i in stack.campaign_ledger_items(campaign)
            if i["state"] == "due" and i.get("deferredBy") == "calling_window" and int(i["dueAt"]) > now_ms]


def follow(stack: Stack, campaign: str, agent: Agent, expected: int, timeout: float = 900) -> float:
    """Progress line until no execution runs, the queue is empty and every contact has its final
    record (redials included: the run waits for contacts due again soon) or waits for its
    calling window to open."""
    start = time.monotonic()
    quiet_since: float | None = None
    # One line rewritten in place on a terminal; in a log, a new line when something changed.
    tty = sys.stdout.isatty()
    last = ""
    while True:
        calls = stack.sim_calls(campaign)
        agent.work(calls)
        running = sum(1 for e in stack.executions() if e["status"] == "RUNNING")
        q = stack.queue_counts()
        finals = len(stack.list_objects(stack.out["results_bucket_name"], f"finals/campaign={campaign}/"))
        up = sum(1 for c in calls if not c.get("endedAt"))
        waiting = len(waiting_for_window(stack, campaign))
        elapsed = time.monotonic() - start
        state = (f"calls {len(calls):3d}  up {up}  contacts final {finals:3d}/{expected}  waiting for their window {waiting}"
                 f"  queued {q['available']:3d}  dispositions {len(agent.done):3d}  executions running {running} ")
        if tty:
            print(f"\r  [{elapsed:4.0f}s] {state}", end="", flush=True)
        elif state != last:
            print(f"  [{elapsed:4.0f}s] {state}", flush=True)
        last = state
        idle = (running == 0 and q["available"] == 0 and q["in_flight"] == 0 and finals + waiting >= expected
                and up == 0)
        if idle:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 3:
                if tty:
                    print(flush=True)
                return time.monotonic() - start
        else:
            quiet_since = None
        if elapsed > timeout:
            print(flush=True)
            raise TimeoutError(f"campaign {campaign} still running after {timeout:.0f} s")
        time.sleep(1.0)


def table(rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        say(f"  {k:<{width}}  {v}")


def operator_report(stack: Stack, campaign: str) -> Path:
    """The operator's HTML report of the campaign, written by the `outbound` command line
    against the local stack, as an operator would against a deployment: the outputs from
    Terraform, the endpoint through AWS_ENDPOINT_URL."""
    build = ROOT / ".build"
    build.mkdir(exist_ok=True)
    # The same package selection and profile as scripts/demo.sh's compile: nothing to do when it
    # ran, only the CLI itself otherwise.
    packages = subprocess.run(["bash", "-c", "source scripts/lib.sh && local_stack_packages"], cwd=ROOT,
                              check=True, capture_output=True, text=True).stdout.split()
    target = "x86_64-unknown-linux-gnu"
    subprocess.run(["cargo", "build", "--quiet", "--locked", "--profile", "dev", "--target", target, *packages],
                   cwd=ROOT, check=True)
    outputs = build / "demo-outputs.json"
    outputs.write_text(json.dumps(stack.out))
    report = build / f"report-{campaign}.html"
    env = {**os.environ, "AWS_ENDPOINT_URL": stack.launcher.endpoint, "AWS_REGION": REGION,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env.pop("AWS_PROFILE", None)
    cli = ROOT / "target" / target / "debug" / "outbound"
    say(f"\n== outbound report --campaign {campaign} (the operator's command line)")
    subprocess.run([str(cli), "--outputs", str(outputs), "report", "--campaign", campaign, "-o", str(report)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    say(f"  HTML report: {report}")
    return report


def main() -> int:
    csv_path = Path(os.environ.get("DEMO_CSV", ROOT / "sample-files" / "contacts.csv"))
    concurrency = int(os.environ.get("DEMO_CONCURRENCY", "3"))
    time_scale = float(os.environ.get("DEMO_TIME_SCALE", "0.05"))
    campaign = "sample-campaign"
    # The sample's first number is busy the first time it is called (a scripted simulator
    # outcome), so the demo shows a redial a minute later.
    busy_first = ["+442079460001"]
    wall_start = time.monotonic()

    say("== starting the local stack (moto + the real functions, Connect simulator) and applying examples/local")
    # The stack lives in moto's memory and ends with its processes: destroying it first only adds
    # a minute (the end-to-end tests destroy every deployment they apply, so destroy stays tested).
    destroy = os.environ.get("DEMO_DESTROY") == "1"
    # Open from 6 hours behind UTC to 13 hours ahead (New York to Sydney), closed in Honolulu.
    _, calling_window = window_around(datetime.now(timezone.utc), timedelta(hours=6), timedelta(hours=13))
    with Stack(sim_config={"timeScale": time_scale, "busyFirstCall": busy_first},
               variables={"concurrent_calls": concurrency, "calling_window": calling_window},
               log=lambda m: say(f"  {m}"), destroy_on_exit=destroy) as stack:
        say(f"\n== caller ID by destination (the deployed caller-id function, as the whisper flow calls it)")
        fixtures = ROOT / "tests" / "fixtures" / "connect-events"
        for name in CALLER_ID_EVENTS:
            event = json.loads((fixtures / name).read_text())
            ans = stack.invoke("caller-id", event)
            say(f"  customer in {ans.get('customer_country', '?'):<3} ({name.removeprefix('whisper-').removesuffix('.json')})"
                f" → caller ID {ans.get('outbound_number', '?')}"
                f"  [{ans.get('routing_status', '?')} rule {ans.get('routing_rule', '-')}]")

        dnc_key = "dnc/do-not-call.csv"
        say(f"\n== do-not-call list: uploading sample-files/do-not-call.csv to"
            f" s3://{stack.out['input_bucket_name']}/{dnc_key}")
        stack.upload_csv(dnc_key, (ROOT / "sample-files" / "do-not-call.csv").read_bytes())
        dnc = dnc_summary(stack, dnc_key)
        say(f"  load-list: {dnc.get('listed')} numbers listed (keyed hashes, no number stored),"
            f" {dnc.get('rejected')} rejected")

        say(f"\n== campaign {campaign}: uploading {csv_path.relative_to(ROOT) if csv_path.is_relative_to(ROOT) else csv_path}"
            f" to s3://{stack.out['input_bucket_name']}/{campaign}.csv")
        stack.upload_csv(f"{campaign}.csv", csv_path.read_bytes())
        loaded = load_summary(stack, campaign)
        queued = int(loaded.get("queued", 0))
        say(f"  load-list: {loaded.get('rows')} rows, {queued} queued, {loaded.get('rejected')} rejected,"
            f" {loaded.get('duplicates')} duplicates queued once")

        agent = Agent(stack)
        wall = follow(stack, campaign, agent, expected=queued)

        calls = stack.sim_calls(campaign)
        per_contact = dialed_per_contact(calls)
        per_attempt = dialed_per_attempt(calls)
        results = stack.results(campaign)
        finals = stack.finals(campaign)
        final_keys = {f["contact_key"] for f in finals}
        rejects = sorted(stack.rejects(campaign), key=lambda r: r.get("line", 0))
        stats = stack.sim.stats(contacts=False)
        trans = transitions(stack)
        q = stack.queue_counts()
        configured = int(stack.param("concurrentcalls"))
        dialed = len(per_contact)
        attempts = sum(per_attempt.values())
        redialed = sum(1 for n in per_contact.values() if n > 1)
        # Twice for the same attempt: a redial is a new attempt, not a double dial.
        dialed_twice = sum(1 for n in per_attempt.values() if n > 1)
        waiting = waiting_for_window(stack, campaign)
        suppressed_keys = {f["contact_key"] for f in finals if f.get("final_reason") == "dnc"}
        suppressed = len(suppressed_keys)
        # A suppressed contact must never have been called.
        suppressed_dialed = sum(1 for c in calls if c.get("attributes", {}).get("contactKey") in suppressed_keys)
        deferred = sum(1 for i in stack.campaign_ledger_items(campaign) if int(i.get("deferrals", 0)) > 0)
        # Lost: neither a final record nor waiting in the ledger for its window.
        lost = max(queued - len(final_keys) - len(waiting), 0) + q["dead_lettered"]
        per_contact_transitions = trans["state_transitions"] / attempts if attempts else 0.0

        say("\n== rejected rows (line numbers in the uploaded file; line 1 is the header)")
        for r in rejects:
            say(f"  line {r.get('line'):>3}  {r.get('reason')}"
                f"{'  (' + r['phone_masked'] + ')' if r.get('phone_masked') else ''}")

        say("\n== report")
        outcomes = Counter(r.get("outcome") for r in results)
        dispositions = Counter(r.get("disposition") for r in results if r.get("disposition"))
        table([
            ("rows loaded (queued)", queued),
            ("rows rejected", len(rejects)),
            ("contacts dialed", dialed),
            ("calls (attempts)", f"{attempts} ({redialed} contact(s) redialed after a busy,"
                                 " unanswered or failed call)"),
            ("dialed twice for one attempt", dialed_twice),
            ("deferred by the calling window", f"{deferred} ({len(waiting)} waiting, uncalled, for"
                                               " their recipient's window to open)"),
            ("suppressed (do-not-call)", f"{suppressed} (final as dnc, never dialed)"),
            ("final records", f"{len(finals)} (one per loaded contact not waiting)"),
            ("final reasons", ", ".join(f"{k} {v}" for k, v in
                                        sorted(Counter(f.get('final_reason') for f in finals).items())) or "-"),
            ("lost (no final record or dead-lettered)", lost),
            ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) or "-"),
            ("dispositions", ", ".join(f"{k} {v}" for k, v in sorted(dispositions.items())) or "-"),
            ("peak concurrent calls", f"{stats['peakConcurrency']} (configured {configured})"),
            ("throttled by the simulated quota", stats.get("throttled", 0)),
            ("campaign wall time", f"{wall:.0f} s (calls compressed ×{time_scale})"),
            ("executions", f"{trans['executions']}, largest history {trans['largest_history']} events"),
            ("state transitions per call",
             f"{per_contact_transitions:.2f} ({trans['state_transitions']} in all: 1 per call, the rest per lane"
             f" and per wave, which {attempts} calls cannot spread; 1.16 on 400 contacts in BENCHMARKS.md)"),
            ("results", f"s3://{stack.out['results_bucket_name']}/results/campaign={campaign}/"
                        f" ({len(results)} JSON Lines records, one per call)"),
            ("finals", f"s3://{stack.out['results_bucket_name']}/finals/campaign={campaign}/"),
            ("rejects", f"s3://{stack.out['results_bucket_name']}/rejects/campaign={campaign}/"),
            ("plan", f"s3://{stack.out['results_bucket_name']}/plans/campaign={campaign}/{campaign}.csv.txt"
                     f" (written before the first call; `outbound plan {campaign}` prints it)"),
        ])
        if results:
            sample = min(results, key=lambda r: r.get("customer_key", ""))
            say(f"\n  a results record: {json.dumps(sample, sort_keys=True)}")
        report = operator_report(stack, campaign)
        say("\n== terraform destroy and stopping the stack" if destroy
            else "\n== stopping the stack (DEMO_DESTROY=1 runs terraform destroy first)")

    summary = {
        "loaded": queued,
        "rejected": len(rejects),
        "dialed": dialed,
        "attempts": attempts,
        "redialed": redialed,
        "deferred": deferred,
        "suppressed": suppressed,
        "waiting_for_window": len(waiting),
        "final_records": len(finals),
        "dialed_twice": dialed_twice,
        "lost": lost,
        "peak_concurrency": stats["peakConcurrency"],
        "concurrency_limit": configured,
        "transitions_per_contact": round(per_contact_transitions, 3),
        "transitions": trans["state_transitions"],
        "outcomes": dict(outcomes),
        "dispositions": dict(dispositions),
        "wall_seconds": round(time.monotonic() - wall_start, 1),
        "report": str(report.relative_to(ROOT)),
    }
    say(f"SUMMARY {json.dumps(summary, sort_keys=True)}")
    # The sample's own expectations: a redial, a do-not-call hit never dialed.
    sample = "DEMO_CSV" not in os.environ
    ok = (dialed_twice == 0 and lost == 0 and len(finals) + len(waiting) == queued
          and stats["peakConcurrency"] <= configured
          and (not sample or (redialed >= 1 and suppressed >= 1 and suppressed_dialed == 0)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
