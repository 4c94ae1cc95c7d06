"""What the campaign tests share: the deployment fixture and the exactly-once check.

Each test_campaign_*.py file imports the `stack` and `fresh` fixtures from here, so each file gets
its own deployment (module scope): moto with the state machine really executed, the real Rust
functions from the zips Terraform uploaded, the Connect simulator, and `examples/local` applied
with Terraform. Files are independent, so pytest-xdist runs them in parallel (`--dist loadfile`);
within a file the tests share the deployment and each uses its own campaign name so its results,
rejects and calls are told apart.

Every test prints what it checked; a failure names the contact, call or execution that broke it.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness import Stack, dialed_per_contact

CONCURRENCY_LIMIT_DEPLOYED = 10


def say(msg: str) -> None:
    print(f"    {msg}", flush=True)


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest):
    # One attempt per contact: these files count one call and one record per contact. Redials
    # have their own file (test_campaign_ledger.py). A file that sets DESTROY_STACK = True ends
    # with `terraform destroy`, so the destroy of examples/local stays tested; the others skip it
    # (stopping moto discards everything, and each destroy costs CI most of a minute).
    destroy = getattr(request.module, "DESTROY_STACK", False)
    with Stack(log=say, variables={"redial": {"max_attempts": 1}}, destroy_on_exit=destroy) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(stack: Stack):
    """Each test starts with the switch on, a quiet simulator and no run in progress."""
    stack.ready_for_next_test()
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
    finals = stack.finals(campaign)
    final_keys = [f["contact_key"] for f in finals]
    assert sorted(final_keys) == sorted(keys), f"{len(finals)} final records for {len(keys)} results"
    q = stack.queue_counts()
    assert q == {"available": 0, "in_flight": 0, "dead_lettered": 0}, f"queue not drained: {q}"
    say(f"{expected} contacts dialed exactly once, {len(results)} results and final records, queue and DLQ empty")
    return results


