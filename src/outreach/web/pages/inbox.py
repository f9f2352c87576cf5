"""The inbox: conversations a team works through (newest first, filtered, read whole, marked
done, assigned), and what the mailboxes' readers found and acted on, message by message
(replies, requests to be removed, out-of-office notices, bounces), with how reading goes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from outreach.campaigns import queries as campaign_queries
from outreach.inbox import conversations, queries
from outreach.inbox.classify import Kind
from outreach.inbox.models import InboxAttachment
from outreach.senders import queries as sender_queries
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, finish_transaction
from outreach.web.rendering import attachment_response, linked, render

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
    found = conversations.thread(
        session,
        conversation_id,
        show_images=images,
        attachment_url=lambda a: _attachment_page_url(conversation_id, a),
    )
    was_unread = found.listed.conversation.unread
    finish_transaction(session)  # a GET reads without the write lock; marking it read writes
    conversations.mark(session, conversation_id, unread=False, needs_answer=None)
    if was_unread:  # the navigation counts it read now
        request.state.inbox_counts = conversations.counts(session)
    context = {
        "found": found,
        "me": user.id,
        "kinds": {**KINDS, "sent": "Sent"},
        "images": images,
        "attachment_url": lambda a: _attachment_page_url(conversation_id, a),
    }
    return render(request, "conversation.html", context)


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
    return _answer(request, session, user, conversation_id, back, "Marked done.")


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
    return _answer(request, session, user, conversation_id, back, notice)


def _answer(
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
