"""A sender account's state changes through transition(), as SENDERS allows, on both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from outreach.errors import InvalidTransition, NotFound
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from outreach.senders.states import SENDERS, SenderState
from outreach.states import transition

ALLOWED = [
    (SenderState.ok, SenderState.paused),
    (SenderState.ok, SenderState.failing),
    (SenderState.failing, SenderState.ok),
    (SenderState.failing, SenderState.failing),
    (SenderState.failing, SenderState.paused),
    (SenderState.paused, SenderState.ok),
    (SenderState.paused, SenderState.paused),
    (SenderState.ok, SenderState.ok),
]


def account_in(session, clock, state: SenderState) -> SenderAccount:
    account = senders.add(
        session,
        kind=senders.SenderKind.outbox,
        email="grace@acme.example",
        display_name=None,
        secret_key="k" * 32,
        now=clock.now(),
    )
    if state is not SenderState.ok:
        senders.set_state(session, account.id, state, f"{state} before", clock.now())
    return account


@pytest.mark.parametrize(("before", "after"), ALLOWED)
def test_an_allowed_move_keeps_the_reason_and_the_time(session, clock, before, after):
    account = account_in(session, clock, before)
    clock.advance(timedelta(minutes=5))
    moved = senders.set_state(session, account.id, after, f"now {after}", clock.now())
    assert (moved.state, moved.last_error, moved.state_changed_at) == (
        after,
        f"now {after}",
        clock.now(),
    )


def test_a_paused_account_does_not_become_failing(session, clock):
    account = account_in(session, clock, SenderState.paused)
    with pytest.raises(InvalidTransition, match=r"A paused sender account cannot be failing\."):
        senders.set_state(session, account.id, SenderState.failing, "refused", clock.now())
    assert (account.state, account.last_error) == (SenderState.paused, "paused before")


def test_an_unknown_account_is_not_found(session, clock):
    missing = uuid.uuid4()
    with pytest.raises(NotFound, match=rf"There is no sender account {missing}\."):
        senders.set_state(session, missing, SenderState.paused, None, clock.now())


def test_transition_writes_the_state_column(session, clock):
    account = account_in(session, clock, SenderState.ok)
    transition(session, SenderAccount, account.id, SenderState.paused, SENDERS)
    assert account.state == SenderState.paused
