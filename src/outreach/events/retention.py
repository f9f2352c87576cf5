"""Old events go: those older than OUTREACH_EVENTS_KEEP_DAYS whose webhook deliveries are all
finished (delivered, or failed after the last retry) are deleted with their deliveries and
attempts, a batch at a time, so that events and deliveries do not grow forever.

The newest numbered event always stays: numbering continues from the highest position, and a
poller's cursor must never see a position again. How far deletion went is kept
(`EventsForgotten`), so that a feed cursor from before it is refused (410) rather than silently
going on past events it never read.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.events.feed import SEQUENCER_LOCK
from outreach.events.models import Event, EventsForgotten, WebhookDelivery

BATCH = 500
"""Events deleted in one transaction: short enough not to hold the sequencer for long."""

UNFINISHED = ("pending", "delivering")
ONLY_ROW = 1


def forget_before(session: Session, before: datetime, now: datetime, batch: int = BATCH) -> int:
    """Deletes up to `batch` numbered events that occurred before `before` and have no
    unfinished delivery, oldest first (their deliveries and attempts go with them, ON DELETE
    CASCADE); returns how many."""
    if session.connection().dialect.name == "postgresql":
        # Not while the sequencer numbers: the newest position must be read as it stands.
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(SEQUENCER_LOCK)))
    newest = sa.select(sa.func.max(Event.position)).scalar_subquery()
    unfinished = sa.exists().where(
        WebhookDelivery.event_id == Event.id, WebhookDelivery.status.in_(UNFINISHED)
    )
    # The unique index on position serves the order: the oldest come first.
    doomed = session.execute(
        sa.select(Event.id, Event.position)
        .where(Event.position < newest, Event.occurred_at < before, ~unfinished)
        .order_by(Event.position)
        .limit(batch)
    ).all()
    if not doomed:
        return 0
    session.execute(sa.delete(Event).where(Event.id.in_([event_id for event_id, _ in doomed])))
    _forgotten_through(session, max(position or 0 for _, position in doomed), now)
    return len(doomed)


def forgotten_through(session: Session) -> int:
    """The highest position deleted so far (0: none): events after it are all still here."""
    return session.scalar(sa.select(EventsForgotten.through_position)) or 0


def _forgotten_through(session: Session, position: int, now: datetime) -> None:
    moved = session.execute(
        sa.update(EventsForgotten)
        .where(EventsForgotten.id == ONLY_ROW, EventsForgotten.through_position < position)
        .values(through_position=position, forgotten_at=now)
    )
    if moved.rowcount == 0 and forgotten_through(session) == 0:  # type: ignore[attr-defined]
        session.execute(
            sa.insert(EventsForgotten).values(
                id=ONLY_ROW, through_position=position, forgotten_at=now
            )
        )
