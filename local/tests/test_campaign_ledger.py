"""End-to-end: the campaign ledger on the local stack. Redials after their delay, the same and
overlapping files admitted once, and a run killed mid-wave: in each, every contact gets exactly
one call per attempt and exactly one final record. The calling rules: a contact outside its
recipient's calling window waits in the ledger, uncalled, for its next opening; a number on the
do-not-call list is final `dnc` at intake, before any call, uncalled; a number at its frequency
cap waits across campaigns. The plan: each file's plan is written before its run, and a dry run
writes it and admits nothing. And the outcomes: an invalid number is final at once, a voicemail
and an abandoned call are redialed.

The deployment (its redial rules, its simulator) is described in ledger_stack.py, with answering
machine detection on (its calls are campaign traffic; a person is still `connected`); the recovery
scenarios run in test_campaign_recovery.py, in a deployment of their own, side by side with these.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from harness import Stack, contacts_csv
from ledger_stack import FREQUENCY_CAP, WINDOW_OPENS_AT, check_once_per_attempt, fresh, ledger_stack, phones, say, seconds  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def stack():
    # With the frequency cap: the rows of the tests below (7000-7007, 7140-7179, 7280-7282, and
    # +44 20 7946 0750-0754, 0760, 0770-0772) have distinct numbers, and none is called more
    # than twice.
    with ledger_stack(answering_machine_detection={"enabled": True, "campaign_id": "e2e-campaign"},
                      frequency_cap=FREQUENCY_CAP) as s:
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
    stack.upload_csv(f"{campaign}.csv", contacts_csv(40, start=7140))
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


def next_local(zone: str, hh_mm: str, after: datetime) -> datetime:
    """The first instant after `after` at which the wall clock of `zone` reads `hh_mm`."""
    tz = ZoneInfo(zone)
    local = after.astimezone(tz)
    hour, minute = map(int, hh_mm.split(":"))
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(timezone.utc)


def test_calling_rules_defer_outside_the_window_and_suppress_do_not_call(stack: Stack):
    campaign = "e2e-window"
    stack.sim.configure(busyFirstCall=[])
    # W6's number goes on the do-not-call list before the campaign (a `dnc/` upload).
    stack.upload_csv("dnc/e2e.csv", "phone,note\n020 7946 0754,asked not to be called\nnot a number,\n")
    deadline = time.monotonic() + 120
    while not stack.do_not_call_items():
        assert time.monotonic() < deadline, "the do-not-call list was not loaded"
        time.sleep(0.5)
    listed = stack.do_not_call_items()
    assert len(listed) == 1 and listed[0]["source"] == "list:dnc/e2e.csv:2", listed
    assert "7946" not in json.dumps(listed), "the list holds no number"
    dnc_rejects = stack.rejects("do-not-call")
    assert [r["line"] for r in dnc_rejects] == [3], dnc_rejects
    # The window (ledger_stack.py) is open around now for London and New York; the recipient of
    # W3 lives at UTC+12 (its timezone column overrides its London number), outside it.
    body = ("custID,phone,timezone\n"
            "W1,+442079460750,\n"
            "W2,+12125550150,\n"
            "W3,+442079460751,Etc/GMT-12\n"
            "W4,+442079460752,Mars/Olympus\n"
            "W5,+442079460753,Europe/London\n"
            "W6,+442079460754,\n")
    loaded_at = datetime.now(timezone.utc)
    stack.upload_csv(f"campaigns/{campaign}/list.csv", body)
    stack.wait_until_idle(campaign, expected_results=3, timeout=600, progress=say)
    rejects = stack.rejects(campaign)
    assert [(r["line"], "Mars/Olympus" in r["reason"]) for r in rejects] == [(5, True)], rejects
    items = {i["key"]: i for i in stack.campaign_ledger_items(campaign)}
    assert sorted(items) == ["W1", "W2", "W3", "W5", "W6"], sorted(items)
    called = {c["attributes"]["contactKey"] for c in stack.sim_calls(campaign)}
    by_key = {i["contactKey"]: k for k, i in items.items()}
    assert sorted(by_key[k] for k in called) == ["W1", "W2", "W5"], "only the contacts inside their window are called"
    for key in ["W1", "W2", "W5"]:
        assert items[key]["state"] == "final" and "deferrals" not in items[key], items[key]
    w3 = items["W3"]
    assert (w3["state"], w3["attempt"], w3["deferredBy"]) == ("due", "1", "calling_window"), w3
    assert int(w3["deferrals"]) >= 1, w3
    due_at = datetime.fromtimestamp(int(w3["dueAt"]) / 1000, timezone.utc)
    expected = next_local("Etc/GMT-12", WINDOW_OPENS_AT, loaded_at)
    assert due_at == expected, f"W3 due at {due_at}, the window opens at UTC+12 at {expected}"
    w6 = items["W6"]
    assert (w6["state"], w6["finalReason"], w6["attempt"]) == ("final", "dnc", "0"), w6
    finals = {f["customer_key"]: f for f in stack.finals(campaign)}
    assert sorted(finals) == ["W1", "W2", "W5", "W6"], "no final record for a contact still waiting"
    assert (finals["W6"]["final_reason"], finals["W6"]["attempts"]) == ("dnc", 0), finals["W6"]
    # W6 was made final at intake: before the file's plan was written and before the first call.
    plan = read_plan(stack, campaign, f"campaigns/{campaign}/list.csv")
    assert (plan["loaded"], plan["rejected"], plan["dncHits"], plan["callableNow"], plan["deferred"]) == \
        (5, 1, 1, 3, 1), plan
    first_call = min(seconds(c["placedAt"]) for c in stack.sim_calls(campaign))
    w6_final_at = int(w6["finalAt"]) / 1000
    assert w6_final_at < first_call, f"W6 final at {w6_final_at}, after the first call at {first_call}"
    assert w6_final_at <= seconds(plan["writtenAt"]) + 1, (w6_final_at, plan["writtenAt"])
    q = stack.queue_counts()
    assert q == {"available": 0, "in_flight": 0, "dead_lettered": 0}, f"queue not drained: {q}"
    say(f"3 contacts called inside their window; W3 (UTC+12) deferred to {due_at:%Y-%m-%d %H:%M} UTC, uncalled; "
        "a bad timezone rejected at its line; W6 (do-not-call) final as dnc, uncalled")


def read_plan(stack: Stack, campaign: str, key: str, timeout: float = 120) -> dict[str, Any]:
    """The plan load-list writes for the file `key`, once it is there."""
    name = f"plans/campaign={campaign}/{key.replace('/', '_')}.json"
    deadline = time.monotonic() + timeout
    while True:
        try:
            body = stack.s3.get_object(Bucket=stack.out["results_bucket_name"], Key=name)["Body"].read()
            return json.loads(body)
        except stack.s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, f"no plan at {name} after {timeout:.0f} s"
            time.sleep(1)


def test_a_dry_run_writes_the_plan_and_admits_nothing(stack: Stack):
    campaign = "e2e-plan"
    stack.upload_csv("dnc/e2e-plan.csv", "phone\n020 7946 0772\n")
    deadline = time.monotonic() + 120
    while not any(i["source"] == "list:dnc/e2e-plan.csv:2" for i in stack.do_not_call_items()):
        assert time.monotonic() < deadline, "the do-not-call list was not loaded"
        time.sleep(0.5)
    # P1 in its window (London), P2 outside it (UTC+12), P3 on the do-not-call list, P4 no number.
    body = ("custID,phone,timezone\n"
            "P1,+442079460770,\n"
            "P2,+442079460771,Etc/GMT-12\n"
            "P3,+442079460772,\n"
            "P4,12,\n")
    key = f"campaigns/{campaign}/list.csv"
    loaded_at = datetime.now(timezone.utc)
    stack.s3.put_object(Bucket=stack.out["input_bucket_name"], Key=key, Body=body.encode(),
                        Metadata={"dry-run": "true"})
    plan = read_plan(stack, campaign, key)
    assert plan["dryRun"] is True, plan
    assert (plan["loaded"], plan["rejected"], plan["duplicates"], plan["dncHits"], plan["callableNow"],
            plan["deferred"], plan["capped"]) == (3, 1, 0, 1, 1, 1, 0), plan
    opens = next_local("Etc/GMT-12", WINDOW_OPENS_AT, loaded_at)
    assert plan["deferredByOpening"] == [
        {"hour": opens.replace(minute=0).strftime("%Y-%m-%dT%H:%M:%SZ"), "contacts": 1}], plan
    assert plan["latestCall"] == opens.strftime("%Y-%m-%dT%H:%M:%SZ"), plan
    assert plan["estimate"]["lanes"] == int(stack.param("concurrentcalls")), plan
    text = stack.s3.get_object(Bucket=stack.out["results_bucket_name"],
                               Key=f"plans/campaign={campaign}/{key.replace('/', '_')}.txt")["Body"].read().decode()
    assert text.startswith("Plan (DRY RUN"), text
    # Nothing admitted, suppressed or dialed; the rejects reported as usual.
    assert stack.campaign_ledger_items(campaign) == []
    assert stack.finals(campaign) == []
    assert [r["line"] for r in stack.rejects(campaign)] == [5]
    time.sleep(5)
    assert stack.sim_calls(campaign) == []
    say(f"dry run: plan with 3 loaded, 1 do-not-call hit, 1 callable now, 1 deferred to {opens:%H:%M} UTC; "
        "nothing admitted or dialed")


def test_a_number_is_called_at_most_its_cap_across_campaigns(stack: Stack):
    stack.sim.configure(busyFirstCall=[])
    # One number in three campaigns at once: the cap (ledger_stack.py) allows two calls a day.
    number = "+442079460760"
    campaigns = ["e2e-cap-a", "e2e-cap-b", "e2e-cap-c"]
    for campaign in campaigns:
        stack.upload_csv(f"campaigns/{campaign}/list.csv", f"custID,phone\nK1,{number}\n")
    for campaign in campaigns:
        stack.wait_until_idle(campaign, timeout=600, progress=say)
    calls = [c for campaign in campaigns for c in stack.sim_calls(campaign)]
    assert len(calls) == 2, f"{len(calls)} calls to the number, the cap is 2: {calls}"
    items = [i for campaign in campaigns for i in stack.campaign_ledger_items(campaign)]
    assert len(items) == 3, items
    waiting = [i for i in items if i["state"] == "due"]
    assert len(waiting) == 1, items
    held = waiting[0]
    assert (held["attempt"], held["deferredBy"]) == ("1", "frequency_cap"), held
    first_call = min(datetime.fromisoformat(c["placedAt"].replace("Z", "+00:00")) for c in calls)
    due_at = datetime.fromtimestamp(int(held["dueAt"]) / 1000, timezone.utc)
    assert abs((due_at - (first_call + timedelta(hours=24))).total_seconds()) < 120, \
        f"due at {due_at}, a day after the first call at {first_call}"
    assert sorted(i["state"] for i in items) == ["due", "final", "final"], items
    say(f"two calls to one number across three campaigns; the third waits until {due_at:%Y-%m-%d %H:%M} UTC")


def test_an_invalid_number_is_final_at_once_and_a_voicemail_and_an_abandoned_call_are_redialed(stack: Stack):
    campaign = "e2e-outcomes"
    # The abandoned call's number is outside the generated ranges: the cap counts its two calls.
    body = contacts_csv(3, start=7280) + "C_ab,+442079461283,Abby\n"
    invalid, voicemail, person, abandoned = phones(body)
    stack.sim.configure(invalidNumbers=[invalid], voicemailNumbers=[voicemail], abandonNumbers=[abandoned])
    try:
        # A file's own rules: two attempts, so the voicemail and the abandoned call are redialed
        # once (examples/local waits a minute after each).
        stack.s3.put_object(Bucket=stack.out["input_bucket_name"], Key=f"{campaign}.csv", Body=body.encode(),
                            Metadata={"redial": json.dumps({"max_attempts": 2})})
        # invalid 1 call, voicemail 2 (a minute apart), person 1, abandoned 2.
        stack.wait_until_idle(campaign, expected_results=6, timeout=600, progress=say)
    finally:
        stack.sim.configure(invalidNumbers=[], voicemailNumbers=[], abandonNumbers=[])
    finals = {f["phone_masked"][-3:]: f for f in check_once_per_attempt(stack, campaign, 4)}
    calls = stack.sim_calls(campaign)
    for c in calls:
        # Every call asked Connect for detection, as campaign traffic of the configured campaign.
        assert (c["answeringMachineDetection"], c["campaignId"]) == (True, "e2e-campaign"), c
    outcomes = sorted((r["phone_masked"][-3:], r["attempt"], r["outcome"]) for r in stack.results(campaign))
    assert outcomes == sorted([(invalid[-3:], 1, "invalid_number"), (voicemail[-3:], 1, "voicemail"),
                               (voicemail[-3:], 2, "voicemail"), (person[-3:], 1, "connected"),
                               (abandoned[-3:], 1, "abandoned"), (abandoned[-3:], 2, "abandoned")]), outcomes
    assert (finals[invalid[-3:]]["final_reason"], finals[invalid[-3:]]["attempts"]) == ("invalid_number", 1)
    assert (finals[voicemail[-3:]]["final_reason"], finals[voicemail[-3:]]["last_outcome"],
            finals[voicemail[-3:]]["attempts"]) == ("attempts_exhausted", "voicemail", 2)
    assert (finals[abandoned[-3:]]["final_reason"], finals[abandoned[-3:]]["last_outcome"],
            finals[abandoned[-3:]]["attempts"]) == ("attempts_exhausted", "abandoned", 2)
    assert finals[person[-3:]]["final_reason"] == "connected"
    say("invalid number final after one call; voicemail and abandoned call redialed once, then attempts "
        "exhausted; person connected")
