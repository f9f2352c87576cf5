"""How a sender account stands after each try, and how that reads: the pure rule.

A try is a send, a person's test, or the worker's own connection to a failing account's
server. What failed decides who acts:
* the server could not be reached (refused, reset, no answer, its name not found): the account
  is failing and tried again by itself after about 1, 2, 4 … up to 15 minutes (SENDER_RETRY,
  with jitter so that accounts refused together do not come back together); several failures
  seen before that time (the other connections of one pass) count as one;
* the account itself was refused (authentication, a revoked grant, TLS): failing, and it waits
  for a person, with no retry time;
* a try that worked makes a failing account ok again.
A paused account stays paused whatever a try says: a person's decision wins.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from outreach.retry import RetryPolicy
from outreach.senders.states import SenderState
from outreach.words import UTC_ZONE, time_in_zone

SENDER_RETRY: Final = RetryPolicy(
    lease=timedelta(0),
    first_delay_seconds=60,
    longest_delay_seconds=15 * 60,
    jitter=0.2,
)
"""An unreachable server is tried again after 1, 2, 4, 8 and then every 15 minutes, each up to a
fifth later at random; it is never given up."""


@dataclass(frozen=True)
class Standing:
    state: SenderState
    reason: str | None = None
    retry_at: datetime | None = None
    """When a failing account is tried again; None when a person must act first."""
    attempts: int = 0
    """Tries in a row that found its server unreachable."""

    @property
    def needs_person(self) -> bool:
        return self.state is SenderState.failing and self.retry_at is None

    @property
    def label(self) -> str:
        """The state as a person reads it: ok, failing (it heals by itself), needs you, paused."""
        return "needs you" if self.needs_person else self.state.value

    def describe(self, zone: ZoneInfo = UTC_ZONE) -> str:
        """The label and why, in one line: "failing: Could not connect to smtp.x:587: connection
        refused; retrying at 10:42 UTC (attempt 3)", the time in `zone`."""
        detail = self.detail(zone)
        return f"{self.label}: {detail}" if detail else self.label

    def sentence(self, who: str, zone: ZoneInfo = UTC_ZONE) -> str:
        """A sentence about the account `who`: "me@x.example needs you: …", "… is failing: …"."""
        return f"{who} {'' if self.needs_person else 'is '}{self.describe(zone)}"

    def detail(self, zone: ZoneInfo = UTC_ZONE) -> str:
        """Why the account is not ok and what happens next ("" when it is ok), the time of the
        next try in `zone`."""
        reason = (self.reason or "").strip()
        if self.state is SenderState.ok or not reason:
            return ""
        if self.needs_person:
            return f"{_sentence(reason)} Fix it, then resume the account."
        if self.retry_at is not None:
            return (
                f"{reason.rstrip('.')}; retrying at {time_in_zone(self.retry_at, zone, '%H:%M')} "
                f"(attempt {self.attempts + 1})"
            )
        return reason.removeprefix(f"{self.label}: ")


def after_failure(
    standing: Standing, reason: str, *, passes: bool, now: datetime, draw: float
) -> Standing:
    """How the account stands once a try failed at `now` for `reason`. `passes`: the server
    could not be reached (it heals by itself), else a person must act. `draw` in [0, 1) is the
    jitter."""
    if standing.state is SenderState.paused:
        return standing
    if not passes:
        return Standing(SenderState.failing, reason)
    waiting = standing.state is SenderState.failing and standing.retry_at is not None
    if waiting and standing.retry_at is not None and standing.retry_at > now:
        return replace(standing, reason=reason)  # the same outage, seen by another connection
    attempts = (standing.attempts if waiting else 0) + 1
    return Standing(
        SenderState.failing, reason, SENDER_RETRY.retry_at(now, attempts, draw=draw), attempts
    )


def after_success(standing: Standing) -> Standing:
    """How the account stands once a try worked: ok, unless a person paused it."""
    if standing.state is SenderState.paused:
        return standing
    return Standing(SenderState.ok)


def jitter_draw(sender_id: uuid.UUID, attempts: int) -> float:
    """The jitter for an account's `attempts`th retry: spread across accounts, and the same
    for every worker that computes it."""
    return random.Random(f"{sender_id}:{attempts}").random()  # noqa: S311 (jitter, not secrets)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."
