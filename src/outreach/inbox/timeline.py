"""A contact's history: everything that happened with them, newest first, as one list of
typed entries: imported, lists joined, enrollments, every email sent, every message of theirs
(replies whole, auto-replies, requests to be removed, bounces), suppressions, notes, and each
change of their lead status and of their replies' categories (who made it, and why).

Each kind of entry comes from one source below; another kind (a category or a lead status
set) is one more source in SOURCES. Pages are keyset-paged on (at, source, id) across all
sources: each source reads at most a page before the cursor (each served by an index on the
contact), and the merge keeps the newest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVarTuple

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session

from outreach.access.models import User
from outreach.campaigns.models import Campaign, CampaignContact
from outreach.contacts.leads import LeadStatus
from outreach.contacts.models import (
    Contact,
    ContactChange,
    ContactList,
    ContactListMember,
    ContactNote,
    Suppression,
    UploadBatch,
)
from outreach.db import get_or_not_found, keyset_cursor, read_cursor
from outreach.delivery.models import SentEmail
from outreach.errors import ValidationFailed
from outreach.inbox.models import InboxMessage
from outreach.inbox.parse import html_text
from outreach.inbox.reply_rules import Category
from outreach.senders.models import SenderAccount


class EntryKind(StrEnum):
    imported = "imported"
    joined_list = "joined_list"
    enrolled = "enrolled"
    sent = "sent"
    reply = "reply"
    auto_reply = "auto_reply"
    unsubscribe_request = "unsubscribe_request"
    bounce = "bounce"
    suppressed = "suppressed"
    note = "note"
    lead_status = "lead_status"
    category = "category"


@dataclass(frozen=True)
class TimelineEntry:
    kind: EntryKind
    at: datetime
    id: uuid.UUID
    """The row it was read from: with `at`, where a page ends."""
    title: str
    """One line saying what happened."""
    body: str | None = None
    """The email as sent, their message whole, or the note."""
    by: str | None = None
    """Who: the sender account an email went from, the note's author."""
    subject: str | None = None
    campaign_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Window:
    """What one source may give: entries older than where the last page ended, in the order
    (at, source, id), newest first. A source's rank is its place in SOURCES, so that what
    happened at the same moment reads in the order it follows from (enrolled, then sent)."""

    rank: int
    before: tuple[datetime, int, uuid.UUID] | None
    """(at, rank, id) of the last entry shown; None: from the newest."""

    def where(
        self, at: QueryableAttribute[datetime], row_id: QueryableAttribute[uuid.UUID]
    ) -> sa.ColumnElement[bool]:
        if self.before is None:
            return sa.true()
        last_at, last_rank, last_id = self.before
        if self.rank < last_rank:
            return at <= last_at
        if self.rank > last_rank:
            return at < last_at
        return sa.or_(at < last_at, sa.and_(at == last_at, row_id < last_id))

    def admits(self, at: datetime, row_id: uuid.UUID) -> bool:
        return self.before is None or (at, self.rank, row_id) < self.before


Row = TypeVarTuple("Row")
Source = Callable[[Session, Contact, Window, int], list[TimelineEntry]]


def timeline(
    session: Session, contact_id: uuid.UUID, before: str | None, limit: int
) -> tuple[list[TimelineEntry], str | None]:
    """A page of the contact's history, newest first, and the cursor of the next page."""
    contact = get_or_not_found(session, Contact, contact_id, "contact")
    last = _read(before) if before else None
    found = [
        (entry.at, rank, entry.id, entry)
        for rank, source in enumerate(SOURCES)
        for entry in source(session, contact, Window(rank, last), limit + 1)
    ]
    found.sort(key=lambda item: item[:3], reverse=True)
    page = found[:limit]
    cursor = _cursor(*page[-1][:3]) if len(found) > limit else None
    return [entry for *_, entry in page], cursor


def _cursor(at: datetime, rank: int, row_id: uuid.UUID) -> str:
    return f"{rank}.{keyset_cursor(at, row_id)}"


def _read(text: str) -> tuple[datetime, int, uuid.UUID]:
    rank, _, rest = text.partition(".")
    if not rank.isdigit():
        raise ValidationFailed("This page cursor is not one we gave.", field="after")
    at, row_id = read_cursor(rest, "after")
    return at, int(rank), row_id


def _newest(
    statement: sa.Select[*Row],
    at: QueryableAttribute[datetime],
    row_id: QueryableAttribute[uuid.UUID],
    window: Window,
    limit: int,
) -> sa.Select[*Row]:
    """The statement's newest `limit` rows in the window."""
    return statement.where(window.where(at, row_id)).order_by(at.desc(), row_id.desc()).limit(limit)


def _imported(
    session: Session, contact: Contact, window: Window, limit: int
) -> list[TimelineEntry]:
    if not window.admits(contact.created_at, contact.id):
        return []
    file_name = session.scalar(
        sa.select(UploadBatch.file_name).where(UploadBatch.id == contact.upload_batch_id)
    )
    return [
        TimelineEntry(
            EntryKind.imported, contact.created_at, contact.id, f"Imported from {file_name}"
        )
    ]


def _lists(session: Session, contact: Contact, window: Window, limit: int) -> list[TimelineEntry]:
    rows = session.execute(
        _newest(
            sa.select(ContactListMember.id, ContactListMember.added_at, ContactList.name)
            .join(ContactList, ContactList.id == ContactListMember.list_id)
            .where(ContactListMember.contact_id == contact.id),
            ContactListMember.added_at,
            ContactListMember.id,
            window,
            limit,
        )
    )
    return [
        TimelineEntry(EntryKind.joined_list, at, row_id, f"Joined the list {name}")
        for row_id, at, name in rows
    ]


