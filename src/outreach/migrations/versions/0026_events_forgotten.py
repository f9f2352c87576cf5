"""events_forgotten: how far old events were deleted.

The worker deletes events older than OUTREACH_EVENTS_KEEP_DAYS whose webhook deliveries are
finished (events/retention.py), so that events, deliveries and attempts do not grow forever.
A feed reader whose cursor is from before what was deleted must be told so (410) rather than
go on past events it never read: this one row keeps the highest position deleted. The seed has
no such table. Exported with the events: a copy keeps telling old cursors apart.

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import UtcDateTime

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events_forgotten",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("through_position", sa.BigInteger(), nullable=False),
        sa.Column("forgotten_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events_forgotten")),
    )


def downgrade() -> None:
    op.drop_table("events_forgotten")
