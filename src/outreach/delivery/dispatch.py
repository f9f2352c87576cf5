"""Sending campaign steps: claim what is due, send it with no transaction open, record the outcome.

Three short transactions per email (convention 3):
1. claim — under the campaign's lock, decide with the pure rules (campaigns.schedule) whether
   the step may go now; if so write the draft and the delivery (unique per enrollment and step)
   as `sending`; if not, move the enrollment's next_send_at to when it may, with the reason;
2. send — the transport, outside any transaction;
3. record — sent (sent_emails row, the seed's analytics trigger, the enrollment advanced),
   retry later, failed (bounced addresses suppressed), the sender account failing, or unknown.
A crash between 1 and 3 leaves the delivery `sending`; recover() turns it into `unknown` for a
person, because an SMTP server cannot be asked whether it went and a duplicate cold email costs
more than a missed one. A provider that keeps its own ids (Graph) tells us the email's id
before sending it; that id is stored at once, and recover() asks the provider instead.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign, CampaignContact, CampaignSequence
from outreach.campaigns.schedule import (
    CampaignPace,
    SenderLoad,
    SendWindow,
    choose_sender,
    local_day_bounds,
    next_send,
)
from outreach.campaigns.states import EnrollmentStatus, draft_type_of
from outreach.clock import Clock
from outreach.contacts import suppressions
from outreach.contacts.models import Contact
from outreach.delivery import queries, scheduled
from outreach.delivery.compose import new_message_id
from outreach.delivery.message import Mailbox, OutgoingMessage, SentMessage
from outreach.delivery.models import Delivery, SenderAccount
from outreach.delivery.states import DELIVERIES, DeliveryStatus, SenderState
from outreach.delivery.transports.base import (
    DeliveryUncertain,
    PermanentSendError,
    ProviderStatus,
    ProviderThreads,
    SenderAccountError,
    SendError,
    TransientSendError,
    Transport,
)
from outreach.delivery.unsubscribe import make_token, unsubscribe_url
from outreach.drafts import campaign_steps
from outreach.drafts import queries as drafts
from outreach.drafts.models import EmailStatus
from outreach.errors import Conflict, InvalidTransition
from outreach.states import transition

CLAIMS_PER_CAMPAIGN = 500
"""At most this many steps queued per campaign per pass, so one campaign's lock is held briefly."""
STALE_SENDING = timedelta(minutes=10)
ACCOUNT_RETRY = timedelta(minutes=15)
MAX_ATTEMPTS = 8
ANY_TIME = SendWindow(time(0), time(0), frozenset(range(7)), ZoneInfo("UTC"))
"""A window that is always open: asks the pure rules about the campaign's pace alone."""
UNSUBSCRIBE_LINE = "\n\n--\nNot interested? Unsubscribe: {url}"

TransportFor = Callable[[SenderAccount], Transport]


@dataclass(frozen=True)
class Claim:
    delivery_id: uuid.UUID
    sender_id: uuid.UUID
    message: OutgoingMessage
    label: str
    earlier_provider_id: str | None = None
    """The provider's id for the email this one follows up (Graph replies to it)."""


@dataclass(frozen=True)
class Waiting:
    label: str
    reason: str


@dataclass
class PassReport:
    """What one pass did, for `outreach worker --once` and the logs."""

    sent: list[str] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Links:
    """What claiming needs to write unsubscribe links."""

    secret_key: str
    base_url: str


# Queueing ----------------------------------------------------------------------------------


