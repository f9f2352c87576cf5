"""The events table, and the webhook endpoints, deliveries and attempts that carry events out
(migration 0019)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, JSONDocument, UtcDateTime

DELIVERY_STATUSES = "status IN ('pending', 'delivering', 'delivered', 'failed')"


class Event(Base):
    """One change, as integrators read it: its kind, when it happened and its payload's data.

    Written in the transaction of the change it describes (so it exists exactly when the change
    does); `position` is given after it committed, in commit order (events/feed.py), so that a
    feed reader's cursor never skips an event that committed late."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("position"),
        sa.Index("ix_events_kind_position", "kind", "position"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    kind: Mapped[str] = mapped_column(sa.Text)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    position: Mapped[int | None] = mapped_column(sa.BigInteger)
    """The event's place in commit order; NULL until the sequencer numbers it."""
    created_at: Mapped[datetime] = timestamp_now()


class EventsForgotten(Base):
    """How far old events were deleted (events/retention.py): every event at or before
    `through_position` may be gone, none after it. One row; a feed cursor before it is told so
    instead of skipping what was deleted."""

    __tablename__ = "events_forgotten"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    through_position: Mapped[int] = mapped_column(sa.BigInteger)
    forgotten_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WebhookEndpoint(Base):
    """Where events are POSTed, signed with the endpoint's secret (sealed at rest)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = primary_key()
    url: Mapped[str] = mapped_column(sa.Text)
    kinds: Mapped[list[str]] = mapped_column(JSONDocument)
    """The event kinds it wants."""
    format: Mapped[str] = mapped_column(sa.Text, server_default="standard")
    """"standard": the event as JSON; "slack": a readable message for an incoming webhook."""
    description: Mapped[str | None] = mapped_column(sa.Text)
    secret: Mapped[str] = mapped_column(sa.Text)
    """The whsec_ secret, sealed (sealing.py)."""
    enabled: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    failures: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """Attempts in a row that failed: reset by one that worked."""
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = timestamp_now()


class WebhookDelivery(Base):
    """One event to one endpoint: pending until delivered, or failed once the retries end."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.CheckConstraint(DELIVERY_STATUSES, name="status"),
        # What the worker claims: an endpoint's due deliveries, the earliest first.
        sa.Index("ix_webhook_deliveries_due", "endpoint_id", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("events.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(sa.Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """Attempts since it was queued or sent again by a person (the retry policy counts these)."""
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = timestamp_now()


class WebhookAttempt(Base):
    """One POST of a delivery and what came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.Index("ix_webhook_attempts_delivery_id", "delivery_id", "attempted_at"),)

    id: Mapped[uuid.UUID] = primary_key()
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    """The HTTP status the endpoint answered; NULL when it did not answer."""
    response: Mapped[str | None] = mapped_column(sa.Text)
    """The start of the endpoint's answer, or why there was none."""
    duration_ms: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = timestamp_now()
