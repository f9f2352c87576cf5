"""Planning what is due: which campaign steps may go now, and why the others wait.

Under the campaign's lock, each due step is decided with the pure rules (campaigns.schedule),
one after another against the counts the ones before left; the ones that may go become a draft
and a `queued` delivery (unique per enrollment and step), written one statement per table, and
the others' next_send_at moves to when they may, with the reason. A thread keeps its sender
account; a first email stranded on an account that cannot send moves to another.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.campaigns import enrollments
from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign, CampaignContact, CampaignSequence, CampaignSettings
from outreach.campaigns.schedule import (
    CampaignPace,
    NextSendWords,
    SenderLoad,
    SendWindow,
    choose_sender,
    local_day_bounds,
    next_send,
    next_send_words,
)
from outreach.campaigns.states import EnrollmentStatus, draft_type_of
from outreach.contacts import queries as contact_queries
from outreach.contacts import suppressions
from outreach.contacts.models import Contact
from outreach.delivery import queries
from outreach.delivery.allowance import Allowance
from outreach.delivery.models import Delivery
from outreach.delivery.states import DeliveryStatus
from outreach.delivery.unsubscribe import make_token, unsubscribe_url
from outreach.drafts import campaign_steps
from outreach.drafts import queries as drafts
from outreach.providers.compose import new_message_id
from outreach.senders import service as sender_service
from outreach.senders.models import SenderAccount
from outreach.senders.states import SenderState
from outreach.words import UTC_ZONE, counted

CLAIMS_PER_CAMPAIGN = 500
"""At most this many steps queued per campaign per pass, so one campaign's lock is held briefly."""


ACCOUNT_RETRY = timedelta(minutes=15)


ANY_TIME = SendWindow(time(0), time(0), frozenset(range(7)), UTC_ZONE)
"""A window that is always open: asks the pure rules about the campaign's pace alone."""


UNSUBSCRIBE_LINE = "\n\n--\nNot interested? Unsubscribe: {url}"


@dataclass(frozen=True)
class Waiting:
    label: str
    reason: str
    steps: int = 1
    """How many due steps wait for this reason: a hold on the whole campaign stands for all
    the due steps it left."""
    until: datetime | None = None
    """When the wait ends, when that is known (the campaign's spacing, a window's opening):
    the worker's loop wakes then."""


@dataclass(frozen=True)
class Links:
    """What claiming needs to write unsubscribe links."""

    secret_key: str
    base_url: str


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
    utc_day = local_day_bounds(now, UTC_ZONE)
    loads = defaultdict(int, queries.sender_sends_between(session, list(senders), *utc_day))
    # A sender's wait is told in the campaign's zone, as the rest of its enrollments' reasons.
    allowance = Allowance.read(session, senders.values(), now, window.timezone)
    due = campaign_queries.due_enrollments(session, campaign_id, now, CLAIMS_PER_CAMPAIGN)
    batch = _Batch.read(session, due, links, settings)
    queued: list[str] = []
    waits: list[Waiting] = []
    for position, enrollment in enumerate(due):
        pace = replace(pace, jitter_seconds=rng.uniform(0, settings.jitter_seconds))
        if next_send(now, now, ANY_TIME, pace).send_at != now:
            # The campaign's own pace (spacing, daily limit) holds every due step alike: say
            # when, in the campaign's window, and leave them due for a later pass.
            held_until = next_send(now, now, window, pace)
            held = len(due) - position
            label = f"{found.name}: the rest of its due steps ({held})"
            waits.append(Waiting(label, held_until.reason, held, held_until.send_at))
            break
        contact = batch.contacts[enrollment.contact_id]
        label = f"{contact.email}: {found.name}, step {enrollment.current_sequence_step + 1}"
        sender_id, why, until = _thread_sender(enrollment, senders, loads, allowance, now)
        sender = senders.get(sender_id) if sender_id else None
        if sender is None:
            at = until or _retried_by(enrollment, senders, now)
            enrollments.postpone(session, enrollment.id, at, why)
            waits.append(Waiting(label, why, until=until))
            continue
        decision = next_send(
            enrollment.next_send_at or now,
            now,
            window.for_contact(contact.timezone),
            pace,
            allowance.cap(sender.id),
            loads[sender.id],
        )
        if decision.send_at != now:
            enrollments.postpone(
                session, enrollment.id, decision.send_at or now + timedelta(days=1), decision.reason
            )
            waits.append(Waiting(label, decision.reason, until=decision.send_at))
            continue
        if _queue_step(session, batch, found, enrollment, steps, sender, now, worker, settings):
            queued.append(label)
            pace = replace(pace, sent_today=pace.sent_today + 1, last_sent_at=now)
            loads[sender.id] += 1
            allowance.took(sender.id, now)
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
    queued: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    """(enrollment, sender account) of each step queued."""

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
        enrollments.record_queued(session, self.queued)
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


