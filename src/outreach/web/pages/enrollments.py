"""One enrollment's timeline: each email of its sequence and what became of it, what its
mailbox received about them, and when and why its next email goes (or why it stopped)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.delivery import dispatch
from outreach.delivery import queries as delivery_queries
from outreach.delivery.models import Delivery
from outreach.drafts import queries as drafts
from outreach.errors import NotFound
from outreach.inbox import queries as inbox_queries
from outreach.web.deps import DbSession, PageUser, container_of
from outreach.web.pages.inbox import KINDS
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str
    detail: str = ""
    status: str = ""


@router.get("/enrollments/{enrollment_id}")
def enrollment_page(
    request: Request, session: DbSession, user: PageUser, enrollment_id: uuid.UUID
) -> Response:
    found = campaign_queries.enrollment_of(session, enrollment_id)
    if found is None:
        raise NotFound(f"There is no enrollment {enrollment_id}.", id=str(enrollment_id))
    enrollment, contact, campaign = found
    events = [Event(enrollment.enrolled_at, "Enrolled")]
    events += [
        _email(session, d) for d in delivery_queries.emails_of_enrollment(session, enrollment.id)
    ]
    events += [
        Event(m.received_at, KINDS[m.kind], f"{m.subject or '(no subject)'}: {m.reason}", m.kind)
        for m in inbox_queries.messages_of_enrollment(session, enrollment.id)
    ]
    if enrollment.completed_at:
        events.append(Event(enrollment.completed_at, "Sequence finished"))
    context = {
        "enrollment": enrollment,
        "contact": contact,
        "campaign": campaign,
        "steps": len(campaign_queries.steps_of(session, campaign.id)),
        "said": dispatch.next_sends(
            session, campaign, [(enrollment, contact)], container_of(request).clock.now()
        )[enrollment.id],
        "events": sorted(events, key=lambda event: event.at),
    }
    return render(request, "campaigns/enrollment.html", context)


def _email(session: Session, delivery: Delivery) -> Event:
    draft = drafts.get(session, delivery.draft_id)
    subject = draft.outgoing_subject if draft else ""
    at = delivery.sent_at or delivery.claimed_at or delivery.next_attempt_at
    tries = f" after {delivery.attempts} tries" if delivery.attempts > 1 else ""
    problem = f" ({delivery.last_error})" if delivery.last_error else ""
    return Event(
        at,
        f"Step {delivery.sequence_step}: {subject}",
        f"{delivery.status}{tries}{problem}; Message-ID {delivery.message_id}",
        delivery.status,
    )
