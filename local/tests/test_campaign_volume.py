"""End-to-end: campaign volume on the local stack: a 300-contact list with rejects at
concurrency 5. (The 450-contact list in waves is in test_campaign_pacing.py, which balances the
files pytest-xdist runs in parallel.)
"""

from __future__ import annotations


from campaign import check_exactly_once, say, fresh, stack  # noqa: F401, F811 (pytest fixtures)
from harness import Stack, contacts_csv

# This file's deployment is destroyed at the end (campaign.py): `terraform destroy` stays tested.
DESTROY_STACK = True


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
