"""Recording outcomes: sent (sent_emails rows, the seed's analytics trigger, enrollments
advanced), retry later, failed (a rejected address suppressed), the sender account failing, or
unknown (the provider could not say).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from outreach.campaigns import enrollments as campaign_enrollments
from outreach.campaigns.models import CampaignContact, CampaignSequence
from outreach.campaigns.states import ENROLLMENTS, EnrollmentStatus
from outreach.contacts import leads, suppressions
from outreach.contacts.leads import ChangedBy, LeadStatus
from outreach.contacts.models import Contact
from outreach.delivery import queries, scheduled
from outreach.delivery.models import Delivery
from outreach.delivery.planning import ACCOUNT_RETRY, Waiting
from outreach.delivery.states import DELIVERIES, DeliveryStatus
from outreach.delivery.taking import Claim, Recording
from outreach.drafts import queries as drafts
from outreach.drafts.models import EmailDraft, EmailStatus
from outreach.drafts.states import DRAFTS
from outreach.errors import Conflict
from outreach.events import recording as events
from outreach.events.kinds import EventKind
from outreach.providers.errors import (
    AccountError,
    DeliveryUncertain,
    PermanentError,
    ProviderError,
    ServerUnreachable,
    TenantLimitReached,
    TransientError,
)
from outreach.providers.message import SentMessage
from outreach.retry import RetryPolicy
from outreach.senders import service as senders
from outreach.states import forget_loaded, transition, transition_each

RETRY_POLICY = RetryPolicy(
    lease=timedelta(minutes=1),
    first_delay_seconds=120,
    longest_delay_seconds=240 * 60,
    max_attempts=8,
)
"""A send refused for a passing reason waits 2, 4, 8 … minutes (at most 4 hours, or what the
provider asked) and is given up after its 8th try. The lease is a sending worker's: renewed by
its heartbeat, and one left `sending` by a worker whose lease ran out on another host (or whose
process is gone from this one) was cut off by a crash (recovery.py)."""


@dataclass
class PassReport:
    """What one pass did, for `outreach worker --once` and the logs."""

    dry_run: bool = False
    sent: list[str] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    """First emails given another sender account because theirs cannot send."""
    senders: list[str] = field(default_factory=list)
    """Sender accounts tried again after their server could not be reached, and how it went."""
    next_due: datetime | None = None
    """The earliest moment after the pass began that something may go (a step, a retry, a
    one-off email, the end of a campaign's spacing or a window's opening), perhaps already past
    as the pass ends; None when nothing waits for a time."""

    @property
    def steps_waiting(self) -> int:
        return sum(wait.steps for wait in self.waiting)

    @property
    def changed(self) -> int:
        """How many deliveries the pass settled: sent, failed or unknown."""
        return len(self.sent) + len(self.failed) + len(self.unknown)

    def summary(self) -> str:
        if self.dry_run:
            return f"dry run: {len(self.would_send)} would be sent, {self.steps_waiting} waiting"
        return (
            f"{len(self.sent)} sent, {len(self.retrying)} retrying, {len(self.failed)} failed, "
            f"{len(self.unknown)} unknown, {self.steps_waiting} waiting"
        )

    def lines(self) -> list[str]:
        """What a person watching the pass wants to read, a line per email or wait."""
        lines = [f"sender {text}" for text in self.senders]
        lines += [f"sent {label}" for label in self.sent]
        lines += [f"would send {label}" for label in self.would_send]
        lines += [f"moved {text}" for text in self.moved]
        lines += [f"retrying {text}" for text in self.retrying]
        lines += [f"failed {text}" for text in self.failed]
        lines += [f"unknown {text}: decide on the sends page" for text in self.unknown]
        lines += [f"waiting {wait.label}: {wait.reason}" for wait in self.waiting]
        return lines


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    sent: SentMessage | None = None
    error: ProviderError | None = None


def record(
    session: Session,
    outcomes: Sequence[Outcome],
    now: datetime,
    report: PassReport,
    steps: dict[uuid.UUID, list[CampaignSequence]],
) -> None:
    """Writes what happened to claimed deliveries: the sent ones together, the others one by
    one. `steps` holds each campaign's steps as read so far in this pass."""
    sent = [(outcome.claim, outcome.sent) for outcome in outcomes if outcome.sent is not None]
    record_sent(session, [(claim.recording, message) for claim, message in sent], now, steps)
    senders.heal_sent(session, {claim.sender_id for claim, _ in sent}, now)
    report.sent += [claim.label for claim, _ in sent]
    for outcome in outcomes:
        if outcome.sent is None:
            _record_not_sent(session, outcome, now, report)


