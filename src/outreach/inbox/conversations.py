"""Conversations: the list a person works through (newest first, filtered) and one
conversation's thread, our emails and theirs in order.

A conversation row exists once a contact wrote to one of our mailboxes (inbox/service.py makes
it); our campaign emails are not copied into it but read from sent_emails by contact and
sender account, so sending costs nothing more. Services flush; the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from outreach.access.models import User
from outreach.campaigns.models import Campaign
from outreach.contacts.models import Contact
from outreach.db import get_or_not_found, keyset_cursor, read_cursor
from outreach.delivery.models import SentEmail
from outreach.errors import NotFound
from outreach.inbox.categories import CATEGORIZED_KINDS
from outreach.inbox.models import Conversation, InboxAttachment, InboxMessage
from outreach.inbox.quoting import split_html, split_text
from outreach.inbox.sanitise import SafeHtml, safe_html
from outreach.senders.models import SenderAccount


@dataclass(frozen=True)
class ConversationFilter:
    campaign_id: uuid.UUID | None = None
    """Conversations with a message about an email of this campaign."""
    sender_account_id: uuid.UUID | None = None
    unread: bool | None = None
    needs_answer: bool | None = None
    category: str | None = None
    """Their latest reply's category (inbox/reply_rules.Category); served by
    ix_conversations_category_last_message_at."""
    lead_status: str | None = None
    """The contact's lead status (contacts/leads.LeadStatus)."""
    assigned_to: uuid.UUID | None = None
    """Conversations this user answers."""


@dataclass(frozen=True)
class Listed:
    conversation: Conversation
    contact: Contact
    sender_email: str
    subject: str | None
    """The subject of their latest message."""
    snippet: str | None
    """The first words of their latest message."""
    assignee_email: str | None
    """Who answers it, if anyone does."""


def page(
    session: Session, where: ConversationFilter, before: str | None, limit: int
) -> tuple[list[Listed], str | None]:
    """A page of conversations, newest message first, and the cursor of the next page (keyset on
    last_message_at and id, served by ix_conversations_last_message_at)."""
    statement = (
        _listing()
        .where(*_conditions(where))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(limit + 1)
    )
    if before:
        at, conversation_id = read_cursor(before, "after")
        statement = statement.where(
            sa.or_(
                Conversation.last_message_at < at,
                sa.and_(Conversation.last_message_at == at, Conversation.id < conversation_id),
            )
        )
    rows = [Listed(*row) for row in session.execute(statement)]
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].conversation if more and rows else None
    return rows, (keyset_cursor(last.last_message_at, last.id) if last else None)


def listed(session: Session, conversation_id: uuid.UUID) -> Listed:
    """One conversation as the list shows it; NotFound when there is none."""
    row = session.execute(_listing().where(Conversation.id == conversation_id)).one_or_none()
    if row is None:
        raise NotFound(f"There is no conversation {conversation_id}.")
    return Listed(*row)


def _listing() -> sa.Select[Conversation, Contact, str, str | None, str | None, str | None]:
    """Each conversation with its contact, its mailbox, and their latest message's subject and
    first words (that message found by a correlated subquery on
    ix_inbox_messages_conversation_id; SQLite has no LATERAL)."""
    latest = (
        sa.select(InboxMessage.id)
        .where(InboxMessage.conversation_id == Conversation.id)
        .order_by(InboxMessage.received_at.desc())
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )
    return (
        sa.select(
            Conversation,
            Contact,
            SenderAccount.email,
            InboxMessage.subject,
            InboxMessage.snippet,
            User.email,
        )
        .join(Contact, Contact.id == Conversation.contact_id)
        .join(SenderAccount, SenderAccount.id == Conversation.sender_account_id)
        .outerjoin(InboxMessage, InboxMessage.id == latest)
        .outerjoin(User, User.id == Conversation.assigned_to)
    )


