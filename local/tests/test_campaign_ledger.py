"""End-to-end: the campaign ledger on the local stack. Redials after their delay, the same and
overlapping files admitted once, and a run killed mid-wave: in each, every contact gets exactly
one call per attempt and exactly one final record.

The deployment (its redial rules, its simulator) is described in ledger_stack.py, with answering
machine detection on (its calls are campaign traffic; a person is still `connected`); the recovery
scenarios run in test_campaign_recovery.py, in a deployment of their own, side by side with these.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from harness import Stack, contacts_csv
from ledger_stack import check_once_per_attempt, fresh, ledger_stack, phones, say, seconds  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def stack():
    with ledger_stack(answering_machine_detection={"enabled": True, "campaign_id": "e2e-campaign"}) as s:
        yield s


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


def test_an_invalid_number_is_final_at_once_and_a_voicemail_is_redialed(stack: Stack):
    campaign = "e2e-outcomes"
    body = contacts_csv(3, start=7200)
    invalid, voicemail, person = phones(body)
    stack.sim.configure(invalidNumbers=[invalid], voicemailNumbers=[voicemail])
    try:
        # A file's own rules: two attempts, so the voicemail is redialed once.
        stack.s3.put_object(Bucket=stack.out["input_bucket_name"], Key=f"{campaign}.csv", Body=body.encode(),
                            Metadata={"redial": json.dumps({"max_attempts": 2})})
        # invalid 1 call, voicemail 2 (a minute apart), person 1.
        stack.wait_until_idle(campaign, expected_results=4, timeout=600, progress=say)
    finally:
        stack.sim.configure(invalidNumbers=[], voicemailNumbers=[])
    finals = {f["phone_masked"][-3:]: f for f in check_once_per_attempt(stack, campaign, 3)}
    calls = stack.sim_calls(campaign)
    for c in calls:
        # Every call asked Connect for detection, as campaign traffic of the configured campaign.
        assert (c["answeringMachineDetection"], c["campaignId"]) == (True, "e2e-campaign"), c
    outcomes = sorted((r["phone_masked"][-3:], r["attempt"], r["outcome"]) for r in stack.results(campaign))
    assert outcomes == sorted([(invalid[-3:], 1, "invalid_number"), (voicemail[-3:], 1, "voicemail"),
                               (voicemail[-3:], 2, "voicemail"), (person[-3:], 1, "connected")]), outcomes
    assert (finals[invalid[-3:]]["final_reason"], finals[invalid[-3:]]["attempts"]) == ("invalid_number", 1)
    assert (finals[voicemail[-3:]]["final_reason"], finals[voicemail[-3:]]["last_outcome"],
            finals[voicemail[-3:]]["attempts"]) == ("attempts_exhausted", "voicemail", 2)
    assert finals[person[-3:]]["final_reason"] == "connected"
    say("invalid number final after one call; voicemail redialed once, then attempts exhausted; person connected")
