"""Campaigns: building them, launching them, enrolling their list, and their lifecycle.

Services flush; the entry point commits.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy.orm import Session

from outreach.campaigns import queries
from outreach.campaigns.models import Campaign, CampaignSequence, CampaignSettings
from outreach.campaigns.schedule import SendWindow, step_due_at
from outreach.campaigns.states import (
    CAMPAIGNS,
    EDITABLE,
    STEPS_LOCKED_BECAUSE,
    CampaignStatus,
    EnrollmentStatus,
)
from outreach.campaigns.templates.fields import merge_fields
from outreach.campaigns.templates.placeholders import find_placeholders
from outreach.campaigns.templates.rendering import (
    Rendered,
    check_syntax,
    problems_for,
    render,
    render_preview,
)
from outreach.contacts import lists
from outreach.contacts import queries as contact_queries
from outreach.contacts.addresses import dedupe_key, domain_of
from outreach.contacts.candidates import PERSON_FIELDS
from outreach.contacts.models import Contact, ContactList
from outreach.contacts.queries import ContactFilter
from outreach.db import get_or_not_found
from outreach.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from outreach.events import recording as events
from outreach.events.kinds import EventKind
from outreach.senders.models import SenderAccount
from outreach.states import transition

NO_LIST = "choose the list to send to"
NO_STEPS = "add at least one step"
NO_SENDERS = "choose at least one sender account"
NO_SEND_DAYS = "choose at least one send day"
"""Parts a campaign cannot start without, as launch_problems names them (entry points add how
to fix each)."""
ENROLL_SLICE = 2000
MAX_DAILY_LIMIT = 100_000
MAX_PAUSE_SECONDS = 86_400
"""The API's bounds too, checked here for every entry point (the columns hold 32-bit integers)."""
LAUNCH_EXAMPLES = 5
"""How many contacts a refused launch names per problem: enough to recognise them, few enough
that several problems over a long list still read as a list of problems."""


def get(session: Session, campaign_id: uuid.UUID) -> Campaign:
    return get_or_not_found(session, Campaign, campaign_id, "campaign")


def enrol_matching(
    session: Session, campaign_id: uuid.UUID, where: ContactFilter, now: datetime
) -> tuple[Campaign, int]:
    """Enrols the matching contacts the way every contact joins a campaign: as members of its
    list, which it enrols at launch or, running, on its next pass (skipping, with the reason,
    those it must not email). Returns the campaign and how many joined its list."""
    found = get(session, campaign_id)
    if found.status in (CampaignStatus.completed, CampaignStatus.archived):
        raise Conflict(f"{found.name} has ended: it enrols nobody any more.", id=str(found.id))
    if found.list_id is None:
        raise ValidationFailed(
            f"{found.name} has no list yet: choose its list on the campaign's page first.",
            field="campaign_id",
        )
    return found, lists.add_matching(session, found.list_id, where, now, everyone=True)


def named(session: Session, name: str) -> Campaign:
    found = queries.campaign_named(session, name)
    if found is None:
        raise NotFound(f"There is no campaign called {name!r}.", name=name)
    return found


def create(
    session: Session,
    *,
    name: str,
    list_id: uuid.UUID | None,
    sender_ids: Sequence[uuid.UUID] = (),
    description: str | None = None,
    now: datetime,
) -> Campaign:
    label = _checked_name(session, name)
    _check_list(session, list_id)
    created = Campaign(name=label, description=description, list_id=list_id, created_at=now)
    session.add(created)
    session.flush()
    if sender_ids:
        set_senders(session, created.id, sender_ids)
    return created


def _checked_name(session: Session, name: str, keep: uuid.UUID | None = None) -> str:
    """The name with its spaces tidied; refused when empty, too long, or another campaign's."""
    label = " ".join(name.split())
    if not label or len(label) > 200:
        raise ValidationFailed("A campaign needs a name of 1 to 200 characters.", field="name")
    taken = queries.campaign_named(session, label)
    if taken is not None and taken.id != keep:
        raise Conflict(f"There is already a campaign called {label!r}.", field="name")
    return label


def _check_list(session: Session, list_id: uuid.UUID | None) -> None:
    if list_id is not None:
        get_or_not_found(session, ContactList, list_id, "list", field="list_id")


