"""End-to-end: the campaign ledger on the local stack. Redials after their delay, the same and
overlapping files admitted once, and a run killed mid-wave: in each, every contact gets exactly
one call per attempt and exactly one final record.

The deployment (its redial rules, its simulator) is described in ledger_stack.py; the recovery
scenarios run in test_campaign_recovery.py, in a deployment of their own, side by side with these.
"""

from __future__ import annotations

import time
from typing import Any

from harness import Stack, contacts_csv
from ledger_stack import check_once_per_attempt, fresh, phones, say, seconds, stack  # noqa: F401 - fixtures


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
        gap = seconds(second["placedAt"]) - seconds(first["endedAt"])
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
