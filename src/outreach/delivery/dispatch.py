"""Sending campaign steps: claim what is due, send it with no transaction open, record the outcome.

Short transactions, each for a batch of emails (convention 3):
1. claim — under the campaign's lock, decide with the pure rules (campaigns.schedule) whether
   each due step may go now, one after another against the counts the ones before left; write
   the drafts and the deliveries (unique per enrollment and step) as `queued`, one statement per
   table, and move the others' next_send_at to when they may, with the reason;
2. take — the next delivery of each free connection becomes `sending`, in one statement,
   committed before any of them is handed to its connection: at most one per connection;
3. send — the transport, outside any transaction, while the calling thread does 2 and 4 for
   the other connections;
4. record — sent (sent_emails rows, the seed's analytics trigger, enrollments advanced),
   retry later, failed (bounced addresses suppressed), the sender account failing, or unknown;
   every send that finished is recorded in the transaction that takes its connection's next.
A crash between 2 and 4 leaves those deliveries `sending`; recover() turns them into `unknown`
for a person, because an SMTP server cannot be asked whether it went and a duplicate cold email
costs more than a missed one. A provider that keeps its own ids (Graph) tells us the email's id
before sending it; that id is stored at once, and recover() asks the provider instead.
"""

from __future__ import annotations

import queue
import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign, CampaignContact, CampaignSequence, CampaignSettings
from outreach.campaigns.schedule import (
    CampaignPace,
    SenderLoad,
    SendWindow,
    choose_sender,
    local_day_bounds,
    next_send,
)
from outreach.campaigns.states import ENROLLMENTS, DraftType, EnrollmentStatus, draft_type_of
from outreach.clock import Clock
from outreach.contacts import queries as contact_queries
from outreach.contacts import suppressions
from outreach.contacts.models import Contact
from outreach.delivery import queries, scheduled
from outreach.delivery.models import Delivery
from outreach.delivery.states import DELIVERIES, DeliveryStatus
from outreach.delivery.unsubscribe import make_token, unsubscribe_url
from outreach.drafts import campaign_steps
from outreach.drafts import queries as drafts
from outreach.drafts.models import EmailDraft, EmailStatus
from outreach.drafts.states import DRAFTS
from outreach.errors import Conflict
from outreach.providers.base import ProviderStatus, ProviderThreads, Transport
from outreach.providers.compose import new_message_id
from outreach.providers.errors import (
    AccountError,
    DeliveryUncertain,
    PermanentError,
    ProviderError,
    TransientError,
)
from outreach.providers.message import Mailbox, OutgoingMessage, SentMessage
from outreach.senders import queries as sender_queries
from outreach.senders.models import SenderAccount
from outreach.senders.states import SenderState
from outreach.states import forget_loaded, transition, transition_each
from outreach.words import counted

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
class Recording:
    """What recording a delivery as sent writes beyond its own row, read with the delivery so
    that recording a batch of sends reads nothing more."""

    delivery_id: uuid.UUID
    draft_id: uuid.UUID
    draft_type: DraftType
    contact_id: uuid.UUID
    recipient: str
    sender_account_id: uuid.UUID
    campaign_id: uuid.UUID | None
    enrollment_id: uuid.UUID | None
    step: int | None
    scheduled_email_id: uuid.UUID | None
    message_id: str
    subject: str
    body: str

    @classmethod
    def of(cls, delivery: Delivery, draft: EmailDraft, recipient: str) -> Recording:
        return cls(
            delivery_id=delivery.id,
            draft_id=draft.id,
            draft_type=draft.draft_type,
            contact_id=delivery.contact_id,
            recipient=recipient,
            sender_account_id=delivery.sender_account_id,
            campaign_id=delivery.campaign_id,
            enrollment_id=delivery.campaign_contact_id,
            step=delivery.sequence_step,
            scheduled_email_id=delivery.scheduled_email_id,
            message_id=delivery.message_id,
            subject=draft.outgoing_subject,
            body=draft.outgoing_body + (delivery.footer or ""),
        )


@dataclass(frozen=True)
class Claim:
    recording: Recording
    sender_id: uuid.UUID
    message: OutgoingMessage
    label: str
    earlier_provider_id: str | None = None
    """The provider's id for the email this one follows up (Graph replies to it)."""

    @property
    def delivery_id(self) -> uuid.UUID:
        return self.recording.delivery_id


