"""The inbox as a list of conversations a team works through.

- conversations.assigned_to: the user who answers this conversation (NULL: nobody yet), so
  that "assigned to me" lists one person's share; set NULL when that user is deleted.
- ix_conversations_unread and ix_conversations_needs_answer: partial indexes on
  last_message_at over the few conversations in each state, so that the navigation's counts
  and the inbox filtered to them stay cheap however many conversations are done.
- ix_conversations_assigned_to: "assigned to me", newest first.
- contact_notes: what a person wrote down about a contact (author, text, when), shown in the
  contact's history; the author becomes NULL when that user is deleted, the note stays.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, SQLITE_NEW_UUID, SQLITE_NOW, UtcDateTime

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "contact_notes",
        sa.Column(
            "id",
            GUID(),
            primary_key=True,
            server_default=sa.text("gen_random_uuid()" if postgresql else SQLITE_NEW_UUID),
        ),
        sa.Column(
            "contact_id", GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("author_id", GUID(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            UtcDateTime(),
            nullable=False,
            server_default=sa.text("now()" if postgresql else SQLITE_NOW),
        ),
    )
    op.create_index("ix_contact_notes_contact_id", "contact_notes", ["contact_id", "created_at"])
    with op.batch_alter_table("conversations") as table:
        table.add_column(sa.Column("assigned_to", GUID(), nullable=True))
        table.create_foreign_key(
            "fk_conversations_assigned_to_users",
            "users",
            ["assigned_to"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "ix_conversations_assigned_to", "conversations", ["assigned_to", "last_message_at"]
    )
    for state in ("unread", "needs_answer"):
        op.create_index(
            f"ix_conversations_{state}",
            "conversations",
            ["last_message_at"],
            postgresql_where=sa.text(state),
            sqlite_where=sa.text(state),
        )


def downgrade() -> None:
    op.drop_index("ix_contact_notes_contact_id", table_name="contact_notes")
    op.drop_table("contact_notes")
    for state in ("unread", "needs_answer"):
        op.drop_index(f"ix_conversations_{state}", table_name="conversations")
    op.drop_index("ix_conversations_assigned_to", table_name="conversations")
    with op.batch_alter_table("conversations") as table:
        table.drop_constraint("fk_conversations_assigned_to_users", type_="foreignkey")
        table.drop_column("assigned_to")
