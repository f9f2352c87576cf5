"""The seed's contact_lists, upload_batches, contacts and contact_list_members tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, JSONDocument


class ContactList(Base):
    __tablename__ = "contact_lists"

    id: Mapped[uuid.UUID] = primary_key()
    name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


class UploadBatch(Base):
    __tablename__ = "upload_batches"

    id: Mapped[uuid.UUID] = primary_key()
    file_name: Mapped[str] = mapped_column(sa.Text)
    column_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    total_contacts: Mapped[int | None] = mapped_column(sa.Integer, server_default=sa.text("0"))
    processed_contacts: Mapped[int | None] = mapped_column(sa.Integer, server_default=sa.text("0"))
    status: Mapped[str | None] = mapped_column(sa.Text, server_default="pending")
    created_at: Mapped[datetime] = timestamp_now()


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        sa.Index("idx_contacts_email", "email"),
        sa.Index("idx_contacts_upload_batch", "upload_batch_id"),
        # The seed's UNIQUE (email), on the address as compared: case-insensitively, since
        # mail systems treat Jane@x.com and jane@x.com as one mailbox.
        sa.Index("contacts_email_unique", sa.func.lower(sa.column("email")), unique=True),
    )

    id: Mapped[uuid.UUID] = primary_key()
    upload_batch_id: Mapped[uuid.UUID] = mapped_column(GUID(), sa.ForeignKey("upload_batches.id"))
    raw_data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    name: Mapped[str | None] = mapped_column(sa.Text)
    email: Mapped[str] = mapped_column(sa.Text)
    company: Mapped[str | None] = mapped_column(sa.Text)
    enriched_data: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = timestamp_now()


class ContactListMember(Base):
    __tablename__ = "contact_list_members"
    __table_args__ = (
        sa.UniqueConstraint("contact_id", "list_id", name="unique_contact_list_member"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    list_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contact_lists.id", ondelete="CASCADE")
    )
    added_at: Mapped[datetime] = timestamp_now()
