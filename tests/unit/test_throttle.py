"""Pacing one mailbox's sends: never more than its per-minute limit in any 60 seconds, and no
wait when the limit leaves room."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.providers.throttle import MINUTE, SendingPace

EPSILON = 1e-6
"""Sums of float seconds round (0.6 + 60 is 60.60000000000001): a microsecond is far below
anything a pace means, and far above the rounding."""


def booked(per_minute: int, gaps: list[float]) -> list[tuple[float, float]]:
    pace = SendingPace(per_minute)
    at, starts = 0.0, []
    for gap in gaps:
        at += gap
        starts.append((at, at + pace.reserve(at)))
    return starts


@given(
    st.integers(min_value=1, max_value=30),
    st.lists(st.floats(min_value=0, max_value=90, allow_nan=False), max_size=200),
)
def test_no_sixty_seconds_hold_more_sends_than_allowed_and_none_waits_without_need(
    per_minute, gaps
):
    starts = booked(per_minute, gaps)
    times = sorted(start for _, start in starts)
    for first in range(len(times)):
        within = [t for t in times[first:] if t < times[first] + MINUTE - EPSILON]
        assert len(within) <= per_minute
    for index, (at, start) in enumerate(starts):
        assert start >= at
        if start > at + EPSILON:
            # It waits only while the minute before it is full: going any sooner would put
            # one send too many into some 60 seconds.
            earlier = [s for _, s in starts[:index] if s + MINUTE >= start - EPSILON]
            assert len(earlier) >= per_minute


def test_the_twenty_sixth_send_in_a_minute_waits_for_the_first_to_leave_the_window():
    slept = []
    clock = iter([0.0] * 25 + [10.0])
    pace = SendingPace(25, now=lambda: next(clock), sleep=slept.append)
    for _ in range(26):
        pace.wait()
    assert slept == [50.0]


def test_a_pace_of_nothing_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        SendingPace(0)
