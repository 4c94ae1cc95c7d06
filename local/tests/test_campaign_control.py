"""End-to-end: a campaign under control and faults on the local stack: the stop switch mid
campaign, dropped and duplicated contact events, the queue's hours closing and reopening, a
holiday override of today's hours pausing the campaign until it is over, and campaign schedules
(an ended campaign closed without a call, one not started waiting until the operator moves its
start with `outbound schedule`).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import time
from pathlib import Path

from campaign import check_exactly_once, say, fresh, stack  # noqa: F401, F811 (pytest fixtures)
from harness import REGION, Stack, contacts_csv
from local.stack import http_json


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


def test_holiday_override_pauses_until_it_is_over(stack: Stack):
    """An hours-of-operation override for today (what an operator sets for a holiday afternoon:
    closed until a time, then open) is seen only through GetEffectiveHoursOfOperations: the weekly
    hours stay open around the clock. The campaign pauses, no contact is lost, and it goes on at
    the time the override opens."""
    campaign = "e2e-holiday"
    # The override is for today's date in the hours' zone (UTC): keep clear of midnight.
    now = datetime.datetime.now(datetime.timezone.utc)
    if now.hour == 23 and now.minute >= 57:
        time.sleep(60 * (60 - now.minute) + 5)
    stack.upload_csv(f"{campaign}.csv", contacts_csv(40, start=5000))
    while len(stack.sim_calls(campaign)) < 8:
        time.sleep(0.5)
    now = datetime.datetime.now(datetime.timezone.utc)
    # Closed from midnight until the minute boundary at least 30 s away, then open to midnight.
    opens = (now + datetime.timedelta(seconds=90)).replace(second=0, microsecond=0)
    today = now.strftime("%Y-%m-%d")
    override = {"Name": "e2e holiday", "EffectiveFrom": today, "EffectiveTill": today,
                "Config": [{"Day": now.strftime("%A").upper(),
                            "StartTime": {"Hours": opens.hour, "Minutes": opens.minute},
                            "EndTime": {"Hours": 0, "Minutes": 0}}]}
    added = http_json("POST", f"{stack.sim.endpoint}/_sim/hours/overrides", override)
    try:
        closed_at = time.time()
        stack.wait_until_idle(campaign, expected_results=40, timeout=900, progress=say)
        check_exactly_once(stack, campaign, 40)
        calls = stack.sim_calls(campaign)
        late = [c for c in calls if c.get("placedWhileClosed")]
        # As in test_queue_hours_close_and_reopen: lanes past their hours check, and a warm dial's
        # cached hours (STATUS_CACHE_SECONDS 1 s at 2 calls/s).
        allowed = 5 + 2 * 1 + 1
        assert len(late) <= allowed, (
            f"{len(late)} calls placed while the holiday override closed the queue (at most {allowed}): "
            f"{[c['contactId'] for c in late]}")
        after = [c for c in calls
                 if datetime.datetime.fromisoformat(c["placedAt"].replace("Z", "+00:00")) >= opens]
        assert after, "no call placed after the override opened: the campaign did not go on"
        failed = [e for e in stack.executions() if e["status"] == "FAILED"]
        assert not failed, f"executions failed instead of pausing: {[e['executionArn'] for e in failed]}"
        say(f"holiday override {added['override']['HoursOfOperationOverrideId']} closed the queue at "
            f"{closed_at:.0f} until {opens.isoformat()}: {len(late)} calls during the closure, "
            f"{len(after)} after it, every contact dialed once")
    finally:
        http_json("DELETE", f"{stack.sim.endpoint}/_sim/hours/overrides")


ROOT = Path(__file__).resolve().parents[2]


def outbound(stack: Stack, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """The operator's tool against the local stack (OUTBOUND_BIN, or the workspace's build)."""
    triple = os.environ.get("CARGO_BUILD_TARGET")
    built = ROOT / "target" / triple / "debug" / "outbound" if triple else ROOT / "target" / "debug" / "outbound"
    path = os.environ.get("OUTBOUND_BIN") or str(built)
    if not os.path.exists(path):
        subprocess.run(["cargo", "build", "-p", "outbound", "--locked"], cwd=ROOT, check=True)
    outputs = tmp / "outputs.json"
    outputs.write_text(json.dumps({k: {"value": v} for k, v in stack.out.items()}))
    env = dict(os.environ, AWS_ENDPOINT_URL=stack.launcher.endpoint, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=REGION)
    env.pop("AWS_PROFILE", None)
    return subprocess.run([path, "--outputs", str(outputs), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_campaign_schedule_ends_and_starts(stack: Stack, tmp_path: Path):
    """A list whose schedule ended a minute ago: every contact final `campaign_ended`, none called.
    A list whose campaign starts tomorrow: nothing called, its contacts stay due; the operator moves
    the start to now and each is called once."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ended, early = "e2e-sched-ended", "e2e-sched-early"
    for campaign, schedule, start in [
        (ended, {"start": (now - datetime.timedelta(hours=1)).isoformat(),
                 "end": (now - datetime.timedelta(minutes=1)).isoformat()}, 6000),
        (early, {"start": (now + datetime.timedelta(days=1)).isoformat()}, 6100),
    ]:
        stack.s3.put_object(Bucket=stack.out["input_bucket_name"], Key=f"campaigns/{campaign}/list.csv",
                            Body=contacts_csv(6, start=start).encode(), Metadata={"schedule": json.dumps(schedule)})
    deadline = time.monotonic() + 300
    while len(stack.finals(ended)) < 6 and time.monotonic() < deadline:
        time.sleep(1)
    stack.wait_until_idle(early, timeout=300, progress=say)
    finals = stack.finals(ended)
    assert sorted(f["final_reason"] for f in finals) == ["campaign_ended"] * 6, finals
    assert all(f["attempts"] == 0 for f in finals), finals
    assert not stack.sim_calls(ended), "an ended campaign was called"
    assert not stack.sim_calls(early), "a campaign was called before its start"
    waiting = stack.campaign_ledger_items(early)
    assert len(waiting) == 6 and all(i["state"] == "due" for i in waiting), waiting

    shown = outbound(stack, tmp_path, "schedule", early)
    assert shown.returncode == 0 and "not started" in shown.stdout, shown.stdout + shown.stderr
    moved = outbound(stack, tmp_path, "schedule", early, "--start",
                     datetime.datetime.now(datetime.timezone.utc).isoformat())
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "open" in moved.stdout, moved.stdout
    stack.wait_until_idle(early, expected_results=6, timeout=600, progress=say)
    check_exactly_once(stack, early, 6)
    say(f"{ended}: 6 contacts final as campaign_ended without a call; {early}: waited, then called once each")
