"""Events, webhooks and idempotent API requests.

- events: each change integrators care about (an email sent, a reply, a campaign launched ...),
  written in the transaction of the change; `position` numbers them in commit order once
  committed, for the feed's cursor (GET /api/v1/events?after=...). The seed has no such table.
- webhook_endpoints: where events are POSTed, which kinds, in which format, with a signing
  secret sealed like the sender accounts' (whether it is enabled, and why not; failures in a
  row, for disabling one that keeps failing).
- webhook_deliveries: one event to one endpoint, retried with backoff until delivered or given
  up; webhook_attempts: each POST and what came back, shown to a person.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from outreach.db import GUID, SQLITE_NEW_UUID, SQLITE_NOW, UtcDateTime

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    new_id = sa.text("gen_random_uuid()" if pg else SQLITE_NEW_UUID)
    now = sa.text("now()" if pg else SQLITE_NOW)
    op.create_table(
        "events",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
        sa.UniqueConstraint("position"),
    )
    op.create_index("ix_events_kind_position", "events", ["kind", "position"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kinds", JSON, nullable=False),
        sa.Column("format", sa.Text(), nullable=False, server_default="standard"),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("failing_since", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column(
            "endpoint_id",
            GUID(),
            sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "event_id", GUID(), sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.Text(), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.CheckConstraint(
            "status IN ('pending', 'delivering', 'delivered', 'failed')", name="status"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["endpoint_id", "status", "next_attempt_at"],
    )
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column(
            "delivery_id",
            GUID(),
            sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attempted_at", UtcDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
    )
    op.create_index(
        "ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id", "attempted_at"]
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
        sa.UniqueConstraint("owner", "key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("events")
