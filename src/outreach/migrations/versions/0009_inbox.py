"""Inbox: where each mailbox's reading got to, and what was found in it.

- inbox_cursors: one row per sender account whose mailbox is read (unique sender_account_id).
  `cursor` is the reader's opaque position (IMAP `<UIDVALIDITY>:<last UID>`, Graph's delta
  link), written in the same transaction as the rows of the page it ends, so a poll that
  dies halfway is read again from the old cursor. `polled_at` is when the last poll was claimed
  (a conditional UPDATE: two workers never read one mailbox at once, and a mailbox is read at
  most every OUTREACH_INBOX_POLL_SECONDS); `last_error` is why the last poll failed, for the
  person looking at the sender account (NULL after a poll that worked).
- inbox_messages: every inbound message that was about an email of ours and that we acted on
  (a reply, a request to be removed, an auto-reply, a bounce), with what it was and why.
  Auto-replies and bounces live here rather than in the seed's email_replies: a row there stops
  the enrollment (the seed's trigger), and an out-of-office must not. A human reply gets both
  rows (the email_replies one for the seed's trigger and its readers, linked by
  email_reply_id).
  Duplicates: the partial unique index on message_id (where not NULL) keeps one inbound message
  from being acted on twice, whether a poll is re-read after a crash, Graph restarts its delta
  round, or the same reply reached two of our mailboxes; the unique (sender_account_id,
  provider_id) does the same for the rare message without a Message-ID. The unique index is on
  this table, not on email_replies.message_id: the seed's table keeps exactly the seed's unique
  keys (rows imported from the original system may repeat a Message-ID), and every row we add
  to email_replies has its twin here first.
  sent_email_id has no foreign key on purpose: one to sent_emails becomes a pair of constraint
  triggers when sent_emails is partitioned (portability/partitioning.py); it is a reference
  for reading, and the delivery (deliveries.id, a real foreign key) says the same.

No column of email_replies changes, so its trigger is untouched on both backends.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, UtcDateTime, new_uuid, utc_now

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('human_reply', 'unsubscribe_request', 'auto_reply', 'bounce')"
WITH_MESSAGE_ID = "message_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "inbox_cursors",
        sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True),
        sa.Column(
            "sender_account_id",
            GUID(),
            sa.ForeignKey("sender_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("cursor", sa.Text()),
        sa.Column("polled_at", UtcDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", UtcDateTime(), server_default=utc_now(), nullable=False),
        sa.UniqueConstraint("sender_account_id"),
    )
    op.create_table(
        "inbox_messages",
        sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True),
        sa.Column(
            "sender_account_id",
            GUID(),
            sa.ForeignKey("sender_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider_id", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text()),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column(
            "contact_id", GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("campaign_id", GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")),
        sa.Column(
            "campaign_contact_id",
            GUID(),
            sa.ForeignKey("campaign_contacts.id", ondelete="CASCADE"),
        ),
        sa.Column("delivery_id", GUID(), sa.ForeignKey("deliveries.id", ondelete="SET NULL")),
        sa.Column("sent_email_id", GUID()),
        sa.Column("email_reply_id", GUID(), sa.ForeignKey("email_replies.id", ondelete="SET NULL")),
        sa.Column("matched_by", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text()),
        sa.Column("snippet", sa.Text()),
        sa.Column("returns_on", sa.Date()),
        sa.Column("created_at", UtcDateTime(), server_default=utc_now(), nullable=False),
        sa.UniqueConstraint("sender_account_id", "provider_id"),
        sa.CheckConstraint(KINDS, name="kind"),
    )
    op.create_index(
        "ix_inbox_messages_message_id",
        "inbox_messages",
        ["message_id"],
        unique=True,
        postgresql_where=sa.text(WITH_MESSAGE_ID),
        sqlite_where=sa.text(WITH_MESSAGE_ID),
    )
    # The inbox page: newest first, optionally one campaign's.
    op.create_index(
        "ix_inbox_messages_campaign_id_received_at",
        "inbox_messages",
        ["campaign_id", "received_at"],
    )
    op.create_index("ix_inbox_messages_received_at", "inbox_messages", ["received_at"])


def downgrade() -> None:
    op.drop_table("inbox_messages")
    op.drop_table("inbox_cursors")