def _conditions(where: ConversationFilter) -> list[sa.ColumnElement[bool] | sa.TextClause]:
    conditions: list[sa.ColumnElement[bool] | sa.TextClause] = []
    if where.sender_account_id is not None:
        conditions.append(Conversation.sender_account_id == where.sender_account_id)
    flags = (
        ("unread", Conversation.unread, where.unread),
        ("needs_answer", Conversation.needs_answer, where.needs_answer),
    )
    for name, column, wanted in flags:
        if wanted is not None:
            conditions.append(in_state(name) if wanted else column.is_(False))
    if where.assigned_to is not None:
        conditions.append(Conversation.assigned_to == where.assigned_to)
    if where.category is not None:
        conditions.append(Conversation.category == where.category)
    if where.lead_status is not None:
        conditions.append(Contact.lead_status == where.lead_status)
    if where.campaign_id is not None:
        about = aliased(InboxMessage)  # the listing joins InboxMessage for the latest message
        conditions.append(
            sa.exists().where(
                about.conversation_id == Conversation.id, about.campaign_id == where.campaign_id
            )
        )
    return conditions


@dataclass(frozen=True)
class Entry:
    """One email in a thread: ours (a sent email) or theirs (an inbox message)."""

    id: uuid.UUID
    """The sent email's, or the inbox message's."""
    ours: bool
    at: datetime
    kind: str
    """"sent" for ours; human_reply, unsubscribe_request, auto_reply or bounce for theirs."""
    subject: str | None
    text: str | None
    """Their own words (or ours), without the history they quote."""
    quoted_text: str | None
    html: SafeHtml | None
    """Their own part of the HTML, made safe."""
    quoted_html: SafeHtml | None
    """The quoted history of the HTML, made safe; a page folds it away."""
    truncated: bool
    campaign_id: uuid.UUID | None
    step: int | None
    """The step of ours this email is, or answers."""
    attachments: tuple[InboxAttachment, ...]
    reply: InboxMessage | None = None
    """Theirs, when a person wrote it: the reply with its category (who set it, when, why)."""

    @property
    def blocked_images(self) -> int:
        return sum(part.blocked_images for part in (self.html, self.quoted_html) if part)


@dataclass(frozen=True)
class Thread:
    listed: Listed
    entries: tuple[Entry, ...]
    campaigns: dict[uuid.UUID, str]
    """The name of each campaign an email in the thread belongs to."""


def thread(
    session: Session,
    conversation_id: uuid.UUID,
    *,
    show_images: bool,
    attachment_url: Callable[[InboxAttachment], str],
) -> Thread:
    """The conversation and every email in it, oldest first; HTML made safe to show, inline
    images served from `attachment_url`."""
    found = listed(session, conversation_id)
    conversation = found.conversation
    theirs = session.scalars(
        sa.select(InboxMessage).where(InboxMessage.conversation_id == conversation.id)
    ).all()
    attachments = _attachments(session, [message.id for message in theirs])
    ours = _sent(session, conversation)
    steps = {sent.id: sent.sequence_step for sent in ours}
    entries = [
        _their_entry(
            message,
            attachments.get(message.id, ()),
            steps.get(message.sent_email_id) if message.sent_email_id else None,
            show_images,
            attachment_url,
        )
        for message in theirs
    ]
    entries += [_our_entry(sent) for sent in ours]
    entries.sort(key=lambda entry: (entry.at, not entry.ours))  # a reply never precedes ours
    return Thread(found, tuple(entries), _campaign_names(session, entries))


def _campaign_names(session: Session, entries: list[Entry]) -> dict[uuid.UUID, str]:
    ids = {entry.campaign_id for entry in entries if entry.campaign_id}
    if not ids:
        return {}
    rows = session.execute(sa.select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids)))
    return dict(rows.all())


def _sent(session: Session, conversation: Conversation) -> list[SentEmail]:
    return list(
        session.scalars(
            sa.select(SentEmail).where(
                SentEmail.contact_id == conversation.contact_id,
                SentEmail.sender_account_id == conversation.sender_account_id,
            )
        )
    )


def _attachments(
    session: Session, message_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[InboxAttachment, ...]]:
    found: dict[uuid.UUID, list[InboxAttachment]] = {}
    rows = session.scalars(
        sa.select(InboxAttachment)
        .where(InboxAttachment.inbox_message_id.in_(message_ids))
        .order_by(InboxAttachment.position)
    )
    for attachment in rows:
        found.setdefault(attachment.inbox_message_id, []).append(attachment)
    return {message_id: tuple(listed) for message_id, listed in found.items()}


