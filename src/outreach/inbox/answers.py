"""Answering a conversation: the answer goes from the conversation's sender account to its
contact, in its thread. The text is the person's, with the contact's merge fields filled (the
campaigns' template renderer) and the account's signature under it; the subject is "Re: " and
the subject of the thread's last message (never "Re: Re: "); In-Reply-To names that message
and References the thread's messages up to it (a long thread trimmed as mime.ids trims). The
ledger's side (drafts, sending now or later, one send per answer) is delivery/answers.py.
Services flush; the caller commits.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.service import fields_of
from outreach.campaigns.templates.rendering import render
from outreach.contacts.models import Contact
from outreach.db import get_or_not_found
from outreach.delivery import answers
from outreach.delivery.models import Answer, SentEmail
from outreach.errors import NotFound
from outreach.inbox.mime import ids
from outreach.inbox.models import Conversation, InboxMessage
from outreach.senders.models import SenderAccount

_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw|réf|rif)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class _Said:
    """One message of the thread, as answering needs it."""

    at: datetime
    message_id: str
    subject: str | None
    provider_id: str | None
    """Theirs only: the provider's id of the message in our mailbox."""


def reply_subject(subject: str | None) -> str:
    """ "Re: " before the subject, once: a subject that starts with a reply prefix already
    (Re:, RE:, AW:, SV: …) gets "Re: " instead of another."""
    rest = _REPLY_PREFIX.sub("", (subject or "").strip(), count=1)
    return f"Re: {rest}" if rest else "Re:"


def draft(
    session: Session, conversation_id: uuid.UUID, body: str, now: datetime, by: uuid.UUID | None
) -> Answer:
    """A new answer in the conversation, kept as a draft."""
    conversation = get_or_not_found(session, Conversation, conversation_id, "conversation")
    return answers.save(
        session, conversation.contact_id, conversation.sender_account_id, body, now, by
    )


def send(
    session: Session,
    conversation_id: uuid.UUID,
    body: str,
    at: datetime,
    now: datetime,
    by: uuid.UUID | None,
) -> Answer:
    """A new answer, sent at `at` (now: on the worker's next pass)."""
    answer = draft(session, conversation_id, body, now, by)
    return send_draft(session, conversation_id, answer.id, at, now)


def send_draft(
    session: Session,
    conversation_id: uuid.UUID,
    answer_id: uuid.UUID,
    at: datetime,
    now: datetime,
    body: str | None = None,
) -> Answer:
    """A draft of the conversation sent at `at` (with `body`, its text as last edited). The
    conversation then needs no answer."""
    answer = _answer(session, conversation_id, answer_id)
    conversation = get_or_not_found(session, Conversation, conversation_id, "conversation")
    if body is not None:
        answers.edit(session, answer.id, body)
    answers.schedule(session, answer.id, _outgoing(session, conversation, answer.body), at, now)
    conversation.needs_answer = False
    session.flush()
    return answer


def unschedule(session: Session, conversation_id: uuid.UUID, answer_id: uuid.UUID) -> Answer:
    """An answer of the conversation waiting for its time becomes a draft again."""
    return answers.unschedule(session, _answer(session, conversation_id, answer_id).id)


def delete(session: Session, conversation_id: uuid.UUID, answer_id: uuid.UUID) -> None:
    """Deletes a draft of the conversation."""
    answers.delete(session, _answer(session, conversation_id, answer_id).id)


def _answer(session: Session, conversation_id: uuid.UUID, answer_id: uuid.UUID) -> Answer:
    """The answer, when it belongs to this conversation; NotFound otherwise."""
    conversation = get_or_not_found(session, Conversation, conversation_id, "conversation")
    answer = session.get(Answer, answer_id)
    if (
        answer is None
        or answer.contact_id != conversation.contact_id
        or answer.sender_account_id != conversation.sender_account_id
    ):
        raise NotFound(f"There is no answer {answer_id} in this conversation.")
    return answer


def waiting(session: Session, conversation_id: uuid.UUID) -> list[answers.Standing]:
    """The conversation's answers not sent yet: drafts, scheduled, in flight, in doubt."""
    conversation = get_or_not_found(session, Conversation, conversation_id, "conversation")
    return answers.of_thread(session, conversation.contact_id, conversation.sender_account_id)


def _outgoing(session: Session, conversation: Conversation, body: str) -> answers.Outgoing:
    contact = session.get(Contact, conversation.contact_id)
    sender = session.get(SenderAccount, conversation.sender_account_id)
    assert contact is not None
    assert sender is not None
    # Only the person's text is a template: the subject is the contact's, never evaluated.
    text = render("answer", body, None, fields_of(contact)).text
    if sender.signature and sender.signature.strip():
        text = f"{text}\n\n{sender.signature.strip()}"
    said = _thread(session, conversation)
    last = said[-1] if said else None
    return answers.Outgoing(
        subject=reply_subject(last.subject if last else None),
        text=text,
        in_reply_to=last.message_id if last else None,
        references=ids(" ".join(message.message_id for message in said)),
        reply_provider_id=last.provider_id if last else None,
    )


def _thread(session: Session, conversation: Conversation) -> list[_Said]:
    """The thread's messages with a Message-ID, oldest first: ours and theirs, bounces left
    out (a mail server's notice is no part of what the contact and we said)."""
    theirs = session.execute(
        sa.select(
            InboxMessage.received_at,
            InboxMessage.message_id,
            InboxMessage.subject,
            InboxMessage.provider_id,
        ).where(
            InboxMessage.conversation_id == conversation.id,
            InboxMessage.message_id.is_not(None),
            InboxMessage.kind != "bounce",
        )
    )
    ours = session.execute(
        sa.select(SentEmail.sent_at, SentEmail.message_id, SentEmail.subject).where(
            SentEmail.contact_id == conversation.contact_id,
            SentEmail.sender_account_id == conversation.sender_account_id,
            SentEmail.message_id.is_not(None),
        )
    )
    # message_id is NOT NULL in both: the queries ask for it.
    said = [
        _Said(at, str(message_id), subject, provider)
        for at, message_id, subject, provider in theirs
    ]
    said += [_Said(at, str(message_id), subject, None) for at, message_id, subject in ours]
    # Ours first at one moment: a reply never precedes what it answers (as conversations.thread).
    said.sort(key=lambda message: (message.at, message.provider_id is not None))
    return said
