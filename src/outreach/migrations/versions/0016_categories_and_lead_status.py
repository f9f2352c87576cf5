"""Reply categories with consequences, and each contact's lead status.

- inbox_messages.category, category_by, category_by_person, category_at, category_reason: what
  a person's reply means (interested, meeting request, ... other), who or what decided, when
  and why; a person's choice is marked so the machine never overrides it.
- conversations.category: their latest reply's category, kept on the conversation so that
  the inbox filters by it with an index (category, last_message_at).
- reply_categorizations: the machine's work on each reply, claimed, done outside any
  transaction (a model's call), and recorded with the model, prompt version, tokens and cost.
- referrals: addresses a wrong person / referral reply names, offered to a person who decides
  whether they become a contact enrolled in the same campaign.
- campaign_settings.category_actions: what a category does in a campaign, where it differs
  from the default.
- contacts.lead_status (new, contacted, ... unsubscribed), lead_status_at, lead_status_by,
  lead_status_by_person: where a contact stands and who set it. Filled here from what already
  happened: contacted when an email went to them, replied when they replied, bounced or
  unsubscribed when their address is suppressed for it.
- contact_changes: every change of a lead status or a reply's category, for a contact's
  history.

The seed's tables keep their columns; the new contacts columns are additions.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, SQLITE_NEW_UUID, SQLITE_NOW, JSONDocument, UtcDateTime

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    new_id = sa.text("gen_random_uuid()" if postgresql else SQLITE_NEW_UUID)
    now = sa.text("now()" if postgresql else SQLITE_NOW)
    # Plain ADD COLUMN, never a batch copy: on SQLite a copied table loses its triggers (the
    # seed's updated_at ones) and contacts its expression index.
    op.add_column("inbox_messages", sa.Column("category", sa.Text(), nullable=True))
    op.add_column("inbox_messages", sa.Column("category_by", sa.Text(), nullable=True))
    op.add_column(
        "inbox_messages",
        sa.Column("category_by_person", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("inbox_messages", sa.Column("category_at", UtcDateTime(), nullable=True))
    op.add_column("inbox_messages", sa.Column("category_reason", sa.Text(), nullable=True))
    op.add_column("conversations", sa.Column("category", sa.Text(), nullable=True))
    op.create_index(
        "ix_conversations_category_last_message_at",
        "conversations",
        ["category", "last_message_at"],
    )
    op.add_column("campaign_settings", sa.Column("category_actions", JSONDocument, nullable=True))
    _contacts(new_id, now)
    op.create_table(
        "reply_categorizations",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column(
            "inbox_message_id",
            GUID(),
            sa.ForeignKey("inbox_messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), nullable=False, server_default="queued"),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("prompt_version", sa.Text(), nullable=True),
        sa.Column("input_sha256", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_micros", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("inbox_message_id"),
        sa.CheckConstraint("status IN ('queued', 'working', 'done')", name="status"),
    )
    op.create_index(
        "ix_reply_categorizations_status_claimed_at",
        "reply_categorizations",
        ["status", "claimed_at"],
    )
    op.create_table(
        "referrals",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column(
            "inbox_message_id",
            GUID(),
            sa.ForeignKey("inbox_messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "referred_by_contact_id",
            GUID(),
            sa.ForeignKey("contacts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "campaign_id", GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="offered"),
        sa.Column(
            "contact_id", GUID(), sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=now),
        sa.UniqueConstraint("inbox_message_id", "email"),
        sa.CheckConstraint("status IN ('offered', 'confirmed', 'dismissed')", name="status"),
    )


def _contacts(new_id: sa.TextClause, now: sa.TextClause) -> None:
    # No CHECK on lead_status: SQLite adds one only by copying the table (see above); the
    # LeadStatus enum is the one writer's guard (contacts/leads.py).
    op.add_column(
        "contacts", sa.Column("lead_status", sa.Text(), nullable=False, server_default="new")
    )
    op.add_column("contacts", sa.Column("lead_status_at", UtcDateTime(), nullable=True))
    op.add_column("contacts", sa.Column("lead_status_by", sa.Text(), nullable=True))
    op.add_column(
        "contacts",
        sa.Column("lead_status_by_person", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_contacts_lead_status", "contacts", ["lead_status"])
    # What already happened, later events winning, as contacts/leads.py would have set it.
    op.execute(
        "UPDATE contacts SET lead_status = 'contacted', lead_status_by = 'a send' "
        "WHERE EXISTS (SELECT 1 FROM sent_emails s WHERE s.contact_id = contacts.id)"
    )
    op.execute(
        "UPDATE contacts SET lead_status = 'replied', lead_status_by = 'a reply' "
        "WHERE EXISTS (SELECT 1 FROM email_replies r WHERE r.contact_id = contacts.id)"
    )
    for reason in ("bounced", "unsubscribed"):
        op.execute(
            f"UPDATE contacts SET lead_status = '{reason}', lead_status_by = 'a suppression' "
            "WHERE EXISTS (SELECT 1 FROM suppressions x "
            f"WHERE x.email = lower(contacts.email) AND x.reason = '{reason}')"
        )
    op.execute(f"UPDATE contacts SET lead_status_at = {now.text} WHERE lead_status <> 'new'")
    op.create_table(
        "contact_changes",
        sa.Column("id", GUID(), primary_key=True, server_default=new_id),
        sa.Column(
            "contact_id", GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column(
            "changed_by_user_id",
            GUID(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "inbox_message_id",
            GUID(),
            sa.ForeignKey("inbox_messages.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("field IN ('lead_status', 'category')", name="field"),
    )
    op.create_index(
        "ix_contact_changes_contact_id_changed_at", "contact_changes", ["contact_id", "changed_at"]
    )


def downgrade() -> None:
    op.drop_table("contact_changes")
    op.drop_table("referrals")
    op.drop_table("reply_categorizations")
    op.drop_index("ix_contacts_lead_status", table_name="contacts")
    for name in ("lead_status_by_person", "lead_status_by", "lead_status_at", "lead_status"):
        op.drop_column("contacts", name)
    op.drop_column("campaign_settings", "category_actions")
    op.drop_index("ix_conversations_category_last_message_at", table_name="conversations")
    op.drop_column("conversations", "category")
    for name in ("category_reason", "category_at", "category_by", "category_by_person", "category"):
        op.drop_column("inbox_messages", name)
