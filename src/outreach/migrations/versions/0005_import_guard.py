"""The seed's counting triggers stand aside while an import runs.

An import brings rows that already carry their consequences: its campaigns come with their
campaign_settings, its enrollments with their statuses, its email_analytics with the day's
totals. Letting the triggers fire again would make a second settings row (refused by the
unique key), mark imported enrollments replied, and count every imported email twice.

import_guard holds one row inside the importing transaction only: other transactions never see
it (MVCC on PostgreSQL; on SQLite nobody else can write meanwhile), so their triggers fire as
usual. Each trigger that writes somewhere else checks it first.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import SQLITE_NOW

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD = "EXISTS (SELECT 1 FROM import_guard)"

POSTGRESQL_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION create_campaign_settings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {GUARD} THEN RETURN NEW; END IF;
  INSERT INTO campaign_settings (campaign_id) VALUES (NEW.id);
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION handle_email_reply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {GUARD} THEN RETURN NEW; END IF;
  UPDATE campaign_contacts
  SET status = 'replied', replied_at = NEW.received_at
  WHERE contact_id = NEW.contact_id
    AND campaign_id = NEW.campaign_id
    AND status IN ('pending', 'in_progress');
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION update_email_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {GUARD} THEN RETURN NEW; END IF;
  INSERT INTO email_analytics (date, total_emails_sent, total_followups_sent)
  VALUES ((NEW.sent_at AT TIME ZONE 'UTC')::date, 1,
          CASE WHEN NEW.draft_type = 'first_outreach' THEN 0 ELSE 1 END)
  ON CONFLICT (date) DO UPDATE SET
    total_emails_sent = COALESCE(email_analytics.total_emails_sent, 0) + 1,
    total_followups_sent = COALESCE(email_analytics.total_followups_sent, 0)
                           + EXCLUDED.total_followups_sent;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION update_draft_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {GUARD} THEN RETURN NEW; END IF;
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
"""

SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER create_campaign_settings_trigger AFTER INSERT ON campaigns FOR EACH ROW
    WHEN NOT {GUARD}
    BEGIN
      INSERT INTO campaign_settings (campaign_id) VALUES (NEW.id);
    END
    """,
    f"""
    CREATE TRIGGER handle_email_reply_trigger AFTER INSERT ON email_replies FOR EACH ROW
    WHEN NOT {GUARD}
    BEGIN
      UPDATE campaign_contacts
      SET status = 'replied', replied_at = NEW.received_at
      WHERE contact_id = NEW.contact_id
        AND campaign_id = NEW.campaign_id
        AND status IN ('pending', 'in_progress');
    END
    """,
    f"""
    CREATE TRIGGER update_email_analytics_trigger AFTER INSERT ON sent_emails FOR EACH ROW
    WHEN NOT {GUARD}
    BEGIN
      INSERT INTO email_analytics (date, total_emails_sent, total_followups_sent)
      VALUES (date(NEW.sent_at), 1, NEW.draft_type <> 'first_outreach')
      ON CONFLICT (date) DO UPDATE SET
        total_emails_sent = coalesce(total_emails_sent, 0) + 1,
        total_followups_sent = coalesce(total_followups_sent, 0) + excluded.total_followups_sent;
    END
    """,
    f"""
    CREATE TRIGGER update_draft_analytics_insert_trigger AFTER INSERT ON email_drafts
    FOR EACH ROW WHEN NOT {GUARD}
    BEGIN
      INSERT INTO email_analytics (date, total_drafts_created)
      VALUES (date(NEW.created_at), 1)
      ON CONFLICT (date) DO UPDATE SET
        total_drafts_created = coalesce(total_drafts_created, 0) + 1;
    END
    """,
    f"""
    CREATE TRIGGER update_draft_analytics_update_trigger AFTER UPDATE ON email_drafts
    FOR EACH ROW WHEN NEW.status = 'approved' AND OLD.status IS NOT 'approved' AND NOT {GUARD}
    BEGIN
      INSERT INTO email_analytics (date, total_drafts_approved)
      VALUES (date(coalesce(NEW.approved_at, {SQLITE_NOW})), 1)
      ON CONFLICT (date) DO UPDATE SET
        total_drafts_approved = coalesce(total_drafts_approved, 0) + 1;
    END
    """,
)
GUARDED = (
    "create_campaign_settings_trigger",
    "handle_email_reply_trigger",
    "update_email_analytics_trigger",
    "update_draft_analytics_insert_trigger",
    "update_draft_analytics_update_trigger",
)


def upgrade() -> None:
    op.create_table(
        "import_guard",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", sa.Text(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTIONS)
        return
    for name in GUARDED:
        op.execute(f"DROP TRIGGER {name}")
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError(
        "0005 is not undone: restore a backup taken before upgrading instead."
    )
