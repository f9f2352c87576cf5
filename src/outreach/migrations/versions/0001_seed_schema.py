"""The seed's schema: its 15 tables, two enums, indexes, unique constraints and triggers.

Table and column names, types, defaults, nullability, foreign keys and unique constraints are
the seed's ("Database Migration Guide", Step 1 to Step 4 and "Scaling Recommendations"), so that
data moves between the original system and ours without translation. Tables are created in the
seed's dependency order. Differences, each on purpose:

- contacts_email_unique is on lower(email): the same mailbox must not be imported twice under
  two spellings.
- The analytics triggers also count follow-ups (total_followups_sent, which the seed's function
  never filled), count by the UTC day of the row's own time (sent_at, created_at, approved_at)
  rather than CURRENT_DATE in whatever time zone the session has, and treat NULL counters as 0.
- A draft whose previous status was NULL counts as approved too (the seed's `!=` missed it).
- updated_at follows every update (the seed declares the columns but never maintains them),
  unless the writer sets updated_at itself, as an import does.
- No row-level security: the seed's policies allowed everything; access is checked by the app.
- Functions are not SECURITY DEFINER and do not pin search_path to public, so the schema can
  live in any PostgreSQL schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import (
    GUID,
    SQLITE_NOW,
    JSONDocument,
    TextArray,
    UtcDateTime,
    new_uuid,
    text_array_literal,
    utc_now,
    utc_today,
)
from outreach.migrations.updated_at import updated_at_trigger

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DRAFT_TYPE = sa.Enum(
    "first_outreach", "second_followup", "final_followup", name="draft_type", create_constraint=True
)
EMAIL_STATUS = sa.Enum(
    "draft", "approved", "sent", "failed", "scheduled", name="email_status", create_constraint=True
)
TABLES_WITH_UPDATED_AT = (
    "email_templates",
    "contact_lists",
    "campaigns",
    "campaign_settings",
    "email_drafts",
)


def _id() -> sa.Column[object]:
    return sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True)


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime(), server_default=utc_now(), nullable=False)


def _fk(
    name: str, target: str, nullable: bool = False, ondelete: str | None = None
) -> sa.Column[object]:
    return sa.Column(name, GUID(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def _zero(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"))


def upgrade() -> None:
    create_tables()
    create_indexes()
    if op.get_bind().dialect.name == "postgresql":
        create_postgresql_triggers()
    else:
        create_sqlite_triggers()


def create_tables() -> None:
    op.create_table(
        "sender_accounts",
        _id(),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text()),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true()),
        _now("created_at"),
    )
    op.create_table(
        "email_templates",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("template_content", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true()),
        _now("created_at"),
        _now("updated_at"),
    )
    op.create_table(
        "contact_lists",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        _now("created_at"),
        _now("updated_at"),
    )
    op.create_table(
        "upload_batches",
        _id(),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("column_mapping", JSONDocument),
        _zero("total_contacts"),
        _zero("processed_contacts"),
        sa.Column("status", sa.Text(), server_default="pending"),
        _now("created_at"),
    )
    op.create_table(
        "contacts",
        _id(),
        _fk("upload_batch_id", "upload_batches.id"),
        sa.Column("raw_data", JSONDocument, nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("company", sa.Text()),
        sa.Column("enriched_data", JSONDocument),
        _now("created_at"),
    )
    op.create_table(
        "contact_list_members",
        _id(),
        _fk("contact_id", "contacts.id", ondelete="CASCADE"),
        _fk("list_id", "contact_lists.id", ondelete="CASCADE"),
        _now("added_at"),
        sa.UniqueConstraint("contact_id", "list_id", name="unique_contact_list_member"),
    )
    op.create_table(
        "campaigns",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        _fk("list_id", "contact_lists.id", nullable=True),
        _fk("sender_account_id", "sender_accounts.id", nullable=True),
        _now("created_at"),
        _now("updated_at"),
    )
    op.create_table(
        "campaign_settings",
        _id(),
        _fk("campaign_id", "campaigns.id", ondelete="CASCADE"),
        sa.Column("send_window_start", sa.Time(), server_default="09:00:00", nullable=False),
        sa.Column("send_window_end", sa.Time(), server_default="18:00:00", nullable=False),
        sa.Column(
            "send_days",
            TextArray(),
            nullable=False,
            server_default=text_array_literal(
                "monday", "tuesday", "wednesday", "thursday", "friday"
            ),
        ),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        sa.Column("daily_limit", sa.Integer(), server_default=sa.text("50"), nullable=False),
        sa.Column(
            "delay_between_emails_seconds",
            sa.Integer(),
            server_default=sa.text("120"),
            nullable=False,
        ),
        _now("created_at"),
        _now("updated_at"),
        sa.UniqueConstraint("campaign_id"),
    )
    op.create_table(
        "campaign_sequences",
        _id(),
        _fk("campaign_id", "campaigns.id", ondelete="CASCADE"),
        sa.Column("sequence_order", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("subject_template", sa.Text(), nullable=False),
        sa.Column("body_template", sa.Text(), nullable=False),
        sa.Column("delay_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("delay_hours", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _now("created_at"),
    )
    op.create_table(
        "campaign_contacts",
        _id(),
        _fk("campaign_id", "campaigns.id", ondelete="CASCADE"),
        _fk("contact_id", "contacts.id", ondelete="CASCADE"),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column(
            "current_sequence_step", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        _now("enrolled_at"),
        sa.Column("completed_at", UtcDateTime()),
        sa.Column("replied_at", UtcDateTime()),
        sa.Column("last_email_sent_at", UtcDateTime()),
        sa.UniqueConstraint("campaign_id", "contact_id"),
    )
    op.create_table(
        "email_drafts",
        _id(),
        _fk("contact_id", "contacts.id", ondelete="CASCADE"),
        sa.Column("draft_type", DRAFT_TYPE, nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("edited_subject", sa.Text()),
        sa.Column("edited_body", sa.Text()),
        sa.Column("status", EMAIL_STATUS, server_default="draft"),
        sa.Column("approved_at", UtcDateTime()),
        _now("created_at"),
        _now("updated_at"),
    )
    op.create_table(
        "sent_emails",
        _id(),
        _fk("draft_id", "email_drafts.id", nullable=True),
        _fk("contact_id", "contacts.id"),
        _fk("sender_account_id", "sender_accounts.id"),
        _fk("campaign_id", "campaigns.id", nullable=True),
        sa.Column("draft_type", DRAFT_TYPE, nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("recipient_email", sa.Text(), nullable=False),
        _now("sent_at"),
        sa.Column("message_id", sa.Text()),
        sa.Column("status", sa.Text(), server_default="sent"),
        sa.Column("sequence_step", sa.Integer()),
    )
    op.create_table(
        "scheduled_emails",
        _id(),
        _fk("draft_id", "email_drafts.id", ondelete="CASCADE"),
        _fk("contact_id", "contacts.id", ondelete="CASCADE"),
        _fk("sender_account_id", "sender_accounts.id"),
        sa.Column("scheduled_for", UtcDateTime(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending"),
        _now("created_at"),
    )
    op.create_table(
        "email_replies",
        _id(),
        _fk("sent_email_id", "sent_emails.id", nullable=True),
        _fk("campaign_id", "campaigns.id", nullable=True),
        _fk("contact_id", "contacts.id"),
        sa.Column("message_id", sa.Text()),
        _now("received_at"),
        sa.Column("subject", sa.Text()),
        sa.Column("snippet", sa.Text()),
        _now("created_at"),
    )
    op.create_table(
        "email_analytics",
        _id(),
        sa.Column("date", sa.Date(), server_default=utc_today(), nullable=False, unique=True),
        _zero("total_drafts_created"),
        _zero("total_drafts_approved"),
        _zero("total_emails_sent"),
        _zero("total_followups_sent"),
        _now("created_at"),
    )


def create_indexes() -> None:
    op.create_index("idx_contacts_email", "contacts", ["email"])
    op.create_index("idx_contacts_upload_batch", "contacts", ["upload_batch_id"])
    op.create_index("idx_email_drafts_contact", "email_drafts", ["contact_id"])
    op.create_index("idx_email_drafts_status", "email_drafts", ["status"])
    op.create_index("idx_sent_emails_contact", "sent_emails", ["contact_id"])
    op.create_index("idx_sent_emails_campaign", "sent_emails", ["campaign_id"])
    op.create_index("idx_sent_emails_sent_at", "sent_emails", [sa.text("sent_at DESC")])
    op.create_index("idx_scheduled_emails_scheduled_for", "scheduled_emails", ["scheduled_for"])
    op.create_index("idx_scheduled_emails_status", "scheduled_emails", ["status"])
    op.create_index("idx_campaign_contacts_campaign", "campaign_contacts", ["campaign_id"])
    op.create_index("idx_campaign_contacts_status", "campaign_contacts", ["status"])
    op.create_index("contacts_email_unique", "contacts", [sa.text("lower(email)")], unique=True)


POSTGRESQL_TRIGGERS = """
CREATE FUNCTION create_campaign_settings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO campaign_settings (campaign_id) VALUES (NEW.id);
  RETURN NEW;