def _pace_wait(pace: CampaignPace, window: SendWindow, now: datetime) -> str | None:
    """Why the campaign's due steps wait just now (its spacing or daily limit, said with when
    they may go), or None when the next pass may send them. Without jitter: a person reading
    it wants the rule, not the dice."""
    if next_send(now, now, ANY_TIME, pace).send_at == now:
        return None
    return next_send(now, now, window, pace).reason


def next_sends(
    session: Session,
    campaign: Campaign,
    enrolled: Sequence[tuple[CampaignContact, Contact]],
    now: datetime,
) -> dict[uuid.UUID, NextSendWords]:
    """What to say of each enrollment's next email (campaigns.schedule.next_send_words), for
    the CLI, the pages and the API: what holds a due step (its sender account, the campaign's
    state or pace, the window), and which due steps the worker's next pass sends (in the order
    it takes them: with spacing, one a pass; without, as many as the daily limit leaves)."""
    settings = campaign_queries.settings_of(session, campaign.id)
    window = campaigns.window_of(settings)
    holds = sender_holds(session, campaign.id, now, window.timezone)
    pace = _campaign_pace(session, campaign.id, settings, window, now)
    due_wait = (
        f"the campaign is {campaign.status}"
        if campaign.status != "active"
        else _pace_wait(pace, window, now)
    )
    per_pass = 1 if pace.spacing_seconds else max(pace.daily_limit - pace.sent_today, 0)
    # Only whether a step is among the next pass's matters, so only those are read (in the
    # order the pass takes them): a page of 200 enrollments reads one id with spacing on.
    going = campaign_queries.due_enrollment_ids(
        session, campaign.id, now, min(per_pass, CLAIMS_PER_CAMPAIGN)
    )
    turns = {enrollment_id: turn for turn, enrollment_id in enumerate(going)}
    return {
        enrollment.id: next_send_words(
            enrollment.status,
            enrollment.next_send_at,
            now,
            window.for_contact(contact.timezone),
            window.timezone,
            waiting_reason=enrollment.waiting_reason,
            stop_reason=enrollment.stop_reason,
            hold=holds.get(enrollment.id),
            due_wait=due_wait,
            turn=turns.get(enrollment.id),
            per_pass=min(per_pass, CLAIMS_PER_CAMPAIGN),
        )
        for enrollment, contact in enrolled
    }


def held_by_senders(session: Session, now: datetime) -> list[Waiting]:
    """Emails already queued that wait for their failing, paused or held sender account: a
    thread keeps its sender, so they go once the account is resumed, works again or its hold
    ends."""
    return [
        Waiting(
            f"{held.account.email}: {counted(held.emails, 'queued email')}",
            _sender_hold(held.account, now),
            steps=held.emails,
            until=held.account.held_until if sender_service.held(held.account, now) else None,
        )
        for held in queries.held_sends(session, now)
    ]


def sender_holds(
    session: Session, campaign_id: uuid.UUID, now: datetime, zone: ZoneInfo = UTC_ZONE
) -> dict[uuid.UUID, str]:
    """For the campaign's enrollments whose next email is queued on a sender account that cannot
    send, why it waits (their stored reason only says "sending"), times told in `zone`."""
    return {
        enrollment_id: _sender_hold(held.account, now, zone)
        for held in queries.held_sends(session, now, campaign_id)
        for enrollment_id in held.enrollment_ids
    }


def _sender_hold(account: SenderAccount, now: datetime, zone: ZoneInfo = UTC_ZONE) -> str:
    if account.state == SenderState.ok and sender_service.held(account, now):
        hold = sender_service.hold_words(account, zone)
        return f"waiting for {account.email}, which is {hold}"
    why = f": {account.last_error}" if account.last_error else ""
    return f"waiting for {account.email}, which is {account.state}{why}"


def _retried_by(
    enrollment: CampaignContact, senders: dict[uuid.UUID, SenderAccount], now: datetime
) -> datetime:
    """When a step with no account to send it is decided again: when its thread's account (or,
    for a first email, the first of the campaign's) is tried again after its server could not
    be reached, else in ACCOUNT_RETRY."""
    accounts = list(senders.values())
    if enrollment.sender_account_id is not None:
        accounts = [a for a in accounts if a.id == enrollment.sender_account_id]
    retries = [account.retry_at for account in accounts if account.retry_at is not None]
    return min([*retries, now + ACCOUNT_RETRY])


