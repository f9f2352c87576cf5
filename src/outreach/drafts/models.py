"""The seed's email_templates and email_drafts tables, and its two enums."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, UtcDateTime


class DraftType(StrEnum):
    first_outreach = "first_outreach"
    second_followup = "second_followup"
    final_followup = "final_followup"


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
