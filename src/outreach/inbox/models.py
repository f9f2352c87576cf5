"""The seed's email_replies table (inserting a row stops the enrollment: a database trigger), and
ours: where each mailbox's reading got to, every inbound message we acted on (0009), and the
conversations they belong to, with each message's content and attachments (0014)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, UtcDateTime

INBOX_KINDS = "kind IN ('human_reply', 'unsubscribe_request', 'auto_reply', 'bounce')"
WITH_MESSAGE_ID = "message_id IS NOT NULL"


class EmailReply(Base):
    __tablename__ = "email_replies"

    id: Mapped[uuid.UUID] = primary_key()
    sent_email_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), sa.ForeignKey("sent_emails.id"))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), sa.ForeignKey("campaigns.id"))
    contact_id: Mapped[uuid.UUID] = mapped_column(GUID(), sa.ForeignKey("contacts.id"))
    message_id: Mapped[str | None] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = timestamp_now()
    subject: Mapped[str | None] = mapped_column(sa.Text)
    snippet: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = timestamp_now()


class InboxCursor(Base):
    """Where reading one sender account's mailbox got to, and how the last poll went."""

    __tablename__ = "inbox_cursors"
    __table_args__ = (sa.UniqueConstraint("sender_account_id"),)

    id: Mapped[uuid.UUID] = primary_key()
    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id", ondelete="CASCADE")
    )
    cursor: Mapped[str | None] = mapped_column(sa.Text)
    """The reader's opaque position, stored with the rows of the page it ends."""
    polled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When the last poll was claimed."""
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    """Why the last poll failed; NULL after one that worked."""
    created_at: Mapped[datetime] = timestamp_now()


class InboxMessage(Base):
    """An inbound message about an email of ours that was acted on: a reply, a request to be
    removed, an auto-reply or a bounce. Unique by Message-ID, so nothing is acted on twice."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        sa.UniqueConstraint("sender_account_id", "provider_id"),
        sa.CheckConstraint(INBOX_KINDS, name="kind"),
        sa.Index(
            "ix_inbox_messages_message_id",
            "message_id",
            unique=True,
            postgresql_where=sa.text(WITH_MESSAGE_ID),
            sqlite_where=sa.text(WITH_MESSAGE_ID),
        ),
        sa.Index("ix_inbox_messages_campaign_id_received_at", "campaign_id", "received_at"),
        sa.Index("ix_inbox_messages_received_at", "received_at"),
        sa.Index("ix_inbox_messages_campaign_contact_id", "campaign_contact_id"),
        sa.Index("ix_inbox_messages_conversation_id", "conversation_id", "received_at"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id", ondelete="CASCADE")
    )
    provider_id: Mapped[str] = mapped_column(sa.Text)
    message_id: Mapped[str | None] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text)
    """Why it was read as this kind, and what was done."""
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    campaign_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("campaign_contacts.id", ondelete="CASCADE")
    )
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    sent_email_id: Mapped[uuid.UUID | None] = mapped_column(GUID())
    """No foreign key: see migration 0009."""
    email_reply_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("email_replies.id", ondelete="SET NULL")
    )
    matched_by: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str | None] = mapped_column(sa.Text)
    snippet: Mapped[str | None] = mapped_column(sa.Text)
    returns_on: Mapped[date | None] = mapped_column(sa.Date)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("conversations.id", ondelete="SET NULL")
    )
    body_text: Mapped[str | None] = mapped_column(sa.Text)
    """The text/plain part as it arrived (outreach.inbox.content); NULL for a message stored
    before 0014, which has its snippet only."""
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    """The text/html part as it arrived: shown only through outreach.inbox.sanitise."""
    body_truncated: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    created_at: Mapped[datetime] = timestamp_now()
    category: Mapped[str | None] = mapped_column(sa.Text)
    """What a person's reply means (inbox/reply_rules.Category, 0016); NULL until decided, and
    for every other kind of message."""
    category_by: Mapped[str | None] = mapped_column(sa.Text)
    """Who or what decided: a person's email, "the rules", a model's name."""
    category_by_person: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    """A person chose it: the machine never changes it after that."""
    category_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    category_reason: Mapped[str | None] = mapped_column(sa.Text)
    """Why: the phrase the rules found, the model's words, or what a person did."""


