"""The seed's email_replies table. Inserting a row stops the enrollment (a database trigger)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base


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
