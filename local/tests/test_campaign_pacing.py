"""End-to-end: pacing and channels on the local stack: Connect's quota throttling at
concurrency 10, a 450-contact list dialed in waves that bound the execution history, Pinpoint
batches delivered twice and late, caller ID through the deployed function, and a number listed
on the do-not-call list between the feed and the call.
"""

from __future__ import annotations

import json
from datetime import datetime
import time
from typing import Any

import pytest

from campaign import CONCURRENCY_LIMIT_DEPLOYED, check_exactly_once, say, fresh, stack  # noqa: F401, F811 (pytest fixtures)
from harness import Stack, contacts_csv, transitions


def test_throttled_quota_with_concurrency_10(stack: Stack):
    campaign = "e2e-throttle"
    stack.set_param("concurrentcalls", str(CONCURRENCY_LIMIT_DEPLOYED))
    stack.sim.configure(quotaRate=2.0, quotaBurst=5.0)
    n = 80
    stack.upload_csv(f"{campaign}.csv", contacts_csv(n, start=3000))
    stack.wait_until_idle(campaign, expected_results=n, timeout=1200, progress=say)
    check_exactly_once(stack, campaign, n)
    calls = sorted(stack.sim_calls(campaign), key=lambda c: c["placedAt"])
    from datetime import datetime

    t = [datetime.fromisoformat(c["placedAt"].replace("Z", "+00:00")).timestamp() for c in calls]
    rate = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 else 0
    stats = stack.sim.stats(contacts=False)
    assert rate <= 2.0 * 1.2 + 0.5, f"dial rate {rate:.2f}/s well above the 2/s quota"
    assert rate >= 2.0 * 0.5, f"dial rate {rate:.2f}/s far below the 2/s quota"
    say(f"dial rate {rate:.2f}/s against a 2/s quota; simulator throttled {stats['throttled']} requests; nothing lost")


def test_waves_bound_the_execution_history(stack: Stack):
    campaign = "e2e-waves"
    since = time.time()
    stack.set_param("concurrentcalls", "5")
    n = 450
    stack.upload_csv(f"{campaign}.csv", contacts_csv(n, start=6000))
    stack.wait_until_idle(campaign, expected_results=n, timeout=1800, progress=say)
    check_exactly_once(stack, campaign, n)
    # The next wave starts while this wave's lanes finish their last calls, and takes over from
    # them lane by lane: never more calls up than concurrentcalls, across the boundary too.
    peak = peak_concurrency(stack.sim_calls(campaign))
    assert 1 <= peak <= 5, f"{peak} calls up at once across the waves, above the configured 5"
    t = transitions(stack, since=since - 1)
    assert t["executions"] >= 2, f"{t['executions']} execution(s): the campaign never needed a second wave"
    assert t["largest_history"] < 25000 and t["largest_history"] <= 2000 * 1.2, f"history too large: {t}"
    per_contact = t["state_transitions"] / n
    assert per_contact <= 3.0, f"{per_contact:.2f} state transitions per dialed contact (target <= 3)"
    say(f"{t['executions']} executions, largest history {t['largest_history']} events, "
        f"{per_contact:.2f} transitions per contact, peak {peak} calls up")


def peak_concurrency(calls: list[dict]) -> int:
    """The most calls up at once, from the simulator's placement and end times (an end and a
    placement at the same instant: the end first)."""
    def ts(value: str) -> float:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    edges = sorted([(ts(c["placedAt"]), 1) for c in calls]
                   + [(ts(c["endedAt"]), -1) for c in calls if c.get("endedAt")])
    up = peak = 0
    for _, step in edges:
        up += step
        peak = max(peak, up)
    return peak