@dataclass(frozen=True)
class Waiting:
    label: str
    reason: str
    steps: int = 1
    """How many due steps wait for this reason: a hold on the whole campaign stands for all
    the due steps it left."""


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

    @property
    def steps_waiting(self) -> int:
        return sum(wait.steps for wait in self.waiting)


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
    the rest waits.

    The due enrollments are decided one by one, each against the counts the ones before it
    left (so a daily limit or cap that runs out in the middle of them holds exactly), from
    contacts, suppressions and threads read for all of them at once; what they write goes in
    one statement per table."""
    if not campaign_queries.lock_campaign(session, campaign_id):
        return [], []
    found = campaigns.get(session, campaign_id)
    settings = campaign_queries.settings_of(session, campaign_id)
    window = campaigns.window_of(settings)
    steps = campaign_queries.steps_of(session, campaign_id)
    senders = {sender.id: sender for sender in campaign_queries.senders_of(session, campaign_id)}
    pace = _campaign_pace(session, campaign_id, settings, window, now)
    utc_day = local_day_bounds(now, ZoneInfo("UTC"))
    loads = defaultdict(int, queries.sender_sends_between(session, list(senders), *utc_day))
    due = campaign_queries.due_enrollments(session, campaign_id, now, CLAIMS_PER_CAMPAIGN)
    batch = _Batch.read(session, due, links, settings)
    queued: list[str] = []
    waits: list[Waiting] = []
    for position, enrollment in enumerate(due):
        pace = replace(pace, jitter_seconds=rng.uniform(0, settings.jitter_seconds))
        if next_send(now, now, ANY_TIME, pace).send_at != now:
            # The campaign's own pace (spacing, daily limit) holds every due step alike: say
            # when, in the campaign's window, and leave them due for a later pass.
            reason = next_send(now, now, window, pace).reason
            held = len(due) - position
            waits.append(Waiting(f"{found.name}: the rest of its due steps ({held})", reason, held))
            break
        contact = batch.contacts[enrollment.contact_id]
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
        if _queue_step(session, batch, found, enrollment, steps, sender, now, worker, settings):
            queued.append(label)
            pace = replace(pace, sent_today=pace.sent_today + 1, last_sent_at=now)
            loads[sender.id] += 1
    batch.write(session)
    return queued, waits


@dataclass
class _Batch:
    """What queueing a campaign's due steps reads for all of them at once, and the rows it
    writes for all of them at once."""

    contacts: dict[uuid.UUID, Contact]
    suppressed: set[str]
    threads: dict[uuid.UUID, list[Delivery]]
    thread_subjects: dict[uuid.UUID, str]
    """The subject each thread's first email had, by enrollment."""
    lines: dict[uuid.UUID, str]
    """The unsubscribe line under each contact's email ("" when the campaign adds none)."""
    drafts: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    enrollments: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def read(
        cls,
        session: Session,
        due: Sequence[CampaignContact],
        links: Links,
        settings: CampaignSettings,
    ) -> _Batch:
        contacts = contact_queries.contacts_by_id(session, {e.contact_id for e in due})
        threads = queries.threads_of(session, [e.id for e in due])
        firsts = drafts.by_id(session, {thread[0].draft_id for thread in threads.values()})
        return cls(
            contacts=contacts,
            suppressed=suppressions.suppressed_of(session, {c.email for c in contacts.values()}),
            threads=threads,
            thread_subjects={
                enrollment_id: firsts[thread[0].draft_id].outgoing_subject
                for enrollment_id, thread in threads.items()
                if thread[0].draft_id in firsts
            },
            lines={
                contact_id: unsubscribe_footer(links, settings, contact_id)
                for contact_id in contacts
            },
        )

    def write(self, session: Session) -> None:
        """Drafts before the deliveries that point at them."""
        drafts.add_drafts(session, self.drafts)
        queries.add_deliveries(session, self.deliveries)
        campaign_queries.update_enrollments(session, self.enrollments)
        session.flush()


