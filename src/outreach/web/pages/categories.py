"""A reply's category and a contact's lead status, set by a person from the conversation and
contact pages (post/redirect/get: the page shows what the change did)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from outreach.contacts import leads
from outreach.contacts.leads import ChangedBy
from outreach.errors import OutreachError
from outreach.inbox import categories
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of

router = APIRouter(include_in_schema=False)
Choice = Annotated[str, Form(max_length=64)]


@router.post("/inbox/conversations/{conversation_id}/category")
def categorize(
    request: Request,
    session: DbSession,
    user: PageUser,
    conversation_id: uuid.UUID,
    category: Choice = "",
) -> Response:
    back = f"/inbox/conversations/{conversation_id}"
    try:
        chosen = categories.parse_category(category)
        message = categories.in_conversation(session, conversation_id, None)
        by = ChangedBy.someone(user.email, user.id)
        changed = categories.set_category(
            session, message, chosen, by, container_of(request).clock.now()
        )
    except OutreachError as error:
        return flash.redirect(request, back, error=error.message)
    done = f": {'; '.join(changed.done)}" if changed.done else ""
    return flash.redirect(request, back, notice=f"Categorized as {chosen.words}{done}.")


@router.post("/inbox/conversations/{conversation_id}/referrals/{referral_id}")
def decide_referral(
    request: Request,
    session: DbSession,
    user: PageUser,
    conversation_id: uuid.UUID,
    referral_id: uuid.UUID,
    decision: Choice = "",
    name: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    back = f"/inbox/conversations/{conversation_id}"
    by = ChangedBy.someone(user.email, user.id)
    now = container_of(request).clock.now()
    try:
        categories.referral_in(session, conversation_id, referral_id)
        if decision == "confirm":
            said = categories.confirm_referral(session, referral_id, by, now, name=name)
        else:
            said = categories.dismiss_referral(session, referral_id, by, now)
    except OutreachError as error:
        return flash.redirect(request, back, error=error.message)
    return flash.redirect(request, back, notice=said[:1].upper() + said[1:] + ".")


@router.post("/contacts/{contact_id}/lead-status")
def set_lead_status(
    request: Request,
    session: DbSession,
    user: PageUser,
    contact_id: uuid.UUID,
    status: Choice = "",
) -> Response:
    back = f"/contacts/{contact_id}"
    try:
        chosen = leads.parse_status(status)
        by = ChangedBy.someone(user.email, user.id)
        leads.set_by_person(session, contact_id, chosen, by, container_of(request).clock.now())
    except OutreachError as error:
        return flash.redirect(request, back, error=error.message)
    return flash.redirect(request, back, notice=f"Lead status: {chosen.words}.")
