"""How long the worker waits after a pass: not at all after a pass that moved something, until
the next due moment otherwise, never longer than its interval and never less than nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from outreach.worker.loop import wait_after

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
intervals = st.floats(0.001, 86_400)
offsets = st.floats(-(10**7), 10**7).map(lambda seconds: timedelta(seconds=seconds))
moments = st.none() | offsets.map(lambda offset: NOW + offset)


@given(moments, intervals, st.booleans())
def test_the_wait_is_never_negative_nor_longer_than_the_interval(next_due, interval, busy):
    assert 0 <= wait_after(NOW, next_due, interval, busy=busy) <= interval


@given(moments, intervals)
def test_after_a_pass_that_moved_something_the_next_starts_at_once(next_due, interval):
    assert wait_after(NOW, next_due, interval, busy=True) == 0


@given(intervals)
def test_with_nothing_due_the_worker_waits_its_interval(interval):
    assert wait_after(NOW, None, interval, busy=False) == interval


@given(offsets, intervals)
def test_the_worker_wakes_at_the_next_due_moment_when_it_comes_first(offset, interval):
    waited = wait_after(NOW, NOW + offset, interval, busy=False)
    if 0 <= offset.total_seconds() <= interval:
        assert waited == offset.total_seconds()
    elif offset.total_seconds() < 0:
        assert waited == 0, "what is already due goes at once"
    else:
        assert waited == interval


def test_emails_set_five_seconds_apart_are_due_five_seconds_later():
    assert wait_after(NOW, NOW + timedelta(seconds=5), 30, busy=False) == 5