def describe(
    session: Session,
    campaign_id: uuid.UUID,
    *,
    name: str | None = None,
    description: str | None = None,
    list_id: uuid.UUID | None = None,
) -> Campaign:
    """Renames a campaign, changes its description, or (before launch) the list it sends to;
    what is None stays. The list is fixed once launched: its contacts are enrolled by then."""
    found = get(session, campaign_id)
    if list_id is not None and list_id != found.list_id:
        if found.status != CampaignStatus.draft:
            raise InvalidTransition(
                f"The campaign is {found.status}: its list is chosen before it is launched.",
                status=found.status,
            )
        _check_list(session, list_id)
        found.list_id = list_id
    if name is not None:
        found.name = _checked_name(session, name, keep=campaign_id)
    if description is not None:
        found.description = description or None
    session.flush()
    return found


def _editable(session: Session, campaign_id: uuid.UUID) -> Campaign:
    found = get(session, campaign_id)
    if found.status not in EDITABLE:
        raise InvalidTransition(STEPS_LOCKED_BECAUSE[found.status], status=found.status)
    return found


def add_step(
    session: Session,
    campaign_id: uuid.UUID,
    *,
    subject: str,
    body: str,
    delay_days: int = 0,
    delay_hours: int = 0,
    name: str | None = None,
    html: str | None = None,
    ai_written: bool = False,
) -> CampaignSequence:
    """Appends a step. An empty subject on a follow-up means "Re: " + the first step's subject.
    An AI-written step's text is the brief a draft writer follows for each enrollment, ahead
    of time (drafts/campaign_steps.py)."""
    _editable(session, campaign_id)
    _check_step(
        subject,
        body,
        html,
        delay_days,
        delay_hours,
        first=not queries.steps_of(session, campaign_id),
    )
    order = len(queries.steps_of(session, campaign_id)) + 1
    step = CampaignSequence(
        campaign_id=campaign_id,
        sequence_order=order,
        name=(name or f"Step {order}").strip(),
        subject_template=subject,
        body_template=body,
        html_template=html or None,
        delay_days=delay_days,
        delay_hours=delay_hours,
        ai_written=ai_written,
    )
    session.add(step)
    session.flush()
    return step


def edit_step(session: Session, step_id: uuid.UUID, **changes: Any) -> CampaignSequence:
    step = get_or_not_found(session, CampaignSequence, step_id, "step")
    _editable(session, step.campaign_id)
    for name, value in changes.items():
        setattr(step, name, value)
    _check_step(
        step.subject_template,
        step.body_template,
        step.html_template,
        step.delay_days,
        step.delay_hours,
        first=step.sequence_order == 1,
    )
    session.flush()
    return step


def remove_step(session: Session, step_id: uuid.UUID) -> None:
    step = get_or_not_found(session, CampaignSequence, step_id, "step")
    _editable(session, step.campaign_id)
    session.delete(step)
    session.flush()
    for order, remaining in enumerate(queries.steps_of(session, step.campaign_id), start=1):
        remaining.sequence_order = order
    session.flush()


def _check_step(
    subject: str, body: str, html: str | None, days: int, hours: int, *, first: bool
) -> None:
    problems = [f"{p.part}: {p.message}" for p in check_syntax(subject, body, html)]
    if first and not subject.strip():
        problems.append("subject: the first step needs a subject")
    if not body.strip():
        problems.append("body: a step needs a body")
    if days < 0 or hours < 0 or days > 365 or hours > 24 * 365:
        problems.append("delay: days and hours are between 0 and a year")
    if problems:
        raise ValidationFailed(
            "The step cannot be saved: " + "; ".join(problems), problems=problems
        )


def set_senders(session: Session, campaign_id: uuid.UUID, sender_ids: Sequence[uuid.UUID]) -> None:
    """The sender accounts new threads are spread across (the first is also the seed's
    campaigns.sender_account_id)."""
    found = get(session, campaign_id)
    unknown = [str(s) for s in sender_ids if session.get(SenderAccount, s) is None]
    if unknown:
        raise NotFound(f"There is no sender account {', '.join(unknown)}.", ids=unknown)
    queries.replace_senders(session, campaign_id, list(dict.fromkeys(sender_ids)))
    found.sender_account_id = sender_ids[0] if sender_ids else None
    session.flush()


