"""End-to-end: campaign volume on the local stack: a 300-contact list with rejects at
concurrency 5, and a 450-contact list that needs several waves to bound the execution history.
"""

from __future__ import annotations

import time

from campaign import check_exactly_once, say, fresh, stack  # noqa: F401, F811 (pytest fixtures)
from harness import Stack, contacts_csv, transitions


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
