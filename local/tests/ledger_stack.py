"""What the campaign ledger's end-to-end files share: their deployment and the exactly-once check.

test_campaign_ledger.py and test_campaign_recovery.py import the `stack` and `fresh` fixtures from
here, so each file gets its own deployment (module scope) and pytest-xdist runs the two side by
side. The deployment has the demo's redial rules (a busy, unanswered or failed call is dialed
again a minute later) and a simulator where every call is answered except the numbers a test
scripts busy on their first call, so every outcome is known in advance. Its dial function times
out after 10 s, so a call whose answer the simulator holds back ends that dial; its load-list
function times out after 5 s, so a list of a few thousand rows is loaded in several segments, each
handing the rest of the file over to the next invocation.

Its calling window is set around the time the deployment is made: open from 6 hours before to 3
hours after that time of day (UTC), every day. London (UTC+0/+1) and New York (UTC-5/-4), the
zones of the generated lists' numbers, are inside it for the next two hours; UTC+12 (the
`timezone` column of the calling-window test) is outside it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from harness import Stack, dialed_per_attempt, window_around


def say(msg: str) -> None:
    print(f"    {msg}", flush=True)


# dial times out after 10 s; a contact it held comes back 20 s after it was received.
DIAL_TIMEOUT = 10
# load-list keeps a fifth of its timeout back to hand over: segments of about 4 s.
LOAD_LIST_TIMEOUT = 5


# London and New York inside, UTC+12 outside (see the module's docstring).
WINDOW_OPENS_AT, CALLING_WINDOW = window_around(datetime.now(timezone.utc), timedelta(hours=6), timedelta(hours=3))
# Two calls per number per day across campaigns, for test_campaign_ledger.py's deployment only:
# contacts_csv gives odd rows the US numbers 555-0100 + (row % 100), so rows a hundred apart share
# a number, and every test of a deployment with the cap must keep its rows' residues apart (and
# call no number more than twice).
FREQUENCY_CAP = {"enabled": True, "max_calls": 2, "period_hours": 24}


def ledger_stack(**variables: Any) -> Stack:
    """The deployment, with `variables` added to the example's (a file that needs more)."""
    return Stack(log=say, sim_config={"answerRate": 1.0, "busyRate": 0.0, "failRate": 0.0},
                 variables={"dial_timeout_seconds": DIAL_TIMEOUT, "queue_visibility_timeout_seconds": 20,
                            "load_list_timeout_seconds": LOAD_LIST_TIMEOUT, "calling_window": CALLING_WINDOW,
                            **variables},
                 # Not destroyed (stopping moto discards it): test_campaign_volume.py tests destroy.
                 destroy_on_exit=False)


@pytest.fixture(scope="module")
def stack():
    with ledger_stack() as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(stack: Stack):
    stack.ready_for_next_test()
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


def function_stats(stack: Stack, function: str) -> dict[str, Any]:
    """The local Lambda runtime's counters for one of the deployment's functions."""
    stats = stack.launcher.stats()["functions"]
    return next((s for name, s in stats.items() if name.endswith(f"-{function}")), {})


def failed_runs(stack: Stack) -> int:
    return sum(1 for e in stack.executions() if e["status"] == "FAILED")


def dial_timeouts(stack: Stack) -> int:
    return function_stats(stack, "dial").get("errorTypes", {}).get("Sandbox.Timedout", 0)


def seconds(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