def test_pinpoint_batches_duplicate_and_late(stack: Stack):
    fn = "queue-contacts"
    if fn not in stack.out.get("lambda_function_names", {}) and not stack.out.get("pinpoint_application_id"):
        pytest.fail("the local example must deploy the Pinpoint channel")
    app = stack.out.get("pinpoint_application_id") or "app"

    def batch(start: int, n: int) -> dict[str, Any]:
        endpoints = {}
        for i in range(start, start + n):
            endpoints[f"ep-{i}"] = {
                "Address": f"+44207946{i % 1000:04d}", "ChannelType": "CUSTOM", "OptOut": "NONE",
                "EndpointStatus": "ACTIVE",
                "User": {"UserId": f"U{i}", "UserAttributes": {"FirstName": [f"N{i}"]}},
            }
        endpoints["ep-optout"] = {"Address": "+442079469999", "ChannelType": "CUSTOM", "OptOut": "ALL",
                                  "EndpointStatus": "ACTIVE", "User": {"UserId": "U-out"}}
        return {"ApplicationId": app, "CampaignId": "e2e-pinpoint", "TreatmentId": "0", "ActivityId": "a1",
                "ScheduledTime": "2026-11-22T10:00:00Z", "Data": json.dumps({"greeting": "Hi {{User.UserAttributes.FirstName}}"}),
                "Endpoints": endpoints}

    first = batch(5000, 20)
    stack.invoke(fn, first)
    stack.invoke(fn, first)  # Pinpoint delivered the same batch twice
    stack.wait_until_idle("e2e-pinpoint", expected_results=20, timeout=600, progress=say)
    stack.invoke(fn, batch(5020, 10))  # arrives after the lanes went idle
    stack.wait_until_idle("e2e-pinpoint", expected_results=30, timeout=600, progress=say)
    check_exactly_once(stack, "e2e-pinpoint", 30)
    say("a batch delivered twice and a late batch: 30 endpoints dialed once each, the opted-out one skipped")


def test_a_pinpoint_endpoint_on_the_do_not_call_list_is_final_at_intake(stack: Stack):
    """Do-not-call at the Pinpoint channel's intake: a listed endpoint is made final `dnc` with its
    final record while its batch is admitted (queue-contacts says so in its answer), before the
    run it starts leases anything; the others are called once each."""
    campaign = "e2e-pinpoint-dnc"
    app = stack.out.get("pinpoint_application_id") or "app"
    numbers = {f"ep-{i}": f"+44207946{980 + i:04d}" for i in range(4)}
    stack.upload_csv("dnc/e2e-pinpoint.csv", f"phone\n{numbers['ep-3']}\n")
    deadline = time.monotonic() + 120
    while not any(i["source"] == "list:dnc/e2e-pinpoint.csv:2" for i in stack.do_not_call_items()):
        assert time.monotonic() < deadline, "the do-not-call list was not loaded"
        time.sleep(0.5)
    endpoints = {ep: {"Address": phone, "ChannelType": "CUSTOM", "OptOut": "NONE", "EndpointStatus": "ACTIVE",
                      "User": {"UserId": f"U-{ep}"}} for ep, phone in numbers.items()}
    answer = stack.invoke("queue-contacts", {
        "ApplicationId": app, "CampaignId": campaign, "TreatmentId": "0", "ActivityId": "a1",
        "ScheduledTime": "2026-11-22T10:00:00Z", "Data": "{}", "Endpoints": endpoints})
    assert (answer["queued"], answer["suppressed"]) == (4, 1), answer
    listed = next(i for i in stack.campaign_ledger_items(campaign) if i["key"] == "U-ep-3")
    assert (listed["state"], listed["finalReason"], listed["attempt"]) == ("final", "dnc", "0"), listed
    stack.wait_until_idle(campaign, expected_results=3, timeout=600, progress=say)
    called = {c["attributes"].get("contactKey") for c in stack.sim_calls(campaign)}
    assert listed["contactKey"] not in called, "a listed endpoint was called"
    assert len(called) == 3, called
    finals = {f["customer_key"]: f for f in stack.finals(campaign)}
    assert len(finals) == 4 and (finals["U-ep-3"]["final_reason"], finals["U-ep-3"]["attempts"]) == ("dnc", 0), finals
    say("a listed Pinpoint endpoint final dnc at intake with its record, uncalled; the other 3 called once")


