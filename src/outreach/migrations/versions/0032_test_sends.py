"""test_sends: each "send me a test" of a campaign step, written before the transport is called.

The campaign's Sequence tab sends a step, rendered for a chosen contact, to the signed-in
person's own address through one of the campaign's sender accounts. The form carries a one-time
key, the row's primary key: a second click or a resent form finds the row and sends nothing.
Tests live apart from deliveries and sent_emails so that they count in no analytics, limits or
contacted ledger. The seed has no such table. Passing state: not exported.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, UtcDateTime

revision: str = "0032"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "test_sends",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("campaign_id", GUID(), nullable=False),
        sa.Column("step_id", GUID(), nullable=True),
        sa.Column("sender_account_id", GUID(), nullable=True),
        sa.Column("recipient_email", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_test_sends_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["campaign_sequences.id"],
            name=op.f("fk_test_sends_step_id_campaign_sequences"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sender_account_id"],
            ["sender_accounts.id"],
            name=op.f("fk_test_sends_sender_account_id_sender_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_sends")),
    )


def downgrade() -> None:
    op.drop_table("test_sends")