@dataclass(frozen=True)
class SettingsChange:
    send_window_start: time | None = None
    send_window_end: time | None = None
    send_days: list[str] | None = None
    timezone: str | None = None
    daily_limit: int | None = None
    delay_between_emails_seconds: int | None = None
    jitter_seconds: int | None = None
    skip_active_elsewhere: bool | None = None
    skip_replied_companies: bool | None = None
    unsubscribe_line: bool | None = None
    require_approval: bool | None = None


def update_settings(
    session: Session, campaign_id: uuid.UUID, change: SettingsChange
) -> CampaignSettings:
    get(session, campaign_id)
    current = queries.settings_of(session, campaign_id)
    for name, value in vars(change).items():
        if value is not None:
            setattr(current, name, value)
    if not window_of(current).days:
        raise ValidationFailed(
            "Choose at least one send day: with none the campaign would never send.",
            field="send_days",
        )
    pauses = (current.delay_between_emails_seconds, current.jitter_seconds)
    if not 1 <= current.daily_limit <= MAX_DAILY_LIMIT or not all(
        0 <= pause <= MAX_PAUSE_SECONDS for pause in pauses
    ):
        raise ValidationFailed(
            f"The daily limit is between 1 and {MAX_DAILY_LIMIT:,}; the spacing and jitter "
            f"between 0 and {MAX_PAUSE_SECONDS:,} seconds (a day)."
        )
    session.flush()
    return current


def window_of(settings: CampaignSettings) -> SendWindow:
    try:
        return SendWindow.from_settings(
            settings.send_window_start,
            settings.send_window_end,
            settings.send_days,
            settings.timezone,
        )
    except ValueError as error:
        raise ValidationFailed(f"The send window cannot be used: {error}") from error


# Rendering -------------------------------------------------------------------------------------


def fields_of(contact: Contact) -> dict[str, object]:
    own = {name: getattr(contact, name) for name in PERSON_FIELDS}
    return merge_fields({"email": contact.email, **own}, contact.raw_data or {})


def compose_step(
    steps: Sequence[CampaignSequence],
    index: int,
    contact: Contact,
    thread_subject: str | None = None,
) -> Rendered:
    """Step `index` (0-based) written for a contact. A follow-up without its own subject answers
    the thread: "Re: " + the subject the first email had (`thread_subject` when it was sent)."""
    step = steps[index]
    own_subject = step.subject_template.strip()
    subject = own_subject or steps[0].subject_template
    rendered = render(subject, step.body_template, step.html_template, fields_of(contact))
    if own_subject or index == 0:
        return rendered
    base = (thread_subject or rendered.subject).removeprefix("Re: ")
    return Rendered(subject=f"Re: {base}", text=rendered.text, html=rendered.html)


@dataclass(frozen=True)
class StepPreview:
    """A step as a contact would get it, with each problem that stops it in a sentence."""

    subject: str
    text: str
    html: str | None
    problems: list[str]


def preview_step(
    steps: Sequence[CampaignSequence], index: int, fields: Mapping[str, object], footer: str
) -> StepPreview:
    """Step `index` (0-based) as compose_step writes it for a contact with these merge fields,
    `footer` (the unsubscribe line sending adds) under the text; faulty fields show as "…"."""
    step = steps[index]
    own_subject = step.subject_template.strip()
    subject = own_subject or steps[0].subject_template
    rendered, problems = render_preview(subject, step.body_template, step.html_template, fields)
    follow_up = index > 0 and not own_subject
    return StepPreview(
        subject=("Re: " if follow_up else "") + rendered.subject,
        text=rendered.text + footer,
        html=rendered.html,
        problems=[problem.sentence() for problem in problems],
    )


# Launch and lifecycle --------------------------------------------------------------------------


@dataclass
class EnrollReport:
    enrolled: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def launch_problems(session: Session, found: Campaign) -> list[str]:
    """Why the campaign cannot start: missing parts, or steps that would render for none of the
    list's contacts (each problem names up to LAUNCH_EXAMPLES contacts). A step that fails for
    some contacts only is their data's fault: they are left out when enrolled, the rest start."""
    problems = []
    steps = queries.steps_of(session, found.id)
    if found.list_id is None:
        problems.append(NO_LIST)
    if not steps:
        problems.append(NO_STEPS)
    if not queries.senders_of(session, found.id):
        problems.append(NO_SENDERS)
    if not window_of(queries.settings_of(session, found.id)).days:
        problems.append(NO_SEND_DAYS)
    if found.list_id is None or not steps:
        return problems
    return problems + _template_problems(session, found.list_id, steps)