def test_caller_id_through_the_deployed_function(stack: Stack):
    routing = json.loads(stack.s3.get_object(Bucket=stack.out["routing_bucket_name"],
                                             Key=stack.out["routing_object_key"])["Body"].read())
    cases = {"+14165550123": "CA", "+12125550123": "US", "+442079460123": "GB"}
    for number, country in cases.items():
        event = {"Name": "ContactFlowEvent", "Details": {"ContactData": {
            "ContactId": "c-1", "Channel": "VOICE",
            "CustomerEndpoint": {"Address": number, "Type": "TELEPHONE_NUMBER"},
            "Queue": {"Name": "Outbound", "OutboundCallerId": {"Address": "+12125550199"}}}, "Parameters": {}}}
        answer = stack.invoke("caller-id", event)
        assert answer["customer_country"] == country, f"{number}: {answer}"
        expected = routing.get(country, routing.get("Default"))
        allowed = expected if isinstance(expected, list) else [expected]
        prefix_hits = [k for k in routing if k.startswith("+") and number.startswith(k)]
        if prefix_hits:
            best = max(prefix_hits, key=len)
            allowed = routing[best] if isinstance(routing[best], list) else [routing[best]]
        assert answer["outbound_number"] in allowed, f"{number}: {answer} not in {allowed}"
        say(f"{number} ({country}) -> {answer['outbound_number']} [{answer['routing_status']}]")


def test_a_number_listed_between_feed_and_dial_is_never_called(stack: Stack):
    """Do-not-call checked just before the call: a contact already leased and queued for a lane
    when its number is listed is made final `dnc` by dial, uncalled. Last in this file: its numbers
    stay listed for the deployment, and no other test here uses them."""
    campaign = "e2e-dnc-late"
    stack.set_param("concurrentcalls", "2")
    # Two lanes, each call up for 60 real seconds: the contacts after the first two wait, leased,
    # in the lanes' queue while the first calls last (the last of them for two calls, 120 s: the
    # listing, an asynchronous load of its own, has that long even on a loaded machine).
    stack.sim.configure(answerRate=1.0, busyRate=0.0, failRate=0.0,
                        ringSeconds={"min": 60.0, "max": 60.0}, talkSeconds={"min": 400.0, "max": 400.0})
    try:
        numbers = {f"L{i}": f"+44207946{970 + i:04d}" for i in range(6)}
        stack.upload_csv(f"{campaign}.csv", "custID,phone\n" + "".join(f"{k},{p}\n" for k, p in numbers.items()))
        deadline = time.monotonic() + 300
        while True:
            items = stack.campaign_ledger_items(campaign)
            leased = sorted(i["key"] for i in items if i["state"] == "leased")
            dialing = [i for i in items if i["state"] == "dialing"]
            if leased and dialing:
                break
            assert time.monotonic() < deadline, f"no contact waited leased behind a call: {items}"
            time.sleep(0.2)
        target = leased[-1]
        listed_before = len(stack.do_not_call_items())
        stack.upload_csv("dnc/listed-while-queued.csv", f"phone\n{numbers[target]}\n")
        # The premise: the number is on the list while its contact still waits, uncalled.
        while len(stack.do_not_call_items()) <= listed_before:
            assert time.monotonic() < deadline, "the do-not-call file was never loaded"
            time.sleep(0.5)
        state = next(i["state"] for i in stack.campaign_ledger_items(campaign) if i["key"] == target)
        assert state == "leased", f"{target} left the queue ({state}) before its number was listed: the test's wait was too short"
        stack.wait_until_idle(campaign, expected_results=5, timeout=600, progress=say)
    finally:
        stack.sim.configure(answerRate=0.7, busyRate=0.1, failRate=0.05,
                            ringSeconds={"min": 3.0, "max": 15.0}, talkSeconds={"min": 20.0, "max": 120.0})
    called = {c["attributes"].get("contactKey") for c in stack.sim_calls(campaign)}
    items = {i["key"]: i for i in stack.campaign_ledger_items(campaign)}
    listed = items[target]
    assert listed["contactKey"] not in called, f"{target} was called after its number was listed"
    assert (listed["state"], listed["finalReason"]) == ("final", "dnc"), listed
    finals = {f["customer_key"]: f for f in stack.finals(campaign)}
    assert sorted(finals) == sorted(numbers), finals
    assert finals[target]["final_reason"] == "dnc", finals[target]
    assert len(called) == 5, f"{len(called)} contacts called, 5 expected"
    say(f"{target} listed while leased behind a call: final dnc, never called; the other 5 called once")
