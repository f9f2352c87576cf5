"""The seed's contact_lists, upload_batches, contacts and contact_list_members tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, JSONDocument, UtcDateTime


class ContactList(Base):
    __tablename__ = "contact_lists"

    id: Mapped[uuid.UUID] = primary_key()
    name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()
    # Raised in the transaction of every addition to the list (migration 0017): a campaign
    # that enrolled the list at this version has no one left to enroll.
    members_version: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))


class UploadBatch(Base):
    """One imported file. The seed's columns, then ours (migration 0003): where the file is,
    how to import it, what came of each row, and the heartbeat of the process importing it."""

    __tablename__ = "upload_batches"
    __table_args__ = (
        sa.Index("ix_upload_batches_status", "status"),
        sa.CheckConstraint("on_duplicate IN ('skip', 'update')", name="on_duplicate"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    file_name: Mapped[str] = mapped_column(sa.Text)
    column_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    total_contacts: Mapped[int | None] = mapped_column(sa.Integer, server_default=sa.text("0"))
    processed_contacts: Mapped[int | None] = mapped_column(sa.Integer, server_default=sa.text("0"))
    status: Mapped[str | None] = mapped_column(sa.Text, server_default="pending")
    created_at: Mapped[datetime] = timestamp_now()
    stored_path: Mapped[str | None] = mapped_column(sa.Text)
    sheet: Mapped[str | None] = mapped_column(sa.Text)
    list_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("contact_lists.id", ondelete="SET NULL")
    )
    on_duplicate: Mapped[str] = mapped_column(sa.Text, server_default="skip")
    imported_count: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    updated_count: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    duplicate_count: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    invalid_count: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    suppressed_count: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    role_count: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        sa.Index("idx_contacts_email", "email"),
        sa.Index("idx_contacts_upload_batch", "upload_batch_id"),
        # The seed's UNIQUE (email), on the address as compared: case-insensitively, since
        # mail systems treat Jane@x.com and jane@x.com as one mailbox.
        sa.Index("contacts_email_unique", sa.func.lower(sa.column("email")), unique=True),
        sa.Index("ix_contacts_lead_status", "lead_status"),
        # Company search (ILIKE '%x%') on PostgreSQL: trigrams; SQLite has no such index.
        sa.Index(
            "ix_contacts_company_trgm",
            "company",
            postgresql_using="gin",
            postgresql_ops={"company": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    upload_batch_id: Mapped[uuid.UUID] = mapped_column(GUID(), sa.ForeignKey("upload_batches.id"))
    raw_data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    name: Mapped[str | None] = mapped_column(sa.Text)
    email: Mapped[str] = mapped_column(sa.Text)
    company: Mapped[str | None] = mapped_column(sa.Text)
    enriched_data: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = timestamp_now()
    first_name: Mapped[str | None] = mapped_column(sa.Text)
    last_name: Mapped[str | None] = mapped_column(sa.Text)
    title: Mapped[str | None] = mapped_column(sa.Text)
    timezone: Mapped[str | None] = mapped_column(sa.Text)
    website: Mapped[str | None] = mapped_column(sa.Text)
    role_address: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    lead_status: Mapped[str] = mapped_column(sa.Text, server_default="new")
    """Where the contact stands (contacts/leads.py, 0016); its changes are in contact_changes."""
    lead_status_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lead_status_by: Mapped[str | None] = mapped_column(sa.Text)
    lead_status_by_person: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    """A person chose the status: events never change it after that; only a person does."""


class ContactListMember(Base):
    __tablename__ = "contact_list_members"
    __table_args__ = (
        sa.UniqueConstraint("contact_id", "list_id", name="unique_contact_list_member"),
        # A list's members (its size, its contacts, new members to enroll): the unique key
        # above leads with contact_id and cannot serve them (migration 0017).
        sa.Index("ix_contact_list_members_list_id_contact_id", "list_id", "contact_id"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    list_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contact_lists.id", ondelete="CASCADE")
    )
    added_at: Mapped[datetime] = timestamp_now()


class ContactListSize(Base):
    """A list's number of members, kept by triggers on contact_list_members (migration 0034) so
    that a page of lists costs its rows, not its lists' members; derived, never exported."""

    __tablename__ = "contact_list_sizes"

    list_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True
    )
    members: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))


class UploadProblem(Base):
    """A row of an upload that did not become a contact, and why: the downloadable report."""

    __tablename__ = "upload_problems"
    __table_args__ = (
        sa.Index("ix_upload_problems_upload_batch_id_line", "upload_batch_id", "line"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    upload_batch_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("upload_batches.id", ondelete="CASCADE")
    )
    line: Mapped[int] = mapped_column(sa.Integer)
    outcome: Mapped[str] = mapped_column(sa.Text)
    value: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text)


class ColumnMapping(Base):
    """A column mapping saved under a name, to import the next export from the same tool."""

    __tablename__ = "column_mappings"

    id: Mapped[uuid.UUID] = primary_key()
    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


class Suppression(Base):
    """An address or a whole domain that must never be emailed. Stored lower-cased."""

    __tablename__ = "suppressions"
    __table_args__ = (
        sa.CheckConstraint("(email IS NULL) <> (domain IS NULL)", name="email_or_domain"),
        sa.CheckConstraint(
            "reason IN ('unsubscribed', 'bounced', 'complained', 'manual')", name="reason"
        ),
    )

    id: Mapped[uuid.UUID] = primary_key()
    email: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    domain: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = timestamp_now()


class ContactChange(Base):
    """A change to what is known of a contact's standing, for their history: their lead status
    or the category of one of their replies, what it was and became, who or what changed it,
    when and why (0016)."""

    __tablename__ = "contact_changes"
    __table_args__ = (
        sa.CheckConstraint("field IN ('lead_status', 'category')", name="field"),
        sa.Index("ix_contact_changes_contact_id_changed_at", "contact_id", "changed_at"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    field: Mapped[str] = mapped_column(sa.Text)
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str] = mapped_column(sa.Text)
    changed_by: Mapped[str] = mapped_column(sa.Text)
    """Who or what: a person's email, "the rules", a model's name, "a send", "a reply"."""
    changed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    """Set when a person made the change."""
    reason: Mapped[str | None] = mapped_column(sa.Text)
    inbox_message_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("inbox_messages.id", ondelete="SET NULL")
    )
    """The reply a category belongs to, or that an event came from."""
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ContactNote(Base):
    """What a person wrote down about a contact; part of the contact's history (0020)."""

    __tablename__ = "contact_notes"
    __table_args__ = (sa.Index("ix_contact_notes_contact_id", "contact_id", "created_at"),)

    id: Mapped[uuid.UUID] = primary_key()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("contacts.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    """None once the user who wrote it is deleted."""
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = timestamp_now()
