"""The rule behind "one person, one first email" (delivery/contacted.py), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from outreach.campaigns.states import DraftType
from outreach.delivery.contacted import reason

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAYS_30 = timedelta(days=30)
FIRST, FOLLOW_UP = DraftType.first_outreach, DraftType.second_followup


def test_a_running_campaign_holds_every_kind_of_one_off_email():
    for kind in (FIRST, FOLLOW_UP):
        assert reason("Spring", None, NOW, DAYS_30, kind) == (
            "the campaign 'Spring' is writing to them"
        )


def test_an_email_within_the_days_holds_a_first_email_and_says_when():
    assert reason(None, NOW - timedelta(hours=2), NOW, DAYS_30, FIRST) == (
        "we emailed them today (2026-03-02)"
    )
    assert reason(None, NOW - timedelta(days=1), NOW, DAYS_30, FIRST) == (
        "we emailed them yesterday (2026-03-01)"
    )
    assert reason(None, NOW - DAYS_30, NOW, DAYS_30, FIRST) == (
        "we emailed them 30 days ago (2026-01-31)"
    )


def test_an_older_email_or_a_follow_up_after_one_needs_no_confirmation():
    assert reason(None, NOW - DAYS_30 - timedelta(seconds=1), NOW, DAYS_30, FIRST) is None
    assert reason(None, NOW - timedelta(days=3), NOW, DAYS_30, FOLLOW_UP) is None
    assert reason(None, None, NOW, DAYS_30, FIRST) is None