def _template_problems(
    session: Session, list_id: uuid.UUID, steps: Sequence[CampaignSequence]
) -> list[str]:
    """The steps' problems when they render for none of the list's contacts (the templates'
    fault, or the launch would write to nobody); none as soon as they render for one."""
    found_by_problem: dict[str, list[str]] = {}
    for contact in contact_queries.list_members(session, list_id):
        problems = step_problems(steps, fields_of(contact))
        if not problems:
            return []
        for problem in problems:
            found_by_problem.setdefault(problem, []).append(contact.email)
    shown = []
    for text, emails in found_by_problem.items():
        emails.sort(key=str.lower)  # every member was read: the examples in address order
        more = len(emails) - LAUNCH_EXAMPLES
        who = ", ".join(emails[:LAUNCH_EXAMPLES]) + (f" and {more} more" if more > 0 else "")
        shown.append(f"{text} — for {who}")
    return shown


def step_problems(steps: Sequence[CampaignSequence], fields: Mapping[str, object]) -> list[str]:
    """What stops each step from being written for a contact with these merge fields."""
    problems = []
    for step in steps:
        subject = step.subject_template.strip() or steps[0].subject_template
        for problem in problems_for(subject, step.body_template, step.html_template, fields):
            problems.append(f"step {step.sequence_order} {problem.part} {problem.message}")
    return list(dict.fromkeys(problems))


def left_out_because(steps: Sequence[CampaignSequence], fields: Mapping[str, object]) -> str | None:
    """Why a contact is left out of a campaign whose steps do not render for them (None when
    they do): the field holding a placeholder the email would show, else the first problem."""
    problems = step_problems(steps, fields)
    if not problems:
        return None
    for label, value in _field_values(fields):
        for leftover in find_placeholders(value):
            if any(f'placeholder "{leftover}"' in problem for problem in problems):
                return f'left out: their {label} contains "{leftover}"'
    return f"left out: {problems[0]}"


