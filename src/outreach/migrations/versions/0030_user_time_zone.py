"""users.time_zone: the IANA time zone (Europe/Berlin) in which a person reads the times the pages
show. Stored times stay UTC; only what a page shows changes, with the UTC time on hover. Everyone
who exists already reads UTC, as before.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.add_column(
            sa.Column("time_zone", sa.Text(), server_default=sa.text("'UTC'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.drop_column("time_zone")
