"""The seed's email_templates and email_drafts tables, and its two enums."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.campaigns.states import DraftType
from outreach.campaigns.templates.placeholders import find_placeholders
from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, TextArray, UtcDateTime, utc_now


class EmailStatus(StrEnum):
    draft = "draft"
    approved = "approved"
    sent = "sent"
    failed = "failed"
    scheduled = "scheduled"


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


draft_type_enum = sa.Enum(
    DraftType,
    name="draft_type",
    values_callable=_values,
    create_constraint=True,
    validate_strings=True,
)
email_status_enum = sa.Enum(
    EmailStatus,
    name="email_status",
    values_callable=_values,
    create_constraint=True,
    validate_strings=True,
)


class EmailTemplate(Base):
    __tablename__ = "email_templates"

    id: Mapped[uuid.UUID] = primary_key()
    name: Mapped[str] = mapped_column(sa.Text)
    template_content: Mapped[str] = mapped_column(sa.Text)
    is_active: Mapped[bool | None] = mapped_column(sa.Boolean, server_default=sa.true())
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


class EmailDraft(Base):
    __tablename__ = "email_drafts"
    __table_args__ = (
        sa.Index("idx_email_drafts_contact", "contact_id"),
        sa.Index("idx_email_drafts_status", "status"),
        # The review queue: drafts in one status, oldest first (keyset on created_at, id).
        sa.Index("ix_email_drafts_status_created_at_id", "status", "created_at", "id"),
        # Every draft oldest first (the API without a status), drafts written in a range of
        # days (the home page).
        sa.Index("ix_email_drafts_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    draft_type: Mapped[DraftType] = mapped_column(draft_type_enum)
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    edited_subject: Mapped[str | None] = mapped_column(sa.Text)
    edited_body: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[EmailStatus | None] = mapped_column(
        email_status_enum, server_default=EmailStatus.draft.value
    )
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()
    # Provenance (migration 0006): which writer, prompt and input produced the text, what it
    # cost, or why no text came.
    model: Mapped[str | None] = mapped_column(sa.Text)
    prompt_version: Mapped[str | None] = mapped_column(sa.Text)
    input_sha256: Mapped[str | None] = mapped_column(sa.Text)
    input_tokens: Mapped[int | None] = mapped_column(sa.Integer)
    output_tokens: Mapped[int | None] = mapped_column(sa.Integer)
    cache_read_tokens: Mapped[int | None] = mapped_column(sa.Integer)
    cache_write_tokens: Mapped[int | None] = mapped_column(sa.Integer)
    writer_error: Mapped[str | None] = mapped_column(sa.Text)
    # Review (migration 0007): a rejected draft has the seed's `failed` status and these.
    rejected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rejected_reason: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def outgoing_subject(self) -> str:
        """The subject that is sent: the reviewer's edit if there is one, else the original."""
        return self.edited_subject if self.edited_subject is not None else self.subject

    @property
    def outgoing_body(self) -> str:
        """The body that is sent: the reviewer's edit if there is one, else the original."""
        return self.edited_body if self.edited_body is not None else self.body

    @property
    def is_edited(self) -> bool:
        return self.edited_subject is not None or self.edited_body is not None

    @property
    def unfilled_placeholders(self) -> list[str]:
        """Placeholders left in what would be sent ("{{first_name}}", "[Company]"): such a
        draft is never approved or sent, as a campaign with them is never launched."""
        return find_placeholders(f"{self.outgoing_subject}\n{self.outgoing_body}")

    @property
    def standing(self) -> str:
        """Where the draft stands, in a person's words, to follow "The draft ": "is waiting
        for review", "was rejected" (a rejected draft has the seed's `failed` status)."""
        if self.rejected_at is not None:
            return "was rejected"
        return _STANDING[EmailStatus(self.status or EmailStatus.draft)]


_STANDING = {
    EmailStatus.draft: "is waiting for review",
    EmailStatus.approved: "was approved already",
    EmailStatus.scheduled: "is scheduled to be sent already",
    EmailStatus.sent: "was sent already",
    EmailStatus.failed: "could not be sent",
}


LIST_JOBS = "campaign_step_id IS NULL"