def _field_values(fields: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    """Each text merge field as (what a person calls it, its value), raw columns included."""
    for name, value in fields.items():
        if isinstance(value, Mapping):
            yield from (
                (str(column), cell) for column, cell in value.items() if isinstance(cell, str)
            )
        elif isinstance(value, str):
            yield name.replace("_", " "), value


def launch(session: Session, campaign_id: uuid.UUID, now: datetime) -> EnrollReport:
    """Checks the campaign, enrolls its list and starts it; refused with every problem listed."""
    found = get(session, campaign_id)
    problems = launch_problems(session, found)
    if problems:
        raise ValidationFailed(
            "The campaign cannot start: " + "; ".join(problems), problems=problems
        )
    transition(session, Campaign, campaign_id, CampaignStatus.active, CAMPAIGNS)
    report = enroll_new_members(session, found, now)
    events.record(
        session,
        EventKind.campaign_launched,
        now,
        campaign_id=campaign_id,
        name=found.name,
        enrolled=report.enrolled,
    )
    return report


def pause(session: Session, campaign_id: uuid.UUID) -> None:
    transition(session, Campaign, campaign_id, CampaignStatus.paused, CAMPAIGNS)


def resume(session: Session, campaign_id: uuid.UUID, now: datetime) -> EnrollReport:
    found = get(session, campaign_id)
    problems = launch_problems(session, found)
    if problems:
        raise ValidationFailed(
            "The campaign cannot resume: " + "; ".join(problems), problems=problems
        )
    transition(session, Campaign, campaign_id, CampaignStatus.active, CAMPAIGNS)
    return enroll_new_members(session, found, now)


def archive(session: Session, campaign_id: uuid.UUID) -> None:
    transition(session, Campaign, campaign_id, CampaignStatus.archived, CAMPAIGNS)
    queries.stop_running(
        session, campaign_id, EnrollmentStatus.stopped, "the campaign was archived"
    )


def finish_if_done(session: Session, found: Campaign, now: datetime) -> bool:
    """An active campaign whose list is all enrolled and whose enrollments all ended is done."""
    if found.status != CampaignStatus.active or found.list_id is None:
        return False
    if queries.any_running(session, found.id) or queries.may_have_new_members(session, found.id):
        return False
    try:
        transition(session, Campaign, found.id, CampaignStatus.completed, CAMPAIGNS)
    except InvalidTransition:
        return False  # another worker completed it a moment ago
    events.record(session, EventKind.campaign_completed, now, campaign_id=found.id, name=found.name)
    return True


def finish_done(session: Session, now: datetime) -> list[uuid.UUID]:
    """Completes the active campaigns whose every enrollment has ended; returns them. One
    query finds them (every worker pass asks), each is checked again as it completes."""
    return [
        found.id
        for found in queries.finishable_campaigns(session)
        if finish_if_done(session, found, now)
    ]


def enroll_list_additions(session: Session, now: datetime) -> None:
    """Contacts added to an active campaign's list since its last pass join it. Only the
    campaigns whose list changed are looked at: a pass with no additions costs one query."""
    for found in queries.campaigns_with_new_members(session):
        enroll_new_members(session, found, now)


def enroll_new_members(session: Session, found: Campaign, now: datetime) -> EnrollReport:
    """Enrolls the list's contacts that have no row in this campaign yet: at launch, and on
    every pass while the campaign is active (contacts added to the list later). Contacts that
    must not be emailed get a `skipped` row with the reason, counted. Records the list's
    members_version read before looking: additions committed meanwhile raise it again, so the
    next pass looks once more."""
    report = EnrollReport()
    if found.list_id is None:
        return report
    version = contact_queries.members_version(session, found.list_id)
    settings = queries.settings_of(session, found.id)
    steps = queries.steps_of(session, found.id)
    first_due = step_due_at(now, steps[0].delay_days, steps[0].delay_hours) if steps else None
    while members := queries.unenrolled_members(session, found.id, found.list_id, ENROLL_SLICE):
        skip = _skip_reasons(session, found.id, settings, members)
        skip |= _left_out(session, steps, [cid for cid, _ in members if cid not in skip])
        rows = []
        for contact_id, _ in members:
            reason = skip.get(contact_id)
            running = reason is None
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "campaign_id": found.id,
                    "contact_id": contact_id,
                    "enrolled_at": now,
                    "status": (
                        EnrollmentStatus.pending if running else EnrollmentStatus.skipped
                    ).value,
                    "next_send_at": first_due if running else None,
                    "stop_reason": reason,
                }
            )
            if running:
                report.enrolled += 1
            else:
                report.skipped[reason or ""] += 1
        queries.insert_enrollments(session, rows)
    queries.record_enrolled_version(session, found.id, version)
    session.flush()
    return report


def _left_out(
    session: Session, steps: Sequence[CampaignSequence], contact_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The contacts the steps do not render for (their data's fault), with why."""
    reasons = {}
    for contact_id, contact in contact_queries.contacts_by_id(session, contact_ids).items():
        reason = left_out_because(steps, fields_of(contact))
        if reason is not None:
            reasons[contact_id] = reason
    return reasons


def _skip_reasons(
    session: Session,
    campaign_id: uuid.UUID,
    settings: CampaignSettings,
    members: Sequence[tuple[uuid.UUID, str]],
) -> dict[uuid.UUID, str]:
    keys = {contact_id: dedupe_key(email) for contact_id, email in members}
    domains = {contact_id: domain_of(email) for contact_id, email in members}
    emails, whole = contact_queries.suppressed_among(session, keys.values(), domains.values())
    reasons = {cid: "suppressed address" for cid, key in keys.items() if key in emails}
    reasons |= {
        cid: f"suppressed domain {d}"
        for cid, d in domains.items()
        if d in whole and cid not in reasons
    }
    if settings.skip_active_elsewhere:
        for cid in queries.active_elsewhere(session, campaign_id, list(keys)):
            reasons.setdefault(cid, "already active in another campaign")
    if settings.skip_replied_companies:
        replied = queries.replied_domains(session, sorted(set(domains.values())))
        for cid, d in domains.items():
            if d in replied:
                reasons.setdefault(cid, f"someone at {d} already replied")
    return reasons