def queue_campaign(
    session: Session,
    campaign_id: uuid.UUID,
    now: datetime,
    worker: str,
    links: Links,
    rng: random.Random,
) -> tuple[list[str], list[Waiting]]:
    """Under the campaign's lock, writes a queued delivery for each due step the rules let go
    now, and moves the others' next_send_at to when they may. Returns what was queued and why
    the rest waits."""
    if not campaign_queries.lock_campaign(session, campaign_id):
        return [], []
    found = campaigns.get(session, campaign_id)
    settings = campaign_queries.settings_of(session, campaign_id)
    window = campaigns.window_of(settings)
    steps = campaign_queries.steps_of(session, campaign_id)
    senders = {sender.id: sender for sender in campaign_queries.senders_of(session, campaign_id)}
    pace = CampaignPace(
        daily_limit=settings.daily_limit,
        sent_today=queries.campaign_sends_between(
            session, campaign_id, *local_day_bounds(now, window.timezone)
        ),
        last_sent_at=queries.campaign_last_send(session, campaign_id),
        spacing_seconds=settings.delay_between_emails_seconds,
        campaign_timezone=window.timezone,
    )
    utc_day = local_day_bounds(now, ZoneInfo("UTC"))
    loads = defaultdict(int, queries.sender_sends_between(session, list(senders), *utc_day))
    queued: list[str] = []
    waits: list[Waiting] = []
    for enrollment in campaign_queries.due_enrollments(
        session, campaign_id, now, CLAIMS_PER_CAMPAIGN
    ):
        pace = replace(pace, jitter_seconds=rng.uniform(0, settings.jitter_seconds))
        if next_send(now, now, ANY_TIME, pace).send_at != now:
            # The campaign's own pace (spacing, daily limit) holds every due step alike: say
            # when, in the campaign's window, and leave them due for a later pass.
            reason = next_send(now, now, window, pace).reason
            waits.append(Waiting(f"{found.name}: the rest of the due steps", reason))
            break
        contact = session.get(Contact, enrollment.contact_id)
        assert contact is not None
        label = f"{contact.email}: {found.name}, step {enrollment.current_sequence_step + 1}"
        sender_id, why = _thread_sender(enrollment, senders, loads)
        sender = senders.get(sender_id) if sender_id else None
        if sender is None:
            campaign_queries.postpone(session, enrollment.id, now + ACCOUNT_RETRY, why)
            waits.append(Waiting(label, why))
            continue
        decision = next_send(
            enrollment.next_send_at or now,
            now,
            window.for_contact(contact.timezone),
            pace,
            sender.daily_cap,
            loads[sender.id],
        )
        if decision.send_at != now:
            campaign_queries.postpone(
                session, enrollment.id, decision.send_at or now + timedelta(days=1), decision.reason
            )
            waits.append(Waiting(label, decision.reason))
            continue
        if _queue_step(session, found, enrollment, contact, steps, sender, now, worker, links):
            queued.append(label)
            pace = replace(pace, sent_today=pace.sent_today + 1, last_sent_at=now)
            loads[sender.id] += 1
    return queued, waits


def _thread_sender(
    enrollment: CampaignContact,
    senders: dict[uuid.UUID, SenderAccount],
    loads: dict[uuid.UUID, int],
) -> tuple[uuid.UUID | None, str]:
    """The thread's sender if it has one (and it can send), else the least loaded one."""
    if enrollment.sender_account_id is not None:
        sender = senders.get(enrollment.sender_account_id)
        if sender is None or sender.state != SenderState.ok:
            state = (
                "removed from the campaign"
                if sender is None
                else f"{sender.state}: {sender.last_error}"
            )
            return None, f"the thread's sender account is {state}"
        return sender.id, "the thread's sender"
    candidates = [
        SenderLoad(
            str(s.id),
            loads[s.id],
            s.daily_cap,
            usable=s.state == SenderState.ok and bool(s.is_active),
        )
        for s in senders.values()
    ]
    chosen, why = choose_sender(candidates)
    return (uuid.UUID(chosen) if chosen else None), why


