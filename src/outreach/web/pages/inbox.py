"""The inbox: what the mailboxes' readers found and acted on (replies, requests to be removed,
out-of-office notices, bounces), newest first, by campaign and by kind; and how each mailbox's
reading goes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from outreach.campaigns import queries as campaign_queries
from outreach.errors import OutreachError, ValidationFailed
from outreach.inbox import answers, categories, conversations, queries
from outreach.inbox.classify import Kind
from outreach.inbox.models import InboxAttachment
from outreach.senders.models import SenderAccount
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, finish_transaction
from outreach.web.errors import status_of
from outreach.web.rendering import attachment_response, render

router = APIRouter(include_in_schema=False)

KINDS = {
    Kind.human_reply.value: "Reply",
    Kind.unsubscribe_request.value: "Asked to be removed",
    Kind.auto_reply.value: "Auto-reply",
    Kind.bounce.value: "Bounce",
}
SHOWN = 200


def _campaign_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


@router.get("/inbox")
def inbox_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    campaign: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    campaign_id = _campaign_id(campaign)
    kinds = [kind] if kind in KINDS else []
    rows = queries.inbox_messages(session, campaign_id=campaign_id, kinds=kinds, limit=SHOWN)
    mailboxes = [
        (account, queries.cursor_of(session, account.id))
        for account in queries.mailbox_accounts(session)
        if account.kind == "graph" or "imap" in (account.settings or {})
    ]
    context = {
        "rows": rows,
        "kinds": KINDS,
        "kind": kind if kinds else "",
        "campaigns": campaign_queries.all_campaigns(session),
        "campaign_id": campaign_id,
        "mailboxes": mailboxes,
        "shown": SHOWN,
    }
    return render(request, "inbox.html", context)


@router.get("/inbox/conversations/{conversation_id}")
def conversation_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    conversation_id: uuid.UUID,
    images: Annotated[bool, Query()] = False,
) -> Response:
    """The whole thread, ours and theirs, oldest first; opening it marks it read."""
    return _conversation(request, session, conversation_id, images=images)


def _conversation(
    request: Request,
    session: DbSession,
    conversation_id: uuid.UUID,
    *,
    images: bool = False,
    status_code: int = 200,
    **extra: object,
) -> Response:
    found = conversations.thread(
        session,
        conversation_id,
        show_images=images,
        attachment_url=lambda a: _attachment_page_url(conversation_id, a),
    )
    account = session.get(SenderAccount, found.listed.conversation.sender_account_id)
    answering = {
        "waiting": answers.waiting(session, conversation_id),
        "signature": account.signature if account else None,
    }
    finish_transaction(session)  # a GET reads without the write lock; marking it read writes
    conversations.mark(session, conversation_id, unread=False, needs_answer=None)
    context = {
        "found": found,
        "standing": categories.standing(session, conversation_id),
        "kinds": {**KINDS, "sent": "Sent"},
        "images": images,
        "attachment_url": lambda a: _attachment_page_url(conversation_id, a),
        "answering": answering,
        **extra,
    }
    return render(request, "conversation.html", context, status_code=status_code)


ANSWERED = {
    "send": "The answer goes on the worker's next pass.",
    "draft": "Draft saved; nothing is sent.",
    "delete": "Draft deleted.",
    "unschedule": "Taken back: it is a draft again.",
}


@router.post("/inbox/conversations/{conversation_id}/answers")
def answer_conversation(
    request: Request,
    session: DbSession,
    user: PageUser,
    conversation_id: uuid.UUID,
    action: Annotated[str, Form(max_length=20)] = "send",
    body: Annotated[str, Form(max_length=50_000)] = "",
    at: Annotated[str, Form(max_length=40)] = "",
    answer_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The answer form: send (now or at `at`, a UTC wall-clock time), save a draft, or, for a
    draft (`answer_id`), send it, delete it or take it back. A refusal (a suppressed address, a
    merge field the contact lacks) shows on the page with the text kept."""
    now = container_of(request).clock.now()
    try:
        notice = _answer(session, conversation_id, action, body, at, answer_id, now, user.id)
    except OutreachError as error:
        session.rollback()
        return _conversation(
            request,
            session,
            conversation_id,
            status_code=status_of(error),
            answer_error=error.message,
            answer_body=body if not answer_id else "",
        )
    target = f"/inbox/conversations/{conversation_id}#answer"
    return flash.redirect(request, target, answer_notice=notice)


def _answer(
    session: DbSession,
    conversation_id: uuid.UUID,
    action: str,
    body: str,
    at: str,
    answer_id: str,
    now: datetime,
    by: uuid.UUID,
) -> str:
    """Does what the answer form asked; returns what to say."""
    draft_id = _answer_id(answer_id)
    if action == "draft" and draft_id is None:
        answers.draft(session, conversation_id, body, now, by)
    elif action == "send" and draft_id is None:
        answers.send(session, conversation_id, body, _when(at, now), now, by)
    elif action == "send" and draft_id is not None:
        answers.send_draft(session, conversation_id, draft_id, _when(at, now), now, body)
    elif action == "delete" and draft_id is not None:
        answers.delete(session, conversation_id, draft_id)
    elif action == "unschedule" and draft_id is not None:
        answers.unschedule(session, conversation_id, draft_id)
    else:
        raise ValidationFailed("Choose Send or Save draft.")
    if action == "send" and at.strip():
        return f"The answer goes at {_when(at, now):%Y-%m-%d %H:%M} UTC."
    return ANSWERED[action]


def _answer_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text.strip() else None
    except ValueError as error:
        raise ValidationFailed("That is not an answer of this conversation.") from error


def _when(at: str, now: datetime) -> datetime:
    """A UTC wall-clock time from the form (empty: now)."""
    try:
        return datetime.fromisoformat(at).replace(tzinfo=UTC) if at.strip() else now
    except ValueError as error:
        raise ValidationFailed("Give the time as YYYY-MM-DD HH:MM (UTC).") from error


def _attachment_page_url(conversation_id: uuid.UUID, attachment: InboxAttachment) -> str:
    return f"/inbox/conversations/{conversation_id}/attachments/{attachment.id}"


@router.get("/inbox/conversations/{conversation_id}/attachments/{attachment_id}")
def attachment_download(
    session: DbSession, user: PageUser, conversation_id: uuid.UUID, attachment_id: uuid.UUID
) -> Response:
    """A kept attachment, always as a download (see the API's twin)."""
    return attachment_response(
        conversations.kept_attachment(session, conversation_id, attachment_id)
    )
