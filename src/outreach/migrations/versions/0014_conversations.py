"""Conversations: a reply kept whole, and the thread it belongs to.

- conversations: one per contact and sender account (unique), because a contact answers the
  mailbox that wrote to them and is answered from it: our sent emails (sent_emails and
  deliveries, by contact and sender account) and their matched messages (inbox_messages) are
  its messages. `unread` and `needs_answer` are what the inbox lists by; `last_message_at`
  orders it (indexed). Filled here from the messages already stored; they become read and
  answered, because they were acted on before anyone could read them in the app.
- inbox_messages.conversation_id, body_text, body_html, body_truncated: the message as it
  arrived (text and HTML parts, at most 1,000,000 characters each, truncated saying so); the
  HTML is sanitised when shown, never stored changed, so a better allowlist applies to old
  messages too. Messages stored before this revision keep their snippet only.
- inbox_attachments: each attachment listed by name, type and size; its bytes kept when no
  larger than OUTREACH_INBOX_ATTACHMENT_MAX_BYTES.

The seed's email_replies is untouched.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, SQLITE_NEW_UUID, SQLITE_NOW, UtcDateTime

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    new_id = sa.text("gen_random_uuid()" if postgresql else SQLITE_NEW_UUID)
    now = sa.text("now()" if postgresql else SQLITE_NOW)
    op.create_table(
        "conversations",
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
        sa.Column("last_message_at", UtcDateTime(), nullable=False),
        sa.Column("last_inbound_at", UtcDateTime(), nullable=True),
        sa.Column("unread", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("needs_answer", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
        sa.UniqueConstraint("contact_id", "sender_account_id"),
    )
    op.create_index("ix_conversations_last_message_at", "conversations", ["last_message_at"])
    with op.batch_alter_table("inbox_messages") as table:
        table.add_column(sa.Column("conversation_id", GUID(), nullable=True))
        table.add_column(sa.Column("body_text", sa.Text(), nullable=True))
        table.add_column(sa.Column("body_html", sa.Text(), nullable=True))
        table.add_column(
            sa.Column("body_truncated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        table.create_foreign_key(
            "fk_inbox_messages_conversation_id_conversations",
            "conversations",
            ["conversation_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "ix_inbox_messages_conversation_id", "inbox_messages", ["conversation_id", "received_at"]
    )
    op.create_table(
        "inbox_attachments",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column(
            "inbox_message_id",
            GUID(),
            sa.ForeignKey("inbox_messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_id", sa.Text(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
        sa.UniqueConstraint("inbox_message_id", "position"),
    )
    op.execute(
        "INSERT INTO conversations (contact_id, sender_account_id, last_message_at, "
        "last_inbound_at) "
        "SELECT contact_id, sender_account_id, max(received_at), max(received_at) "
        "FROM inbox_messages GROUP BY contact_id, sender_account_id"
    )
    op.execute(
        "UPDATE inbox_messages SET conversation_id = (SELECT c.id FROM conversations c "
        "WHERE c.contact_id = inbox_messages.contact_id "
        "AND c.sender_account_id = inbox_messages.sender_account_id)"
    )


def downgrade() -> None:
    op.drop_table("inbox_attachments")
    op.drop_index("ix_inbox_messages_conversation_id", table_name="inbox_messages")
    with op.batch_alter_table("inbox_messages") as table:
        table.drop_constraint("fk_inbox_messages_conversation_id_conversations", type_="foreignkey")
        table.drop_column("body_truncated")
        table.drop_column("body_html")
        table.drop_column("body_text")
        table.drop_column("conversation_id")
    op.drop_index("ix_conversations_last_message_at", table_name="conversations")
    op.drop_table("conversations")