class ReplyCategorizing(Base):
    """The machine's work of categorizing one person's reply, claimed and recorded like every
    other piece of work with a network call in it (0016): queued → working → done. Records what
    a model was asked and what it cost, as drafts do."""

    __tablename__ = "reply_categorizations"
    __table_args__ = (
        sa.UniqueConstraint("inbox_message_id"),
        sa.CheckConstraint("status IN ('queued', 'working', 'done')", name="status"),
        sa.Index("ix_reply_categorizations_status_claimed_at", "status", "claimed_at"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    inbox_message_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("inbox_messages.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(sa.Text, server_default="queued")
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    category: Mapped[str | None] = mapped_column(sa.Text)
    """What the machine decided, also when a person's choice kept it from applying."""
    reason: Mapped[str | None] = mapped_column(sa.Text)
    model: Mapped[str | None] = mapped_column(sa.Text)
    """The model that decided, or "rules"."""
    prompt_version: Mapped[str | None] = mapped_column(sa.Text)
    input_sha256: Mapped[str | None] = mapped_column(sa.Text)
    input_tokens: Mapped[int | None] = mapped_column(sa.Integer)
    output_tokens: Mapped[int | None] = mapped_column(sa.Integer)
    cost_micros: Mapped[int | None] = mapped_column(sa.BigInteger)
    """Estimated by drafts/pricing.py, in millionths of a dollar."""
    created_at: Mapped[datetime] = timestamp_now()
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Conversation(Base):
    """Everything between one contact and one of our sender accounts: the emails we sent them
    from it (sent_emails, deliveries) and the messages of theirs we matched (inbox_messages)."""

    __tablename__ = "conversations"
    __table_args__ = (
        sa.UniqueConstraint("contact_id", "sender_account_id"),
        sa.Index("ix_conversations_last_message_at", "last_message_at"),
        sa.Index("ix_conversations_category_last_message_at", "category", "last_message_at"),
        sa.Index("ix_conversations_assigned_to", "assigned_to", "last_message_at"),
        *(
            sa.Index(
                f"ix_conversations_{state}",
                "last_message_at",
                postgresql_where=sa.text(state),
                sqlite_where=sa.text(state),
            )
            for state in ("unread", "needs_answer")
        ),
    )

    id: Mapped[uuid.UUID] = primary_key()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id", ondelete="CASCADE")
    )
    last_message_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    unread: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    """A message of theirs arrived that nobody has opened since."""
    needs_answer: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    """Their last message is a person's reply that nobody has answered or marked done."""
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    """The user who answers it; None while nobody is."""
    created_at: Mapped[datetime] = timestamp_now()
    category: Mapped[str | None] = mapped_column(sa.Text)
    """The category of their latest reply (0016), kept here so the inbox filters by it."""


class InboxAttachment(Base):
    """An attachment of an inbound message: always listed; its bytes kept when no larger than
    OUTREACH_INBOX_ATTACHMENT_MAX_BYTES."""

    __tablename__ = "inbox_attachments"
    __table_args__ = (sa.UniqueConstraint("inbox_message_id", "position"),)

    id: Mapped[uuid.UUID] = primary_key()
    inbox_message_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("inbox_messages.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(sa.Integer)
    """Order within the message, from 0."""
    filename: Mapped[str] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.Text)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    content_id: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = timestamp_now()


class Referral(Base):
    """An address a wrong person / referral reply points to, offered as a new contact for the
    same campaign (0016): created and enrolled only when a person confirms."""

    __tablename__ = "referrals"
    __table_args__ = (
        sa.UniqueConstraint("inbox_message_id", "email"),
        sa.CheckConstraint("status IN ('offered', 'confirmed', 'dismissed')", name="status"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    inbox_message_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("inbox_messages.id", ondelete="CASCADE")
    )
    referred_by_contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="offered")
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="SET NULL")
    )
    """The contact made when a person confirmed."""
    decided_by: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = timestamp_now()
