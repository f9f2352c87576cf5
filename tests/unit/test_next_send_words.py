"""What an enrollment's next email is said to be: none once it ended, never a time in the past,
times in the campaign's zone, and "goes with the worker's next pass" only of what it sends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from outreach.campaigns.schedule import SendWindow, next_send_words

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_HOURS = SendWindow.from_settings(time(8), time(17), ["monday", "tuesday"], "Europe/Berlin")
SATURDAY_NOON = datetime(2026, 3, 7, 11, 0, tzinfo=UTC)
TUESDAY_NOON = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
NEXT_PASS = "goes with the worker's next pass"


def said(status="in_progress", next_send_at=TUESDAY_NOON, now=TUESDAY_NOON, **given):
    return next_send_words(status, next_send_at, now, OFFICE_HOURS, BERLIN, **given)


def test_a_replied_enrollment_has_no_next_email_and_says_it_ended_because_they_replied():
    shown = said("replied", next_send_at=TUESDAY_NOON - timedelta(days=1))
    assert shown.when == ""
    assert shown.why == "ended: they replied"


def test_an_ended_enrollment_keeps_its_own_reason_when_it_has_one():
    shown = said("bounced", stop_reason="550 no such user")
    assert (shown.when, shown.why) == ("", "ended: 550 no such user")


def test_a_due_step_in_the_window_and_first_in_turn_goes_with_the_next_pass():
    assert said(turn=0).when == "due now"
    assert said(turn=0).why == NEXT_PASS


def test_a_due_step_behind_what_one_pass_sends_does_not_claim_the_next_pass():
    shown = said(turn=1, per_pass=1)
    assert shown.when == "due now"
    assert NEXT_PASS not in shown.why
    assert said(turn=3, per_pass=4).why == NEXT_PASS


def test_a_due_step_outside_the_window_says_when_it_opens_in_the_campaigns_zone():
    shown = said(next_send_at=SATURDAY_NOON - timedelta(hours=1), now=SATURDAY_NOON, turn=0)
    assert shown.when == "window opens Mon 08:00 Europe/Berlin"
    assert shown.why == "outside the send window"


def test_a_future_step_reads_in_the_campaigns_zone_with_its_reason():
    shown = said(next_send_at=TUESDAY_NOON + timedelta(hours=2), waiting_reason="not due yet")
    assert (shown.when, shown.why) == ("Tue 14:00 Europe/Berlin", "not due yet")


def test_what_holds_a_due_step_is_said_before_the_next_pass():
    assert said(turn=0, due_wait="the campaign is paused").why == "the campaign is paused"
    held = "waiting for me@ourco.example, which is paused"
    assert said(turn=0, hold=held).why == held


@given(
    status=st.sampled_from(["pending", "in_progress", "completed", "replied", "unsubscribed"]),
    offset=st.integers(min_value=-10_000_000, max_value=10_000_000),
    turn=st.none() | st.integers(min_value=0, max_value=600),
    per_pass=st.integers(min_value=0, max_value=500),
)
def test_no_time_is_ever_shown_in_the_past_and_no_ended_one_has_a_next_email(
    status, offset, turn, per_pass
):
    due = TUESDAY_NOON + timedelta(seconds=offset)
    shown = said(status, next_send_at=due, turn=turn, per_pass=per_pass)
    if status not in ("pending", "in_progress"):
        assert shown.when == ""
        assert shown.why.startswith("ended: ")
    elif due <= TUESDAY_NOON:
        assert shown.when == "due now" or shown.when.startswith("window opens ")
    assert shown.why or shown.when
    assert (shown.why == NEXT_PASS) == (
        status in ("pending", "in_progress")
        and due <= TUESDAY_NOON
        and turn is not None
        and turn < per_pass
    )
