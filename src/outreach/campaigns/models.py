"""The seed's campaigns, campaign_settings, campaign_sequences and campaign_contacts tables."""

from __future__ import annotations

import uuid
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, JSONDocument, TextArray, UtcDateTime, text_array_literal

DUE_INDEX_WHERE = "status IN ('pending', 'in_progress') AND next_send_at IS NOT NULL"
WORKING_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = primary_key()
    name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="draft")
    list_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), sa.ForeignKey("contact_lists.id"))
    sender_account_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id")
    )
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()
    # The list's members_version when every member then had an enrollment (migration 0017);
    # None: not enrolled since. A pass looks for new members only when the list's differs.
    enrolled_list_version: Mapped[int | None] = mapped_column(sa.Integer)


class CampaignSettings(Base):
    """One row per campaign, created by a database trigger when the campaign is inserted."""

    __tablename__ = "campaign_settings"
    __table_args__ = (sa.UniqueConstraint("campaign_id"),)

    id: Mapped[uuid.UUID] = primary_key()
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    send_window_start: Mapped[time] = mapped_column(sa.Time, server_default="09:00:00")
    send_window_end: Mapped[time] = mapped_column(sa.Time, server_default="18:00:00")
    send_days: Mapped[list[str]] = mapped_column(
        TextArray(), server_default=text_array_literal(*WORKING_DAYS)
    )
    timezone: Mapped[str] = mapped_column(sa.Text, server_default="UTC")
    daily_limit: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("50"))
    delay_between_emails_seconds: Mapped[int] = mapped_column(
        sa.Integer, server_default=sa.text("120")
    )
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()
    jitter_seconds: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("30"))
    skip_active_elsewhere: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    skip_replied_companies: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    unsubscribe_line: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    require_approval: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    """An enrollment waits at an AI-written step until a person approved its draft (0007)."""
    category_actions: Mapped[dict[str, str] | None] = mapped_column(JSONDocument)
    """What a reply's category does in this campaign where it differs from the default
    (inbox/categories.py), e.g. {"do_not_contact": "none"} (0016)."""


class CampaignSequence(Base):
    __tablename__ = "campaign_sequences"

    id: Mapped[uuid.UUID] = primary_key()
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    sequence_order: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.Text)
    subject_template: Mapped[str] = mapped_column(sa.Text)
    body_template: Mapped[str] = mapped_column(sa.Text)
    delay_days: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    delay_hours: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    created_at: Mapped[datetime] = timestamp_now()
    html_template: Mapped[str | None] = mapped_column(sa.Text)
    ai_written: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    """The step's text is the instruction a draft writer follows for each enrollment, ahead of
    time (migration 0007)."""


class CampaignContact(Base):
    """An enrollment: one contact going through one campaign's steps."""

    __tablename__ = "campaign_contacts"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "contact_id"),
        sa.Index("idx_campaign_contacts_campaign", "campaign_id"),
        sa.Index("idx_campaign_contacts_status", "status"),
        # The due-work queries: a campaign's running enrollments by when their next step may go.
        sa.Index(
            "ix_campaign_contacts_due",
            "campaign_id",
            "next_send_at",
            postgresql_where=sa.text(DUE_INDEX_WHERE),
            sqlite_where=sa.text(DUE_INDEX_WHERE),
        ),
        # A campaign's enrollments page by page (enrolled_at, id) and its counts by status.
        sa.Index(
            "ix_campaign_contacts_campaign_id_enrolled_at", "campaign_id", "enrolled_at", "id"
        ),
        sa.Index("ix_campaign_contacts_campaign_id_status", "campaign_id", "status"),
        # The campaigns of a page of contacts, and deleting contacts (migration 0031).
        sa.Index("ix_campaign_contacts_contact_id", "contact_id"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(sa.Text, server_default="pending")
    current_sequence_step: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    enrolled_at: Mapped[datetime] = timestamp_now()
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_email_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_send_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    waiting_reason: Mapped[str | None] = mapped_column(sa.Text)
    stop_reason: Mapped[str | None] = mapped_column(sa.Text)
    sender_account_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id")
    )


class CampaignSender(Base):
    """A sender account a campaign spreads its new threads across."""

    __tablename__ = "campaign_senders"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "sender_account_id"),)

    id: Mapped[uuid.UUID] = primary_key()
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))


class RepliedContact(Base):
    """A contact who has replied, to any email: database triggers on email_replies keep this
    table (migration 0011), so that one conversation per company needs no read of the inbox's
    tables."""

    __tablename__ = "replied_contacts"

    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
