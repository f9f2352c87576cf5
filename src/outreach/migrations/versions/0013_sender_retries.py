"""A sender account whose server could not be reached heals by itself.

`sender_accounts.retry_at` is when a failing account is tried again (a connection, then its
queued emails) and `retry_attempts` how many tries in a row found its server unreachable, for
the backoff (about 1, 2, 4 … up to 15 minutes) and for the person reading the senders page. A
failing account without a retry_at waits for a person (authentication refused, a grant
revoked). The seed has neither column: its `state` keeps the values it knew.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import UtcDateTime

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sender_accounts", sa.Column("retry_at", UtcDateTime(), nullable=True))
    op.add_column(
        "sender_accounts",
        sa.Column("retry_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("sender_accounts") as table:
        table.drop_column("retry_attempts")
        table.drop_column("retry_at")
