"""Draft batches: drafts written for many contacts by workers, reviewed, and used by campaigns.

- draft_batches: one request to write drafts (for a list, an upload, a campaign's AI-written
  steps, or a reviewer's "write it again"), with its instructions (an email_templates row),
  the draft types asked for, and a status a person can read: queued, running, paused (with the
  reason, e.g. an Anthropic spend limit), completed or cancelled. A campaign has at most one
  batch of its own (unique campaign_id), which new enrollments add to.
- draft_jobs: one row per draft to write (a contact and a draft type, or a contact and a
  campaign step), written before any call to the model, and claimed by workers exactly as
  sends are (FOR UPDATE SKIP LOCKED on PostgreSQL, the single writer on SQLite). It carries the attempts, the
  next attempt (retries after 429, 529 and timeouts honour retry-after), why it failed or was
  skipped, the reviewer's note for a rewrite, the draft it produced, and the tokens and
  estimated cost it used across every attempt. A failure is a job row, not an email_drafts row:
  the seed's subject and body are NOT NULL and every email_drafts insert counts in
  email_analytics.total_drafts_created, so a draft row exists only when there is text to review.
  Unique keys: one job per (batch, contact, draft type) for lists and uploads, and one per
  (campaign step, contact) across all batches, so re-running a plan writes nothing twice.
- email_drafts: rejected_at and rejected_reason. A rejected draft takes the seed's `failed`
  status (the enum has no `rejected`, and its values must stay the seed's); rejected_at tells a
  person's "no" from a send that failed.
- campaign_sequences.ai_written: the step's text is the instruction a writer follows for each
  enrollment, ahead of time, instead of a template filled in at send time.
- campaign_settings.require_approval: an enrollment waits at an AI-written step until a person
  approved its draft.
- deliveries.footer: text the send adds after the draft's body (the campaign's unsubscribe
  line), so an approved draft goes out exactly as approved.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, TextArray, UtcDateTime, new_uuid, utc_now

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_STATUSES = "status IN ('queued', 'running', 'paused', 'completed', 'cancelled')"
JOB_STATUSES = "status IN ('queued', 'writing', 'written', 'failed', 'skipped', 'cancelled')"
BATCH_SOURCES = "source IN ('list', 'upload', 'campaign', 'rewrite')"
DRAFT_TYPES = ("first_outreach", "second_followup", "final_followup")
LIST_JOBS = "campaign_step_id IS NULL"


def _count(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "draft_batches",
        sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("list_id", GUID(), sa.ForeignKey("contact_lists.id", ondelete="SET NULL")),
        sa.Column(
            "upload_batch_id", GUID(), sa.ForeignKey("upload_batches.id", ondelete="SET NULL")
        ),
        sa.Column("campaign_id", GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")),
        sa.Column("template_id", GUID(), sa.ForeignKey("email_templates.id", ondelete="SET NULL")),
        sa.Column("draft_types", TextArray(), nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("pause_reason", sa.Text()),
        sa.Column("created_at", UtcDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("started_at", UtcDateTime()),
        sa.Column("finished_at", UtcDateTime()),
        sa.UniqueConstraint("campaign_id"),
        sa.CheckConstraint(BATCH_STATUSES, name="status"),
        sa.CheckConstraint(BATCH_SOURCES, name="source"),
    )
    op.create_index("ix_draft_batches_status", "draft_batches", ["status"])
    op.create_table(
        "draft_jobs",
        sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True),
        sa.Column(
            "batch_id",
            GUID(),
            sa.ForeignKey("draft_batches.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "contact_id", GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "draft_type",
            sa.Enum(*DRAFT_TYPES, name="draft_job_type", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("template_id", GUID(), sa.ForeignKey("email_templates.id", ondelete="SET NULL")),
        sa.Column(
            "campaign_step_id",
            GUID(),
            sa.ForeignKey("campaign_sequences.id", ondelete="CASCADE"),
        ),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("claimed_at", UtcDateTime()),
        sa.Column("claimed_by", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("reviewer_note", sa.Text()),
        sa.Column("draft_id", GUID(), sa.ForeignKey("email_drafts.id", ondelete="SET NULL")),
        sa.Column("model", sa.Text()),
        _count("input_tokens"),
        _count("output_tokens"),
        _count("cache_read_tokens"),
        _count("cache_write_tokens"),
        sa.Column("cost_micros", sa.BigInteger()),
        sa.Column("created_at", UtcDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
        sa.UniqueConstraint("campaign_step_id", "contact_id"),
        sa.CheckConstraint(JOB_STATUSES, name="status"),
    )
    op.create_index(
        "ix_draft_jobs_batch_id_contact_id_draft_type",
        "draft_jobs",
        ["batch_id", "contact_id", "draft_type"],
        unique=True,
        postgresql_where=sa.text(LIST_JOBS),
        sqlite_where=sa.text(LIST_JOBS),
    )
    op.create_index("ix_draft_jobs_batch_id_status", "draft_jobs", ["batch_id", "status"])
    op.create_index(
        "ix_draft_jobs_status_next_attempt_at", "draft_jobs", ["status", "next_attempt_at"]
    )
    op.create_index("ix_draft_jobs_draft_id", "draft_jobs", ["draft_id"])
    op.create_index("ix_draft_jobs_contact_id", "draft_jobs", ["contact_id"])

    # Plain ADD COLUMN on the seed's tables, never a batch copy: on SQLite a copy would drop
    # their triggers (the drafts counters, updated_at, campaign settings).
    op.add_column("email_drafts", sa.Column("rejected_at", UtcDateTime()))
    op.add_column("email_drafts", sa.Column("rejected_reason", sa.Text()))
    op.add_column(
        "campaign_sequences",
        sa.Column("ai_written", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "campaign_settings",
        sa.Column("require_approval", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("deliveries", sa.Column("footer", sa.Text()))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place when nothing refers to it, which none of these do.
    op.drop_column("deliveries", "footer")
    op.drop_column("campaign_settings", "require_approval")
    op.drop_column("campaign_sequences", "ai_written")
    op.drop_column("email_drafts", "rejected_reason")
    op.drop_column("email_drafts", "rejected_at")
    op.drop_table("draft_jobs")
    op.drop_table("draft_batches")