def _queue_step(
    session: Session,
    found: Campaign,
    enrollment: CampaignContact,
    contact: Contact,
    steps: Sequence[CampaignSequence],
    sender: SenderAccount,
    now: datetime,
    worker: str,
    links: Links,
) -> bool:
    """Writes the step's draft and its delivery (queued, unique per enrollment and step)."""
    index = enrollment.current_sequence_step
    if index >= len(steps):
        campaigns.record_finished(session, enrollment.id, now)
        return False
    if suppressions.is_suppressed(session, contact.email):
        campaigns.record_stopped(
            session, enrollment.id, EnrollmentStatus.unsubscribed, "the address is suppressed"
        )
        return False
    thread = queries.thread_of(session, enrollment.id)
    url = _unsubscribe_url(links, contact.id, found.id)
    settings = campaign_queries.settings_of(session, found.id)
    line = UNSUBSCRIBE_LINE.format(url=url) if settings.unsubscribe_line else ""
    if steps[index].ai_written:
        # The draft written ahead for this step goes out as written or approved, the line after.
        taken = campaign_steps.take_draft(
            session, steps[index], contact.id, settings.require_approval
        )
        if isinstance(taken, str):
            campaign_queries.postpone(session, enrollment.id, now + campaign_steps.RECHECK, taken)
            return False
        draft, html, footer = taken, None, line or None
    else:
        try:
            rendered = campaigns.compose_step(
                steps, index, contact, _thread_subject(session, thread)
            )
        except Exception as error:
            reason = f"step {index + 1} cannot be written for this contact: {error}"
            campaigns.record_stopped(session, enrollment.id, EnrollmentStatus.failed, reason)
            return False
        draft = drafts.add_scheduled(
            session,
            contact_id=contact.id,
            draft_type=draft_type_of(index + 1),
            subject=rendered.subject,
            body=rendered.text + line,
            at=now,
        )
        html, footer = rendered.html, None
    session.add(
        Delivery(
            campaign_contact_id=enrollment.id,
            sequence_step=index + 1,
            campaign_id=found.id,
            contact_id=contact.id,
            draft_id=draft.id,
            sender_account_id=sender.id,
            message_id=new_message_id(sender.email.rsplit("@", 1)[-1], now),
            in_reply_to=thread[-1].message_id if thread else None,
            thread_references=" ".join(d.message_id for d in thread) or None,
            html=html,
            footer=footer,
            status=DeliveryStatus.queued.value,
            next_attempt_at=now,
            claimed_at=now,
            claimed_by=worker,
        )
    )
    if enrollment.sender_account_id is None:
        enrollment.sender_account_id = sender.id
    campaign_queries.postpone(session, enrollment.id, None, "sending")
    session.flush()
    return True


def _thread_subject(session: Session, thread: Sequence[Delivery]) -> str | None:
    if not thread:
        return None
    first = drafts.get(session, thread[0].draft_id)
    return first.outgoing_subject if first else None


def _unsubscribe_url(links: Links, contact_id: uuid.UUID, campaign_id: uuid.UUID | None) -> str:
    return unsubscribe_url(links.base_url, make_token(links.secret_key, contact_id, campaign_id))


# Sending -----------------------------------------------------------------------------------


def ready(session: Session, now: datetime, links: Links, limit: int) -> list[Claim]:
    """The queued deliveries due now (new steps, retries, resends) of senders that can send,
    as messages. Nothing is taken yet: start() takes each just before it goes."""
    claims = []
    for delivery in queries.due_queued(session, now, limit):
        sender = queries.sender(session, delivery.sender_account_id)
        draft = drafts.get(session, delivery.draft_id)
        contact = session.get(Contact, delivery.contact_id)
        if sender is None or draft is None or contact is None or sender.state != SenderState.ok:
            continue
        url = _unsubscribe_url(links, contact.id, delivery.campaign_id)
        message = OutgoingMessage(
            message_id=delivery.message_id,
            sender=Mailbox(sender.email, sender.display_name),
            recipient=Mailbox(contact.email, contact.name),
            subject=draft.outgoing_subject,
            text=draft.outgoing_body + (delivery.footer or ""),
            html=delivery.html,
            date=now,
            in_reply_to=delivery.in_reply_to,
            references=tuple((delivery.thread_references or "").split()),
            unsubscribe_url=url,
        )
        campaign = session.get(Campaign, delivery.campaign_id) if delivery.campaign_id else None
        label = f"{contact.email}: " + (
            f"{campaign.name}, step {delivery.sequence_step}" if campaign else "scheduled email"
        )
        earlier = (
            queries.provider_id_of(session, delivery.in_reply_to)
            if delivery.in_reply_to and sender.kind == "graph"
            else None
        )
        claims.append(Claim(delivery.id, sender.id, message, label, earlier))
    return claims


def start(session: Session, claim: Claim, now: datetime, worker: str) -> bool:
    """Takes one delivery for sending (queued → sending), the instant before the transport is
    called; False when another worker took it first. Only a delivery taken like this can
    become `unknown` after a crash, so a crash costs at most one email per connection."""
    try:
        transition(
            session,
            Delivery,
            claim.delivery_id,
            DeliveryStatus.sending,
            DELIVERIES,
            claimed_at=now,
            claimed_by=worker,
            attempts=Delivery.attempts + 1,
        )
    except InvalidTransition:
        return False
    return True


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    sent: SentMessage | None = None
    error: SendError | None = None


def _send(transport: Transport, claim: Claim, remember: Callable[[str], None]) -> Outcome:
    try:
        if not isinstance(transport, ProviderThreads):
            return Outcome(claim, sent=transport.send(claim.message))
        if claim.earlier_provider_id:
            sent = transport.send_reply(claim.message, claim.earlier_provider_id, on_draft=remember)
        else:
            sent = transport.send(claim.message, on_draft=remember)
        return Outcome(claim, sent=sent)
    except SendError as error:
        return Outcome(claim, error=error)


