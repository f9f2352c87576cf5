"""Reply categories and what each does.

Every person's reply (a human reply or a request to be removed) is queued for the machine when
it is stored; a categorizing pass claims queued replies, asks the categorizer with no
transaction open (the rules, or Claude: inbox/categorizers.py; several replies at once), and
records each verdict. A person can set a category at any time; the machine never replaces a
person's choice (it still records what it would have said, in reply_categorizations).

`set_category` is the one place a category changes. It writes the reply's category (who, when,
why), the conversation's (when the reply is its latest), a contact_changes row, the contact's
lead status, and the category's consequence in the reply's campaign:

- do not contact: the address is suppressed, the reply as its source, and every running
  enrollment of the contact ends as unsubscribed;
- not interested: the sequence stays stopped (the reply stopped it);
- out of office: the return date is noted; an automatic out-of-office holds the next step as
  before (inbox/service.py);
- wrong person / referral: the addresses the reply names are offered as new contacts for the
  same campaign, made and enrolled only when a person confirms (`confirm_referral`);
- interested, meeting request: with the campaign's "one conversation per company"
  (skip_replied_companies) on, the colleagues' running enrollments end.

A campaign changes these with campaign_settings.category_actions ({"do_not_contact": "none"}).
Services flush; the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from outreach.campaigns import enrollments
from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign
from outreach.campaigns.states import EnrollmentStatus
from outreach.clock import Clock
from outreach.contacts import leads, notes, suppressions
from outreach.contacts import queries as contact_queries
from outreach.contacts import service as contacts
from outreach.contacts.leads import ChangedBy, LeadStatus
from outreach.contacts.models import Contact, ContactChange, UploadBatch
from outreach.db import get_or_not_found
from outreach.errors import Conflict, NotFound, ValidationFailed
from outreach.events import recording as events
from outreach.events.kinds import EventKind
from outreach.inbox.categorizers import Categorizer, CategorizerBusy, Reply, Verdict, by_rules
from outreach.inbox.classify import Kind, return_date
from outreach.inbox.models import Conversation, InboxMessage, Referral, ReplyCategorizing
from outreach.inbox.parse import authored_text
from outreach.inbox.reply_rules import Category, referred_addresses
from outreach.runner import Runner
from outreach.senders.models import SenderAccount
from outreach.words import UTC_ZONE, time_in_zone

CATEGORIZED_KINDS: Final = (Kind.human_reply.value, Kind.unsubscribe_request.value)
"""A person wrote these: they get a category. Auto-replies and bounces do not."""

LEAD_STATUS_OF: Final[Mapping[Category, LeadStatus]] = {
    Category.interested: LeadStatus.interested,
    # A request is not yet a meeting: a person sets "meeting booked" once it is in a calendar.
    Category.meeting_request: LeadStatus.interested,
    Category.not_interested: LeadStatus.not_interested,
    Category.do_not_contact: LeadStatus.do_not_contact,
}
"""The lead status a category sets; the others leave the contact replied."""


class Action(StrEnum):
    suppress = "suppress"
    keep_stopped = "keep_stopped"
    note_return = "note_return"
    offer_referral = "offer_referral"
    stop_company = "stop_company"
    none = "none"

    @property
    def words(self) -> str:
        """As a campaign's page offers it."""
        return _ACTION_WORDS[self]


_ACTION_WORDS: Final[Mapping[Action, str]] = {
    # Short enough for a menu on a phone.
    Action.suppress: "suppress the address",
    Action.keep_stopped: "keep the sequence stopped",
    Action.note_return: "note the return date",
    Action.offer_referral: "offer the address they name",
    Action.stop_company: "stop colleagues' sequences",
    Action.none: "nothing more",
}


ACTIONS: Final[Mapping[Category, tuple[Action, ...]]] = {
    Category.do_not_contact: (Action.suppress, Action.none),
    Category.not_interested: (Action.keep_stopped,),
    Category.out_of_office: (Action.note_return, Action.none),
    Category.wrong_person: (Action.offer_referral, Action.none),
    Category.interested: (Action.stop_company, Action.none),
    Category.meeting_request: (Action.stop_company, Action.none),
    Category.information_request: (Action.none,),
    Category.other: (Action.none,),
}
"""What each category may do; the first is the default."""