END $$;

CREATE FUNCTION handle_email_reply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE campaign_contacts
  SET status = 'replied', replied_at = NEW.received_at
  WHERE contact_id = NEW.contact_id
    AND campaign_id = NEW.campaign_id
    AND status IN ('pending', 'in_progress');
  RETURN NEW;
END $$;

CREATE FUNCTION update_email_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO email_analytics (date, total_emails_sent, total_followups_sent)
  VALUES ((NEW.sent_at AT TIME ZONE 'UTC')::date, 1,
          CASE WHEN NEW.draft_type = 'first_outreach' THEN 0 ELSE 1 END)
  ON CONFLICT (date) DO UPDATE SET
    total_emails_sent = COALESCE(email_analytics.total_emails_sent, 0) + 1,
    total_followups_sent = COALESCE(email_analytics.total_followups_sent, 0)
                           + EXCLUDED.total_followups_sent;
  RETURN NEW;
END $$;

CREATE FUNCTION update_draft_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO email_analytics (date, total_drafts_created)
    VALUES ((NEW.created_at AT TIME ZONE 'UTC')::date, 1)
    ON CONFLICT (date) DO UPDATE SET
      total_drafts_created = COALESCE(email_analytics.total_drafts_created, 0) + 1;
  ELSIF TG_OP = 'UPDATE' AND NEW.status = 'approved'
        AND OLD.status IS DISTINCT FROM 'approved' THEN
    INSERT INTO email_analytics (date, total_drafts_approved)
    VALUES ((COALESCE(NEW.approved_at, now()) AT TIME ZONE 'UTC')::date, 1)
    ON CONFLICT (date) DO UPDATE SET
      total_drafts_approved = COALESCE(email_analytics.total_drafts_approved, 0) + 1;
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER create_campaign_settings_trigger AFTER INSERT ON campaigns
  FOR EACH ROW EXECUTE FUNCTION create_campaign_settings();
