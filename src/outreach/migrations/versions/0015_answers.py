"""Answers: a person answers a conversation from the app.

- answers: what a person wrote in a conversation (the contact and the sender account it is
  with), kept as written (merge fields unfilled, no signature) while it is a draft. Sent now or
  at a time, it becomes an approved email_drafts row and a scheduled_emails row
  (`scheduled_email_id`, unique): the one-off path into the deliveries ledger, whose unique key
  on scheduled_email_id makes one answer one send, across crashes too. `in_reply_to`,
  `thread_references` and `reply_provider_id` (the provider's id of the message answered, for
  Microsoft Graph's createReply) are fixed when it is sent or scheduled, from the thread's last
  message; the ledger's delivery takes them when its time comes.
- sender_accounts.signature: text under every answer from the account. The seed has none.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, SQLITE_NEW_UUID, SQLITE_NOW, UtcDateTime

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    new_id = sa.text("gen_random_uuid()" if postgresql else SQLITE_NEW_UUID)
    now = sa.text("now()" if postgresql else SQLITE_NOW)
    op.add_column("sender_accounts", sa.Column("signature", sa.Text(), nullable=True))
    op.create_table(
        "answers",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column(
            "contact_id", GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "sender_account_id",
            GUID(),
            sa.ForeignKey("sender_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "scheduled_email_id",
            GUID(),
            sa.ForeignKey("scheduled_emails.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("in_reply_to", sa.Text(), nullable=True),
        sa.Column("thread_references", sa.Text(), nullable=True),
        sa.Column("reply_provider_id", sa.Text(), nullable=True),
        sa.Column(
            "created_by", GUID(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
        sa.UniqueConstraint("scheduled_email_id"),
    )
    op.create_index(
        "ix_answers_contact_id_sender_account_id", "answers", ["contact_id", "sender_account_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_answers_contact_id_sender_account_id", table_name="answers")
    op.drop_table("answers")
    with op.batch_alter_table("sender_accounts") as table:
        table.drop_column("signature")