def _enrollments(
    session: Session, contact: Contact, window: Window, limit: int
) -> list[TimelineEntry]:
    rows = session.execute(
        _newest(
            sa.select(
                CampaignContact.id,
                CampaignContact.enrolled_at,
                CampaignContact.status,
                Campaign.id,
                Campaign.name,
            )
            .join(Campaign, Campaign.id == CampaignContact.campaign_id)
            .where(CampaignContact.contact_id == contact.id),
            CampaignContact.enrolled_at,
            CampaignContact.id,
            window,
            limit,
        )
    )
    return [
        TimelineEntry(
            EntryKind.enrolled,
            at,
            row_id,
            f"Enrolled in {name} (now {status.replace('_', ' ')})",
            campaign_id=campaign_id,
        )
        for row_id, at, status, campaign_id, name in rows
    ]


def _sent(session: Session, contact: Contact, window: Window, limit: int) -> list[TimelineEntry]:
    rows = session.execute(
        _newest(
            sa.select(SentEmail, SenderAccount.email, Campaign.name)
            .join(SenderAccount, SenderAccount.id == SentEmail.sender_account_id)
            .outerjoin(Campaign, Campaign.id == SentEmail.campaign_id)
            .where(SentEmail.contact_id == contact.id),
            SentEmail.sent_at,
            SentEmail.id,
            window,
            limit,
        )
    )
    return [
        TimelineEntry(
            EntryKind.sent,
            sent.sent_at,
            sent.id,
            f"Sent: {campaign}, step {sent.sequence_step}" if campaign else "Sent",
            body=sent.body,
            by=sender,
            subject=sent.subject,
            campaign_id=sent.campaign_id,
        )
        for sent, sender, campaign in rows
    ]


_THEIRS = {
    "human_reply": (EntryKind.reply, "Replied"),
    "auto_reply": (EntryKind.auto_reply, "Auto-reply"),
    "unsubscribe_request": (EntryKind.unsubscribe_request, "Asked to be removed"),
    "bounce": (EntryKind.bounce, "Bounced"),
}


def _theirs(session: Session, contact: Contact, window: Window, limit: int) -> list[TimelineEntry]:
    rows = session.scalars(
        _newest(
            sa.select(InboxMessage).where(InboxMessage.contact_id == contact.id),
            InboxMessage.received_at,
            InboxMessage.id,
            window,
            limit,
        )
    )
    return [_their_entry(message) for message in rows]


def _their_entry(message: InboxMessage) -> TimelineEntry:
    kind, said = _THEIRS[message.kind]
    if message.body_text is not None:
        body: str | None = message.body_text
    elif message.body_html is not None:
        body = html_text(message.body_html)
    else:
        body = message.snippet
    return TimelineEntry(
        kind,
        message.received_at,
        message.id,
        f"{said}: {message.reason}",
        body=body,
        subject=message.subject,
        campaign_id=message.campaign_id,
        conversation_id=message.conversation_id,
    )


def _suppressed(
    session: Session, contact: Contact, window: Window, limit: int
) -> list[TimelineEntry]:
    rows = session.scalars(
        _newest(
            sa.select(Suppression).where(Suppression.email == contact.email.lower()),
            Suppression.created_at,
            Suppression.id,
            window,
            limit,
        )
    )
    return [
        TimelineEntry(
            EntryKind.suppressed,
            found.created_at,
            found.id,
            f"Suppressed ({found.reason})" + (f": {found.source}" if found.source else ""),
        )
        for found in rows
    ]


def _notes(session: Session, contact: Contact, window: Window, limit: int) -> list[TimelineEntry]:
    rows = session.execute(
        _newest(
            sa.select(ContactNote, User.email)
            .outerjoin(User, User.id == ContactNote.author_id)
            .where(ContactNote.contact_id == contact.id),
            ContactNote.created_at,
            ContactNote.id,
            window,
            limit,
        )
    )
    return [
        TimelineEntry(EntryKind.note, note.created_at, note.id, "Note", body=note.text, by=author)
        for note, author in rows
    ]


def _changes(session: Session, contact: Contact, window: Window, limit: int) -> list[TimelineEntry]:
    rows = session.scalars(
        _newest(
            sa.select(ContactChange).where(ContactChange.contact_id == contact.id),
            ContactChange.changed_at,
            ContactChange.id,
            window,
            limit,
        )
    )
    return [_change_entry(change) for change in rows]


def _change_entry(change: ContactChange) -> TimelineEntry:
    def words(value: str) -> str:
        return (Category if change.field == "category" else LeadStatus)(value).words

    if change.field == "category":
        kind = EntryKind.category
        title = "Reply categorized" if change.old_value is None else "Category changed"
    else:
        kind, title = EntryKind.lead_status, "Lead status"
    new = words(change.new_value)
    title += f": {words(change.old_value)} → {new}" if change.old_value else f": {new}"
    return TimelineEntry(
        kind, change.changed_at, change.id, title, body=change.reason, by=change.changed_by
    )


SOURCES: tuple[Source, ...] = (
    _imported,
    _lists,
    _enrollments,
    _sent,
    _theirs,
    _changes,
    _suppressed,
    _notes,
)