def _campaign_pace(
    session: Session,
    campaign_id: uuid.UUID,
    settings: CampaignSettings,
    window: SendWindow,
    now: datetime,
) -> CampaignPace:
    return CampaignPace(
        daily_limit=settings.daily_limit,
        sent_today=queries.campaign_sends_between(
            session, campaign_id, *local_day_bounds(now, window.timezone)
        ),
        last_sent_at=queries.campaign_last_send(session, campaign_id),
        spacing_seconds=settings.delay_between_emails_seconds,
        campaign_timezone=window.timezone,
    )


def campaign_wait(session: Session, campaign_id: uuid.UUID, now: datetime) -> str | None:
    """Why the campaign's due steps wait just now (its spacing or daily limit, said with when
    they may go), or None when the next pass may send them. Without jitter: a person reading
    it wants the rule, not the dice."""
    settings = campaign_queries.settings_of(session, campaign_id)
    window = campaigns.window_of(settings)
    pace = _campaign_pace(session, campaign_id, settings, window, now)
    if next_send(now, now, ANY_TIME, pace).send_at == now:
        return None
    return next_send(now, now, window, pace).reason


def why_due_waits(session: Session, campaign: Campaign, now: datetime) -> str:
    """What holds a step that is due now, for the pages: the campaign's state or pace."""
    if campaign.status != "active":
        return f"the campaign is {campaign.status}"
    return campaign_wait(session, campaign.id, now) or "goes with the worker's next pass"


def held_by_senders(session: Session, campaign_id: uuid.UUID | None = None) -> list[Waiting]:
    """Emails already queued that wait for their failing or paused sender account: a thread keeps
    its sender, so they go once the account is resumed or works again."""
    return [
        Waiting(
            f"{held.sender_email}: {counted(held.emails, 'queued email')}",
            _sender_hold(held),
            steps=held.emails,
        )
        for held in queries.held_sends(session, campaign_id)
    ]


