"""How a sender account stands after each try (senders/standing.py): an unreachable server is
tried again after about 1, 2, 4 … up to 15 minutes with jitter, and a try that works makes it
ok; a refused sign-in waits for a person; a paused account stays paused; and how each reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from outreach.senders.standing import (
    SENDER_RETRY,
    Standing,
    after_failure,
    after_success,
    jitter_draw,
)
from outreach.senders.states import SenderState

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
REFUSED = "Could not connect to smtp.ourco.example:587: connection refused."
WRONG_PASSWORD = "The server refused the username or password (535 5.7.8 Bad credentials)."

draws = st.floats(0, 1, exclude_max=True)
reasons = st.sampled_from([REFUSED, WRONG_PASSWORD, "paused by a person"])
moments = st.integers(-3600, 3600).map(lambda seconds: NOW + timedelta(seconds=seconds))


@st.composite
def standings(draw: st.DrawFn) -> Standing:
    state = draw(st.sampled_from(SenderState))
    if state is SenderState.ok:
        return Standing(SenderState.ok)
    retry_at = draw(st.none() | moments) if state is SenderState.failing else None
    attempts = draw(st.integers(1, 40)) if retry_at is not None else 0
    return Standing(state, draw(reasons), retry_at, attempts)


def failed(standing: Standing, *, passes: bool = True, at: datetime = NOW, draw: float = 0.0):
    return after_failure(standing, REFUSED if passes else WRONG_PASSWORD, passes=passes,
                         now=at, draw=draw)  # fmt: skip


def test_an_unreachable_server_is_tried_again_after_1_2_4_8_then_every_15_minutes():
    standing, waits = Standing(SenderState.ok), []
    at = NOW
    for _ in range(7):
        standing = failed(standing, at=at)
        assert standing.retry_at is not None
        waits.append((standing.retry_at - at) / timedelta(minutes=1))
        at = standing.retry_at
    assert waits == [1, 2, 4, 8, 15, 15, 15]
    assert standing.attempts == 7
    assert SENDER_RETRY.max_attempts is None  # never given up: the server may come back


def test_a_refused_sign_in_waits_for_a_person_with_no_retry_time():
    standing = failed(Standing(SenderState.ok), passes=False)
    assert (standing.state, standing.retry_at, standing.needs_person) == (
        SenderState.failing,
        None,
        True,
    )
    assert standing.describe() == (f"needs you: {WRONG_PASSWORD} Fix it, then resume the account.")


def test_a_failing_account_says_why_when_and_which_attempt_comes_next():
    standing = failed(failed(Standing(SenderState.ok)), at=NOW + timedelta(minutes=2))
    assert standing.label == "failing"
    assert standing.describe() == (
        "failing: Could not connect to smtp.ourco.example:587: connection refused; "
        "retrying at 10:04 UTC (attempt 3)"
    )


def test_the_other_connections_of_one_pass_count_as_one_failure():
    first = failed(Standing(SenderState.ok))
    assert failed(first, at=NOW + timedelta(seconds=1)) == first


@given(standings(), draws, moments)
def test_a_server_that_cannot_be_reached_is_retried_within_its_backoff_and_jitter(
    standing, draw, at
):
    after = failed(standing, at=at, draw=draw)
    if standing.state is SenderState.paused:
        assert after == standing
        return
    assert after.state is SenderState.failing
    assert after.retry_at is not None
    assert after.attempts >= 1
    wait = after.retry_at - at
    waiting = standing.retry_at is not None and standing.retry_at > at
    if waiting:
        assert (after.retry_at, after.attempts) == (standing.retry_at, standing.attempts)
    else:
        assert timedelta(minutes=1) <= wait <= timedelta(minutes=18)
        assert after.attempts == (standing.attempts if standing.retry_at else 0) + 1


@given(standings(), draws, moments)
def test_only_a_person_clears_a_refused_sign_in_but_any_success_does(standing, draw, at):
    refused = failed(standing, passes=False, at=at, draw=draw)
    if standing.state is SenderState.paused:
        assert refused == standing
    else:
        assert refused.needs_person
        assert refused.retry_at is None
    healed = after_success(refused)
    if standing.state is SenderState.paused:
        assert healed == standing  # a person's pause wins over any try
    else:
        assert healed == Standing(SenderState.ok)
        assert healed.describe() == "ok"


@given(st.integers(1, 30), draws, draws)
def test_waits_never_shrink_as_failures_go_on_whatever_the_jitter(attempts, low, high):
    low, high = sorted((low, high))
    assert SENDER_RETRY.delay_seconds(attempts, draw=low) <= SENDER_RETRY.delay_seconds(
        attempts, draw=high
    )
    assert SENDER_RETRY.delay_seconds(attempts) <= SENDER_RETRY.delay_seconds(attempts + 1)


def test_accounts_refused_together_do_not_come_back_together():
    draws_of = {jitter_draw(uuid.uuid4(), 1) for _ in range(20)}
    assert len(draws_of) == 20
    sender = uuid.uuid4()
    assert jitter_draw(sender, 3) == jitter_draw(sender, 3)  # every worker agrees
