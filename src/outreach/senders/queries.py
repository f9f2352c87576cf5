"""SQL for sender accounts."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.senders.models import SenderAccount


def sender(session: Session, sender_id: uuid.UUID) -> SenderAccount | None:
    return session.get(SenderAccount, sender_id)


def sender_by_email(session: Session, email: str) -> SenderAccount | None:
    return session.scalar(
        sa.select(SenderAccount)
        .where(sa.func.lower(SenderAccount.email) == email.strip().lower())
        .limit(1)
    )


def all_senders(session: Session) -> list[SenderAccount]:
    return list(
        session.scalars(sa.select(SenderAccount).order_by(SenderAccount.email, SenderAccount.id))
    )
