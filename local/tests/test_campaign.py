"""End-to-end tests of the dialer on the local stack: moto (with the state machine really
executed), the real Rust functions from the zips Terraform uploaded, the Connect simulator, and
`examples/local` applied with Terraform. One deployment serves every test; each test uses its own
campaign name so its results, rejects and calls are told apart.

Every test prints what it checked; a failure names the contact, call or execution that broke it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from harness import Stack, contacts_csv, dialed_per_contact, transitions  # noqa: I001
from local.stack import http_json

CONCURRENCY_LIMIT_DEPLOYED = 10


def say(msg: str) -> None:
    print(f"    {msg}", flush=True)


@pytest.fixture(scope="module")
def stack():
    with Stack(log=say) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(stack: Stack):
    """Each test starts with the switch on, a quiet simulator and no run in progress."""
    stack.wait_until_idle("__none__", timeout=600, settle=1.0)
    stack.set_param("activeBlaster", "True")
    stack.set_param("concurrentcalls", "5")
    stack.sim.reset(config=False)
    stack.sim.configure(dropEventShare=0.0, duplicateEventShare=0.0, queueStatus="ENABLED",
                        quotaRate=2.0, quotaBurst=5.0, errorRate=0.0)
    stack.sim.configure(hours=always_open())
    yield


def always_open() -> dict[str, Any]:
    days = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
    return {"id": "00000000-0000-4000-8000-000000000004", "name": "Always", "timeZone": "UTC",
            "config": [{"Day": d, "StartTime": {"Hours": 0, "Minutes": 0}, "EndTime": {"Hours": 0, "Minutes": 0}}
                       for d in days]}


def check_exactly_once(stack: Stack, campaign: str, expected: int) -> list[dict[str, Any]]:
    """Every valid contact dialed exactly once and one results record each; nothing left queued."""
    calls = stack.sim_calls(campaign)
    per = dialed_per_contact(calls)
    twice = {k: n for k, n in per.items() if n > 1}
    assert not twice, f"contacts dialed more than once: {twice}"
    assert len(per) == expected, f"{len(per)} contacts dialed, {expected} expected"
    results = stack.results(campaign)
    keys = [r["contact_key"] for r in results]
    dup = {k for k in keys if keys.count(k) > 1}
    assert not dup, f"contacts with more than one results record: {sorted(dup)[:5]}"
    assert len(results) == expected, f"{len(results)} results records, {expected} expected"
    called = {c["attributes"].get("contactKey") for c in calls}
    missing = [r["contact_key"] for r in results if r["contact_key"] not in called]
    assert not missing, f"results for contacts the simulator never saw: {missing[:5]}"
    # Each record names the caller ID the call really went out with.
    source = {c["attributes"].get("contactKey"): c.get("sourcePhoneNumber") for c in calls}
    wrong = [(r["contact_key"], r.get("caller_id"), source[r["contact_key"]])
             for r in results if r.get("caller_id") != source[r["contact_key"]]]
    assert not wrong, f"results whose caller_id is not the call's SourcePhoneNumber: {wrong[:5]}"
    q = stack.queue_counts()
    assert q == {"available": 0, "in_flight": 0, "dead_lettered": 0}, f"queue not drained: {q}"
    say(f"{expected} contacts dialed exactly once, {len(results)} results records, queue and DLQ empty")
    return results


def test_campaign_300_contacts_at_concurrency_5(stack: Stack):
    campaign = "e2e-300"
    body = contacts_csv(310, bad_every=31)  # 10 invalid numbers among 310 rows
    stack.upload_csv(f"{campaign}.csv", body)
    wall = stack.wait_until_idle(campaign, expected_results=300, timeout=1200, progress=say)
    results = check_exactly_once(stack, campaign, 300)
    # examples/local's routing file: London numbers (+44 20) take the +4420 prefix's number,
    # US ones the US country's; none is left to the queue's caller ID.
    by_country = {prefix: {r["caller_id"] for r in results if r["phone_masked"].startswith(prefix)}
                  for prefix in ("+44", "+1")}
    assert by_country == {"+44": {"+442079460003"}, "+1": {"+12125550101"}}, by_country
    peak = stack.sim.stats(contacts=False)["peakConcurrency"]
    assert 1 <= peak <= 5, f"peak concurrent calls {peak} above the configured 5"
    rejects = stack.rejects(campaign)
    assert len(rejects) == 10, f"{len(rejects)} rejects, 10 expected: {rejects[:3]}"
    lines = sorted(r["line"] for r in rejects)
    assert lines == [1 + 31 * k for k in range(1, 11)], f"reject line numbers {lines}"
    assert all(r["reason"] for r in rejects)
    say(f"peak concurrency {peak} <= 5; 10 rejects at lines {lines[:3]}…; wall {wall:.0f} s")


def test_stop_switch_mid_campaign_then_resume(stack: Stack):
    campaign = "e2e-stop"
    stack.upload_csv(f"{campaign}.csv", contacts_csv(120, start=1000))
    while len(stack.sim_calls(campaign)) < 20:
        time.sleep(0.5)
    stack.set_param("activeBlaster", "False")
    at_stop = len(stack.sim_calls(campaign))
    # Every lane finishes the call it has up and takes no new one: at most one more call per lane.
    deadline = time.monotonic() + 300
    while any(e["status"] == "RUNNING" for e in stack.executions()) and time.monotonic() < deadline:
        time.sleep(1)
    after = len(stack.sim_calls(campaign))
    assert after - at_stop <= 5, f"{after - at_stop} calls placed after the stop switch (5 lanes)"
    q = stack.queue_counts()
    assert q["available"] > 0, "the rest of the list should stay queued while stopped"
    say(f"stopped at {at_stop} calls, {after - at_stop} more placed by lanes finishing, {q['available']} still queued")
    stack.set_param("activeBlaster", "True")
    stack.start_run()
    stack.wait_until_idle(campaign, expected_results=120, timeout=900, progress=say)
    check_exactly_once(stack, campaign, 120)


def test_dropped_and_duplicated_events(stack: Stack):
    campaign = "e2e-events"
    stack.sim.configure(dropEventShare=0.2, duplicateEventShare=0.1)
    stack.upload_csv(f"{campaign}.csv", contacts_csv(60, start=2000))
    stack.wait_until_idle(campaign, expected_results=60, timeout=1200, progress=say)
    results = check_exactly_once(stack, campaign, 60)
    calls = {c["contactId"]: c for c in stack.sim_calls(campaign)}
    dropped = [c for c in calls.values() if c.get("eventDropped")]
    assert dropped, "the simulator dropped no event: the test proves nothing"
    wrong = []
    for r in results:
        call = calls.get(r["contact_id"])
        expected = call["outcome"] if call else None
        if r["outcome"] != expected and not (r["outcome"] == "timeout" and call and not call.get("endedAt")):
            wrong.append((r["contact_id"], r["outcome"], expected))
    assert not wrong, f"outcomes differ from the simulator's: {wrong[:5]}"
    say(f"{len(dropped)} events dropped, {sum(1 for c in calls.values() if c.get('eventDuplicated'))} duplicated; "
        "every outcome matches the simulator's")


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


def test_queue_hours_close_and_reopen(stack: Stack):
    campaign = "e2e-hours"
    stack.upload_csv(f"{campaign}.csv", contacts_csv(60, start=4000))
    while len(stack.sim_calls(campaign)) < 10:
        time.sleep(0.5)
    reopen_in = 30
    closure = http_json("POST", f"{stack.sim.endpoint}/_sim/hours/closed-for", {"seconds": reopen_in})
    closed_at = time.time()
    placed_closed = stack.sim.stats(contacts=False)
    stack.wait_until_idle(campaign, expected_results=60, timeout=900, progress=say)
    check_exactly_once(stack, campaign, 60)
    stats = stack.sim.stats(contacts=False)
    late = [c for c in stack.sim_calls(campaign) if c.get("placedWhileClosed")]
    # Lanes already past their hours check may place one call each before they see the closure,
    # and a warm dial reuses the schedule for STATUS_CACHE_SECONDS (1 s in examples/local), in
    # which the dial rate (2/s) allows two more calls.
    allowed = 5 + 2 * 1 + 1
    assert len(late) <= allowed, (
        f"{len(late)} calls placed while the queue was closed (at most {allowed}): "
        f"{[c['contactId'] for c in late]}")
    running = [e for e in stack.executions() if e["status"] == "FAILED"]
    assert not running, f"executions failed instead of pausing: {[e['executionArn'] for e in running]}"
    say(f"queue closed at {closed_at:.0f} until {closure['opensAt']}: {len(late)} calls during closure, campaign resumed "
        f"and finished ({stats['placed'] - placed_closed['placed']} calls after closing)")


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


def test_waves_bound_the_execution_history(stack: Stack):
    campaign = "e2e-waves"
    since = time.time()
    stack.set_param("concurrentcalls", "5")
    n = 450
    stack.upload_csv(f"{campaign}.csv", contacts_csv(n, start=6000))
    stack.wait_until_idle(campaign, expected_results=n, timeout=1800, progress=say)
    check_exactly_once(stack, campaign, n)
    t = transitions(stack, since=since - 1)
    assert t["executions"] >= 2, f"{t['executions']} execution(s): the campaign never needed a second wave"
    assert t["largest_history"] < 25000 and t["largest_history"] <= 2000 * 1.2, f"history too large: {t}"
    per_contact = t["state_transitions"] / n
    assert per_contact <= 3.0, f"{per_contact:.2f} state transitions per dialed contact (target <= 3)"
    say(f"{t['executions']} executions, largest history {t['largest_history']} events, "
        f"{per_contact:.2f} transitions per contact")