def action_for(category: Category, overrides: Mapping[str, str] | None) -> Action:
    """The action of a category in a campaign with these overrides (unknown ones ignored)."""
    allowed = ACTIONS[category]
    wanted = (overrides or {}).get(category.value)
    return next((action for action in allowed if action.value == wanted), allowed[0])


def check_overrides(overrides: Mapping[str, str]) -> dict[str, str]:
    """The overrides a campaign keeps (choosing a default overrides nothing), or
    ValidationFailed naming what a category may do."""
    checked = {}
    for name, action in overrides.items():
        category = parse_category(name)
        if action not in {a.value for a in ACTIONS[category]}:
            allowed = ", ".join(a.value for a in ACTIONS[category])
            raise ValidationFailed(
                f"{category.words} can do {allowed}, not {action!r}.", field="category_actions"
            )
        if action != ACTIONS[category][0]:
            checked[category.value] = action
    return checked


def set_campaign_actions(
    session: Session, campaign_id: uuid.UUID, overrides: Mapping[str, str]
) -> None:
    """What the categories do in this campaign where it differs from the default (replacing its
    earlier choices), or ValidationFailed saying what a category may do."""
    campaign_queries.settings_of(session, campaign_id).category_actions = check_overrides(overrides)
    session.flush()


def parse_category(text: str) -> Category:
    """A category as a person types it ("meeting request", "wrong person / referral")."""
    key = "_".join(text.strip().lower().replace("-", " ").replace("/ referral", "").split())
    try:
        return Category(key)
    except ValueError:
        known = ", ".join(category.words for category in Category)
        raise ValidationFailed(
            f"{text!r} is not a category: one of {known}.", field="category"
        ) from None


@dataclass(frozen=True)
class Changed:
    message: InboxMessage
    category: Category
    done: tuple[str, ...] = ()
    """What the category did, in words ("suppressed jane@x.com"); empty when nothing changed."""
    kept: bool = False
    """The machine's verdict was not applied: a person had chosen the category."""


def message_to_categorize(session: Session, conversation_or_message: uuid.UUID) -> InboxMessage:
    """The reply an id names: a message, or a conversation's latest reply; NotFound else."""
    message = session.get(InboxMessage, conversation_or_message)
    if message is None:
        message = session.scalars(
            sa.select(InboxMessage)
            .where(
                InboxMessage.conversation_id == conversation_or_message,
                InboxMessage.kind.in_(CATEGORIZED_KINDS),
            )
            .order_by(InboxMessage.received_at.desc(), InboxMessage.id.desc())
            .limit(1)
        ).one_or_none()
        if message is None and session.get(Conversation, conversation_or_message) is not None:
            raise NotFound("This conversation has no reply from a person to categorize yet.")
    if message is None:
        raise NotFound(f"There is no conversation or message {conversation_or_message}.")
    return message


def set_category(
    session: Session,
    message: InboxMessage,
    category: Category,
    by: ChangedBy,
    now: datetime,
    *,
    reason: str | None = None,
    referred: tuple[str, ...] = (),
) -> Changed:
    """The one place a reply's category changes (see the module's docstring)."""
    if message.kind not in CATEGORIZED_KINDS:
        raise ValidationFailed(
            f"Only a person's reply gets a category; this is {message.kind.replace('_', ' ')}.",
            field="category",
        )
    if message.category_by_person and not by.person:
        return Changed(message, Category(message.category or Category.other), kept=True)
    if message.category == category.value and message.category_by_person == by.person:
        return Changed(message, category)
    session.add(
        ContactChange(
            contact_id=message.contact_id,
            field="category",
            old_value=message.category,
            new_value=category.value,
            changed_by=by.name,
            changed_by_user_id=by.user_id,
            reason=reason,
            inbox_message_id=message.id,
            changed_at=now,
        )
    )
    previous = message.category
    message.category = category.value
    message.category_by = by.name
    message.category_by_person = by.person
    message.category_at = now
    message.category_reason = (reason or ("set by hand" if by.person else None) or "")[:1000]
    session.flush()
    _keep_on_conversation(session, message)
    events.record(
        session,
        EventKind.reply_categorized,
        now,
        reply_id=message.id,
        contact_id=message.contact_id,
        email=session.scalar(sa.select(Contact.email).where(Contact.id == message.contact_id)),
        campaign_id=message.campaign_id,
        category=category.value,
        previous_category=previous,
        by="person" if by.person else "automatic",
    )
    done = _consequence(session, message, category, referred, now)
    status = LEAD_STATUS_OF.get(category)
    if status is not None:
        words = f"a category ({category.words})" if not by.person else by.name
        changed_by = by if by.person else ChangedBy(words)
        if leads.change(
            session, [message.contact_id], status, changed_by, now, inbox_message_id=message.id
        ):
            done.append(f"lead status {status.words}")
    return Changed(message, category, tuple(done))


