"""Sender health: how a sender account's last week went, and pausing an account whose emails
bounce too often before the provider, or the receiving servers, stop trusting its domain.

Mailbox providers start filtering a sender whose hard-bounce rate passes a few percent; an
account that keeps sending to dead addresses harms every campaign that uses it. So an account
whose hard bounces over the last 7 days pass the threshold (default 5%, counted once it sent at
least 50 emails in that time, so that two bounces in the first ten sends do not stop it) is
paused, saying why, and a person resumes it after cleaning the list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from outreach.delivery import queries
from outreach.inbox import queries as inbox_queries
from outreach.senders import queries as sender_queries
from outreach.senders import service as senders
from outreach.senders.states import SenderState

WINDOW: Final = timedelta(days=7)


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


def of_senders(session: Session, now: datetime) -> dict[uuid.UUID, SenderHealth]:
    """Every sender account's last 7 days, for the pages."""
    since = now - WINDOW
    ids = [account.id for account in sender_queries.all_senders(session)]
    sent = queries.sent_since(session, ids, since)
    bounces = queries.bounces_since(session, since)
    replies = inbox_queries.replies_by_sender(session, since)
    return {
        sender_id: SenderHealth(
            sent.get(sender_id, 0), bounces.get(sender_id, 0), replies.get(sender_id, 0)
        )
        for sender_id in ids
    }


def pause_bouncing(session: Session, now: datetime, policy: BouncePolicy) -> list[str]:
    """Pauses each account whose hard-bounce rate passed the policy, and says which. Only
    accounts with a bounce this week are counted, so a quiet week costs one index lookup."""
    since = now - WINDOW
    bounces = queries.bounces_since(session, since)
    sent = queries.sent_since(session, list(bounces), since)
    paused = []
    for sender_id, hard_bounces in bounces.items():
        account = senders.get(session, sender_id)
        reason = SenderHealth(sent.get(sender_id, 0), hard_bounces).pause_reason(policy)
        if reason is None or account.state == SenderState.paused.value:
            continue
        senders.set_state(session, sender_id, SenderState.paused, reason, now)
        paused.append(f"{account.email} {reason}")
    return paused
