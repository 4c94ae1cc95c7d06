"""The disposition guide as `make demo` plays it (local/demo.py): the shapes Amazon Connect gives
set-disposition, checked without a stack."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "local"))

import demo  # noqa: E402


def test_the_guide_runs_in_its_own_contact_related_to_the_call():
    event = demo.guide_event("voice-1", "SALE")
    assert event is not None
    data = event["Details"]["ContactData"]
    assert data["RelatedContactId"] == "voice-1"
    assert data["ContactId"] not in ("voice-1", "") and data["InitialContactId"] == data["ContactId"]
    assert data["Channel"] == "CHAT"
    # Each showing of the guide is a new contact.
    assert demo.guide_event("voice-1", "SALE")["Details"]["ContactData"]["ContactId"] != data["ContactId"]


def test_the_branch_taken_is_the_views_action_and_passes_its_name():
    for action in demo.DISPOSITIONS:
        assert demo.guide_event("voice-1", action)["Details"]["Parameters"] == {"disposition": action}
    # An action no branch matches ends the guide (NoMatchingCondition): nothing is invoked.
    assert demo.guide_event("voice-1", "Not a button") is None
