"""Enrollments as sends happen: what sending, replies and unsubscribes write on a campaign's
enrollments (campaign_contacts), which the campaigns domain owns. Other domains move an
enrollment only through these functions.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.campaigns import queries
from outreach.campaigns.models import CampaignContact, CampaignSequence
from outreach.campaigns.schedule import step_due_at
from outreach.campaigns.states import ENROLLMENTS, EnrollmentStatus
from outreach.contacts.addresses import company_domain
from outreach.errors import InvalidTransition
from outreach.states import transition, transition_each

WAIT_MARK = "AI-written draft"
"""Every reason an enrollment waits for its AI-written draft contains this."""
SENDING = "sending"
"""The reason an enrollment whose step is queued waits: the send itself."""


def postpone(session: Session, enrollment_id: uuid.UUID, until: datetime, reason: str) -> None:
    """The enrollment's due step waits until `until`, saying why."""
    queries.postpone(session, enrollment_id, until, reason)


def record_queued(session: Session, queued: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Each (enrollment, sender account) had its due step queued: the thread keeps that
    sender, and the enrollment waits for the send. One statement however many."""
    queries.update_enrollments(
        session,
        [
            {
                "row_id": enrollment_id,
                "sender_account_id": sender_id,
                "next_send_at": None,
                "waiting_reason": SENDING,
            }
            for enrollment_id, sender_id in queued
        ],
    )


def change_sender(session: Session, enrollment_id: uuid.UUID, sender_id: uuid.UUID) -> None:
    """The thread's first email, not sent yet, moved to another sender account: the thread is
    that account's now."""
    queries.update_enrollments(session, [{"row_id": enrollment_id, "sender_account_id": sender_id}])


def look_again(
    session: Session,
    waiting: Iterable[tuple[uuid.UUID, uuid.UUID]],
    now: datetime,
    reason: str,
) -> int:
    """Enrollments (campaign, contact) waiting at a due step for its AI-written draft are looked
    at again at the next pass, saying `reason` meanwhile. Returns how many."""
    return sum(
        queries.wake_waiting(session, campaign_id, contact_id, now, WAIT_MARK, reason)
        for campaign_id, contact_id in waiting
    )


@dataclass(frozen=True)
class StepSent:
    """What recording a sent step writes on its enrollment: `done` on it whatever its status,
    and, when its status allows moving to `target`, `then` too."""

    enrollment_id: uuid.UUID
    target: EnrollmentStatus
    done: dict[str, Any]
    then: dict[str, Any]


def steps_sent(
    session: Session,
    sends: Sequence[tuple[uuid.UUID, uuid.UUID, int]],
    sent_at: datetime,
    steps: dict[uuid.UUID, list[CampaignSequence]],
) -> list[StepSent]:
    """What record_sent writes for each (enrollment, its campaign, step) sent, decided from
    the campaigns' steps; those missing from `steps` are read and added."""
    for _, campaign_id, _ in sends:
        if campaign_id not in steps:
            steps[campaign_id] = queries.steps_of(session, campaign_id)
    moves = []
    for enrollment_id, campaign_id, step in sends:
        done: dict[str, Any] = {
            "current_sequence_step": step,
            "last_email_sent_at": sent_at,
            "waiting_reason": None,
        }
        following = steps[campaign_id][step:]
        if following:
            target = EnrollmentStatus.in_progress
            then: dict[str, Any] = {
                "next_send_at": step_due_at(
                    sent_at, following[0].delay_days, following[0].delay_hours
                )
            }
        else:
            target, then = (
                EnrollmentStatus.completed,
                {"next_send_at": None, "completed_at": sent_at},
            )
        moves.append(StepSent(enrollment_id, target, done, then))
    return moves


def record_sent(
    session: Session,
    sends: Sequence[tuple[uuid.UUID, uuid.UUID, int]],
    sent_at: datetime,
    steps: dict[uuid.UUID, list[CampaignSequence]],
) -> None:
    """Each (enrollment, its campaign, step) sent: step `step` (1-based) went out, and the
    enrollment moves on to the next step's due time, or is completed after the last. One
    stopped meanwhile (a reply) keeps its status; the send is still recorded on it. A statement
    for each campaign and step however many enrollments. `steps` holds each campaign's steps
    as the caller read them so far; those missing are read and added."""
    together: dict[tuple[uuid.UUID, int], list[uuid.UUID]] = {}
    for enrollment_id, campaign_id, step in sends:
        together.setdefault((campaign_id, step), []).append(enrollment_id)
    moves = steps_sent(
        session,
        [(ids[0], campaign_id, step) for (campaign_id, step), ids in together.items()],
        sent_at,
        steps,
    )
    for move, enrollment_ids in zip(moves, together.values(), strict=True):
        moved = transition_each(
            session,
            CampaignContact,
            enrollment_ids,
            move.target,
            ENROLLMENTS,
            **move.done,
            **move.then,
        )
        record_stopped_steps(session, set(enrollment_ids) - moved, move.done)


def record_stopped_steps(
    session: Session, enrollment_ids: Collection[uuid.UUID], done: dict[str, Any]
) -> None:
    """Enrollments stopped meanwhile (a reply) keep their status; the send is still recorded."""
    for enrollment_id in enrollment_ids:
        queries.record_step(session, enrollment_id, **done)


def record_finished(session: Session, enrollment_id: uuid.UUID, at: datetime) -> None:
    """An enrollment whose sequence has no step left (steps were removed while paused)."""
    transition(
        session,
        CampaignContact,
        enrollment_id,
        EnrollmentStatus.completed,
        ENROLLMENTS,
        next_send_at=None,
        completed_at=at,
    )


def record_stopped(
    session: Session, enrollment_id: uuid.UUID, status: EnrollmentStatus, reason: str
) -> None:
    """The enrollment ends early (bounced, failed, unsubscribed), unless it already ended."""
    try:
        transition(
            session,
            CampaignContact,
            enrollment_id,
            status,
            ENROLLMENTS,
            next_send_at=None,
            stop_reason=reason[:1000],
        )
    except InvalidTransition:
        return


def stop_contact_everywhere(
    session: Session, contact_id: uuid.UUID, status: EnrollmentStatus, reason: str
) -> int:
    """Every running enrollment of a contact ends (an unsubscribe, a bounce)."""
    return queries.stop_contact(session, contact_id, status, reason)


def stop_colleagues_of(
    session: Session, campaign_id: uuid.UUID, replier_id: uuid.UUID, replier_email: str
) -> int:
    """When the campaign keeps one conversation per company (skip_replied_companies), a reply
    from someone ends the running enrollments of their colleagues (same company domain; people
    at personal mailbox providers have no colleagues). How many ended."""
    domain = company_domain(replier_email)
    if domain is None or not queries.settings_of(session, campaign_id).skip_replied_companies:
        return 0
    reason = f"a colleague ({replier_email}) replied"
    return queries.stop_colleagues(session, campaign_id, domain, replier_id, reason)
