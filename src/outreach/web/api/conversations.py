"""Conversations: the replies inbox, each conversation's thread, its attachments, and marking
one read or done."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from outreach.access.models import User
from outreach.contacts.leads import ChangedBy, LeadStatus
from outreach.delivery import answers as ledger
from outreach.errors import ValidationFailed
from outreach.inbox import answers, categories, conversations
from outreach.inbox.models import InboxAttachment, InboxMessage
from outreach.inbox.reply_rules import Category
from outreach.web.api.common_schemas import After, ErrorBody, Page
from outreach.web.api.conversations_schemas import (
    AnswerIn,
    AnswerOut,
    AnswerSendIn,
    AttachmentOut,
    CategorizedOut,
    CategoryIn,
    CategoryOut,
    ConversationAssignIn,
    ConversationDetail,
    ConversationMarkIn,
    ConversationOut,
    EntryOut,
    ReferralConfirmIn,
    ReferralDecidedOut,
    ReferralOut,
)
from outreach.web.deps import ApiUser, DbSession, container_of
from outreach.web.rendering import attachment_response

router = APIRouter(prefix="/conversations", tags=["inbox"])
UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
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
        "category": conversation.category,
        "lead_status": contact.lead_status,
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
    category: Category | None = None,
    lead_status: LeadStatus | None = None,
    assigned_to: Annotated[
        str | None,
        Query(
            max_length=64,
            description="A user's id, or `me`",
            # Stated, not enforced here: _assignee refuses another value saying why.
            json_schema_extra={"pattern": f"^(me|{UUID_PATTERN})$"},
        ),
    ] = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ConversationOut]:
    """Conversations with a message of theirs, newest first, filtered."""
    where = conversations.ConversationFilter(
        campaign_id,
        sender_account_id,
        unread,
        needs_answer,
        category,
        lead_status,
        _assignee(assigned_to, user),
    )
    rows, cursor = conversations.page(session, where, after, limit)
    return Page(items=[ConversationOut(**_summary(row)) for row in rows], next=cursor)


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
    standing = categories.standing(session, conversation_id)
    return ConversationDetail(
        **_summary(found.listed),
        messages=[_entry(entry, conversation_id) for entry in found.entries],
        latest_reply=_category(standing.reply) if standing.reply else None,
        referrals=[ReferralOut.model_validate(r) for r in standing.referrals],
    )


def _category(message: InboxMessage) -> CategoryOut:
    return CategoryOut(
        message_id=message.id,
        category=message.category,
        category_by=message.category_by,
        category_by_person=message.category_by_person,
        category_at=message.category_at,
        category_reason=message.category_reason,
    )


def _entry(entry: conversations.Entry, conversation_id: uuid.UUID) -> EntryOut:
    reply = entry.reply if entry.reply and entry.reply.category else None
    return EntryOut(
        id=entry.id,
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
        category=reply.category if reply else None,
        category_by_person=reply.category_by_person if reply else None,
        category_by=reply.category_by if reply else None,
        category_at=reply.category_at if reply else None,
        category_reason=reply.category_reason if reply else None,
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


@router.post("/{conversation_id}/category", responses=NOT_FOUND)
def categorize(
    request: Request,
    session: DbSession,
    user: ApiUser,
    conversation_id: uuid.UUID,
    body: CategoryIn,
) -> CategorizedOut:
    """A person sets the category of their latest reply (or of `message_id`): it does what the
    category does in the reply's campaign, and the machine never changes it after that."""
    message = categories.in_conversation(session, conversation_id, body.message_id)
    by = ChangedBy.someone(user.email, user.id)
    changed = categories.set_category(
        session, message, body.category, by, container_of(request).clock.now()
    )
    return CategorizedOut(**_category(changed.message).model_dump(), done=list(changed.done))


@router.post("/{conversation_id}/referrals/{referral_id}/confirm", responses=NOT_FOUND)
def confirm_referral(
    request: Request,
    session: DbSession,
    user: ApiUser,
    conversation_id: uuid.UUID,
    referral_id: uuid.UUID,
    body: ReferralConfirmIn,
) -> ReferralDecidedOut:
    """The referred address becomes a contact, noted as referred, and joins the campaign's
    list to be enrolled (saying why not, when it cannot be). 409 once decided."""
    categories.referral_in(session, conversation_id, referral_id)
    said = categories.confirm_referral(
        session,
        referral_id,
        ChangedBy.someone(user.email, user.id),
        container_of(request).clock.now(),
        name=body.name,
        fields=body.fields,
    )
    return _decided(session, conversation_id, referral_id, said)