def _thread_sender(
    enrollment: CampaignContact,
    senders: dict[uuid.UUID, SenderAccount],
    loads: dict[uuid.UUID, int],
    allowance: Allowance,
    now: datetime,
) -> tuple[uuid.UUID | None, str, datetime | None]:
    """The thread's sender if it has one (and it can send), else the least loaded one; when
    none can, why, and until when if that is known."""
    if enrollment.sender_account_id is not None:
        sender = senders.get(enrollment.sender_account_id)
        if sender is None or sender.state != SenderState.ok:
            state = (
                "removed from the campaign"
                if sender is None
                else f"{sender.state}: {sender.last_error}"
            )
            return None, f"the thread's sender account is {state}", None
        wait = allowance.wait(sender.id, now)
        if wait is not None:
            return None, wait.reason, wait.until
        return sender.id, "the thread's sender", None
    return _new_thread_sender(senders, loads, allowance, now)


def _new_thread_sender(
    senders: dict[uuid.UUID, SenderAccount],
    loads: dict[uuid.UUID, int],
    allowance: Allowance,
    now: datetime,
) -> tuple[uuid.UUID | None, str, datetime | None]:
    """The usable sender with room under its cap and the fewest sends today (choose_sender);
    when none has room and some only wait (a hold, the tenant's limit, the gap between sends),
    the first of those waits."""
    waits = {s.id: allowance.wait(s.id, now) for s in senders.values()}
    candidates = [
        SenderLoad(
            str(s.id),
            loads[s.id],
            allowance.cap(s.id),
            usable=s.state == SenderState.ok and bool(s.is_active) and waits[s.id] is None,
        )
        for s in senders.values()
    ]
    chosen, why = choose_sender(candidates)
    if chosen is not None:
        return uuid.UUID(chosen), why, None
    waiting = [
        wait
        for sender_id, wait in waits.items()
        if wait is not None
        and senders[sender_id].state == SenderState.ok
        and senders[sender_id].is_active
    ]
    first = min(waiting, key=lambda wait: wait.until, default=None)
    return (None, first.reason, first.until) if first else (None, why, None)


def move_first_emails(session: Session, now: datetime) -> list[str]:
    """First emails queued on a sender account that cannot send (failing or paused), moved to
    another of their campaign's senders that can, chosen as new threads are: nobody has
    received them, so no thread ties them to the account, and they would otherwise wait for it.
    Follow-ups stay, since they must come from the mailbox the contact was written from; so do
    emails a provider already holds a draft of. Returns what moved, in words."""
    moved: list[str] = []
    utc_day = local_day_bounds(now, UTC_ZONE)
    for campaign_id, stranded in queries.stranded_first_emails(session).items():
        senders = {s.id: s for s in campaign_queries.senders_of(session, campaign_id)}
        loads = defaultdict(int, queries.sender_sends_between(session, list(senders), *utc_day))
        allowance = Allowance.read(session, senders.values(), now)
        for email in stranded:
            chosen, _, _ = _new_thread_sender(senders, loads, allowance, now)
            if chosen is None:
                break
            to = senders[chosen]
            message_id = new_message_id(to.email.rsplit("@", 1)[-1], now)
            if not queries.move_queued(
                session, email.delivery_id, email.sender_id, to.id, message_id, now
            ):
                continue  # taken or changed since it was read
            enrollments.change_sender(session, email.enrollment_id, to.id)
            loads[to.id] += 1
            allowance.took(to.id, now)
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
        enrollments.record_finished(session, enrollment.id, now)
        return False
    if contact.email in batch.suppressed:
        enrollments.record_stopped(
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
            enrollments.postpone(session, enrollment.id, now + campaign_steps.RECHECK, taken)
            return False
        draft_id, html, footer = taken.id, None, line or None
    else:
        try:
            rendered = campaigns.compose_step(
                steps, index, contact, batch.thread_subjects.get(enrollment.id)
            )
        except Exception as error:
            reason = f"step {index + 1} cannot be written for this contact: {error}"
            enrollments.record_stopped(session, enrollment.id, EnrollmentStatus.failed, reason)
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
    batch.queued.append((enrollment.id, sender.id))
    return True


def unsubscribe_footer(links: Links, settings: CampaignSettings, contact_id: uuid.UUID) -> str:
    """The text under each email of the campaign to the contact ("" when the campaign adds no
    unsubscribe line): what is sent, and what previews show."""
    if not settings.unsubscribe_line:
        return ""
    return UNSUBSCRIBE_LINE.format(
        url=contact_unsubscribe_url(links, contact_id, settings.campaign_id)
    )


def contact_unsubscribe_url(
    links: Links, contact_id: uuid.UUID, campaign_id: uuid.UUID | None
) -> str:
    return unsubscribe_url(links.base_url, make_token(links.secret_key, contact_id, campaign_id))
