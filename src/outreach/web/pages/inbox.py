"""The inbox: what the mailboxes' readers found and acted on (replies, requests to be removed,
out-of-office notices, bounces), newest first, by campaign and by kind; and how each mailbox's
reading goes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from outreach.campaigns import queries as campaign_queries
from outreach.inbox import categories, conversations, queries
from outreach.inbox.classify import Kind
from outreach.inbox.models import InboxAttachment
from outreach.web.deps import DbSession, PageUser, finish_transaction
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
    found = conversations.thread(
        session,
        conversation_id,
        show_images=images,
        attachment_url=lambda a: _attachment_page_url(conversation_id, a),
    )
    finish_transaction(session)  # a GET reads without the write lock; marking it read writes
    conversations.mark(session, conversation_id, unread=False, needs_answer=None)
    context = {
        "found": found,
        "standing": categories.standing(session, conversation_id),
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
