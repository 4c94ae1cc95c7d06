"""End-to-end: the campaign ledger on the local stack. Redials after their delay, the same and
overlapping files admitted once, a run killed mid-wave, a stop longer than the queue keeps
messages, a dial Lambda that times out after Connect placed its call, and an agent's callback: in each, every contact gets exactly one call per attempt and exactly one final record.

This file has its own deployment, with the demo's redial rules (a busy, unanswered or failed call
is dialed again a minute later) and a simulator where every call is answered except the numbers
scripted busy on their first call, so every outcome is known in advance. Its dial function times
out after 10 s, so a call whose answer the simulator holds back ends that dial.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from harness import Stack, contacts_csv, dialed_per_attempt


def say(msg: str) -> None:
    print(f"    {msg}", flush=True)


# dial times out after 10 s; a contact it held comes back 20 s after it was received.
DIAL_TIMEOUT = 10


@pytest.fixture(scope="module")
def stack():
    with Stack(log=say, sim_config={"answerRate": 1.0, "busyRate": 0.0, "failRate": 0.0},
               variables={"dial_timeout_seconds": DIAL_TIMEOUT, "queue_visibility_timeout_seconds": 20}) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(stack: Stack):
    stack.wait_until_idle("__none__", timeout=600, settle=1.0)
    stack.set_param("activeBlaster", "True")
    stack.set_param("concurrentcalls", "5")
    yield


def phones(csv_text: str) -> list[str]:
    return [line.split(",")[1] for line in csv_text.strip().splitlines()[1:]]


def check_once_per_attempt(stack: Stack, campaign: str, loaded: int) -> list[dict[str, Any]]:
    """One call per (contact, attempt); one results record per call; one final record per
    contact, every ledger item final; nothing left in the queue."""
    calls = stack.sim_calls(campaign)
    twice = {k: n for k, n in dialed_per_attempt(calls).items() if n > 1}
    assert not twice, f"attempts dialed more than once: {twice}"
    results = stack.results(campaign)
    assert len(results) == len(calls), f"{len(results)} results records for {len(calls)} calls"
    finals = stack.finals(campaign)
    keys = Counter(f["contact_key"] for f in finals)
    assert len(keys) == loaded and all(n == 1 for n in keys.values()), f"final records: {keys}"
    items = stack.campaign_ledger_items(campaign)
    assert len(items) == loaded, f"{len(items)} ledger items for {loaded} contacts"
    not_final = [i["pk"] for i in items if i["state"] != "final"]
    assert not not_final, f"contacts not final: {not_final[:5]}"
    q = stack.queue_counts()
    assert q == {"available": 0, "in_flight": 0, "dead_lettered": 0}, f"queue not drained: {q}"
    say(f"{loaded} contacts: {len(calls)} calls, one per attempt; {len(finals)} final records, all final")
    return finals


def test_a_busy_contact_is_redialed_after_its_delay(stack: Stack):
    campaign = "e2e-redial"
    body = contacts_csv(6, start=7000)
    busy = phones(body)[:2]
    stack.sim.configure(busyFirstCall=busy)
    stack.upload_csv(f"campaigns/{campaign}/week1.csv", body)
    # 6 first attempts and 2 redials; the run waits for the redials (wait_for_due_minutes).
    stack.wait_until_idle(campaign, expected_results=8, timeout=600, progress=say)
    finals = check_once_per_attempt(stack, campaign, 6)
    calls = sorted(stack.sim_calls(campaign), key=lambda c: c["placedAt"])
    by_key: dict[str, list[dict[str, Any]]] = {}
    for c in calls:
        by_key.setdefault(c["attributes"]["contactKey"], []).append(c)
    redialed = {k: cs for k, cs in by_key.items() if len(cs) > 1}
    assert len(redialed) == 2, f"{len(redialed)} contacts redialed, 2 expected"
    for key, (first, second) in redialed.items():
        assert (first["outcome"], first["attributes"]["attempt"]) == ("busy", "1")
        assert (second["outcome"], second["attributes"]["attempt"]) == ("connected", "2")
        gap = _seconds(second["placedAt"]) - _seconds(first["endedAt"])
        assert gap >= 59, f"{key}: redialed {gap:.0f} s after the busy call, before its 1-minute delay"
    final = {f["contact_key"]: f for f in finals}
    for key in redialed:
        assert (final[key]["final_reason"], final[key]["attempts"]) == ("connected", 2), final[key]
    assert all(f["attempts"] == 1 for k, f in final.items() if k not in redialed)
    say(f"2 busy contacts redialed a minute later and connected; 4 connected at once")


def test_the_same_file_and_an_overlapping_one_admit_nothing_twice(stack: Stack):
    campaign = "e2e-redial"
    before = len(stack.sim_calls(campaign))
    body = contacts_csv(6, start=7000)
    stack.upload_csv(f"campaigns/{campaign}/week1.csv", body)
    # Three contacts already in the campaign, two new ones.
    overlap = contacts_csv(5, start=7003)
    stack.upload_csv(f"campaigns/{campaign}/week2.csv", overlap)
    deadline = time.monotonic() + 120
    while len(stack.campaign_ledger_items(campaign)) < 8 and time.monotonic() < deadline:
        time.sleep(1)
    stack.wait_until_idle(campaign, expected_results=10, timeout=600, progress=say)
    check_once_per_attempt(stack, campaign, 8)
    assert len(stack.sim_calls(campaign)) == before + 2, "only the two new contacts are dialed"
    say("the same file again admitted nothing; the overlapping file admitted only its 2 new contacts")


def test_a_run_killed_mid_wave_loses_nothing_and_dials_nothing_twice(stack: Stack):
    campaign = "e2e-killed"
    stack.sim.configure(busyFirstCall=[])
    stack.upload_csv(f"{campaign}.csv", contacts_csv(40, start=7100))
    while len(stack.sim_calls(campaign)) < 10:
        time.sleep(0.3)
    killed = [e["executionArn"] for e in stack.executions() if e["status"] == "RUNNING"]
    for arn in killed:
        stack.sfn.stop_execution(executionArn=arn, cause="e2e: a run dies mid-wave")
    at_kill = len(stack.sim_calls(campaign))
    say(f"{len(killed)} execution(s) stopped after {at_kill} calls")
    # moto's executor lets a stopped execution's threads run on until its lanes give up; AWS
    # ends it at once. Either way its contacts stay leased (queued) or dialing in the ledger.
    deadline = time.monotonic() + 600
    while any(e["status"] == "RUNNING" for e in stack.executions()) and time.monotonic() < deadline:
        time.sleep(2)
    # What the sweep does on its schedule: start a run, which takes over the dead claim.
    stack.start_run()
    stack.wait_until_idle(campaign, expected_results=40, timeout=600, progress=say)
    check_once_per_attempt(stack, campaign, 40)


def test_a_stop_longer_than_the_queue_keeps_messages_loses_nothing(stack: Stack):
    campaign = "e2e-retention"
    stack.set_param("activeBlaster", "False")
    stack.upload_csv(f"{campaign}.csv", contacts_csv(10, start=7200))
    deadline = time.monotonic() + 120
    while len(stack.campaign_ledger_items(campaign)) < 10 and time.monotonic() < deadline:
        time.sleep(1)
    stack.wait_until_idle("__none__", timeout=300, settle=1.0)
    items = stack.campaign_ledger_items(campaign)
    assert len(items) == 10 and all(i["state"] == "due" for i in items), [i["state"] for i in items]
    # Whatever the queue held is gone, as after SQS's retention: the ledger does not depend on it.
    stack.sqs.purge_queue(QueueUrl=stack.out["queue_url"])
    assert not stack.sim_calls(campaign), "nothing is dialed while stopped"
    stack.set_param("activeBlaster", "True")
    stack.start_run()
    stack.wait_until_idle(campaign, expected_results=10, timeout=600, progress=say)
    check_once_per_attempt(stack, campaign, 10)


def test_a_dial_that_times_out_after_placing_its_call_rings_once(stack: Stack):
    campaign = "e2e-dial-timeout"
    body = contacts_csv(6, start=7300)
    stalled = phones(body)[0]
    # Connect places the call at once but answers StartOutboundVoiceContact only after dial's
    # timeout: the Lambda dies with the call ringing and nothing recorded but the attempt begun.
    stack.sim.configure(busyFirstCall=[], stallFirstCall=[stalled], stallSeconds=DIAL_TIMEOUT + 5)
    try:
        timed_out_before = _dial_timeouts(stack)
        failed_before = _failed_runs(stack)
        replays_before = stack.sim.stats(contacts=False)["idempotentReplays"]
        stack.upload_csv(f"{campaign}.csv", body)
        # The lane whose dial died fails, and with it the run (the executions_failed alarm): the
        # contact's message is still in flight, its attempt dialing with no contact id.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (
                _dial_timeouts(stack) > timed_out_before and _failed_runs(stack) > failed_before
                and not any(e["status"] == "RUNNING" for e in stack.executions())):
            time.sleep(1)
        assert _dial_timeouts(stack) > timed_out_before, "dial never timed out: the scenario did not happen"
        assert _failed_runs(stack) > failed_before, "a lane that failed fails its run"
        say("dial timed out after Connect placed the call; its run failed")
        # What the sweep does on its next tick: start a run, which finds the message back in the
        # queue (or the attempt overdue) and places it again with the attempt's ClientToken.
        stack.start_run()
        stack.wait_until_idle(campaign, expected_results=6, timeout=600, progress=say)
    finally:
        stack.sim.configure(stallFirstCall=[], stallSeconds=0)
    finals = check_once_per_attempt(stack, campaign, 6)
    calls = stack.sim_calls(campaign)
    replayed = [c for c in calls if c["requests"] > 1]
    assert len(replayed) == 1, f"{len(replayed)} calls asked for more than once, 1 expected"
    assert stack.sim.stats(contacts=False)["idempotentReplays"] > replays_before
    key = replayed[0]["attributes"]["contactKey"]
    final = next(f for f in finals if f["contact_key"] == key)
    # The call placed by the dial that died is the attempt's call: recorded, not placed again.
    assert (final["attempts"], final["final_reason"], final["contact_id"]) == (1, "connected", replayed[0]["contactId"]), final
    say("the next run placed it again with the same ClientToken and found that call: one ring, one final record")


def test_an_agents_callback_dials_the_contact_again_at_its_time(stack: Stack):
    campaign = "e2e-callback"
    stack.sim.configure(busyFirstCall=[], stallFirstCall=[], stallSeconds=0)
    stack.upload_csv(f"{campaign}.csv", contacts_csv(3, start=7400))
    stack.wait_until_idle(campaign, expected_results=3, timeout=600, progress=say)
    first = sorted(stack.sim_calls(campaign), key=lambda c: c["placedAt"])[0]
    key = first["attributes"]["contactKey"]
    # The agent's guide runs in a contact of its own, related to the call (set-disposition's
    # module documentation); the agent promises a call back in a minute.
    guide = {"Name": "ContactFlowEvent", "Details": {
        "ContactData": {"ContactId": "guide-e2e-callback", "InitialContactId": "guide-e2e-callback",
                        "Channel": "CHAT", "RelatedContactId": first["contactId"]},
        "Parameters": {"disposition": "Call back", "callbackInMinutes": "1"}}}
    answer = stack.invoke("set-disposition", guide)
    assert answer["status"] == "recorded" and answer.get("callbackAt"), answer
    promised = _seconds(answer["callbackAt"])
    item = next(i for i in stack.campaign_ledger_items(campaign) if i["pk"].endswith(key))
    assert (item["state"], str(item["attempt"])) == ("due", "2"), item
    # The run of the sweep's next tick after the promised time (a run started earlier finds
    # nothing due and ends at once).
    time.sleep(max(0.0, promised - time.time()) + 1)
    stack.start_run()
    stack.wait_until_idle(campaign, expected_results=4, timeout=600, progress=say)
    finals = check_once_per_attempt(stack, campaign, 3)
    calls = sorted((c for c in stack.sim_calls(campaign) if c["attributes"]["contactKey"] == key),
                   key=lambda c: c["placedAt"])
    assert [c["attributes"]["attempt"] for c in calls] == ["1", "2"], calls
    assert _seconds(calls[1]["placedAt"]) >= promised, "called back before the promised time"
    final = next(f for f in finals if f["contact_key"] == key)
    assert (final["attempts"], final["final_reason"]) == (2, "connected"), final
    say("the agent's callback reopened the connected contact; it was called again after its time, one final record")


def _failed_runs(stack: Stack) -> int:
    return sum(1 for e in stack.executions() if e["status"] == "FAILED")


def _dial_timeouts(stack: Stack) -> int:
    functions = stack.launcher.stats()["functions"]
    dial = [s for name, s in functions.items() if name.endswith("-dial")]
    return sum(s["errorTypes"].get("Sandbox.Timedout", 0) for s in dial)


def _seconds(rfc3339: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