def _keep_on_conversation(session: Session, message: InboxMessage) -> None:
    """The conversation shows its latest reply's category."""
    if message.conversation_id is None:
        return
    latest = (
        sa.select(InboxMessage.id)
        .where(
            InboxMessage.conversation_id == message.conversation_id,
            InboxMessage.kind.in_(CATEGORIZED_KINDS),
        )
        .order_by(InboxMessage.received_at.desc(), InboxMessage.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        sa.update(Conversation)
        .where(Conversation.id == message.conversation_id, latest == message.id)
        .values(category=message.category)
        .execution_options(synchronize_session=False)
    )
    loaded = session.identity_map.get(session.identity_key(Conversation, message.conversation_id))
    if loaded is not None:
        session.expire(loaded, ["category"])


def _consequence(
    session: Session,
    message: InboxMessage,
    category: Category,
    referred: tuple[str, ...],
    now: datetime,
) -> list[str]:
    overrides = None
    if message.campaign_id is not None:
        overrides = campaign_queries.settings_of(session, message.campaign_id).category_actions
    action = action_for(category, overrides)
    contact = get_or_not_found(session, Contact, message.contact_id, "contact")
    if action is Action.suppress:
        source = f"reply {message.message_id or message.id}: do not contact"
        with suppress(Conflict, ValidationFailed):
            suppressions.add(
                session, contact.email, suppressions.Reason.unsubscribed, source[:500], now
            )
        stopped = enrollments.stop_contact_everywhere(
            session, contact.id, EnrollmentStatus.unsubscribed, "asked not to be contacted"
        )
        return [f"suppressed {contact.email}", f"{stopped} enrollments unsubscribed"]
    if action is Action.keep_stopped:
        return ["the sequence stays stopped"]
    if action is Action.note_return:
        back = return_date(message.body_text or message.snippet or "", now)
        return [f"back on {back}"] if back else []
    if action is Action.offer_referral:
        return _offer_referrals(session, message, contact, referred, now)
    if action is Action.stop_company and message.campaign_id is not None:
        stopped = enrollments.stop_colleagues_of(
            session, message.campaign_id, contact.id, contact.email
        )
        return [f"{stopped} colleagues' enrollments stopped"] if stopped else []
    return []


def _offer_referrals(
    session: Session,
    message: InboxMessage,
    contact: Contact,
    referred: tuple[str, ...],
    now: datetime,
) -> list[str]:
    ours = session.scalar(
        sa.select(SenderAccount.email).where(SenderAccount.id == message.sender_account_id)
    )
    not_these = frozenset({contact.email.lower(), (ours or "").lower()})
    own = authored_text(message.body_text or message.snippet or "")
    addresses = tuple(a for a in referred if a not in not_these) or referred_addresses(
        own, not_these
    )
    offered = []
    for address in addresses[:5]:
        exists = session.scalar(
            sa.select(Referral.id).where(
                Referral.inbox_message_id == message.id, Referral.email == address
            )
        )
        if exists is None:
            session.add(
                Referral(
                    inbox_message_id=message.id,
                    referred_by_contact_id=contact.id,
                    campaign_id=message.campaign_id,
                    email=address,
                    created_at=now,
                )
            )
            offered.append(f"{address} offered as a new contact")
    session.flush()
    return offered


def set_by(reply: InboxMessage, zone: ZoneInfo = UTC_ZONE) -> str:
    """Who set a reply's category, when (in `zone`), and (for the machine) why: "Decided by the
    rules, 2026-03-02 11:00 UTC: the rules found 'Tuesday' (en)"; "" before it has one."""
    if reply.category is None or reply.category_at is None:
        return ""
    verb = "Chosen" if reply.category_by_person else "Decided"
    machine = reply.category_reason and not reply.category_by_person
    why = f": {reply.category_reason}" if machine else ""
    return f"{verb} by {reply.category_by}, {time_in_zone(reply.category_at, zone)}{why}"


@dataclass(frozen=True)
class Standing:
    """What a conversation page shows of its category: the reply it belongs to (None before
    any reply of a person) and the referrals its replies made."""

    reply: InboxMessage | None
    referrals: tuple[Referral, ...]


def standing(session: Session, conversation_id: uuid.UUID) -> Standing:
    get_or_not_found(session, Conversation, conversation_id, "conversation")
    latest = session.scalars(
        sa.select(InboxMessage)
        .where(
            InboxMessage.conversation_id == conversation_id,
            InboxMessage.kind.in_(CATEGORIZED_KINDS),
        )
        .order_by(InboxMessage.received_at.desc(), InboxMessage.id.desc())
        .limit(1)
    ).one_or_none()
    referrals = session.scalars(
        sa.select(Referral)
        .join(InboxMessage, InboxMessage.id == Referral.inbox_message_id)
        .where(InboxMessage.conversation_id == conversation_id)
        .order_by(Referral.created_at, Referral.email)
    )
    return Standing(latest, tuple(referrals))


def in_conversation(
    session: Session, conversation_id: uuid.UUID, message_id: uuid.UUID | None
) -> InboxMessage:
    """The reply to categorize: `message_id` when it is in the conversation, else the latest."""
    message = message_to_categorize(session, message_id or conversation_id)
    if message.conversation_id != conversation_id:
        raise NotFound(f"There is no message {message_id} in this conversation.")
    return message


# Referrals --------------------------------------------------------------------------------


def confirm_referral(
    session: Session,
    referral_id: uuid.UUID,
    by: ChangedBy,
    now: datetime,
    *,
    name: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> str:
    """A person confirms a referral (giving the name and other columns the campaign's emails use
    when they know them): the address becomes a
    contact (or the one there is), noted as referred by the reply's author, and joins the
    campaign's list, so the campaign enrolls it with every check a list's new member gets
    (suppressed, active elsewhere, a merge field it lacks: said in the answer)."""
    referral = _offered(session, referral_id)
    referrer = get_or_not_found(session, Contact, referral.referred_by_contact_id, "contact")
    given = {"name": (name or "").strip(), **(fields or {})}
    contact = _contact_for(session, referral.email, referrer, given, now)
    notes.add(session, contact.id, by.user_id, _referral_note(session, referral, referrer), now)
    said = f"{referral.email} is a contact, referred by {referrer.email}"
    campaign = session.get(Campaign, referral.campaign_id) if referral.campaign_id else None
    if campaign is not None and campaign.list_id is not None:
        contact_queries.add_members(session, campaign.list_id, [contact.id], now)
        if campaign.status == "active":
            report = campaigns.enroll_new_members(session, campaign, now)
            said += (
                f", enrolled in {campaign.name}"
                if report.enrolled
                else f", not enrolled in {campaign.name}: {', '.join(report.skipped) or 'already'}"
            )
        else:
            said += f", added to {campaign.name}'s list (enrolled when it runs)"
    referral.status = "confirmed"
    referral.contact_id = contact.id
    referral.decided_by = by.name
    referral.decided_at = now
    session.flush()
    return said


def dismiss_referral(session: Session, referral_id: uuid.UUID, by: ChangedBy, now: datetime) -> str:
    referral = _offered(session, referral_id)
    referral.status = "dismissed"
    referral.decided_by = by.name
    referral.decided_at = now
    session.flush()
    return f"{referral.email} dismissed"


def referral_in(session: Session, conversation_id: uuid.UUID, referral_id: uuid.UUID) -> Referral:
    """The referral, when one of the conversation's replies made it; NotFound otherwise."""
    found = next(
        (r for r in standing(session, conversation_id).referrals if r.id == referral_id), None
    )
    if found is None:
        raise NotFound(f"There is no referral {referral_id} in this conversation.")
    return found


def referral_to(session: Session, conversation_id: uuid.UUID, email: str) -> Referral:
    """The conversation's referral to `email`; NotFound, naming those there are, otherwise."""
    offered = standing(session, conversation_id).referrals
    wanted = email.strip().lower()
    found = next((r for r in offered if r.email == wanted), None)
    if found is None:
        there = ", ".join(r.email for r in offered) or "none"
        raise NotFound(f"This conversation refers to no {email} (its referrals: {there}).")
    return found


def _referral_note(session: Session, referral: Referral, referrer: Contact) -> str:
    """The new contact's note: who pointed to them, and where."""
    who = f"{referrer.name} <{referrer.email}>" if referrer.name else referrer.email
    reply = session.get(InboxMessage, referral.inbox_message_id)
    campaign = session.get(Campaign, referral.campaign_id) if referral.campaign_id else None
    where = f" answering {campaign.name}" if campaign else ""
    when = f" on {reply.received_at:%Y-%m-%d}" if reply else ""
    return f"Referred by {who}, in a reply{where}{when}."


def _offered(session: Session, referral_id: uuid.UUID) -> Referral:
    referral = get_or_not_found(session, Referral, referral_id, "referral")
    if referral.status != "offered":
        raise Conflict(f"{referral.email} was already {referral.status} by {referral.decided_by}.")
    return referral


def _contact_for(
    session: Session, email: str, referrer: Contact, given: Mapping[str, str], now: datetime
) -> Contact:
    with suppress(NotFound):
        return contacts.by_email(session, email)
    batch = UploadBatch(
        file_name=f"referred by {referrer.email}"[:255],
        status="completed",
        total_contacts=1,
        processed_contacts=1,
        imported_count=1,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    name = given.get("name") or None
    first, _, last = (name or "").partition(" ")
    contact = Contact(
        upload_batch_id=batch.id,
        email=email,
        name=name,
        first_name=first or None,
        last_name=last.strip() or None,
        company=referrer.company,
        raw_data={**given, "email": email, "referred_by": referrer.email},
        created_at=now,
    )
    session.add(contact)
    session.flush()
    return contact


# The machine's categorizing ---------------------------------------------------------------


def queue(session: Session, message: InboxMessage) -> None:
    """A person's reply waits for the machine's category."""
    if message.kind in CATEGORIZED_KINDS:
        session.add(ReplyCategorizing(inbox_message_id=message.id))


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    reply: Reply


LEASE: Final = timedelta(minutes=5)
"""A claim older than this was lost with its worker: the reply is claimed again."""
MAX_ATTEMPTS: Final = 5
"""After this many busy answers, the rules decide."""


def claim(session: Session, now: datetime, limit: int) -> list[Claimed]:
    """Queued replies (and ones whose claim lapsed), each claimed by a conditional UPDATE that
    a second worker loses."""
    claimable = sa.or_(
        ReplyCategorizing.status == "queued",
        sa.and_(ReplyCategorizing.status == "working", ReplyCategorizing.claimed_at < now - LEASE),
    )
    rows = session.execute(
        sa.select(ReplyCategorizing.id, InboxMessage, SenderAccount.email, Contact.email)
        .join(InboxMessage, InboxMessage.id == ReplyCategorizing.inbox_message_id)
        .join(SenderAccount, SenderAccount.id == InboxMessage.sender_account_id)
        .join(Contact, Contact.id == InboxMessage.contact_id)
        .where(claimable)
        .order_by(ReplyCategorizing.created_at)
        .limit(limit)
    ).all()
    claimed = []
    for work_id, message, ours, theirs in rows:
        won = session.execute(
            sa.update(ReplyCategorizing)
            .where(ReplyCategorizing.id == work_id, claimable)
            .values(status="working", claimed_at=now, attempts=ReplyCategorizing.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            own = authored_text(message.body_text or message.snippet or "")
            reply = Reply(message.subject or "", own, frozenset({ours.lower(), theirs.lower()}))
            claimed.append(Claimed(work_id, reply))
    return claimed


def record(session: Session, work_id: uuid.UUID, verdict: Verdict, now: datetime) -> Changed:
    """The machine's verdict, recorded, and applied unless a person chose already."""
    work = get_or_not_found(session, ReplyCategorizing, work_id, "categorization")
    work.status = "done"
    work.finished_at = now
    work.category = verdict.category.value
    work.reason = verdict.reason[:1000]
    work.model = verdict.by
    work.prompt_version = verdict.prompt_version
    work.input_sha256 = verdict.input_sha256
    work.input_tokens = verdict.input_tokens
    work.output_tokens = verdict.output_tokens
    work.cost_micros = verdict.cost_micros
    work.last_error = None
    message = get_or_not_found(session, InboxMessage, work.inbox_message_id, "message")
    return set_category(
        session,
        message,
        verdict.category,
        ChangedBy(verdict.by),
        now,
        reason=verdict.reason,
        referred=verdict.referred,
    )


def record_busy(session: Session, work_id: uuid.UUID, reason: str) -> None:
    """Tried again on a later pass."""
    session.execute(
        sa.update(ReplyCategorizing)
        .where(ReplyCategorizing.id == work_id)
        .values(status="queued", last_error=reason[:1000])
        .execution_options(synchronize_session=False)
    )


@dataclass
class CategorizingReport:
    categorized: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.categorized)


BATCH: Final = 50


def categorizing_pass(
    sessions: sessionmaker[Session],
    clock: Clock,
    categorizer: Callable[[], Categorizer],
    *,
    limit: int = BATCH,
    concurrency: int = 1,
) -> CategorizingReport:
    """Claims up to `limit` replies, asks the categorizer about `concurrency` of them at once on
    threads of a pool (no transaction open, no database), and records each verdict as it comes,
    on this thread, in a step of its own. At one call at a time a slow model would hold the
    worker's sending pass behind it for the whole batch."""
    report = CategorizingReport()
    with Runner(sessions) as runner:
        claimed = runner.step(lambda session: claim(session, clock.now(), limit))
        if not claimed:
            return report
        decider = categorizer()
        try:
            with ThreadPoolExecutor(
                min(concurrency, len(claimed)), thread_name_prefix="categorize"
            ) as pool:
                asked = {pool.submit(_ask, decider, each.reply): each for each in claimed}
                for answered in as_completed(asked):
                    each = asked[answered]
                    verdict = answered.result()
                    report.categorized += _record_one(runner, each, verdict, clock, report)
        finally:
            decider.close()
    return report


def _ask(decider: Categorizer, reply: Reply) -> Verdict | CategorizerBusy:
    try:
        return decider.categorize(reply)
    except CategorizerBusy as busy:
        return busy


def _record_one(
    runner: Runner,
    each: Claimed,
    verdict: Verdict | CategorizerBusy,
    clock: Clock,
    report: CategorizingReport,
) -> list[str]:
    if isinstance(verdict, CategorizerBusy):
        reason = verdict.reason
        if _attempts(runner, each.id) < MAX_ATTEMPTS:
            runner.step(lambda session: record_busy(session, each.id, reason))
            report.busy.append(reason)
            return []
        verdict = by_rules(each.reply, f"Claude stayed busy ({reason}); ")
    decided = verdict
    changed = runner.step(lambda session: record(session, each.id, decided, clock.now()))
    said = f"{decided.category.words}: {decided.reason}"
    kept = f" (a person's category, {changed.category.words}, kept)" if changed.kept else ""
    return [said + kept]


def _attempts(runner: Runner, work_id: uuid.UUID) -> int:
    return runner.read(
        lambda session: (
            session.scalar(
                sa.select(ReplyCategorizing.attempts).where(ReplyCategorizing.id == work_id)
            )
            or 0
        )
    )