class DraftBatch(Base):
    """One request to write drafts, for a list, an upload, a campaign's AI-written steps, or a
    reviewer's rewrites (migration 0007). Its progress is counted from its jobs."""

    __tablename__ = "draft_batches"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id"),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'paused', 'completed', 'cancelled')", name="status"
        ),
        sa.CheckConstraint("source IN ('list', 'upload', 'campaign', 'rewrite')", name="source"),
        sa.Index("ix_draft_batches_status", "status"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    label: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text)
    list_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("contact_lists.id", ondelete="SET NULL")
    )
    upload_batch_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("upload_batches.id", ondelete="SET NULL")
    )
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("email_templates.id", ondelete="SET NULL")
    )
    draft_types: Mapped[list[str]] = mapped_column(TextArray())
    status: Mapped[str] = mapped_column(sa.Text, server_default="queued")
    pause_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = timestamp_now()
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


draft_job_type_enum = sa.Enum(
    DraftType,
    name="draft_job_type",
    values_callable=_values,
    native_enum=False,
    create_constraint=True,
    validate_strings=True,
)


class DraftJob(Base):
    """One draft to write: a contact and a draft type (or a campaign step), claimed by one
    worker at a time, with its attempts and what they cost (migration 0007)."""

    __tablename__ = "draft_jobs"
    __table_args__ = (
        sa.UniqueConstraint("campaign_step_id", "contact_id"),
        sa.CheckConstraint(
            "status IN ('queued', 'writing', 'written', 'failed', 'skipped', 'cancelled')",
            name="status",
        ),
        # One job per contact and draft type in a list's or an upload's batch.
        sa.Index(
            "ix_draft_jobs_batch_id_contact_id_draft_type",
            "batch_id",
            "contact_id",
            "draft_type",
            unique=True,
            postgresql_where=sa.text(LIST_JOBS),
            sqlite_where=sa.text(LIST_JOBS),
        ),
        # Progress counts per batch.
        sa.Index("ix_draft_jobs_batch_id_status", "batch_id", "status"),
        # Claims: queued jobs by when they may be tried.
        sa.Index("ix_draft_jobs_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_draft_jobs_draft_id", "draft_id"),
        sa.Index("ix_draft_jobs_contact_id", "contact_id"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    batch_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("draft_batches.id", ondelete="CASCADE")
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    draft_type: Mapped[DraftType] = mapped_column(draft_job_type_enum)
    position: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("1"))
    """Order among one contact's jobs in the batch: a follow-up waits for the drafts before it."""
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("email_templates.id", ondelete="SET NULL")
    )
    campaign_step_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("campaign_sequences.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(sa.Text, server_default="queued")
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), nullable=False, server_default=utc_now()
    )
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)
    reviewer_note: Mapped[str | None] = mapped_column(sa.Text)
    draft_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("email_drafts.id", ondelete="SET NULL")
    )
    model: Mapped[str | None] = mapped_column(sa.Text)
    input_tokens: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    output_tokens: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    cache_read_tokens: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    cache_write_tokens: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    cost_micros: Mapped[int | None] = mapped_column(sa.BigInteger)
    """Estimated cost in millionths of a US dollar (drafts/pricing.py), every attempt summed;
    None when the model's price is not known."""
    created_at: Mapped[datetime] = timestamp_now()
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DraftBatchTally(Base):
    """A batch's jobs of one status and model, counted and summed by triggers on draft_jobs
    (migration 0036) so that a page of batches costs its rows, not its jobs; derived, never
    exported, rebuilt at the end of every import. A key's figures are the sum of its rows."""

    __tablename__ = "draft_batch_tallies"

    batch_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("draft_batches.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    model: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    """The jobs' model; empty for jobs without one (a key column cannot be NULL)."""
    slot: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, server_default=sa.text("0"))
    """0, or on PostgreSQL the transaction that found every row of its key held by others and
    added its jobs to a row of its own rather than wait: a key's rows are summed, and folded
    together by the next writer that finds them free."""
    jobs: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """Zero once its jobs have all moved on or gone: the row stays for the next ones."""
    drafts: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """Jobs whose draft is there (draft_id): only these say who wrote the batch's drafts."""
    input_tokens: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    output_tokens: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    cache_read_tokens: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    cache_write_tokens: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    cost_micros: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    """The sum of the jobs' known costs."""
    priced: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """Jobs with a known cost: with none, the cost is unknown rather than zero."""
    unpriced: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """Jobs that used tokens without a known cost."""