def sender_holds(session: Session, campaign_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """For the campaign's enrollments whose next email is queued on a sender account that cannot
    send, why it waits (their stored reason only says "sending")."""
    return {
        enrollment_id: _sender_hold(held)
        for held in queries.held_sends(session, campaign_id)
        for enrollment_id in held.enrollment_ids
    }


def _sender_hold(held: queries.HeldSends) -> str:
    why = f": {held.reason}" if held.reason else ""
    return f"waiting for {held.sender_email}, which is {held.state}{why}"


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
    return _new_thread_sender(senders, loads)


def _new_thread_sender(
    senders: dict[uuid.UUID, SenderAccount], loads: dict[uuid.UUID, int]
) -> tuple[uuid.UUID | None, str]:
    """The usable sender with room under its cap and the fewest sends today (choose_sender)."""
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


def move_first_emails(session: Session, now: datetime) -> list[str]:
    """First emails queued on a sender account that cannot send (failing or paused), moved to
    another of their campaign's senders that can, chosen as new threads are: nobody has
    received them, so no thread ties them to the account, and they would otherwise wait for it.
    Follow-ups stay, since they must come from the mailbox the contact was written from; so do
    emails a provider already holds a draft of. Returns what moved, in words."""
    moved: list[str] = []
    utc_day = local_day_bounds(now, ZoneInfo("UTC"))
    for campaign_id, stranded in queries.stranded_first_emails(session).items():
        senders = {s.id: s for s in campaign_queries.senders_of(session, campaign_id)}
        loads = defaultdict(int, queries.sender_sends_between(session, list(senders), *utc_day))
        for email in stranded:
            chosen, _ = _new_thread_sender(senders, loads)
            if chosen is None:
                break
            to = senders[chosen]
            message_id = new_message_id(to.email.rsplit("@", 1)[-1], now)
            if not queries.move_queued(
                session, email.delivery_id, email.sender_id, to.id, message_id, now
            ):
                continue  # taken or changed since it was read
            campaign_queries.update_enrollments(
                session, [{"row_id": email.enrollment_id, "sender_account_id": to.id}]
            )
            loads[to.id] += 1
            moved.append(
                f"{email.recipient}: first email moved from {email.sender_email} "
                f"({email.sender_state}) to {to.email}"
            )
    session.flush()
    return moved


def _queue_step(
    session: Session,
    batch: _Batch,
    found: Campaign,
    enrollment: CampaignContact,
    steps: Sequence[CampaignSequence],
    sender: SenderAccount,
    now: datetime,
    worker: str,
    settings: CampaignSettings,
) -> bool:
    """Adds the step's draft and its delivery (queued, unique per enrollment and step) to the
    batch's rows; what ends or holds the enrollment instead is written at once."""
    index = enrollment.current_sequence_step
    contact = batch.contacts[enrollment.contact_id]
    if index >= len(steps):
        campaigns.record_finished(session, enrollment.id, now)
        return False
    if contact.email in batch.suppressed:
        campaigns.record_stopped(
            session, enrollment.id, EnrollmentStatus.unsubscribed, "the address is suppressed"
        )
        return False
    thread = batch.threads.get(enrollment.id, [])
    line = batch.lines[contact.id]
    if steps[index].ai_written:
        # The draft written ahead for this step goes out as written or approved, the line after.
        taken = campaign_steps.take_draft(
            session, steps[index], contact.id, settings.require_approval
        )
        if isinstance(taken, str):
            campaign_queries.postpone(session, enrollment.id, now + campaign_steps.RECHECK, taken)
            return False
        draft_id, html, footer = taken.id, None, line or None
    else:
        try:
            rendered = campaigns.compose_step(
                steps, index, contact, batch.thread_subjects.get(enrollment.id)
            )
        except Exception as error:
            reason = f"step {index + 1} cannot be written for this contact: {error}"
            campaigns.record_stopped(session, enrollment.id, EnrollmentStatus.failed, reason)
            return False
        draft = drafts.scheduled_draft(
            contact_id=contact.id,
            draft_type=draft_type_of(index + 1),
            subject=rendered.subject,
            body=rendered.text + line,
            at=now,
        )
        batch.drafts.append(draft)
        draft_id, html, footer = draft["id"], rendered.html, None
    batch.deliveries.append(
        {
            "id": uuid.uuid4(),
            "campaign_contact_id": enrollment.id,
            "sequence_step": index + 1,
            "scheduled_email_id": None,
            "campaign_id": found.id,
            "contact_id": contact.id,
            "draft_id": draft_id,
            "sender_account_id": sender.id,
            "message_id": new_message_id(sender.email.rsplit("@", 1)[-1], now),
            "in_reply_to": thread[-1].message_id if thread else None,
            "thread_references": " ".join(d.message_id for d in thread) or None,
            "html": html,
            "footer": footer,
            "status": DeliveryStatus.queued.value,
            "next_attempt_at": now,
            "claimed_at": now,
            "claimed_by": worker,
        }
    )
    # The thread keeps its sender: _thread_sender chose the enrollment's own when it had one.
    batch.enrollments.append(
        {
            "row_id": enrollment.id,
            "sender_account_id": sender.id,
            "next_send_at": None,
            "waiting_reason": "sending",
        }
    )
    return True


def unsubscribe_footer(links: Links, settings: CampaignSettings, contact_id: uuid.UUID) -> str:
    """The text under each email of the campaign to the contact ("" when the campaign adds no
    unsubscribe line): what is sent, and what previews show."""
    if not settings.unsubscribe_line:
        return ""
    return UNSUBSCRIBE_LINE.format(url=_unsubscribe_url(links, contact_id, settings.campaign_id))


def _unsubscribe_url(links: Links, contact_id: uuid.UUID, campaign_id: uuid.UUID | None) -> str:
    return unsubscribe_url(links.base_url, make_token(links.secret_key, contact_id, campaign_id))


# Sending -----------------------------------------------------------------------------------


def ready(session: Session, now: datetime, links: Links, limit: int) -> list[Claim]:
    """The queued deliveries due now (new steps, retries, resends) of senders that can send,
    as messages. Nothing is taken yet: start() takes each just before it goes."""
    claims = []
    for delivery, draft, contact, campaign_name in queries.due_queued(session, now, limit):
        sender = sender_queries.sender(session, delivery.sender_account_id)
        assert sender is not None  # due_queued joins the account
        url = _unsubscribe_url(links, contact.id, delivery.campaign_id)
        recording = Recording.of(delivery, draft, contact.email)
        message = OutgoingMessage(
            message_id=delivery.message_id,
            sender=Mailbox(sender.email, sender.display_name),
            recipient=Mailbox(contact.email, contact.name),
            subject=recording.subject,
            text=recording.body,
            html=delivery.html,
            date=now,
            in_reply_to=delivery.in_reply_to,
            references=tuple((delivery.thread_references or "").split()),
            unsubscribe_url=url,
        )
        label = f"{contact.email}: " + (
            f"{campaign_name}, step {delivery.sequence_step}"
            if campaign_name is not None
            else "scheduled email"
        )
        earlier = (
            queries.provider_id_of(session, delivery.in_reply_to)
            if delivery.in_reply_to and sender.kind == "graph"
            else None
        )
        claims.append(Claim(recording, sender.id, message, label, earlier))
    return claims


def start(session: Session, claims: Sequence[Claim], now: datetime, worker: str) -> list[Claim]:
    """Takes these deliveries for sending (queued → sending) in one statement, the instant
    before the transport is called; returns those taken (another worker may have taken the
    others first). Only a delivery taken like this can become `unknown` after a crash, and
    deliver() takes at most one per connection at a time, so a crash costs at most one email
    per connection."""
    taken = transition_each(
        session,
        Delivery,
        [claim.delivery_id for claim in claims],
        DeliveryStatus.sending,
        DELIVERIES,
        counting=("attempts",),
        # A delivery another worker is taking counts as taken: its lane moves on to the next.
        skip_taken=True,
        claimed_at=now,
        claimed_by=worker,
    )
    return [claim for claim in claims if claim.delivery_id in taken]


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    sent: SentMessage | None = None
    error: ProviderError | None = None


def _send(transport: Transport, claim: Claim, remember: Callable[[str], None]) -> Outcome:
    try:
        if not isinstance(transport, ProviderThreads):
            return Outcome(claim, sent=transport.send(claim.message))
        if claim.earlier_provider_id:
            sent = transport.send_reply(claim.message, claim.earlier_provider_id, on_draft=remember)
        else:
            sent = transport.send(claim.message, on_draft=remember)
        return Outcome(claim, sent=sent)
    except ProviderError as error:
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
    parallel, one email at a time on each. The database work runs on the calling thread while
    the connections send: whenever sends finish, one short transaction records all of their
    outcomes and takes the next email of each of those connections (start), and it is
    committed before those emails are handed to their connections; providers that keep ids
    get one more as the id is known. The session is used by one thread at a time
    (`database`): the calling thread, or a sending thread storing a provider's id."""
    lanes: dict[tuple[uuid.UUID, int], list[Claim]] = defaultdict(list)
    for position, claim in enumerate(claims):
        lanes[(claim.sender_id, position % connections(claim.sender_id))].append(claim)
    database = threading.Lock()
    steps: dict[uuid.UUID, list[CampaignSequence]] = {}
    transports = _transports(session, lanes, transport_for, clock.now())

    def remember(delivery_id: uuid.UUID, provider_id: str) -> None:
        with database:
            queries.remember_provider_id(session, delivery_id, provider_id)
            session.commit()

    def take_next(free: Iterable[tuple[uuid.UUID, int]]) -> dict[tuple[uuid.UUID, int], Claim]:
        """The next email of each of these lanes, taken (the caller commits); a lane whose
        next one another worker took first moves on to the one after."""
        taken: dict[tuple[uuid.UUID, int], Claim] = {}
        waiting = [key for key in free if lanes[key]]
        while waiting:
            heads = {key: lanes[key].pop(0) for key in waiting}
            won = {c.delivery_id for c in start(session, list(heads.values()), clock.now(), worker)}
            taken.update((key, claim) for key, claim in heads.items() if claim.delivery_id in won)
            waiting = [key for key in waiting if key not in taken and lanes[key]]
        return taken

    # A long-lived thread per connection, fed its next email through its own queue and handing
    # back outcomes through one shared queue: cheaper than a future per email, whose pool,
    # locks and waiters cost the interpreter more than composing the email.
    inboxes: dict[tuple[uuid.UUID, int], queue.SimpleQueue[Claim | None]] = {}
    finished: queue.SimpleQueue[tuple[tuple[uuid.UUID, int], Outcome | BaseException]] = (
        queue.SimpleQueue()
    )
    threads = []
    try:
        for key, transport in transports.items():
            inboxes[key] = queue.SimpleQueue()
            thread = threading.Thread(
                target=_connection,
                args=(key, transport, inboxes[key], finished, remember),
                name=f"outreach-send-{key[1]}",
            )
            thread.start()
            threads.append(thread)
        free: Iterable[tuple[uuid.UUID, int]] = list(transports)
        outcomes: list[Outcome] = []
        running = 0
        while True:
            with database:
                record(session, outcomes, clock.now(), report, steps)
                taken = take_next(free)
                session.commit()
            for key, claim in taken.items():
                inboxes[key].put(claim)
            running += len(taken)
            if not running:
                break
            done = dict([finished.get()])
            with suppress(queue.Empty):
                while True:
                    key, result = finished.get_nowait()
                    done[key] = result
            running -= len(done)
            for key, result in done.items():
                if isinstance(result, BaseException):
                    raise result
                if isinstance(result.error, AccountError):
                    lanes[key].clear()
            free = list(done)
            outcomes = [result for result in done.values() if isinstance(result, Outcome)]
    finally:
        for inbox in inboxes.values():
            inbox.put(None)
        for thread in threads:
            thread.join()
        for transport in transports.values():
            transport.close()


def _connection(
    key: tuple[uuid.UUID, int],
    transport: Transport,
    inbox: queue.SimpleQueue[Claim | None],
    finished: queue.SimpleQueue[tuple[tuple[uuid.UUID, int], Outcome | BaseException]],
    remember: Callable[[uuid.UUID, str], None],
) -> None:
    """One connection's thread: sends each email it is handed, one at a time, until None."""
    while (claim := inbox.get()) is not None:
        try:
            outcome: Outcome | BaseException = _send(
                transport, claim, partial(remember, claim.delivery_id)
            )
        except BaseException as error:  # raised again on the calling thread
            outcome = error
        finished.put((key, outcome))


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
        except AccountError as error:
            _sender_failing(session, key[0], error.reason, now)
            session.commit()
    return built


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
    _record_sent(session, [(claim.recording, message) for claim, message in sent], now, steps)
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
    if isinstance(error, AccountError):
        _sender_failing(session, delivery.sender_account_id, error.reason, now)
        _requeue(
            session,
            delivery.id,
            now + ACCOUNT_RETRY,
            error.reason,
            attempts=Delivery.attempts - 1,
        )
        report.retrying.append(f"{label}: the sender account cannot send: {error.reason}")
    elif isinstance(error, TransientError) and delivery.attempts < MAX_ATTEMPTS:
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
            address_rejected=isinstance(error, PermanentError) and error.address_rejected,
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


def _record_sent(
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
    """_record_sent's portable path: a statement for each kind of row."""
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
    campaigns.record_sent(session, enrollments, at, steps)


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
    """_record_sent on PostgreSQL: the same rows and status moves in one statement, the rows
    it left out explained as on the portable path."""
    moves = campaigns.steps_sent(session, enrollments, at, steps)
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
            campaigns.record_stopped_steps(session, [move.enrollment_id], move.done)
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
    if delivery.campaign_contact_id is not None:
        status = EnrollmentStatus.bounced if address_rejected else EnrollmentStatus.failed
        campaigns.record_stopped(session, delivery.campaign_contact_id, status, reason)


def _sender_failing(session: Session, sender_id: uuid.UUID, reason: str, now: datetime) -> None:
    sender = sender_queries.sender(session, sender_id)
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
    except AccountError:
        return False
    try:
        if not isinstance(transport, ProviderThreads):
            return False
        status = transport.status(delivery.provider_id)
        if status is ProviderStatus.sent:
            sent = SentMessage(delivery.message_id, delivery.provider_id)
            _record_sent(
                session, [(_recording(session, delivery.id), sent)], delivery.claimed_at or now, {}
            )
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
    except ProviderError:
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
    sent = SentMessage(delivery.message_id)
    _record_sent(
        session, [(_recording(session, delivery_id), sent)], delivery.claimed_at or now, {}
    )


def _recording(session: Session, delivery_id: uuid.UUID) -> Recording:
    return Recording.of(*queries.with_draft_and_recipient(session, delivery_id))
