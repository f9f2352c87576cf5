"""Recovery: deliveries a crash left `sending`.

An SMTP server cannot be asked whether an email went, and a duplicate cold email costs more
than a missed one: such a delivery becomes `unknown` for a person. A provider that keeps its own
ids (Graph) was told the email's id before sending, and is asked instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from outreach.delivery import queries
from outreach.delivery.models import Delivery
from outreach.delivery.recording import RETRY_POLICY, record_sent, requeue
from outreach.delivery.states import DELIVERIES, DeliveryStatus
from outreach.delivery.taking import recording_of
from outreach.errors import InvalidTransition
from outreach.providers.base import ProviderStatus, ProviderThreads, Transport
from outreach.providers.errors import AccountError, ProviderError
from outreach.providers.message import SentMessage
from outreach.runner import Runner
from outreach.states import transition


@dataclass(frozen=True)
class _Stale:
    """A delivery a crash left `sending`, as read before its provider is asked."""

    delivery_id: uuid.UUID
    sender_id: uuid.UUID
    message_id: str
    provider_id: str | None
    claimed_at: datetime | None


def recover(
    runner: Runner,
    now: datetime,
    transport_for: Callable[[uuid.UUID], Transport] | None = None,
) -> list[str]:
    """Deliveries a crash left `sending`. Where the provider keeps ids and we stored this
    email's, it is asked (with no transaction open): sent is recorded as sent, a draft is
    deleted and the email queued again. Every other one becomes `unknown` for a person to
    decide (send again or mark sent): nothing is resent blindly. One settled meanwhile by
    another worker is left to it. Returns the unknown ones."""
    stale = runner.read(
        lambda session: [
            _Stale(d.id, d.sender_account_id, d.message_id, d.provider_id, d.claimed_at)
            for d in queries.stale_sending(session, RETRY_POLICY.stale_before(now))
        ]
    )
    found = []
    for delivery in stale:
        status = _asked(delivery, transport_for) if transport_for else None
        try:
            runner.step(partial(_settle, delivery, status, now))
        except InvalidTransition:
            continue
        if status is None:
            found.append(str(delivery.delivery_id))
    return found


def _asked(
    delivery: _Stale, transport_for: Callable[[uuid.UUID], Transport]
) -> ProviderStatus | None:
    """What the provider says of a stale delivery: sent, or a draft (now deleted, so that it
    can be sent again); None when it cannot tell or was never told the email's id."""
    if delivery.provider_id is None:
        return None
    try:
        transport = transport_for(delivery.sender_id)
    except AccountError:
        return None
    try:
        if not isinstance(transport, ProviderThreads):
            return None
        status = transport.status(delivery.provider_id)
        if status is ProviderStatus.draft:
            transport.discard(delivery.provider_id)
        return status if status in (ProviderStatus.sent, ProviderStatus.draft) else None
    except ProviderError:
        return None
    finally:
        transport.close()


def _settle(
    delivery: _Stale, status: ProviderStatus | None, now: datetime, session: Session
) -> None:
    """Records what the provider said of a stale delivery, or that nobody can tell."""
    if status is ProviderStatus.sent:
        sent = SentMessage(delivery.message_id, delivery.provider_id)
        record_sent(
            session,
            [(recording_of(session, delivery.delivery_id), sent)],
            delivery.claimed_at or now,
            {},
        )
    elif status is ProviderStatus.draft:
        requeue(
            session,
            delivery.delivery_id,
            now,
            "the worker stopped before sending; the provider still held it as a draft, "
            "so it is sent again",
            provider_id=None,
        )
    else:
        transition(
            session,
            Delivery,
            delivery.delivery_id,
            DeliveryStatus.unknown,
            DELIVERIES,
            last_error="the worker stopped while sending: it may or may not have gone out",
        )