def _record_not_sent(session: Session, outcome: Outcome, now: datetime, report: PassReport) -> None:
    """Retry later, failed (a rejected address suppressed), the sender account failing, or
    unknown."""
    delivery = session.get(Delivery, outcome.claim.delivery_id)
    assert delivery is not None
    label = outcome.claim.label
    error = outcome.error
    if isinstance(error, AccountError | ServerUnreachable):
        # Nothing was handed over (the connection failed before MAIL FROM), so the email waits
        # for its account uncounted; it goes as soon as the account works again.
        standing = senders.record_failure(session, delivery.sender_account_id, error, now)
        at = standing.retry_at or now + ACCOUNT_RETRY
        requeue(session, delivery.id, at, error.reason, attempts=Delivery.attempts - 1)
        report.retrying.append(f"{label}: the sender account cannot send: {standing.describe()}")
    elif isinstance(error, TenantLimitReached):
        # The tenant's rolling day is used up: the email waits for it uncounted, and so does
        # every other account of the tenant; nobody is suppressed, nothing fails.
        account = senders.hold_tenant(session, delivery.sender_account_id, error.reason, now)
        assert account.held_until is not None
        requeue(
            session, delivery.id, account.held_until, error.reason, attempts=Delivery.attempts - 1
        )
        report.retrying.append(f"{label}: {account.email} is {senders.hold_words(account)}")
    elif isinstance(error, TransientError) and not RETRY_POLICY.gives_up(delivery.attempts):
        # A retry-after of 0 says nothing: the backoff decides.
        wait = RETRY_POLICY.delay_seconds(delivery.attempts, error.retry_after or None)
        requeue(session, delivery.id, now + timedelta(seconds=wait), error.reason)
        report.retrying.append(f"{label}: {error.reason} (next try in {int(wait)} s)")
    elif isinstance(error, DeliveryUncertain):
        transition(
            session,
            Delivery,
            delivery.id,
            DeliveryStatus.unknown,
            DELIVERIES,
            last_error=error.reason,
        )
        report.unknown.append(f"{label}: {error.reason}")
    else:
        reason = error.reason if error else "no outcome"
        _record_failed(
            session,
            delivery,
            reason,
            address_rejected=isinstance(error, PermanentError) and error.address_rejected,
            now=now,
        )
        report.failed.append(f"{label}: {reason}")


def requeue(
    session: Session, delivery_id: uuid.UUID, at: datetime, reason: str | None, **changes: Any
) -> None:
    """Back to the queue, to be sent again from `at`, saying why."""
    transition(
        session,
        Delivery,
        delivery_id,
        DeliveryStatus.queued,
        DELIVERIES,
        next_attempt_at=at,
        last_error=reason,
        **changes,
    )


def record_sent(
    session: Session,
    sends: Sequence[tuple[Recording, SentMessage]],
    at: datetime,
    steps: dict[uuid.UUID, list[CampaignSequence]],
) -> None:
    """These deliveries went out at `at`: each is marked sent with its sent_emails row (the
    seed's analytics trigger), its draft sent, its scheduled email or enrollment moved on; one
    statement for each kind of row however many were sent (on PostgreSQL one for all of them,
    queries.record_sent_at_once)."""
    if not sends:
        return
    rows, links = [], []
    for recording, sent in sends:
        row_id = uuid.uuid4()
        rows.append(
            {
                "id": row_id,
                "draft_id": recording.draft_id,
                "contact_id": recording.contact_id,
                "sender_account_id": recording.sender_account_id,
                "campaign_id": recording.campaign_id,
                "draft_type": recording.draft_type,
                "subject": recording.subject,
                "body": recording.body,
                "recipient_email": recording.recipient,
                "sent_at": at,
                "message_id": recording.message_id,
                "sequence_step": recording.step,
            }
        )
        links.append(
            {
                "row_id": recording.delivery_id,
                "sent_email_id": row_id,
                "sent_provider_id": sent.provider_id,
                "conversation_id": sent.conversation_id,
            }
        )
    enrollments = []
    for recording, _ in sends:
        if recording.enrollment_id is not None and recording.step is not None:
            assert recording.campaign_id is not None
            enrollments.append((recording.enrollment_id, recording.campaign_id, recording.step))
    if session.connection().dialect.name == "postgresql":
        _record_sent_at_once(session, sends, rows, links, enrollments, at, steps)
    else:
        _record_sent_each(session, sends, rows, links, enrollments, at, steps)
    for recording, _ in sends:
        if recording.scheduled_email_id is not None:
            scheduled.record(session, recording.scheduled_email_id, scheduled.ScheduledStatus.sent)
    contacted = {recording.contact_id for recording, _ in sends}
    leads.change(session, contacted, LeadStatus.contacted, ChangedBy("a send"), at)
    events.record_many(
        session,
        EventKind.email_sent,
        at,
        (
            {
                "email_id": row["id"],
                "delivery_id": recording.delivery_id,
                "contact_id": recording.contact_id,
                "recipient": recording.recipient,
                "sender_account_id": recording.sender_account_id,
                "campaign_id": recording.campaign_id,
                "step": recording.step,
                "subject": recording.subject,
                "message_id": recording.message_id,
            }
            for (recording, _), row in zip(sends, rows, strict=True)
        ),
    )
    session.flush()


