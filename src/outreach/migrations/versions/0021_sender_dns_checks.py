"""sender_dns_checks: the last DNS check of each sender account's domain.

`outreach senders check` and the senders page's "Check DNS" read a sender domain's MX, SPF,
DKIM and DMARC records (and a custom SMTP server's reverse DNS and STARTTLS) and say what to
change; a campaign's launch warns, or refuses, when one of its senders fails. The result is
kept a day so that neither asks DNS again meanwhile. The seed has no such table. Passing
state: not exported.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, JSONDocument, UtcDateTime

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sender_dns_checks",
        sa.Column("sender_account_id", GUID(), nullable=False),
        sa.Column("selector", sa.Text(), nullable=True),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("findings", JSONDocument, nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_account_id"],
            ["sender_accounts.id"],
            name=op.f("fk_sender_dns_checks_sender_account_id_sender_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sender_account_id", name=op.f("pk_sender_dns_checks")),
    )


def downgrade() -> None:
    op.drop_table("sender_dns_checks")