CREATE TRIGGER handle_email_reply_trigger AFTER INSERT ON email_replies
  FOR EACH ROW EXECUTE FUNCTION handle_email_reply();
CREATE TRIGGER update_email_analytics_trigger AFTER INSERT ON sent_emails
  FOR EACH ROW EXECUTE FUNCTION update_email_analytics();
CREATE TRIGGER update_draft_analytics_insert_trigger AFTER INSERT ON email_drafts
  FOR EACH ROW EXECUTE FUNCTION update_draft_analytics();
CREATE TRIGGER update_draft_analytics_update_trigger AFTER UPDATE ON email_drafts
  FOR EACH ROW EXECUTE FUNCTION update_draft_analytics();
"""


def create_postgresql_triggers() -> None:
    op.execute(POSTGRESQL_TRIGGERS)
    for table in TABLES_WITH_UPDATED_AT:
        op.execute(updated_at_trigger(table, "postgresql"))


SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER create_campaign_settings_trigger AFTER INSERT ON campaigns FOR EACH ROW
    BEGIN
      INSERT INTO campaign_settings (campaign_id) VALUES (NEW.id);
    END
    """,
    """
    CREATE TRIGGER handle_email_reply_trigger AFTER INSERT ON email_replies FOR EACH ROW
    BEGIN
      UPDATE campaign_contacts
      SET status = 'replied', replied_at = NEW.received_at
      WHERE contact_id = NEW.contact_id
        AND campaign_id = NEW.campaign_id
        AND status IN ('pending', 'in_progress');
    END
    """,
    """
    CREATE TRIGGER update_email_analytics_trigger AFTER INSERT ON sent_emails FOR EACH ROW
    BEGIN
      INSERT INTO email_analytics (date, total_emails_sent, total_followups_sent)
      VALUES (date(NEW.sent_at), 1, NEW.draft_type <> 'first_outreach')
      ON CONFLICT (date) DO UPDATE SET
        total_emails_sent = coalesce(total_emails_sent, 0) + 1,
        total_followups_sent = coalesce(total_followups_sent, 0) + excluded.total_followups_sent;
    END
    """,
    """
    CREATE TRIGGER update_draft_analytics_insert_trigger AFTER INSERT ON email_drafts
    FOR EACH ROW
    BEGIN
      INSERT INTO email_analytics (date, total_drafts_created)
      VALUES (date(NEW.created_at), 1)
      ON CONFLICT (date) DO UPDATE SET
        total_drafts_created = coalesce(total_drafts_created, 0) + 1;
    END
    """,
    f"""
    CREATE TRIGGER update_draft_analytics_update_trigger AFTER UPDATE ON email_drafts
    FOR EACH ROW WHEN NEW.status = 'approved' AND OLD.status IS NOT 'approved'
    BEGIN
      INSERT INTO email_analytics (date, total_drafts_approved)
      VALUES (date(coalesce(NEW.approved_at, {SQLITE_NOW})), 1)
      ON CONFLICT (date) DO UPDATE SET
        total_drafts_approved = coalesce(total_drafts_approved, 0) + 1;
    END
    """,
)


def create_sqlite_triggers() -> None:
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)
    for table in TABLES_WITH_UPDATED_AT:
        op.execute(updated_at_trigger(table, "sqlite"))


def downgrade() -> None:
    for table in (
        "email_analytics",
        "email_replies",
        "scheduled_emails",
        "sent_emails",
        "email_drafts",
        "campaign_contacts",
        "campaign_sequences",
        "campaign_settings",
        "campaigns",
        "contact_list_members",
        "contacts",
        "upload_batches",
        "contact_lists",
        "email_templates",
        "sender_accounts",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        for function in (
            "create_campaign_settings",
            "handle_email_reply",
            "update_email_analytics",
            "update_draft_analytics",
            "set_updated_at",
        ):
            op.execute(f"DROP FUNCTION {function}()")
        op.execute("DROP TYPE email_status")
        op.execute("DROP TYPE draft_type")
