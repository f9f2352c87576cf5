"""The seed's email_analytics table: one row per UTC day, kept by database triggers."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, UtcDateTime, utc_today


class EmailAnalytics(Base):
    __tablename__ = "email_analytics"

    id: Mapped[uuid.UUID] = primary_key()
    date: Mapped[dt.date] = mapped_column(sa.Date, unique=True, server_default=utc_today())
    total_drafts_created: Mapped[int | None] = mapped_column(
        sa.Integer, server_default=sa.text("0")
    )
    total_drafts_approved: Mapped[int | None] = mapped_column(
        sa.Integer, server_default=sa.text("0")
    )
    total_emails_sent: Mapped[int | None] = mapped_column(sa.Integer, server_default=sa.text("0"))
    total_followups_sent: Mapped[int | None] = mapped_column(
        sa.Integer, server_default=sa.text("0")
    )
    created_at: Mapped[dt.datetime] = timestamp_now()


class AnalyticsRollup(Base):
    """What the campaign emails of one UTC day produced, by campaign, step, sender account and
    recipient provider (migration 0022): kept by database triggers in the transaction of each
    send, reply, category change, bounce and unsubscribe; rebuilt, never exported."""

    __tablename__ = "analytics_rollups"
    __table_args__ = (
        # A campaign's figures over all time or a range (the PK serves ranges over every one).
        sa.Index("ix_analytics_rollups_campaign_id_day", "campaign_id", "day"),
        # On SQLite the rows are stored in key order (day first): a range of days is read in
        # one pass instead of a lookup per row through the key's index.
        {"sqlite_with_rowid": False},
    )

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    sequence_step: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    """The step of the email counted (0 when the seed's row has none)."""
    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    """The recipient's mail provider (google, microsoft, other), `unknown` while its domain's
    MX records are not resolved yet."""
    sent: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    replied: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    positive: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    bounced: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    unsubscribed: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))


class RecipientDomain(Base):
    """A recipient domain and its mail provider, from its MX records resolved once (0022).

    A send to a domain not seen before adds it with no provider (a trigger); a worker job
    resolves it and moves what was counted `unknown` to its provider."""

    __tablename__ = "recipient_domains"
    __table_args__ = (
        sa.Index(
            "ix_recipient_domains_unresolved",
            "created_at",
            postgresql_where=sa.text("resolved_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = primary_key()
    domain: Mapped[str] = mapped_column(sa.Text, unique=True)
    provider: Mapped[str | None] = mapped_column(sa.Text)
    mail_exchanger: Mapped[str | None] = mapped_column(sa.Text)
    """The preferred MX host, as it was resolved ("" when the domain has none)."""
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = timestamp_now()


class ImplicitApproval(Base):
    """Per UTC day, the drafts that count as approved on the home page although they never
    became `approved`, so the seed's trigger never counted them (migration 0035): kept by
    triggers on email_drafts and deliveries, rebuilt, never exported (analytics/approvals.py)."""

    __tablename__ = "implicit_approvals"

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    written_approved: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """Drafts written approved (approved_at = created_at), on the day written: a campaign step
    from its template at queueing, a person's answer as they wrote it."""
    sent_unreviewed: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """Campaign deliveries of a draft nobody approved (approved_at empty: an AI-written step a
    campaign sends without approval), on the day queued."""
