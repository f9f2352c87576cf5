"""Sender health: how a sender account's last week went, and pausing an account whose emails
bounce too often before the provider, or the receiving servers, stop trusting its domain.

Mailbox providers start filtering a sender whose hard-bounce rate passes a few percent; an
account that keeps sending to dead addresses harms every campaign that uses it. So an account
whose hard bounces over the last 7 days pass the threshold (default 5%, counted once it sent at
least 50 emails in that time, so that two bounces in the first ten sends do not stop it) is
paused, saying why, and a person resumes it after cleaning the list.

The figures come from delivery and inbox, which sit above senders: analytics/senders.py reads
them, for the pages and for the worker's bounce check, which hands them to pause_bouncing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from outreach.senders import service as senders
from outreach.senders.states import SenderState

WINDOW: Final = timedelta(days=7)
"""The span the figures cover: the policy's "in 7 days"."""


@dataclass(frozen=True)
class BouncePolicy:
    rate: float = 0.05
    """The hard-bounce share past which an account is paused."""
    minimum_sends: int = 50
    """Sends in the window before the rate counts."""


@dataclass(frozen=True)
class SenderHealth:
    sent: int = 0
    """Emails the account sent (or tried, when the address was refused at once) in 7 days."""
    hard_bounces: int = 0
    replies: int = 0

    @property
    def bounce_rate(self) -> float | None:
        return self.hard_bounces / self.sent if self.sent else None

    @property
    def bounce_summary(self) -> str:
        """ "4 (6.7%)", or "0" while nothing bounced."""
        rate = self.bounce_rate
        return f"{self.hard_bounces} ({rate:.1%})" if rate and self.hard_bounces else "0"

    def pause_reason(self, policy: BouncePolicy) -> str | None:
        """Why the account should stop sending, or None while its bounces are acceptable."""
        rate = self.bounce_rate
        if rate is None or self.sent < policy.minimum_sends or rate <= policy.rate:
            return None
        return (
            f"paused: {self.hard_bounces} of its last {self.sent} emails bounced "
            f"({rate:.1%}, over the {policy.rate:.0%} allowed in 7 days); "
            "clean the list, then resume"
        )


def pause_bouncing(
    session: Session, weeks: Mapping[uuid.UUID, SenderHealth], now: datetime, policy: BouncePolicy
) -> list[str]:
    """Pauses each account whose week (analytics.senders.bouncing) passed the policy's
    hard-bounce rate, and says which."""
    paused = []
    for sender_id, week in weeks.items():
        account = senders.get(session, sender_id)
        reason = week.pause_reason(policy)
        if reason is None or account.state == SenderState.paused.value:
            continue
        senders.set_state(session, sender_id, SenderState.paused, reason, now)
        paused.append(f"{account.email} {reason}")
    return paused
