"""A sender account's state: ok, failing (it could not send; the reason is kept), paused (by a
person, or by the bounce check). The seed's column is `state`, not `status`.

ok ⇄ failing: a send fails for the account's own reason (sign-in refused, server unreachable),
and a person resumes it once fixed (signing in to Graph again resumes it too); a failing account
fails again with the newer reason. ok or failing → paused: a person pauses it, or the bounce
check does. paused → ok: a person resumes it. Resuming or pausing an account already in that
state keeps it there with the newer reason and time. A paused account does not become failing:
a failure does not overwrite why it was paused.
"""

from __future__ import annotations

from enum import StrEnum

from outreach.states import Lifecycle


class SenderState(StrEnum):
    ok = "ok"
    failing = "failing"
    paused = "paused"


SENDERS = Lifecycle[SenderState](
    noun="sender account",
    column="state",
    moves={
        SenderState.ok: frozenset({SenderState.ok, SenderState.failing, SenderState.paused}),
        SenderState.failing: frozenset({SenderState.ok, SenderState.failing}),
        SenderState.paused: frozenset({SenderState.ok, SenderState.failing, SenderState.paused}),
    },
)