@router.post("/{conversation_id}/referrals/{referral_id}/dismiss", responses=NOT_FOUND)
def dismiss_referral(
    request: Request,
    session: DbSession,
    user: ApiUser,
    conversation_id: uuid.UUID,
    referral_id: uuid.UUID,
) -> ReferralDecidedOut:
    """Nobody is made a contact. 409 once decided."""
    categories.referral_in(session, conversation_id, referral_id)
    said = categories.dismiss_referral(
        session,
        referral_id,
        ChangedBy.someone(user.email, user.id),
        container_of(request).clock.now(),
    )
    return _decided(session, conversation_id, referral_id, said)


def _decided(
    session: Session, conversation_id: uuid.UUID, referral_id: uuid.UUID, said: str
) -> ReferralDecidedOut:
    referral = categories.referral_in(session, conversation_id, referral_id)
    return ReferralDecidedOut(referral=ReferralOut.model_validate(referral), said=said)


# Answers ---------------------------------------------------------------------------------------

ANSWER_REFUSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {
        "model": ErrorBody,
        "description": "The address is suppressed (the reason is said), "
        "or the answer was sent or scheduled already",
    },
    422: {
        "model": ErrorBody,
        "description": "Empty, a merge field the contact lacks, a time without its zone",
    },
}


def answer_out(conversation_id: uuid.UUID, standing: ledger.Standing) -> AnswerOut:
    return AnswerOut(
        id=standing.answer.id,
        conversation_id=conversation_id,
        body=standing.answer.body,
        status=standing.status.value,
        scheduled_for=standing.scheduled_for,
        subject=standing.subject,
        text=standing.text,
        last_error=standing.last_error,
        created_at=standing.answer.created_at,
    )


@router.post("/{conversation_id}/answers", status_code=201, responses=ANSWER_REFUSED)
def answer_conversation(
    request: Request, session: DbSession, user: ApiUser, conversation_id: uuid.UUID, body: AnswerIn
) -> AnswerOut:
    """Answer the conversation from its sender account, in its thread: now (the worker's next
    pass), at a time (`at`), or kept as a draft (`draft`). An answer to a suppressed address:
    409 with the reason."""
    now = container_of(request).clock.now()
    if body.draft:
        if body.at is not None:
            raise ValidationFailed("A draft is not sent: leave out `at`, or `draft`.", field="at")
        answer = answers.draft(session, conversation_id, body.body, now, user.id)
    else:
        answer = answers.send(session, conversation_id, body.body, body.at or now, now, user.id)
    return answer_out(conversation_id, ledger.standing_of(session, answer.id))


@router.get("/{conversation_id}/answers", responses=NOT_FOUND)
def list_answers(session: DbSession, user: ApiUser, conversation_id: uuid.UUID) -> Page[AnswerOut]:
    """The conversation's answers not sent yet: drafts, scheduled, being sent, in doubt,
    failed. Sent ones are messages of the thread. A handful at most: all on one page (`next`
    is null)."""
    waiting = answers.waiting(session, conversation_id)
    return Page(items=[answer_out(conversation_id, each) for each in waiting], next=None)


@router.post("/{conversation_id}/answers/{answer_id}/send", responses=ANSWER_REFUSED)
def send_answer(
    request: Request,
    session: DbSession,
    user: ApiUser,
    conversation_id: uuid.UUID,
    answer_id: uuid.UUID,
    body: AnswerSendIn,
) -> AnswerOut:
    """Send a draft now or at a time, with its text as last edited (`body`)."""
    now = container_of(request).clock.now()
    answers.send_draft(session, conversation_id, answer_id, body.at or now, now, body.body)
    return answer_out(conversation_id, ledger.standing_of(session, answer_id))


@router.post("/{conversation_id}/answers/{answer_id}/unschedule", responses=ANSWER_REFUSED)
def unschedule_answer(
    session: DbSession, user: ApiUser, conversation_id: uuid.UUID, answer_id: uuid.UUID
) -> AnswerOut:
    """An answer waiting for its time becomes a draft again; 409 once it is being sent."""
    answers.unschedule(session, conversation_id, answer_id)
    return answer_out(conversation_id, ledger.standing_of(session, answer_id))


@router.delete("/{conversation_id}/answers/{answer_id}", status_code=204, responses=ANSWER_REFUSED)
def delete_answer(
    session: DbSession, user: ApiUser, conversation_id: uuid.UUID, answer_id: uuid.UUID
) -> Response:
    """Delete a draft; 409 for an answer sent or scheduled (unschedule it first)."""
    answers.delete(session, conversation_id, answer_id)
    return Response(status_code=204)


@router.post("/{conversation_id}/assign", responses=NOT_FOUND)
def assign_conversation(
    session: DbSession, user: ApiUser, conversation_id: uuid.UUID, body: ConversationAssignIn
) -> ConversationOut:
    """Give a conversation to a user to answer, or to nobody."""
    conversations.assign(session, conversation_id, body.user_id)
    return ConversationOut(**_summary(conversations.listed(session, conversation_id)))