def _record_sent_each(
    session: Session,
    sends: Sequence[tuple[Recording, SentMessage]],
    rows: list[dict[str, Any]],
    links: list[dict[str, Any]],
    enrollments: list[tuple[uuid.UUID, uuid.UUID, int]],
    at: datetime,
    steps: dict[uuid.UUID, list[CampaignSequence]],
) -> None:
    """record_sent's portable path: a statement for each kind of row."""
    moved = transition_each(
        session,
        Delivery,
        [recording.delivery_id for recording, _ in sends],
        DeliveryStatus.sent,
        DELIVERIES,
        sent_at=at,
        last_error=None,
    )
    _refused(session, [recording.delivery_id for recording, _ in sends], moved)
    queries.add_sent_emails(session, rows)
    queries.link_sent(session, links)
    drafts.move_all(session, [recording.draft_id for recording, _ in sends], EmailStatus.sent)
    campaign_enrollments.record_sent(session, enrollments, at, steps)


def _refused(session: Session, delivery_ids: Iterable[uuid.UUID], moved: set[uuid.UUID]) -> None:
    """A delivery that could not become sent: transition() says why, in the usual words."""
    for delivery_id in delivery_ids:
        if delivery_id not in moved:
            transition(session, Delivery, delivery_id, DeliveryStatus.sent, DELIVERIES)


def _record_sent_at_once(
    session: Session,
    sends: Sequence[tuple[Recording, SentMessage]],
    rows: list[dict[str, Any]],
    links: list[dict[str, Any]],
    enrollments: list[tuple[uuid.UUID, uuid.UUID, int]],
    at: datetime,
    steps: dict[uuid.UUID, list[CampaignSequence]],
) -> None:
    """record_sent on PostgreSQL: the same rows and status moves in one statement, the rows
    it left out explained as on the portable path."""
    moves = campaign_enrollments.steps_sent(session, enrollments, at, steps)
    for move in moves:
        assert set(move.done) | set(move.then) <= {
            "current_sequence_step",
            "last_email_sent_at",
            "waiting_reason",
            "next_send_at",
            "completed_at",
        }, "record_sent_at_once writes these columns alone"
    draft_ids = list({recording.draft_id for recording, _ in sends})
    delivered, drafts_moved, enrolled = queries.record_sent_at_once(
        session,
        at,
        [row | link for row, link in zip(rows, links, strict=True)],
        DELIVERIES.sources(DeliveryStatus.sent),
        draft_ids,
        DRAFTS.sources(EmailStatus.sent),
        [
            {
                "id": move.enrollment_id,
                "target": move.target,
                "current_sequence_step": move.done["current_sequence_step"],
                "next_send_at": move.then.get("next_send_at"),
                "completed_at": move.then.get("completed_at"),
            }
            for move in moves
        ],
        {move.target: ENROLLMENTS.sources(move.target) for move in moves},
    )
    _refused(session, [recording.delivery_id for recording, _ in sends], delivered)
    for draft_id in draft_ids:
        if draft_id not in drafts_moved:
            drafts.move(session, draft_id, EmailStatus.sent)  # refused: says why
    for move in moves:
        if move.enrollment_id not in enrolled:
            campaign_enrollments.record_stopped_steps(session, [move.enrollment_id], move.done)
    forget_loaded(session, Delivery, delivered)
    forget_loaded(session, EmailDraft, drafts_moved)
    forget_loaded(session, CampaignContact, enrolled)


def _record_failed(
    session: Session, delivery: Delivery, reason: str, *, address_rejected: bool, now: datetime
) -> None:
    bounced_at = now if address_rejected else None
    transition(
        session,
        Delivery,
        delivery.id,
        DeliveryStatus.failed,
        DELIVERIES,
        last_error=reason,
        bounced_at=bounced_at,
    )
    drafts.move(session, delivery.draft_id, EmailStatus.failed)
    if delivery.scheduled_email_id is not None:
        scheduled.record(session, delivery.scheduled_email_id, scheduled.ScheduledStatus.failed)
    contact = session.get(Contact, delivery.contact_id)
    assert contact is not None
    if address_rejected:
        with suppress(Conflict):
            suppressions.add(
                session, contact.email, suppressions.Reason.bounced, f"bounce: {reason}"[:500], now
            )
        leads.change(session, [contact.id], LeadStatus.bounced, ChangedBy("a refused send"), now)
    if delivery.campaign_contact_id is not None:
        status = EnrollmentStatus.bounced if address_rejected else EnrollmentStatus.failed
        campaign_enrollments.record_stopped(session, delivery.campaign_contact_id, status, reason)
    if address_rejected:
        events.record(
            session,
            EventKind.email_bounced,
            now,
            delivery_id=delivery.id,
            contact_id=delivery.contact_id,
            recipient=contact.email,
            campaign_id=delivery.campaign_id,
            reason=reason,
            address_suppressed=True,
        )
