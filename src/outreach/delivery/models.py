"""The seed's sent_emails and scheduled_emails tables, and the deliveries ledger."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.campaigns.states import DraftType
from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, UtcDateTime
from outreach.drafts.models import draft_type_enum


class SentEmail(Base):
    __tablename__ = "sent_emails"
    __table_args__ = (
        sa.Index("idx_sent_emails_contact", "contact_id"),
        sa.Index("idx_sent_emails_campaign", "campaign_id"),
        sa.Index("idx_sent_emails_sent_at", sa.desc(sa.column("sent_at"))),
        sa.Index("ix_sent_emails_message_id", "message_id"),
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


class Delivery(Base):
    """One email that will go out, written before any network call (see migration 0004)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("campaign_contact_id", "sequence_step"),
        sa.UniqueConstraint("scheduled_email_id"),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'unknown', 'cancelled')",
            name="status",
        ),
        sa.Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index(
            "ix_deliveries_campaign_id_claimed_at_status", "campaign_id", "claimed_at", "status"
        ),
        # Deliveries in one status, newest first (/api/v1/deliveries?status=sent).
        sa.Index("ix_deliveries_status_claimed_at", "status", "claimed_at"),
        sa.Index("ix_deliveries_status_created_at_id", "status", "created_at", "id"),
        # A draft's deliveries: approving one looks them up (implicit approvals, migration
        # 0035), as does the cascade from a deleted draft.
        sa.Index("ix_deliveries_draft_id", "draft_id"),
        sa.Index(
            "ix_deliveries_sender_account_id_claimed_at_status",
            "sender_account_id",
            "claimed_at",
            "status",
        ),
        sa.Index(
            "ix_deliveries_bounced",
            "sender_account_id",
            "bounced_at",
            postgresql_where=sa.text("bounced_at IS NOT NULL"),
            sqlite_where=sa.text("bounced_at IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = primary_key()
    campaign_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("campaign_contacts.id", ondelete="CASCADE")
    )
    sequence_step: Mapped[int | None] = mapped_column(sa.Integer)
    scheduled_email_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("scheduled_emails.id", ondelete="CASCADE")
    )
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    draft_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("email_drafts.id", ondelete="CASCADE")
    )
    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id")
    )
    message_id: Mapped[str] = mapped_column(sa.Text, unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(sa.Text)
    thread_references: Mapped[str | None] = mapped_column(sa.Text)
    html: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="queued")
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    bounced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When the recipient's server refused the address, at once or by a later bounce
    (migration 0010): the sender account's hard-bounce rate counts these."""
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    provider_id: Mapped[str | None] = mapped_column(sa.Text)
    conversation_id: Mapped[str | None] = mapped_column(sa.Text)
    """The provider's thread id (Graph's conversationId), a hint for matching replies."""
    sent_email_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("sent_emails.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_now()
    footer: Mapped[str | None] = mapped_column(sa.Text)
    """Text the send adds after the draft's body (a campaign's unsubscribe line under an
    AI-written draft, which is sent as approved), migration 0007."""


class Answer(Base):
    """A person's answer in a conversation with a contact from a sender account (migration
    0015): the text as written while it is a draft; sent now or later through a scheduled email
    (`scheduled_email_id`), the one-off path into the ledger, unique per answer."""

    __tablename__ = "answers"
    __table_args__ = (
        sa.UniqueConstraint("scheduled_email_id"),
        sa.Index("ix_answers_contact_id_sender_account_id", "contact_id", "sender_account_id"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id", ondelete="CASCADE")
    )
    body: Mapped[str] = mapped_column(sa.Text)
    """As the person wrote it: merge fields unfilled, without the signature."""
    scheduled_email_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("scheduled_emails.id", ondelete="SET NULL")
    )
    """None while it is a draft."""
    in_reply_to: Mapped[str | None] = mapped_column(sa.Text)
    thread_references: Mapped[str | None] = mapped_column(sa.Text)
    reply_provider_id: Mapped[str | None] = mapped_column(sa.Text)
    """The provider's id of the message answered (Microsoft Graph replies to it)."""
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_now()


class WorkerLease(Base):
    """A worker's lease (outreach/leases.py, migration 0012): who it is, renewed by a heartbeat
    while it sends. A delivery left `sending` by a worker whose lease says it is gone becomes
    `unknown` as soon as anyone looks."""

    __tablename__ = "worker_leases"

    worker: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    """The name its deliveries carry in `claimed_by`."""
    host: Mapped[str] = mapped_column(sa.Text)
    pid: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime] = mapped_column(UtcDateTime())


class SentTest(Base):
    """A campaign step sent once to the person writing it ("send me a test", migration 0032),
    keyed by the one-time key its form carried: the row is written before the transport is
    called, so a second click or a resent form cannot send the test again.

    Kept apart from deliveries and sent_emails on purpose: a test is not a campaign send, so it
    counts in no analytics, no daily limit or cap, and not in the contacted ledger (the contact
    whose fields filled it in was not written to). Passing state: not exported."""

    __tablename__ = "test_sends"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    """The form's one-time key."""
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    step_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("campaign_sequences.id", ondelete="SET NULL")
    )
    sender_account_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id", ondelete="SET NULL")
    )
    recipient_email: Mapped[str] = mapped_column(sa.Text)
    message_id: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(sa.Text)
