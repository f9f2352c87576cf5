"""The seed's email_analytics table: one row per UTC day, kept by database triggers."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import Base, utc_today


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
