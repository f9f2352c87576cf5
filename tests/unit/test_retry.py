"""The retry policy: waits that double up to a cap, a provider's retry-after honoured up to the
longest, jitter within its share, giving up after the last try, and stale claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.contacts import importing
from outreach.delivery import recording
from outreach.drafts import writing
from outreach.retry import RetryPolicy

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SENDING = recording.RETRY_POLICY
WRITING = writing.RETRY_POLICY


@st.composite
def policies(draw: st.DrawFn) -> RetryPolicy:
    first = draw(st.floats(0, 10**4))
    return RetryPolicy(
        lease=timedelta(seconds=draw(st.integers(0, 10**6))),
        first_delay_seconds=first,
        longest_delay_seconds=draw(st.floats(first, 10**6)),
        max_attempts=draw(st.none() | st.integers(1, 50)),
        jitter=draw(st.floats(0, 1)),
        longest_retry_after_seconds=draw(st.none() | st.floats(0, 10**5)),
    )


attempts = st.integers(0, 10**4)
draws = st.floats(0, 1, exclude_max=True)


def test_each_kind_of_work_keeps_its_numbers():
    assert (SENDING.lease, SENDING.max_attempts, SENDING.jitter) == (timedelta(minutes=1), 8, 0)
    assert (WRITING.lease, WRITING.max_attempts, WRITING.jitter) == (timedelta(minutes=30), 6, 0.2)
    assert importing.RETRY_POLICY.lease == timedelta(minutes=10)


def test_the_wait_doubles_from_the_first_delay_after_each_try():
    assert [SENDING.delay_seconds(n) for n in range(1, 10)] == [
        120,
        240,
        480,
        960,
        1920,
        3840,
        7680,
        14400,
        14400,
    ]
    assert [WRITING.delay_seconds(n) for n in range(1, 5)] == [5, 10, 20, 40]


def test_no_try_yet_waits_the_first_delay():
    assert WRITING.delay_seconds(0) == WRITING.first_delay_seconds


def test_a_retry_after_replaces_the_backoff_up_to_the_longest():
    assert WRITING.delay_seconds(3, 7.0) == 7.0
    assert WRITING.delay_seconds(3, 0.0) == 0.0
    assert WRITING.delay_seconds(1, 10 * 3600.0) == 3600.0
    assert SENDING.delay_seconds(1, 10 * 3600.0) == 10 * 3600.0  # no longest: as given
    assert WRITING.delay_seconds(1, -5.0) == 0.0


def test_work_is_given_up_exactly_at_the_last_try():
    assert [SENDING.gives_up(n) for n in (0, 1, 7, 8, 9)] == [False, False, False, True, True]
    assert SENDING.retry_at(NOW, 7) == NOW + timedelta(minutes=128)
    assert SENDING.retry_at(NOW, 8) is None


def test_a_policy_without_a_last_try_never_gives_up():
    forever = RetryPolicy(lease=timedelta(minutes=10))
    assert not forever.gives_up(10**9)
    assert forever.retry_at(NOW, 10**9) == NOW


def test_a_claim_is_stale_once_older_than_the_lease():
    assert SENDING.stale_before(NOW) == NOW - timedelta(minutes=1)


@pytest.mark.parametrize(
    "values",
    [
        {"lease": timedelta(seconds=-1)},
        {"lease": timedelta(0), "first_delay_seconds": 10, "longest_delay_seconds": 5},
        {"lease": timedelta(0), "first_delay_seconds": -1},
        {"lease": timedelta(0), "max_attempts": 0},
        {"lease": timedelta(0), "jitter": 1.5},
        {"lease": timedelta(0), "longest_retry_after_seconds": -1},
    ],
)
def test_a_policy_that_cannot_hold_is_refused(values):
    with pytest.raises(ValueError, match=r"."):
        RetryPolicy(**values)


@given(policies(), attempts, draws)
def test_the_backoff_never_falls_below_the_first_delay_nor_passes_the_cap(policy, tries, draw):
    wait = policy.delay_seconds(tries, None, draw)
    assert policy.first_delay_seconds <= wait
    assert wait <= policy.longest_delay_seconds * (1 + policy.jitter) * (1 + 1e-12)
    assert policy.delay_seconds(tries) <= policy.longest_delay_seconds


@given(policies(), attempts)
def test_without_jitter_the_wait_never_shrinks_as_tries_add_up(policy, tries):
    assert policy.delay_seconds(tries) <= policy.delay_seconds(tries + 1)


@given(policies(), attempts, st.floats(0, 10**6), draws)
def test_a_retry_after_is_honoured_up_to_the_longest(policy, tries, retry_after, draw):
    plain = policy.delay_seconds(tries, retry_after)
    longest = policy.longest_retry_after_seconds
    assert plain == (retry_after if longest is None else min(retry_after, longest))
    assert plain <= policy.delay_seconds(tries, retry_after, draw)


@given(policies(), attempts, st.none() | st.floats(0, 10**6), draws)
def test_jitter_adds_at_most_its_share(policy, tries, retry_after, draw):
    plain = policy.delay_seconds(tries, retry_after)
    jittered = policy.delay_seconds(tries, retry_after, draw)
    assert plain <= jittered <= plain * (1 + policy.jitter) * (1 + 1e-12)


@given(policies(), attempts)
def test_work_is_tried_again_until_exactly_the_last_try(policy, tries):
    retried = policy.retry_at(NOW, tries)
    if policy.max_attempts is not None and tries >= policy.max_attempts:
        assert retried is None
    else:
        assert retried is not None
        assert retried >= NOW
