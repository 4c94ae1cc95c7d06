"""End-to-end: the campaign ledger recovers on the local stack. A stop longer than the queue
keeps messages, a dial Lambda that times out after Connect placed its call, an agent's callback,
and a list too long for one invocation, loaded in segments: every contact gets exactly one call
per attempt and exactly one final record, and every row of the list is accounted for once.

The deployment (its redial rules, its simulator, its short timeouts) is described in
ledger_stack.py; test_campaign_ledger.py runs in a deployment of its own, side by side with this.
"""

from __future__ import annotations

import json
import time

from harness import Stack, contacts_csv
from ledger_stack import (DIAL_TIMEOUT, check_once_per_attempt, dial_timeouts, failed_runs,  # noqa: F401
                          fresh, function_stats, phones, say, seconds, stack)


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
        timed_out_before = dial_timeouts(stack)
        failed_before = failed_runs(stack)
        replays_before = stack.sim.stats(contacts=False)["idempotentReplays"]
        stack.upload_csv(f"{campaign}.csv", body)
        # The lane whose dial died fails, and with it the run (the executions_failed alarm): the
        # contact's message is still in flight, its attempt dialing with no contact id.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (
                dial_timeouts(stack) > timed_out_before and failed_runs(stack) > failed_before
                and not any(e["status"] == "RUNNING" for e in stack.executions())):
            time.sleep(1)
        assert dial_timeouts(stack) > timed_out_before, "dial never timed out: the scenario did not happen"
        assert failed_runs(stack) > failed_before, "a lane that failed fails its run"
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
    promised = seconds(answer["callbackAt"])
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
    assert seconds(calls[1]["placedAt"]) >= promised, "called back before the promised time"
    final = next(f for f in finals if f["contact_key"] == key)
    assert (final["attempts"], final["final_reason"]) == (2, "connected"), final
    say("the agent's callback reopened the connected contact; it was called again after its time, one final record")


def test_a_list_too_long_for_one_invocation_loads_in_segments(stack: Stack):
    campaign = "e2e-segments"
    # Loaded with the switch off: this test is about intake, and nothing is dialed.
    stack.set_param("activeBlaster", "False")
    body, valid_lines, bad_lines = _segmented_list(2000, bad_every=150)
    before = function_stats(stack, "load-list")
    stack.upload_csv(f"campaigns/{campaign}/long.csv", body)
    # Done when every valid row is in the ledger and no segment has run for two polls (a
    # hand-over is an asynchronous invocation: between two segments none runs).
    deadline, quiet = time.monotonic() + 600, 0
    while time.monotonic() < deadline and quiet < 2:
        loaded = len(stack.campaign_ledger_items(campaign))
        idle = function_stats(stack, "load-list").get("running") == 0
        quiet = quiet + 1 if loaded >= len(valid_lines) and idle else 0
        time.sleep(2)
    after = function_stats(stack, "load-list")
    segments = after["async"] - before.get("async", 0)
    errors = after["errors"] - before.get("errors", 0)
    assert errors == 0, f"load-list failed {errors} time(s): {after['errorTypes']}"
    # The S3 notification's invocation and at least one that it handed the rest of the file to.
    assert segments >= 2, f"{segments} load-list invocation(s): the list never needed a second segment"
    items = stack.campaign_ledger_items(campaign)
    lines = sorted(_source_line(i) for i in items)
    assert lines == valid_lines, (f"{len(items)} ledger items for {len(valid_lines)} valid rows; "
                                  f"missing {sorted(set(valid_lines) - set(lines))[:5]}, "
                                  f"twice {[n for n in set(lines) if lines.count(n) > 1][:5]}")
    assert all(i["state"] == "due" and str(i["attempt"]) == "1" for i in items)
    rejects = stack.rejects(campaign)
    assert sorted(r["line"] for r in rejects) == bad_lines, rejects
    reports = stack.list_objects(stack.out["results_bucket_name"], f"rejects/campaign={campaign}/")
    # Lambda's "Max Memory Used": one process held every segment it ran within a few MiB.
    peak_mib = after["peakRssKiB"] / 1024
    assert 0 < peak_mib < 128, f"load-list peak RSS {peak_mib:.1f} MiB"
    say(f"{len(body.splitlines()) - 1} rows in {segments} segments: {len(items)} contacts in the ledger "
        f"once each, {len(rejects)} rejects with their file's line numbers in {len(reports)} report(s); "
        f"peak RSS {peak_mib:.1f} MiB")


def _segmented_list(n: int, bad_every: int) -> tuple[str, list[int], list[int]]:
    """n rows of distinct GB numbers in Ofcom's drama ranges (London 020 7946 0xxx, Leeds
    0113 496 0xxx, Sheffield 0114 496 0xxx); every `bad_every`-th row an invalid number. Returns
    the CSV and the file lines (the header is line 1) of its valid and its invalid rows."""
    ranges = ("+44207946", "+44113496", "+44114496")
    rows, valid, bad = ["custID,phone,firstName"], [], []
    for i in range(n):
        line = i + 2
        if (i + 1) % bad_every == 0:
            rows.append(f"S{i:06d},+44123,Bad{i}")
            bad.append(line)
            continue
        rows.append(f"S{i:06d},{ranges[i // 1000]}{i % 1000:04d},Name{i}")
        valid.append(line)
    return "\n".join(rows) + "\n", valid, bad


def _source_line(item: dict) -> int:
    return int(json.loads(item["source"])["line"])
