"""One-off emails (the seed's scheduled_emails): an approved draft, a sender account and a
time. The campaign worker sends them under the sender's rules; cancelling works until the
email is taken for sending.

pending → queued (its delivery written, at its time) → sent | failed; pending or queued →
cancelled. The seed's rows only say pending, sent or failed, so its data fits.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.states import DraftType
from outreach.contacts import suppressions
from outreach.contacts.models import Contact
from outreach.db import get_or_not_found
from outreach.delivery import contacted, queries
from outreach.delivery.models import Delivery, ScheduledEmail
from outreach.delivery.states import DELIVERIES, DeliveryStatus
from outreach.drafts import queries as drafts
from outreach.drafts import review
from outreach.drafts.models import EmailDraft, EmailStatus
from outreach.errors import Conflict, InvalidTransition, ValidationFailed
from outreach.providers.compose import new_message_id
from outreach.senders import queries as sender_queries
from outreach.senders.models import SenderAccount
from outreach.states import Lifecycle, transition


class ScheduledStatus(StrEnum):
    pending = "pending"
    queued = "queued"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"


SCHEDULED = Lifecycle[ScheduledStatus](
    noun="scheduled email",
    moves={
        ScheduledStatus.queued: frozenset({ScheduledStatus.pending}),
        ScheduledStatus.sent: frozenset({ScheduledStatus.queued}),
        ScheduledStatus.failed: frozenset({ScheduledStatus.queued}),
        ScheduledStatus.cancelled: frozenset({ScheduledStatus.pending, ScheduledStatus.queued}),
    },
)


ANSWER = "answer in its conversation"
ONE_OFF = "scheduled email"


def what_goes(campaign_name: str | None, step: int | None, answer: bool) -> str:
    """How people are told what a send is: a campaign's step, an answer a person wrote in a
    conversation, or another one-off email."""
    if answer:
        return ANSWER
    return ONE_OFF if campaign_name is None else f"{campaign_name}, step {step}"


def schedule(
    session: Session,
    draft_id: uuid.UUID,
    sender_id: uuid.UUID,
    at: datetime,
    now: datetime,
    *,
    recent: timedelta,
    anyway: bool = False,
) -> ScheduledEmail:
    """Schedules an approved draft from a sender account at a time (now or later). To someone
    we are writing to already (contacted.py, `recent`: how long an email counts as recent) only
    `anyway`, a person's confirmation."""
    draft = get_or_not_found(session, EmailDraft, draft_id, "draft")
    if draft.status != EmailStatus.approved:
        raise InvalidTransition(
            f"The draft {draft.standing}: only an approved draft can be scheduled."
        )
    review.require_filled(draft, "scheduled")
    get_or_not_found(session, SenderAccount, sender_id, "sender account")
    contact = session.get(Contact, draft.contact_id)
    assert contact is not None
    refuse_unsendable(session, contact.email, at)
    if not anyway:
        kind = DraftType(draft.draft_type)
        contacted.require_confirmed(session, contact.id, contact.email, kind, now, recent)
    scheduled = enter(session, draft_id, draft.contact_id, sender_id, at, now)
    drafts.move(session, draft_id, EmailStatus.scheduled)
    session.flush()
    return scheduled


def refuse_unsendable(session: Session, email: str, at: datetime) -> None:
    """Refuses a one-off email to a suppressed address now, rather than cancelling it silently
    when its time comes; and a time without its zone."""
    if suppressions.is_suppressed(session, email):
        raise Conflict(
            f"{email} is on the suppression list (the address or its domain): it gets "
            "no email. Remove the entry first if it is a mistake.",
            email=email,
        )
    if at.tzinfo is None:
        raise ValidationFailed("Give the time with its zone, e.g. 2026-03-02T09:00+01:00.")


def enter(
    session: Session,
    draft_id: uuid.UUID,
    contact_id: uuid.UUID,
    sender_id: uuid.UUID,
    at: datetime,
    now: datetime,
) -> ScheduledEmail:
    """The scheduled email's row (pending), for a draft checked by the caller: queue_due
    writes its delivery when its time comes."""
    scheduled = ScheduledEmail(
        draft_id=draft_id,
        contact_id=contact_id,
        sender_account_id=sender_id,
        scheduled_for=max(at, now),
        status=ScheduledStatus.pending.value,
        created_at=now,
    )
    session.add(scheduled)
    session.flush()
    return scheduled


def cancel(session: Session, scheduled_id: uuid.UUID) -> None:
    """Cancels a scheduled email that has not been taken for sending yet."""
    found = get_or_not_found(session, ScheduledEmail, scheduled_id, "scheduled email")
    delivery = session.scalar(
        sa.select(Delivery).where(Delivery.scheduled_email_id == scheduled_id)
    )
    if delivery is not None:
        transition(session, Delivery, delivery.id, DeliveryStatus.cancelled, DELIVERIES)
    transition(session, ScheduledEmail, scheduled_id, ScheduledStatus.cancelled, SCHEDULED)
    drafts.move(session, found.draft_id, EmailStatus.approved)


def of_draft(session: Session, draft_id: uuid.UUID) -> list[ScheduledEmail]:
    """The draft's scheduled emails, cancelled ones too, newest first."""
    return list(
        session.scalars(
            sa.select(ScheduledEmail)
            .where(ScheduledEmail.draft_id == draft_id)
            .order_by(ScheduledEmail.created_at.desc())
        )
    )


def queue_due(session: Session, now: datetime, limit: int) -> list[str]:
    """Writes the delivery of each scheduled email whose time has come (an answer's in its
    conversation's thread); returns their labels."""
    queued = []
    due = list(
        session.scalars(
            sa.select(ScheduledEmail)
            .where(
                ScheduledEmail.status == ScheduledStatus.pending.value,
                ScheduledEmail.scheduled_for <= now,
            )
            .order_by(ScheduledEmail.scheduled_for)
            .limit(limit)
        )
    )
    threads = queries.answer_threads(session, [scheduled.id for scheduled in due])
    for scheduled in due:
        draft = session.get(EmailDraft, scheduled.draft_id)
        sender = sender_queries.sender(session, scheduled.sender_account_id)
        contact = session.get(Contact, scheduled.contact_id)
        assert draft is not None
        assert sender is not None
        assert contact is not None
        if suppressions.is_suppressed(session, contact.email):
            # Suppressed after it was scheduled: its draft is free again, as after a cancel.
            transition(session, ScheduledEmail, scheduled.id, ScheduledStatus.cancelled, SCHEDULED)
            drafts.move(session, draft.id, EmailStatus.approved)
            continue
        transition(session, ScheduledEmail, scheduled.id, ScheduledStatus.queued, SCHEDULED)
        in_reply_to, references = threads.get(scheduled.id, (None, None))
        session.add(
            Delivery(
                scheduled_email_id=scheduled.id,
                contact_id=contact.id,
                draft_id=draft.id,
                sender_account_id=sender.id,
                message_id=new_message_id(sender.email.rsplit("@", 1)[-1], now),
                in_reply_to=in_reply_to,
                thread_references=references,
                status=DeliveryStatus.queued.value,
                next_attempt_at=now,
                claimed_at=now,
            )
        )
        queued.append(f"{contact.email}: {what_goes(None, None, scheduled.id in threads)}")
    session.flush()
    return queued


def record(session: Session, scheduled_id: uuid.UUID, status: ScheduledStatus) -> None:
    """The scheduled email's delivery went out (sent) or could not (failed)."""
    transition(session, ScheduledEmail, scheduled_id, status, SCHEDULED)
