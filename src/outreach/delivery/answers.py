"""Answers: what a person writes in a conversation, kept as a draft, then sent now or at a time
as a one-off email (scheduled.py): an approved draft and a scheduled email, which the worker
turns into the answer's delivery when its time comes. So an answer is one row of the ledger like
any email: unique per answer (answers.scheduled_email_id and deliveries.scheduled_email_id are
unique), never sent twice, `unknown` after a crash, recorded in sent_emails when it went.

Where it stands is read from its scheduled email and delivery, never stored twice. The thread it
answers (subject, In-Reply-To, References, the provider's id) is decided by the inbox, which
knows the conversation (inbox/answers.py). Services flush; the caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.states import DraftType
from outreach.contacts.models import Contact
from outreach.db import get_or_not_found
from outreach.delivery import scheduled
from outreach.delivery.models import Answer, Delivery, ScheduledEmail
from outreach.drafts import queries as drafts
from outreach.drafts.models import EmailDraft
from outreach.errors import Conflict, ValidationFailed
from outreach.states import transition

ANSWER_DRAFT_TYPE = DraftType.second_followup
"""The seed's draft_type has no answer: an answer's draft and sent email count with the
follow-ups (email_analytics.total_followups_sent), which is what it is to the recipient."""

MAX_BODY = 50_000


class AnswerStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    """Waiting for its time (or the worker's next pass, for "send now")."""
    sending = "sending"
    """Its delivery is written: queued or being sent."""
    sent = "sent"
    failed = "failed"
    unknown = "unknown"
    """A crash cut its send short: a person decides (the sends page)."""
    cancelled = "cancelled"
    """Its address was suppressed before its time came."""


@dataclass(frozen=True)
class Outgoing:
    """The answer as it is sent: subject, text (merge fields filled, signature added) and the
    thread it goes in."""

    subject: str
    text: str
    in_reply_to: str | None
    references: tuple[str, ...]
    reply_provider_id: str | None
    """The provider's id of the message answered (Graph replies to it with createReply)."""


@dataclass(frozen=True)
class Standing:
    answer: Answer
    status: AnswerStatus
    scheduled_for: datetime | None
    subject: str | None
    """As sent or to be sent; None for a draft (decided when it is sent)."""
    text: str | None
    last_error: str | None


def save(
    session: Session,
    contact_id: uuid.UUID,
    sender_id: uuid.UUID,
    body: str,
    now: datetime,
    by: uuid.UUID | None,
) -> Answer:
    """A new answer, as a draft."""
    answer = Answer(
        contact_id=contact_id,
        sender_account_id=sender_id,
        body=_checked(body),
        created_by=by,
        created_at=now,
    )
    session.add(answer)
    session.flush()
    return answer


def edit(session: Session, answer_id: uuid.UUID, body: str) -> Answer:
    """A draft's new text; refused once it is sent or scheduled."""
    answer = get_or_not_found(session, Answer, answer_id, "answer")
    _require_draft(answer)
    answer.body = _checked(body)
    session.flush()
    return answer


def schedule(
    session: Session, answer_id: uuid.UUID, outgoing: Outgoing, at: datetime, now: datetime
) -> ScheduledEmail:
    """Sends the answer at `at` (now or later): its draft, approved as the person wrote it, and
    its scheduled email. Refused for a suppressed address, and for an answer sent or scheduled
    already (one conditional UPDATE: two clicks make one send). Unlike other one-off emails
    (contacted.py) no confirmation is asked: answering someone who wrote to us is one."""
    answer = get_or_not_found(session, Answer, answer_id, "answer")
    contact = session.get(Contact, answer.contact_id)
    assert contact is not None
    scheduled.refuse_unsendable(session, contact.email, at)
    _require_draft(answer)
    draft = drafts.scheduled_draft(
        contact_id=contact.id,
        draft_type=ANSWER_DRAFT_TYPE,
        subject=outgoing.subject,
        body=outgoing.text,
        at=now,
    )
    drafts.add_drafts(session, [draft])
    entered = scheduled.enter(session, draft["id"], contact.id, answer.sender_account_id, at, now)
    taken = session.execute(
        sa.update(Answer)
        .where(Answer.id == answer_id, Answer.scheduled_email_id.is_(None))
        .values(
            scheduled_email_id=entered.id,
            in_reply_to=outgoing.in_reply_to,
            thread_references=" ".join(outgoing.references) or None,
            reply_provider_id=outgoing.reply_provider_id,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This answer was sent or scheduled already.", answer_id=str(answer_id))
    session.refresh(answer)
    return entered


def unschedule(session: Session, answer_id: uuid.UUID) -> Answer:
    """An answer waiting for its time becomes a draft again (its draft and scheduled email are
    deleted); refused once its delivery is written."""
    answer = get_or_not_found(session, Answer, answer_id, "answer")
    if answer.scheduled_email_id is None:
        return answer
    waiting = session.get(ScheduledEmail, answer.scheduled_email_id)
    assert waiting is not None
    transition(
        session,
        ScheduledEmail,
        waiting.id,
        scheduled.ScheduledStatus.cancelled,
        scheduled.SCHEDULED,
        where=(ScheduledEmail.status == scheduled.ScheduledStatus.pending.value,),
    )
    session.execute(sa.update(Answer).where(Answer.id == answer_id).values(scheduled_email_id=None))
    session.execute(sa.delete(EmailDraft).where(EmailDraft.id == waiting.draft_id))
    session.expire_all()
    return get_or_not_found(session, Answer, answer_id, "answer")


def delete(session: Session, answer_id: uuid.UUID) -> None:
    """Deletes a draft; refused for an answer sent or scheduled (unschedule it first)."""
    answer = get_or_not_found(session, Answer, answer_id, "answer")
    _require_draft(answer)
    session.delete(answer)
    session.flush()


def of_thread(session: Session, contact_id: uuid.UUID, sender_id: uuid.UUID) -> list[Standing]:
    """The answers of a conversation that are not sent yet (drafts, waiting, in doubt, failed),
    oldest first: sent ones are in the thread (sent_emails). Served by
    ix_answers_contact_id_sender_account_id."""
    rows = session.execute(
        sa.select(Answer, ScheduledEmail, EmailDraft, Delivery)
        .outerjoin(ScheduledEmail, ScheduledEmail.id == Answer.scheduled_email_id)
        .outerjoin(EmailDraft, EmailDraft.id == ScheduledEmail.draft_id)
        .outerjoin(Delivery, Delivery.scheduled_email_id == ScheduledEmail.id)
        .where(Answer.contact_id == contact_id, Answer.sender_account_id == sender_id)
        .order_by(Answer.created_at, Answer.id)
    )
    found = [_standing(*row) for row in rows]
    return [standing for standing in found if standing.status != AnswerStatus.sent]


def standing_of(session: Session, answer_id: uuid.UUID) -> Standing:
    row = session.execute(
        sa.select(Answer, ScheduledEmail, EmailDraft, Delivery)
        .outerjoin(ScheduledEmail, ScheduledEmail.id == Answer.scheduled_email_id)
        .outerjoin(EmailDraft, EmailDraft.id == ScheduledEmail.draft_id)
        .outerjoin(Delivery, Delivery.scheduled_email_id == ScheduledEmail.id)
        .where(Answer.id == answer_id)
    ).one_or_none()
    if row is None:
        get_or_not_found(session, Answer, answer_id, "answer")
    assert row is not None
    return _standing(*row)


def _standing(
    answer: Answer,
    waiting: ScheduledEmail | None,
    draft: EmailDraft | None,
    delivery: Delivery | None,
) -> Standing:
    if waiting is None:
        return Standing(answer, AnswerStatus.draft, None, None, None, None)
    status = _status(waiting, delivery)
    return Standing(
        answer,
        status,
        waiting.scheduled_for,
        draft.outgoing_subject if draft else None,
        draft.outgoing_body if draft else None,
        delivery.last_error if delivery else None,
    )


def _status(waiting: ScheduledEmail, delivery: Delivery | None) -> AnswerStatus:
    if delivery is None:
        pending = waiting.status == scheduled.ScheduledStatus.pending.value
        return AnswerStatus.scheduled if pending else AnswerStatus.cancelled
    return {
        "queued": AnswerStatus.sending,
        "sending": AnswerStatus.sending,
        "sent": AnswerStatus.sent,
        "failed": AnswerStatus.failed,
        "unknown": AnswerStatus.unknown,
        "cancelled": AnswerStatus.cancelled,
    }[delivery.status]


def _require_draft(answer: Answer) -> None:
    if answer.scheduled_email_id is not None:
        raise Conflict(
            "This answer was sent or scheduled already: only a draft can be changed, sent or "
            "deleted.",
            answer_id=str(answer.id),
        )


def _checked(body: str) -> str:
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise ValidationFailed("Write the answer first: it is empty.", field="body")
    if len(text) > MAX_BODY:
        raise ValidationFailed(f"The answer is longer than {MAX_BODY:,} characters.", field="body")
    return text
