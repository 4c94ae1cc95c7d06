"""`make demo`: a sample campaign end to end on the local stack, no AWS account.

moto (with the state machine really executed) runs the real Rust functions from the zips that
`terraform apply` of `examples/local` uploaded; the Connect simulator places the calls (compressed
to seconds) and sends the contact events to moto's EventBridge. The demo uploads
`sample-files/contacts.csv`, plays the agent (a disposition for every answered call, chosen in the
disposition guide as Amazon Connect runs it: see `guide_event`), follows the campaign, prints a
report, stops the stack and ends with
one `SUMMARY {json}` line (`attempts`, `redialed`, `final_records` equal to `loaded`, `lost`,
`dialed_twice`…). The sample's first number is busy on its first call, so a redial is seen. Exit
status 1 when a contact was lost, dialed twice for one attempt, or has no final record.

Options (environment): DEMO_CSV (another list), DEMO_CONCURRENCY (lanes, default 3),
DEMO_TIME_SCALE (simulated seconds → real seconds, default 0.05), DEMO_DESTROY=1 (terraform destroy
before stopping the stack).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "local" / "tests"))

from harness import Stack, dialed_per_attempt, dialed_per_contact, transitions  # noqa: E402

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


def load_summary(stack: Stack, campaign: str, timeout: float = 120) -> dict[str, Any]:
    """load-list's own "list loaded" log line (rows, queued, rejected, duplicates)."""
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
            if fields.get("message") == "list loaded" and fields.get("campaign") == campaign:
                return fields
        time.sleep(0.5)
    raise TimeoutError(f"load-list did not report loading {campaign} within {timeout:.0f} s")


def follow(stack: Stack, campaign: str, agent: Agent, expected: int, timeout: float = 900) -> float:
    """Progress line until no execution runs, the queue is empty and every contact has its final
    record (redials included: the run waits for contacts due again soon)."""
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
        elapsed = time.monotonic() - start
        state = (f"calls {len(calls):3d}  up {up}  contacts final {finals:3d}/{expected}"
                 f"  queued {q['available']:3d}  dispositions {len(agent.done):3d}  executions running {running} ")
        if tty:
            print(f"\r  [{elapsed:4.0f}s] {state}", end="", flush=True)
        elif state != last:
            print(f"  [{elapsed:4.0f}s] {state}", flush=True)
        last = state
        idle = running == 0 and q["available"] == 0 and q["in_flight"] == 0 and finals >= expected and up == 0
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
    with Stack(sim_config={"timeScale": time_scale, "busyFirstCall": busy_first},
               variables={"concurrent_calls": concurrency},
               log=lambda m: say(f"  {m}"), destroy_on_exit=destroy) as stack:
        say(f"\n== caller ID by destination (the deployed caller-id function, as the whisper flow calls it)")
        fixtures = ROOT / "tests" / "fixtures" / "connect-events"
        for name in CALLER_ID_EVENTS:
            event = json.loads((fixtures / name).read_text())
            ans = stack.invoke("caller-id", event)
            say(f"  customer in {ans.get('customer_country', '?'):<3} ({name.removeprefix('whisper-').removesuffix('.json')})"
                f" → caller ID {ans.get('outbound_number', '?')}"
                f"  [{ans.get('routing_status', '?')} rule {ans.get('routing_rule', '-')}]")

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
        lost = max(queued - len(final_keys), 0) + q["dead_lettered"]
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
            ("final records", f"{len(finals)} (one per loaded contact)"),
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
        ])
        if results:
            sample = min(results, key=lambda r: r.get("customer_key", ""))
            say(f"\n  a results record: {json.dumps(sample, sort_keys=True)}")
        say("\n== terraform destroy and stopping the stack" if destroy
            else "\n== stopping the stack (DEMO_DESTROY=1 runs terraform destroy first)")

    summary = {
        "loaded": queued,
        "rejected": len(rejects),
        "dialed": dialed,
        "attempts": attempts,
        "redialed": redialed,
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
    }
    say(f"SUMMARY {json.dumps(summary, sort_keys=True)}")
    ok = (dialed_twice == 0 and lost == 0 and len(finals) == queued and redialed >= 1
          and stats["peakConcurrency"] <= configured)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