def _their_entry(
    message: InboxMessage,
    attachments: tuple[InboxAttachment, ...],
    step: int | None,
    show_images: bool,
    attachment_url: Callable[[InboxAttachment], str],
) -> Entry:
    inline = {a.content_id: attachment_url(a) for a in attachments if a.content_id and a.data}

    def safe(part: str | None) -> SafeHtml | None:
        return safe_html(part, show_images=show_images, inline_images=inline) if part else None

    html = split_html(message.body_html) if message.body_html else None
    text = message.body_text if message.body_text is not None else message.snippet
    words = split_text(text) if text else None
    return Entry(
        id=message.id,
        ours=False,
        at=message.received_at,
        kind=message.kind,
        subject=message.subject,
        text=words.own if words else None,
        quoted_text=words.quoted if words else None,
        html=safe(html.own) if html else None,
        quoted_html=safe(html.quoted) if html else None,
        truncated=message.body_truncated,
        campaign_id=message.campaign_id,
        step=step,
        attachments=attachments,
        reply=message if message.kind in CATEGORIZED_KINDS else None,
    )


def _our_entry(sent: SentEmail) -> Entry:
    return Entry(
        id=sent.id,
        ours=True,
        at=sent.sent_at,
        kind="sent",
        subject=sent.subject,
        text=sent.body,
        quoted_text=None,
        html=None,
        quoted_html=None,
        truncated=False,
        campaign_id=sent.campaign_id,
        step=sent.sequence_step,
        attachments=(),
    )


def kept_attachment(
    session: Session, conversation_id: uuid.UUID, attachment_id: uuid.UUID
) -> InboxAttachment:
    """An attachment of a message in the conversation whose bytes were kept; NotFound for any
    other, and for one that was only listed."""
    found = session.scalars(
        sa.select(InboxAttachment)
        .join(InboxMessage, InboxMessage.id == InboxAttachment.inbox_message_id)
        .where(
            InboxAttachment.id == attachment_id,
            InboxMessage.conversation_id == conversation_id,
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"There is no attachment {attachment_id} in this conversation.")
    if found.data is None:
        raise NotFound(
            f"{found.filename or 'This attachment'} ({found.size_bytes:,} bytes) was larger than "
            "OUTREACH_INBOX_ATTACHMENT_MAX_BYTES, so it was listed but not kept: it is still in "
            "the mailbox."
        )
    return found


@dataclass(frozen=True)
class Counts:
    unread: int
    needs_answer: int


def counts(session: Session) -> Counts:
    """How many conversations are unread and how many wait for an answer, for the navigation
    on every page: each counted on its partial index (ix_conversations_unread,
    ix_conversations_needs_answer), which holds only the conversations in that state."""
    unread, needs_answer = (
        session.scalar(sa.select(sa.func.count()).select_from(Conversation).where(in_state(name)))
        or 0
        for name in ("unread", "needs_answer")
    )
    return Counts(unread, needs_answer)


def in_state(name: str) -> sa.TextClause:
    """Conversations whose flag `name` (unread, needs_answer) is set, in the words of the
    partial index on it: SQLite uses a partial index only for a condition it can prove from the
    query's, and `unread = 1` proves nothing about `unread`."""
    return sa.text(f"conversations.{name}")


def assign(session: Session, conversation_id: uuid.UUID, user_id: uuid.UUID | None) -> None:
    """Give the conversation to a user to answer (None: to nobody)."""
    conversation = get_or_not_found(session, Conversation, conversation_id, "conversation")
    if user_id is not None:
        get_or_not_found(session, User, user_id, "user")
    conversation.assigned_to = user_id
    session.flush()


def mark(
    session: Session, conversation_id: uuid.UUID, *, unread: bool | None, needs_answer: bool | None
) -> Conversation:
    """A person read the conversation, or marked it done (it needs no answer)."""
    conversation = get_or_not_found(session, Conversation, conversation_id, "conversation")
    if unread is not None:
        conversation.unread = unread
    if needs_answer is not None:
        conversation.needs_answer = needs_answer
    session.flush()
    return conversation
