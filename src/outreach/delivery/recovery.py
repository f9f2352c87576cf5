"""Recovery: deliveries a crash left `sending`.

An SMTP server cannot be asked whether an email went, and a duplicate cold email costs more
than a missed one: such a delivery becomes `unknown` for a person. A provider that keeps its own
ids (Graph) was told the email's id before sending, and is asked instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.delivery import queries
from outreach.delivery.models import Delivery
from outreach.delivery.recording import RETRY_POLICY, record_sent, requeue
from outreach.delivery.states import DELIVERIES, DeliveryStatus
from outreach.delivery.taking import recording_of
from outreach.providers.base import ProviderStatus, ProviderThreads, Transport
from outreach.providers.errors import (
    AccountError,
    ProviderError,
)
from outreach.providers.message import SentMessage
from outreach.states import transition


def recover(
    session: Session,
    now: datetime,
    transport_for: Callable[[uuid.UUID], Transport] | None = None,
) -> list[str]:
    """Deliveries a crash left `sending`. Where the provider keeps ids and we stored this
    email's, it is asked: sent is recorded as sent, a draft is deleted and the email queued
    again. Every other one becomes `unknown` for a person to decide (send again or mark sent):
    nothing is resent blindly. Returns the unknown ones."""
    found = []
    for delivery in queries.stale_sending(session, RETRY_POLICY.stale_before(now)):
        if delivery.provider_id and transport_for and _asked(session, delivery, transport_for, now):
            continue
        transition(
            session,
            Delivery,
            delivery.id,
            DeliveryStatus.unknown,
            DELIVERIES,
            last_error="the worker stopped while sending: it may or may not have gone out",
        )
        found.append(str(delivery.id))
    return found


def _asked(
    session: Session,
    delivery: Delivery,
    transport_for: Callable[[uuid.UUID], Transport],
    now: datetime,
) -> bool:
    """Settles one stale delivery by asking its provider; False when it cannot tell."""
    assert delivery.provider_id is not None
    try:
        transport = transport_for(delivery.sender_account_id)
    except AccountError:
        return False
    try:
        if not isinstance(transport, ProviderThreads):
            return False
        status = transport.status(delivery.provider_id)
        if status is ProviderStatus.sent:
            sent = SentMessage(delivery.message_id, delivery.provider_id)
            record_sent(
                session,
                [(recording_of(session, delivery.id), sent)],
                delivery.claimed_at or now,
                {},
            )
            return True
        if status is ProviderStatus.draft:
            transport.discard(delivery.provider_id)
            requeue(
                session,
                delivery.id,
                now,
                "the worker stopped before sending; the provider still held it as a draft, "
                "so it is sent again",
                provider_id=None,
            )
            return True
        return False
    except ProviderError:
        return False
    finally:
        transport.close()
