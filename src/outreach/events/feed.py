"""The events in commit order: numbering committed events, and reading them after a cursor.

An event's row is written in its change's transaction, so events commit in an order their ids
do not know (a transaction that began first may commit last). A reader that went on from the
highest id it saw would skip one that committed after it read. So committed events are numbered
(`position`) by the sequencer, under one lock, in the order it finds them committed: an event
that commits later gets a later number, and a cursor of positions never skips one. Numbering is
also when an event is queued for each webhook endpoint that wants it (deliveries exist exactly
for committed events). The worker numbers on every pass, and a feed reader before reading.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.events.kinds import EventKind
from outreach.events.models import Event, WebhookDelivery, WebhookEndpoint

SEQUENCER_LOCK = 0x6576_656E_7473  # "events": PostgreSQL's advisory lock key for numbering

FEED_LIMIT = 100


def number_committed(session: Session, now: datetime) -> int:
    """Numbers the committed events that have no position yet, and queues each for the enabled
    endpoints that want its kind; returns how many. Costs one indexed read when there are none
    (then it takes no lock, and writes nothing)."""
    waiting = _unnumbered(session)
    if not waiting:
        return 0
    if session.connection().dialect.name == "postgresql":
        # Two sequencers must not hand out the same numbers: the second waits, then reads
        # what is left (each statement sees what committed before it, READ COMMITTED).
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(SEQUENCER_LOCK)))
        waiting = _unnumbered(session)
        if not waiting:
            return 0
    top = session.scalar(sa.select(sa.func.coalesce(sa.func.max(Event.position), 0))) or 0
    session.execute(
        sa.update(Event),
        [{"id": event_id, "position": top + n} for n, (event_id, _) in enumerate(waiting, 1)],
    )
    _queue_for_endpoints(session, waiting, now)
    return len(waiting)


def has_unnumbered(session: Session) -> bool:
    """Whether any committed event waits for its number (a read: no lock, no write)."""
    return session.scalar(sa.select(Event.id).where(Event.position.is_(None)).limit(1)) is not None


def _unnumbered(session: Session) -> Sequence[sa.Row[uuid.UUID, str]]:
    # The unique index on position holds its NULLs too: this reads the index, not the table.
    return session.execute(
        sa.select(Event.id, Event.kind)
        .where(Event.position.is_(None))
        .order_by(Event.occurred_at, Event.id)
    ).all()


def _queue_for_endpoints(
    session: Session, events: Sequence[sa.Row[uuid.UUID, str]], now: datetime
) -> None:
    endpoints = session.execute(
        sa.select(WebhookEndpoint.id, WebhookEndpoint.kinds).where(WebhookEndpoint.enabled)
    ).all()
    rows = [
        {"endpoint_id": endpoint_id, "event_id": event_id, "next_attempt_at": now}
        for endpoint_id, kinds in endpoints
        for event_id, kind in events
        if kind in kinds and kind != EventKind.webhook_test
    ]
    if rows:
        session.execute(sa.insert(WebhookDelivery), rows)


def events_after(
    session: Session, after: int, limit: int = FEED_LIMIT, kinds: Sequence[str] = ()
) -> list[Event]:
    """Up to `limit` numbered events after position `after`, in commit order (the feed)."""
    query = (
        sa.select(Event)
        .where(Event.position > after, Event.kind != EventKind.webhook_test.value)
        .order_by(Event.position)
        .limit(limit)
    )
    if kinds:
        query = query.where(Event.kind.in_(kinds))
    return list(session.scalars(query))