def deliver(
    session: Session,
    claims: Sequence[Claim],
    transport_for: Callable[[uuid.UUID], Transport],
    connections: Callable[[uuid.UUID], int],
    clock: Clock,
    worker: str,
    report: PassReport,
) -> None:
    """Sends the claims over up to `connections(sender)` connections per sender account, in
    parallel; one short transaction per email before (start) and after (record) its send, and
    for providers that keep ids one as the id is known. The session is used by one thread at a
    time (`database`): the calling thread, or a sending thread storing a provider's id."""
    lanes: dict[tuple[uuid.UUID, int], list[Claim]] = defaultdict(list)
    for position, claim in enumerate(claims):
        lanes[(claim.sender_id, position % connections(claim.sender_id))].append(claim)
    database = threading.Lock()
    transports = _transports(session, lanes, transport_for, clock.now())
    running: dict[Future[Outcome], tuple[uuid.UUID, int]] = {}

    def remember(delivery_id: uuid.UUID, provider_id: str) -> None:
        with database:
            queries.remember_provider_id(session, delivery_id, provider_id)
            session.commit()

    try:
        with ThreadPoolExecutor(max_workers=max(len(lanes), 1)) as pool:

            def next_in(key: tuple[uuid.UUID, int]) -> None:
                while lanes[key]:
                    claim = lanes[key].pop(0)
                    with database:
                        taken = start(session, claim, clock.now(), worker)
                        session.commit()
                    if taken:
                        keep = partial(remember, claim.delivery_id)
                        running[pool.submit(_send, transports[key], claim, keep)] = key
                        return

            for key in transports:
                next_in(key)
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    key = running.pop(future)
                    outcome = future.result()
                    with database:
                        record(session, outcome, clock.now(), report)
                        session.commit()
                    if isinstance(outcome.error, SenderAccountError):
                        lanes[key].clear()
                    next_in(key)
    finally:
        for transport in transports.values():
            transport.close()


# Recording ---------------------------------------------------------------------------------


def _transports(
    session: Session,
    lanes: dict[tuple[uuid.UUID, int], list[Claim]],
    transport_for: Callable[[uuid.UUID], Transport],
    now: datetime,
) -> dict[tuple[uuid.UUID, int], Transport]:
    """A transport per lane; an account that cannot even be set up (a Graph account without its
    app's credentials) is marked failing and its emails stay queued."""
    built = {}
    for key in lanes:
        try:
            built[key] = transport_for(key[0])
        except SenderAccountError as error:
            _sender_failing(session, key[0], error.reason, now)
            session.commit()
    return built


def record(session: Session, outcome: Outcome, now: datetime, report: PassReport) -> None:
    """Writes what happened to one claimed delivery."""
    delivery = session.get(Delivery, outcome.claim.delivery_id)
    assert delivery is not None
    label = outcome.claim.label
    error = outcome.error
    if outcome.sent is not None:
        _record_sent(session, delivery, outcome.sent, now)
        report.sent.append(label)
    elif isinstance(error, SenderAccountError):
        _sender_failing(session, delivery.sender_account_id, error.reason, now)
        _requeue(
            session,
            delivery.id,
            now + ACCOUNT_RETRY,
            error.reason,
            attempts=Delivery.attempts - 1,
        )
        report.retrying.append(f"{label}: the sender account cannot send: {error.reason}")
    elif isinstance(error, TransientSendError) and delivery.attempts < MAX_ATTEMPTS:
        wait = (
            timedelta(seconds=error.retry_after)
            if error.retry_after
            else _backoff(delivery.attempts)
        )
        _requeue(session, delivery.id, now + wait, error.reason)
        report.retrying.append(
            f"{label}: {error.reason} (next try in {int(wait.total_seconds())} s)"
        )
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
            address_rejected=isinstance(error, PermanentSendError) and error.address_rejected,
            now=now,
        )
        report.failed.append(f"{label}: {reason}")


def _requeue(
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


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 240))


