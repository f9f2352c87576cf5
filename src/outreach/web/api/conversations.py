"""Conversations: the replies inbox, each conversation's thread, its attachments, and marking
one read or done."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from outreach.access.models import User
from outreach.errors import ValidationFailed
from outreach.inbox import conversations
from outreach.inbox.models import InboxAttachment
from outreach.web.api.common_schemas import ErrorBody
from outreach.web.api.conversations_schemas import (
    AttachmentOut,
    ConversationAssignIn,
    ConversationDetail,
    ConversationMarkIn,
    ConversationOut,
    ConversationPage,
    EntryOut,
)
from outreach.web.deps import ApiUser, DbSession
from outreach.web.rendering import attachment_response

router = APIRouter(prefix="/conversations", tags=["inbox"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such conversation"}
}


def _attachment_url(attachment: InboxAttachment, conversation_id: uuid.UUID) -> str:
    return f"/api/v1/conversations/{conversation_id}/attachments/{attachment.id}"


def _summary(listed: conversations.Listed) -> dict[str, object]:
    conversation, contact = listed.conversation, listed.contact
    name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    return {
        "id": conversation.id,
        "contact_id": contact.id,
        "contact_email": contact.email,
        "contact_name": name,
        "company": contact.company,
        "sender_account_id": conversation.sender_account_id,
        "sender_email": listed.sender_email,
        "last_message_at": conversation.last_message_at,
        "unread": conversation.unread,
        "needs_answer": conversation.needs_answer,
        "subject": listed.subject,
        "snippet": listed.snippet,
        "assigned_to": conversation.assigned_to,
        "assigned_to_email": listed.assignee_email,
    }


@router.get("")
def list_conversations(
    session: DbSession,
    user: ApiUser,
    campaign_id: uuid.UUID | None = None,
    sender_account_id: uuid.UUID | None = None,
    unread: bool | None = None,
    needs_answer: bool | None = None,
    assigned_to: Annotated[
        str | None, Query(max_length=64, description="A user's id, or `me`")
    ] = None,
    before: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ConversationPage:
    """Conversations with a message of theirs, newest first, filtered."""
    where = conversations.ConversationFilter(
        campaign_id, sender_account_id, unread, needs_answer, _assignee(assigned_to, user)
    )
    rows, cursor = conversations.page(session, where, before, limit)
    return ConversationPage(
        conversations=[ConversationOut(**_summary(row)) for row in rows], next=cursor
    )


def _assignee(given: str | None, user: User) -> uuid.UUID | None:
    if given is None:
        return None
    if given == "me":
        return user.id
    try:
        return uuid.UUID(given)
    except ValueError:
        raise ValidationFailed(
            "assigned_to is a user's id or `me`.", field="assigned_to", value=given
        ) from None


@router.get("/{conversation_id}", responses=NOT_FOUND)
def get_conversation(
    session: DbSession, user: ApiUser, conversation_id: uuid.UUID, show_images: bool = False
) -> ConversationDetail:
    """The whole thread, ours and theirs, oldest first. Their HTML is sanitised; remote images
    are left out (and counted) unless `show_images`."""
    found = conversations.thread(
        session,
        conversation_id,
        show_images=show_images,
        attachment_url=lambda a: _attachment_url(a, conversation_id),
    )
    return ConversationDetail(
        **_summary(found.listed),
        messages=[_entry(entry, conversation_id) for entry in found.entries],
    )


def _entry(entry: conversations.Entry, conversation_id: uuid.UUID) -> EntryOut:
    return EntryOut(
        ours=entry.ours,
        at=entry.at,
        kind=entry.kind,
        subject=entry.subject,
        text=entry.text,
        quoted_text=entry.quoted_text,
        html=entry.html.html if entry.html else None,
        quoted_html=entry.quoted_html.html if entry.quoted_html else None,
        blocked_images=entry.blocked_images,
        truncated=entry.truncated,
        campaign_id=entry.campaign_id,
        step=entry.step,
        attachments=[
            AttachmentOut(
                id=a.id,
                filename=a.filename,
                content_type=a.content_type,
                size_bytes=a.size_bytes,
                kept=a.data is not None,
                url=_attachment_url(a, conversation_id) if a.data is not None else None,
            )
            for a in entry.attachments
        ],
    )


@router.get(
    "/{conversation_id}/attachments/{attachment_id}",
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file"},
        **NOT_FOUND,
    },
    response_class=Response,
)
def download_attachment(
    session: DbSession, user: ApiUser, conversation_id: uuid.UUID, attachment_id: uuid.UUID
) -> Response:
    """An attachment's bytes, always as a download: a file from outside never renders in the
    app's origin. 404 for one listed only (larger than the limit)."""
    return attachment_response(
        conversations.kept_attachment(session, conversation_id, attachment_id)
    )


@router.post("/{conversation_id}/mark", responses=NOT_FOUND)
def mark_conversation(
    session: DbSession, user: ApiUser, conversation_id: uuid.UUID, body: ConversationMarkIn
) -> ConversationOut:
    """Mark a conversation read or unread, done (needs no answer) or needing an answer."""
    conversations.mark(session, conversation_id, unread=body.unread, needs_answer=body.needs_answer)
    return ConversationOut(**_summary(conversations.listed(session, conversation_id)))


@router.post("/{conversation_id}/assign", responses=NOT_FOUND)
def assign_conversation(
    session: DbSession, user: ApiUser, conversation_id: uuid.UUID, body: ConversationAssignIn
) -> ConversationOut:
    """Give a conversation to a user to answer, or to nobody."""
    conversations.assign(session, conversation_id, body.user_id)
    return ConversationOut(**_summary(conversations.listed(session, conversation_id)))
