"""Campaigns and delivery: what the seed lacks to send sequences safely.

- sender_accounts: how to send (kind: outbox, smtp or graph; settings; secrets encrypted with
  the app's key), an optional daily cap, and a state (ok, failing, paused) with the last error.
- campaign_settings: jitter added to the spacing between sends, the enrollment skip rules
  (already active in another campaign; company domain already replied) and whether a visible
  unsubscribe line ends each email.
- campaign_sequences: an optional HTML body.
- campaign_senders: the sender accounts a campaign spreads new threads across (the seed's
  campaigns.sender_account_id is kept as the first of them).
- campaign_contacts: when the next step may go (next_send_at, with why it waits), the sender
  the thread stays on, and why the enrollment stopped or was skipped. A partial index serves the
  due-work query.
- deliveries: one row per email that will go out, written before the transport is touched, with
  a unique key per (enrollment, step) and per scheduled email: a second send of the same step
  cannot be recorded. It carries the claim, attempts, the next attempt, the last error, and
  `unknown` for a send a crash interrupted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, JSONDocument, UtcDateTime, new_uuid, utc_now

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING = "status IN ('pending', 'in_progress') AND next_send_at IS NOT NULL"


def upgrade() -> None:
    # Plain ADD COLUMN everywhere: a batch copy on SQLite would drop these tables' triggers.
    op.add_column(
        "sender_accounts", sa.Column("kind", sa.Text(), server_default="outbox", nullable=False)
    )
    op.add_column("sender_accounts", sa.Column("settings", JSONDocument))
    op.add_column("sender_accounts", sa.Column("secret", sa.Text()))
    op.add_column("sender_accounts", sa.Column("daily_cap", sa.Integer()))
    op.add_column(
        "sender_accounts", sa.Column("state", sa.Text(), server_default="ok", nullable=False)
    )
    op.add_column("sender_accounts", sa.Column("last_error", sa.Text()))
    op.add_column("sender_accounts", sa.Column("state_changed_at", UtcDateTime()))

    op.add_column(
        "campaign_settings",
        sa.Column("jitter_seconds", sa.Integer(), server_default=sa.text("30"), nullable=False),
    )
    op.add_column(
        "campaign_settings",
        sa.Column("skip_active_elsewhere", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "campaign_settings",
        sa.Column(
            "skip_replied_companies", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.add_column(
        "campaign_settings",
        sa.Column("unsubscribe_line", sa.Boolean(), server_default=sa.true(), nullable=False),
    )

    op.add_column("campaign_sequences", sa.Column("html_template", sa.Text()))

    op.add_column("campaign_contacts", sa.Column("next_send_at", UtcDateTime()))
    op.add_column("campaign_contacts", sa.Column("waiting_reason", sa.Text()))
    op.add_column("campaign_contacts", sa.Column("stop_reason", sa.Text()))
    add_thread_sender_column()
    op.create_index(
        "ix_campaign_contacts_due",
        "campaign_contacts",
        ["campaign_id", "next_send_at"],
        postgresql_where=sa.text(RUNNING),
        sqlite_where=sa.text(RUNNING),
    )

    op.create_table(
        "campaign_senders",
        sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True),
        sa.Column(
            "campaign_id", GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "sender_account_id",
            GUID(),
            sa.ForeignKey("sender_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.UniqueConstraint("campaign_id", "sender_account_id"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True),
        sa.Column(
            "campaign_contact_id", GUID(), sa.ForeignKey("campaign_contacts.id", ondelete="CASCADE")
        ),
        sa.Column("sequence_step", sa.Integer()),
        sa.Column(
            "scheduled_email_id", GUID(), sa.ForeignKey("scheduled_emails.id", ondelete="CASCADE")
        ),
        sa.Column("campaign_id", GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")),
        sa.Column(
            "contact_id", GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "draft_id", GUID(), sa.ForeignKey("email_drafts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("sender_account_id", GUID(), sa.ForeignKey("sender_accounts.id"), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False, unique=True),
        sa.Column("in_reply_to", sa.Text()),
        sa.Column("thread_references", sa.Text()),
        sa.Column("html", sa.Text()),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_at", UtcDateTime()),
        sa.Column("claimed_by", sa.Text()),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("provider_id", sa.Text()),
        sa.Column("sent_email_id", GUID(), sa.ForeignKey("sent_emails.id", ondelete="SET NULL")),
        sa.Column("created_at", UtcDateTime(), server_default=utc_now(), nullable=False),
        sa.UniqueConstraint("campaign_contact_id", "sequence_step"),
        sa.UniqueConstraint("scheduled_email_id"),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'unknown', 'cancelled')",
            name="status",
        ),
    )
    op.create_index(
        "ix_deliveries_status_next_attempt_at", "deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_deliveries_campaign_id_claimed_at", "deliveries", ["campaign_id", "claimed_at"]
    )
    op.create_index(
        "ix_deliveries_sender_account_id_claimed_at",
        "deliveries",
        ["sender_account_id", "claimed_at"],
    )


def add_thread_sender_column() -> None:
    """campaign_contacts.sender_account_id. SQLite takes a foreign key only inside ADD COLUMN
    (Alembic would want a table copy, which would drop the table's triggers)."""
    name = "fk_campaign_contacts_sender_account_id_sender_accounts"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE campaign_contacts ADD COLUMN sender_account_id CHAR(36) "
            f"CONSTRAINT {name} REFERENCES sender_accounts (id)"
        )
        return
    op.add_column(
        "campaign_contacts",
        sa.Column("sender_account_id", GUID(), sa.ForeignKey("sender_accounts.id", name=name)),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("campaign_senders")
    op.drop_index("ix_campaign_contacts_due", "campaign_contacts")
    for table, columns in (
        (
            "campaign_contacts",
            ("sender_account_id", "stop_reason", "waiting_reason", "next_send_at"),
        ),
        ("campaign_sequences", ("html_template",)),
        (
            "campaign_settings",
            (
                "unsubscribe_line",
                "skip_replied_companies",
                "skip_active_elsewhere",
                "jitter_seconds",
            ),
        ),
        (
            "sender_accounts",
            ("state_changed_at", "last_error", "state", "daily_cap", "secret", "settings", "kind"),
        ),
    ):
        for column in columns:
            op.drop_column(table, column)