def _record_sent(session: Session, delivery: Delivery, sent: SentMessage, now: datetime) -> None:
    transition(
        session,
        Delivery,
        delivery.id,
        DeliveryStatus.sent,
        DELIVERIES,
        sent_at=now,
        provider_id=sent.provider_id or delivery.provider_id,
        conversation_id=sent.conversation_id,
        last_error=None,
    )
    draft = drafts.get(session, delivery.draft_id)
    contact = session.get(Contact, delivery.contact_id)
    assert draft is not None
    assert contact is not None
    row = queries.add_sent_email(
        session,
        {
            "draft_id": draft.id,
            "contact_id": contact.id,
            "sender_account_id": delivery.sender_account_id,
            "campaign_id": delivery.campaign_id,
            "draft_type": draft.draft_type,
            "subject": draft.outgoing_subject,
            "body": draft.outgoing_body + (delivery.footer or ""),
            "recipient_email": contact.email,
            "sent_at": now,
            "message_id": delivery.message_id,
            "sequence_step": delivery.sequence_step,
        },
    )
    delivery.sent_email_id = row.id
    drafts.move(session, draft.id, EmailStatus.sent)
    if delivery.scheduled_email_id is not None:
        scheduled.record(session, delivery.scheduled_email_id, scheduled.ScheduledStatus.sent)
    if delivery.campaign_contact_id is not None and delivery.sequence_step is not None:
        campaigns.record_sent(session, delivery.campaign_contact_id, delivery.sequence_step, now)
    session.flush()


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
    if delivery.campaign_contact_id is not None:
        status = EnrollmentStatus.bounced if address_rejected else EnrollmentStatus.failed
        campaigns.record_stopped(session, delivery.campaign_contact_id, status, reason)


def _sender_failing(session: Session, sender_id: uuid.UUID, reason: str, now: datetime) -> None:
    sender = queries.sender(session, sender_id)
    if sender is not None:
        sender.state = SenderState.failing.value
        sender.last_error = reason
        sender.state_changed_at = now
        session.flush()


def recover(
    session: Session,
    now: datetime,
    transport_for: Callable[[uuid.UUID], Transport] | None = None,
) -> list[str]:
    """Deliveries a crash left `sending`. Where the provider keeps ids and we stored this
    email's, it is asked: sent is recorded as sent, a draft is deleted and the email queued
    again. Every other one becomes `unknown` for a person to decide (send again or mark sent):
    nothing is resent blindly. Returns the unknown ones."""
    found = []
    for delivery in queries.stale_sending(session, now - STALE_SENDING):
        if delivery.provider_id and transport_for and _asked(session, delivery, transport_for, now):
            continue
        transition(
            session,
            Delivery,
            delivery.id,
            DeliveryStatus.unknown,
            DELIVERIES,
            last_error="the worker stopped while sending: it may or may not have gone out",
        )
        found.append(str(delivery.id))
    return found


def _asked(
    session: Session,
    delivery: Delivery,
    transport_for: Callable[[uuid.UUID], Transport],
    now: datetime,
) -> bool:
    """Settles one stale delivery by asking its provider; False when it cannot tell."""
    assert delivery.provider_id is not None
    try:
        transport = transport_for(delivery.sender_account_id)
    except SenderAccountError:
        return False
    try:
        if not isinstance(transport, ProviderThreads):
            return False
        status = transport.status(delivery.provider_id)
        if status is ProviderStatus.sent:
            sent = SentMessage(delivery.message_id, delivery.provider_id)
            _record_sent(session, delivery, sent, delivery.claimed_at or now)
            return True
        if status is ProviderStatus.draft:
            transport.discard(delivery.provider_id)
            _requeue(
                session,
                delivery.id,
                now,
                "the worker stopped before sending; the provider still held it as a draft, "
                "so it is sent again",
                provider_id=None,
            )
            return True
        return False
    except SendError:
        return False
    finally:
        transport.close()


# A person deciding about unknown sends ------------------------------------------------------------


def send_again(session: Session, delivery_id: uuid.UUID, now: datetime) -> None:
    """An unknown send did not go out (the recipient says so, the mailbox's Sent folder lacks it):
    queue it again, same Message-ID, so a duplicate would at least thread as one."""
    _requeue(session, delivery_id, now, None)


def mark_sent(session: Session, delivery_id: uuid.UUID, now: datetime) -> None:
    """An unknown send did go out: record it as sent at its claim time; its enrollment moves on."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.unknown:
        # Not an unknown send: let transition() say why, in the usual words.
        transition(session, Delivery, delivery_id, DeliveryStatus.sent, DELIVERIES)
        return
    _record_sent(session, delivery, SentMessage(delivery.message_id), delivery.claimed_at or now)
