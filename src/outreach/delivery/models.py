"""The seed's sender_accounts, sent_emails and scheduled_emails tables."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, UtcDateTime
from outreach.drafts.models import DraftType, draft_type_enum


class SenderAccount(Base):
    __tablename__ = "sender_accounts"

    id: Mapped[uuid.UUID] = primary_key()
    email: Mapped[str] = mapped_column(sa.Text)
    display_name: Mapped[str | None] = mapped_column(sa.Text)
    is_active: Mapped[bool | None] = mapped_column(sa.Boolean, server_default=sa.true())
    created_at: Mapped[datetime] = timestamp_now()


class SentEmail(Base):
    __tablename__ = "sent_emails"
    __table_args__ = (
        sa.Index("idx_sent_emails_contact", "contact_id"),
        sa.Index("idx_sent_emails_campaign", "campaign_id"),
        sa.Index("idx_sent_emails_sent_at", sa.desc(sa.column("sent_at"))),
    )

    id: Mapped[uuid.UUID] = primary_key()
    draft_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), sa.ForeignKey("email_drafts.id"))
    contact_id: Mapped[uuid.UUID] = mapped_column(GUID(), sa.ForeignKey("contacts.id"))
    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id")
    )
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), sa.ForeignKey("campaigns.id"))
    draft_type: Mapped[DraftType] = mapped_column(draft_type_enum)
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    recipient_email: Mapped[str] = mapped_column(sa.Text)
    sent_at: Mapped[datetime] = timestamp_now()
    message_id: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str | None] = mapped_column(sa.Text, server_default="sent")
    sequence_step: Mapped[int | None] = mapped_column(sa.Integer)


class ScheduledEmail(Base):
    __tablename__ = "scheduled_emails"
    __table_args__ = (
        sa.Index("idx_scheduled_emails_scheduled_for", "scheduled_for"),
        sa.Index("idx_scheduled_emails_status", "status"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    draft_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("email_drafts.id", ondelete="CASCADE")
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id")
    )
    scheduled_for: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str | None] = mapped_column(sa.Text, server_default="pending")
    created_at: Mapped[datetime] = timestamp_now()
