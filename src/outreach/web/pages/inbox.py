"""The inbox: conversations a team works through (newest first, filtered, read whole, marked
done, assigned), and what the mailboxes' readers found and acted on, message by message
(replies, requests to be removed, out-of-office notices, bounces), with how reading goes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from outreach.campaigns import queries as campaign_queries
from outreach.errors import OutreachError, ValidationFailed
from outreach.inbox import answers, categories, conversations, queries
from outreach.inbox.classify import Kind
from outreach.inbox.models import InboxAttachment
from outreach.senders import queries as sender_queries
from outreach.senders.models import SenderAccount
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, finish_transaction
from outreach.web.errors import status_of
from outreach.web.rendering import attachment_response, linked, render, typed_time, viewer_zone
from outreach.words import time_in_zone

router = APIRouter(include_in_schema=False)

KINDS = {
    Kind.human_reply.value: "Reply",
    Kind.unsubscribe_request.value: "Asked to be removed",
    Kind.auto_reply.value: "Auto-reply",
    Kind.bounce.value: "Bounce",
}
SHOWN = 200


STATES = {"unread": "Unread", "needs_answer": "Needs an answer"}
PAGE_SIZE = 50


@router.get("/inbox")
def inbox_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    campaign: Annotated[str, Query(max_length=64)] = "",
    sender: Annotated[str, Query(max_length=64)] = "",
    state: Annotated[str, Query(max_length=64)] = "",
    assigned: Annotated[str, Query(max_length=64)] = "",
    before: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Conversations newest first, those waiting for an answer marked, filtered; j/k/o/r/c/e
    from the keyboard."""
    where = conversations.ConversationFilter(
        campaign_id=_uuid(campaign),
        sender_account_id=_uuid(sender),
        unread=True if state == "unread" else None,
        needs_answer=True if state == "needs_answer" else None,
        assigned_to=user.id if assigned == "me" else None,
    )
    rows, cursor = conversations.page(session, where, before, PAGE_SIZE)
    context = {
        "rows": rows,
        "campaigns": campaign_queries.all_campaigns(session),
        "senders": sender_queries.all_senders(session),
        "states": STATES,
        "chosen": {
            "campaign": where.campaign_id,
            "sender": where.sender_account_id,
            "state": state if state in STATES else "",
            "assigned": "me" if where.assigned_to else "",
        },
        "me": user.id,
        "here": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        "next_page": linked("/inbox", request.query_params, before=cursor) if cursor else None,
    }
    return render(request, "inbox.html", context)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


@router.get("/inbox/activity")
def activity_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    campaign: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """What the mailboxes' readers found and did, message by message, and how reading goes."""
    campaign_id = _uuid(campaign)
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
    return render(request, "inbox_activity.html", context)


@router.get("/inbox/conversations/{conversation_id}")
def conversation_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    conversation_id: uuid.UUID,
    images: Annotated[bool, Query()] = False,
) -> Response:
    """The whole thread, ours and theirs, oldest first; opening it marks it read."""
    return _conversation(request, session, user, conversation_id, images=images)


def _conversation(
    request: Request,
    session: DbSession,
    user: PageUser,
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
    was_unread = found.listed.conversation.unread
    finish_transaction(session)  # a GET reads without the write lock; marking it read writes
    conversations.mark(session, conversation_id, unread=False, needs_answer=None)
    if was_unread:  # the navigation counts it read now
        request.state.inbox_counts = conversations.counts(session)
    context = {
        "found": found,
        "standing": categories.standing(session, conversation_id),
        "me": user.id,
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
    """The answer form: send (now or at `at`, a wall-clock time in the viewer's zone), save a
    draft, or, for a draft (`answer_id`), send it, delete it or take it back. A refusal (a
    suppressed address, a merge field the contact lacks) shows on the page with the text kept."""
    now = container_of(request).clock.now()
    try:
        when = typed_time(request, at, now)
        notice = _answer(session, conversation_id, action, body, when, answer_id, now, user.id)
        if action == "send" and at.strip():
            notice = f"The answer goes at {time_in_zone(when, viewer_zone(request))}."
    except OutreachError as error:
        session.rollback()
        return _conversation(
            request,
            session,
            user,
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
    when: datetime,
    answer_id: str,
    now: datetime,
    by: uuid.UUID,
) -> str:
    """Does what the answer form asked (a send goes at `when`); returns what to say."""
    draft_id = _answer_id(answer_id)
    if action == "draft" and draft_id is None:
        answers.draft(session, conversation_id, body, now, by)
    elif action == "send" and draft_id is None:
        answers.send(session, conversation_id, body, when, now, by)
    elif action == "send" and draft_id is not None:
        answers.send_draft(session, conversation_id, draft_id, when, now, body)
    elif action == "delete" and draft_id is not None:
        answers.delete(session, conversation_id, draft_id)
    elif action == "unschedule" and draft_id is not None:
        answers.unschedule(session, conversation_id, draft_id)
    else:
        raise ValidationFailed("Choose Send or Save draft.")
    return ANSWERED[action]


def _answer_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text.strip() else None
    except ValueError as error:
        raise ValidationFailed("That is not an answer of this conversation.") from error


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


@router.post("/inbox/conversations/{conversation_id}/done")
def done(
    request: Request,
    session: DbSession,
    user: PageUser,
    conversation_id: uuid.UUID,
    back: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Response:
    """Nothing (more) to answer: the conversation leaves "needs an answer"."""
    conversations.mark(session, conversation_id, unread=False, needs_answer=False)
    return _acted(request, session, user, conversation_id, back, "Marked done.")


@router.post("/inbox/conversations/{conversation_id}/assign")
def assign(
    request: Request,
    session: DbSession,
    user: PageUser,
    conversation_id: uuid.UUID,
    to: Annotated[str, Form(max_length=64)] = "",
    back: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Response:
    """Assign the conversation to the one asking ("me") or to nobody (empty)."""
    mine = to == "me"
    conversations.assign(session, conversation_id, user.id if mine else None)
    notice = "Assigned to you." if mine else "Assigned to nobody."
    return _acted(request, session, user, conversation_id, back, notice)


def _acted(
    request: Request,
    session: DbSession,
    user: PageUser,
    conversation_id: uuid.UUID,
    back: str | None,
    notice: str,
) -> Response:
    """htmx swaps the conversation's row in place; a plain form goes back where it came from."""
    if request.headers.get("HX-Request"):
        row = conversations.listed(session, conversation_id)
        return render(request, "inbox/_row.html", {"row": row, "me": user.id, "here": back or ""})
    here = f"/inbox/conversations/{conversation_id}"
    target = back if back and back.startswith("/inbox") else here
    return flash.redirect(request, target, notice=notice)
