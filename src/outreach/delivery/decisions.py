"""A person deciding about unknown sends: it did not go (send it again) or it did (mark it sent)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.delivery.models import Delivery
from outreach.delivery.recording import record_sent, requeue
from outreach.delivery.states import DELIVERIES, DeliveryStatus
from outreach.delivery.taking import recording_of
from outreach.providers.message import SentMessage
from outreach.states import transition


def send_again(session: Session, delivery_id: uuid.UUID, now: datetime) -> None:
    """An unknown send did not go out (the recipient says so, the mailbox's Sent folder lacks it):
    queue it again, same Message-ID, so a duplicate would at least thread as one."""
    requeue(session, delivery_id, now, None)


def mark_sent(session: Session, delivery_id: uuid.UUID, now: datetime) -> None:
    """An unknown send did go out: record it as sent at its claim time; its enrollment moves on."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.unknown:
        # Not an unknown send: let transition() say why, in the usual words.
        transition(session, Delivery, delivery_id, DeliveryStatus.sent, DELIVERIES)
        return
    sent = SentMessage(delivery.message_id)
    record_sent(
        session, [(recording_of(session, delivery_id), sent)], delivery.claimed_at or now, {}
    )
