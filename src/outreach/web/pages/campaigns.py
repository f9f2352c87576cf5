"""Campaign pages: the list, and each campaign in tabs, each tab a page of its own: Overview (its
numbers, what happens next, problems to fix), Sequence (steps on a day line, merge fields, a
preview for any contact, send me a test), Contacts (paged, by status, why each waits), Schedule &
senders, Settings; launching after a confirmation with the forecast, pausing, archiving."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from functools import partial
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from outreach.analytics import figures
from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign, CampaignSequence, CampaignSettings
from outreach.campaigns.schedule import DAY_NAMES, opening_hours
from outreach.campaigns.states import (
    EDITABLE,
    STEPS_LOCKED_BECAUSE,
    CampaignStatus,
    EnrollmentStatus,
    draft_type_of,
)
from outreach.campaigns.templates.fields import CONTACT_FIELDS, column_merge_field
from outreach.contacts import queries as contact_queries
from outreach.contacts.models import Contact
from outreach.delivery import dispatch, outlook, test_sends
from outreach.errors import OutreachError, ValidationFailed
from outreach.inbox import categories
from outreach.inbox.categories import ACTIONS, Action
from outreach.inbox.reply_rules import Category
from outreach.providers.errors import ProviderError
from outreach.senders import queries as sender_queries
from outreach.senders import service as sender_service
from outreach.senders.models import SenderAccount
from outreach.senders.states import SenderState
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, finish_transaction
from outreach.web.pages.zones import zone_typed
from outreach.web.rendering import linked, render, viewer_zone
from outreach.words import counted

router = APIRouter(include_in_schema=False)


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@router.get("/campaigns")
def campaigns_page(request: Request, session: DbSession, user: PageUser) -> Response:
    return _campaigns_list(request, session)


Paged = TypeVar("Paged")
CAMPAIGNS_PAGE = 50
ENROLLMENTS_PAGE = 50


def _page_of(
    request: Request, paged: Callable[[str | None], tuple[list[Paged], str | None]]
) -> tuple[list[Paged], str | None]:
    """The page the `after` cursor asks for; the first page for a cursor we did not give."""
    try:
        return paged(request.query_params.get("after"))
    except ValidationFailed:
        return paged(None)


def _campaigns_list(request: Request, session: DbSession, **extra: object) -> Response:
    """A page of campaigns, newest first, and the form for a new one (with `error` and the
    form as typed when creating one was refused)."""
    shown, cursor = _page_of(
        request, partial(campaign_queries.campaigns_page, session, limit=CAMPAIGNS_PAGE)
    )
    counts = campaign_queries.enrollment_counts_of(session, [found.id for found in shown])
    typed = extra.get("typed")
    chosen_list = _uuid_or_none(typed.get("list_id") if isinstance(typed, dict) else None)
    context = {
        "rows": [(found, counts[found.id]) for found in shown],
        "next_page": linked("/campaigns", after=cursor) if cursor else None,
        "list_choices": contact_queries.list_choices(session, None, chosen_list),
        "chosen_list": chosen_list,
        "senders": sender_queries.all_senders(session),
        **extra,
    }
    return render(
        request, "campaigns/index.html", context, status_code=422 if "error" in extra else 200
    )


@router.post("/campaigns")
async def create_campaign(request: Request, session: DbSession, user: PageUser) -> Response:
    form = await request.form()
    name, list_id = str(form.get("name", "")), str(form.get("list_id", ""))
    sender_ids = [str(value) for value in form.getlist("sender_id")]
    try:
        found = campaigns.create(
            session,
            name=name,
            list_id=uuid.UUID(list_id) if list_id else None,
            sender_ids=[uuid.UUID(value) for value in sender_ids],
            now=container_of(request).clock.now(),
        )
    except (OutreachError, ValueError) as error:
        session.rollback()
        message = (
            error.message
            if isinstance(error, OutreachError)
            else "Choose a list and senders from the lists."
        )
        typed = {"name": name, "list_id": list_id, "sender_ids": sender_ids}
        return _campaigns_list(request, session, error=message, typed=typed)
    return flash.redirect(
        request, f"/campaigns/{found.id}", notice=f"Campaign {found.name} created."
    )


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    path: str
    """After /campaigns/{id}."""


TABS = (
    Tab("overview", "Overview", ""),
    Tab("sequence", "Sequence", "/sequence"),
    Tab("contacts", "Contacts", "/contacts"),
    Tab("schedule", "Schedule & senders", "/schedule"),
    Tab("settings", "Settings", "/settings"),
)
TAB_PATHS = {tab.name: tab.path for tab in TABS}
FOUND_CONTACTS = 10
"""Contacts a preview search shows."""
COLUMNS_SAMPLE = 200
"""Contacts of the list whose columns the merge-field picker offers: a file's rows share their
columns, and reading every member's would cost a big list's page a second."""


def tab_url(campaign_id: uuid.UUID, tab: str) -> str:
    return f"/campaigns/{campaign_id}{TAB_PATHS[tab]}"


def campaign_page(
    request: Request, session: DbSession, campaign_id: uuid.UUID, tab: str, **extra: object
) -> Response:
    """The campaign's `tab`, with `extra` (an `error`, a form as typed) over what it shows."""
    found = campaigns.get(session, campaign_id)
    now = container_of(request).clock.now()
    context = {
        "campaign": found,
        "tabs": TABS,
        "tab": tab,
        **BUILDERS[tab](request, session, found, now),
        **extra,
    }
    return render(
        request, f"campaigns/{tab}.html", context, status_code=422 if "error" in extra else 200
    )


def _overview(
    request: Request, session: DbSession, found: Campaign, now: datetime
) -> dict[str, object]:
    shown = figures.of_campaign(session, found.id)
    return {
        "figures": shown,
        "still_running": shown.enrollments.in_progress,
        "problems": _problems(session, found, now, viewer_zone(request)),
    }


@router.get("/campaigns/{campaign_id}/next")
def next_emails(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    """The Overview's "What happens next", from the forecast: the Overview asks for it once it
    shows (htmx), and without JavaScript it is a page of its own. Apart, because the forecast
    plays forward every email still to go (30,000 of a campaign of 100,000 contacts, about
    90 ms), and the page's numbers need not wait for it."""
    found = campaigns.get(session, campaign_id)
    now = container_of(request).clock.now()
    context = {
        "campaign": found,
        "tabs": TABS,
        "tab": "overview",
        "outlook": (
            outlook.of_draft(session, found, now)
            if found.status == CampaignStatus.draft
            else outlook.of_running(session, found, now)
            if found.status == CampaignStatus.active
            else None
        ),
        # Only a paused campaign's words count those still in the sequence.
        "still_running": (
            figures.enrollments(session, found.id).in_progress
            if found.status == CampaignStatus.paused
            else 0
        ),
    }
    fragment = request.headers.get("HX-Request")
    return render(request, "campaigns/_next.html" if fragment else "campaigns/next.html", context)


def _problems(
    session: DbSession, found: Campaign, now: datetime, zone: ZoneInfo
) -> list[tuple[str, str]]:
    """What stops the campaign, or would stop its launch, each with the tab or page to fix it
    on: its missing parts, an empty list, accounts that cannot send (a hold's end in `zone`)."""
    problems: list[tuple[str, str]] = []
    if found.status == CampaignStatus.draft:
        fixed_on = {
            campaigns.NO_LIST: "settings",
            campaigns.NO_STEPS: "sequence",
            campaigns.NO_SENDERS: "schedule",
            campaigns.NO_SEND_DAYS: "schedule",
        }
        problems += [
            (text, tab_url(found.id, fixed_on.get(text, "sequence")))
            for text in campaigns.launch_problems(session, found)
        ]
    if found.list_id is not None and not contact_queries.list_size(session, found.list_id):
        problems.append(("The list has no contacts yet.", f"/lists/{found.list_id}"))
    for account in campaign_queries.senders_of(session, found.id):
        if account.state != SenderState.ok:
            why = f": {account.last_error}" if account.last_error else ""
            problems.append((f"{account.email} is {account.state}{why}", "/senders"))
        elif sender_service.held(account, now):
            hold = sender_service.hold_words(account, zone)
            problems.append((f"{account.email} is {hold}", "/senders"))
    return problems


def _sequence(
    request: Request, session: DbSession, found: Campaign, now: datetime
) -> dict[str, object]:
    steps = campaign_queries.steps_of(session, found.id)
    settings = campaign_queries.settings_of(session, found.id)
    query = request.query_params
    find = query.get("find", "")[:200].strip()
    contact = _previewed(session, found, _uuid_or_none(query.get("contact")))
    footer = (
        dispatch.unsubscribe_footer(container_of(request).links, settings, contact.id)
        if contact
        else ""
    )
    fields = campaigns.fields_of(contact) if contact else None
    return {
        "steps": steps,
        "days_of": _days_of(steps),
        "draft_type_of": draft_type_of,
        "editable": found.status in EDITABLE,
        "steps_locked_because": STEPS_LOCKED_BECAUSE.get(found.status),
        "merge_fields": _merge_fields(session, found.list_id),
        "contact": contact,
        "find": find,
        "found_contacts": _found(session, found, find) if find else None,
        "preview": (
            [campaigns.preview_step(steps, i, fields, footer) for i in range(len(steps))]
            if fields is not None
            else []
        ),
        "senders": campaign_queries.senders_of(session, found.id),
        "test_keys": {step.id: uuid.uuid4() for step in steps},
    }


def _previewed(session: DbSession, found: Campaign, chosen: uuid.UUID | None) -> Contact | None:
    """The contact the preview is for: the one chosen when it is on the campaign's list, else
    the list's first."""
    if found.list_id is None:
        return None
    where = contact_queries.ContactFilter(list_id=found.list_id)
    contact = contact_queries.contacts_by_id(session, [chosen]).get(chosen) if chosen else None
    if contact is not None and found.list_id in {
        member.id for member in contact_queries.lists_of(session, contact.id)
    }:
        return contact
    return contact_queries.first_matching(session, where)


def _found(session: DbSession, found: Campaign, find: str) -> list[Contact]:
    """Contacts of the campaign's list whose address, name or company holds `find`."""
    if found.list_id is None:
        return []
    where = contact_queries.ContactFilter(text=find, list_id=found.list_id)
    shown, _ = contact_queries.contacts_page(session, where, None, FOUND_CONTACTS)
    return shown


def _merge_fields(session: DbSession, list_id: uuid.UUID | None) -> list[str]:
    """The merge fields a step may use: the contact's own, then the list's columns."""
    own = [f"{{{{ {name} }}}}" for name in CONTACT_FIELDS]
    if list_id is None:
        return own
    where = contact_queries.ContactFilter(list_id=list_id)
    sample, _ = contact_queries.contacts_page(session, where, None, COLUMNS_SAMPLE)
    headers = dict.fromkeys(header for contact in sample for header in contact.raw_data or {})
    columns = [column_merge_field(header) for header in headers]
    return list(dict.fromkeys(own + columns))


def _days_of(steps: Sequence[CampaignSequence]) -> list[str]:
    """Each step's place on the sequence's day line, "Day 0", "Day 3", "Day 3 + 4 h": the
    delays added up, as when every email goes as soon as it is due."""
    shown, hours = [], 0
    for step in steps:
        hours += step.delay_days * 24 + step.delay_hours
        days, left = divmod(hours, 24)
        shown.append(f"Day {days}" + (f" + {left} h" if left else ""))
    return shown


def _contacts(
    request: Request, session: DbSession, found: Campaign, now: datetime
) -> dict[str, object]:
    status = request.query_params.get("status", "")
    status = status if status in EnrollmentStatus.__members__ else ""
    enrolled, cursor = _page_of(
        request,
        partial(
            campaign_queries.enrollments_page,
            session,
            found.id,
            limit=ENROLLMENTS_PAGE,
            status=status or None,
        ),
    )
    base = tab_url(found.id, "contacts")
    return {
        "steps": campaign_queries.steps_of(session, found.id),
        # Read here, where the status menu shows them, not for every tab: a campaign of
        # 100,000 enrollments counts them in 8 ms.
        "counts": campaign_queries.enrollment_counts(session, found.id),
        "statuses": [s.value for s in EnrollmentStatus],
        "status": status,
        "enrollments": enrolled,
        "next_enrollments": linked(base, request.query_params, after=cursor) if cursor else None,
        "next_sends": dispatch.next_sends(session, found, enrolled, now),
    }


def _saved(session: DbSession, campaign_id: uuid.UUID) -> tuple[CampaignSettings, SettingsForm]:
    """The campaign's settings, and its settings forms as saved."""
    settings = campaign_queries.settings_of(session, campaign_id)
    senders = campaign_queries.senders_of(session, campaign_id)
    return settings, SettingsForm.saved(settings, senders)


def _schedule(
    request: Request, session: DbSession, found: Campaign, now: datetime
) -> dict[str, object]:
    settings, form = _saved(session, found.id)
    return {
        "settings_form": form,
        "hours": opening_hours(settings.send_window_start, settings.send_window_end),
        "days": DAY_NAMES,
        "all_senders": sender_queries.all_senders(session),
    }


def _settings(
    request: Request, session: DbSession, found: Campaign, now: datetime
) -> dict[str, object]:
    settings, form = _saved(session, found.id)
    return {
        "settings_form": form,
        "category_actions": _category_actions(settings.category_actions),
        "list_choices": contact_queries.list_choices(session, None, found.list_id),
    }


BUILDERS: dict[str, Callable[[Request, DbSession, Campaign, datetime], dict[str, object]]] = {
    "overview": _overview,
    "sequence": _sequence,
    "contacts": _contacts,
    "schedule": _schedule,
    "settings": _settings,
}


@router.get("/campaigns/{campaign_id}")
def show(request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID) -> Response:
    return campaign_page(request, session, campaign_id, "overview")


def _tab_route(name: str) -> None:
    def shown(
        request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
    ) -> Response:
        return campaign_page(request, session, campaign_id, name)

    router.add_api_route(f"/campaigns/{{campaign_id}}{TAB_PATHS[name]}", shown, methods=["GET"])


for _tab in TABS[1:]:
    _tab_route(_tab.name)


@router.get("/campaigns/{campaign_id}/sequence/found")
def found_contacts(
    request: Request,
    session: DbSession,
    user: PageUser,
    campaign_id: uuid.UUID,
    find: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The contacts a preview search finds, as the Sequence tab's list of them (for htmx)."""
    found = campaigns.get(session, campaign_id)
    shown = _found(session, found, find.strip()) if find.strip() else None
    context = {"campaign": found, "found_contacts": shown, "find": find.strip()}
    return render(request, "campaigns/_found.html", context)


def _acting(
    request: Request,
    session: DbSession,
    campaign_id: uuid.UUID,
    tab: str,
    action: Callable[[], object],
    warning: str | None = None,
    done: str = "Saved.",
    **typed: object,
) -> Response:
    """Does what a form on `tab` asked; the tab again with the reason (and `typed`, what the
    form held) when it cannot be done, else a redirect back to the tab, which shows what
    happened (the action's words when it gives a str, else `done`) and `warning`."""
    try:
        notice = action()
    except OutreachError as error:
        session.rollback()
        return campaign_page(request, session, campaign_id, tab, error=error.message, **typed)
    return flash.redirect(
        request,
        tab_url(campaign_id, tab),
        notice=notice if isinstance(notice, str) else done,
        warning=warning,
    )


class StepForm(BaseModel):
    """A step's form as the person filled it in: shown again as typed when it cannot be saved.
    The delays stay text until saving, so that a wrong one is said on the campaign's page."""

    subject: str = Field("", max_length=20_000)
    body: str = Field("", max_length=20_000)
    delay_days: str = Field("0", max_length=20)
    delay_hours: str = Field("0", max_length=20)
    ai_written: str | None = None


def _saving_step(
    request: Request,
    session: DbSession,
    campaign_id: uuid.UUID,
    step_id: uuid.UUID | None,
    typed: StepForm,
) -> Response:
    """Adds a step (`step_id` None) or rewrites one from its form."""

    def save() -> None:
        try:
            days, hours = int(typed.delay_days or 0), int(typed.delay_hours or 0)
        except ValueError as error:
            raise ValidationFailed(
                "The step cannot be saved: delay days and hours are whole numbers."
            ) from error
        if step_id is None:
            campaigns.add_step(
                session,
                campaign_id,
                subject=typed.subject,
                body=typed.body,
                delay_days=days,
                delay_hours=hours,
                ai_written=typed.ai_written is not None,
            )
        else:
            campaigns.edit_step(
                session,
                step_id,
                subject_template=typed.subject,
                body_template=typed.body,
                delay_days=days,
                delay_hours=hours,
                ai_written=typed.ai_written is not None,
            )

    return _acting(request, session, campaign_id, "sequence", save, typed=typed, typed_for=step_id)


@router.post("/campaigns/{campaign_id}/steps")
def add_step(
    request: Request,
    session: DbSession,
    user: PageUser,
    campaign_id: uuid.UUID,
    typed: Annotated[StepForm, Form()],
) -> Response:
    return _saving_step(request, session, campaign_id, None, typed)


@router.post("/campaigns/{campaign_id}/steps/{step_id}")
def edit_step(
    request: Request,
    session: DbSession,
    user: PageUser,
    campaign_id: uuid.UUID,
    step_id: uuid.UUID,
    typed: Annotated[StepForm, Form()],
) -> Response:
    return _saving_step(request, session, campaign_id, step_id, typed)


@router.post("/campaigns/{campaign_id}/steps/{step_id}/delete")
def remove_step(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID, step_id: uuid.UUID
) -> Response:
    return _acting(
        request,
        session,
        campaign_id,
        "sequence",
        lambda: campaigns.remove_step(session, step_id),
        done="Step removed.",
    )


@dataclass(frozen=True)
class SettingsForm:
    """The settings forms' fields as text and ticks: the saved settings, or what a person typed,
    shown again as typed when it cannot be saved. The Schedule & senders tab's form holds the
    window, limits and senders, the Settings tab's the ticks; `part` says which was sent, and
    the other's fields are the saved ones."""

    start: str
    end: str
    timezone: str
    days: list[str]
    daily_limit: str
    spacing: str
    jitter: str
    sender_ids: list[str]
    ticked: frozenset[str]
    """Which of CHECKBOXES are ticked."""
    part: str = "schedule"

    CHECKBOXES = (
        "skip_active_elsewhere",
        "skip_replied_companies",
        "unsubscribe_line",
        "require_approval",
    )

    @classmethod
    def saved(cls, settings: CampaignSettings, senders: Sequence[SenderAccount]) -> SettingsForm:
        return cls(
            start=settings.send_window_start.strftime("%H:%M"),
            end=settings.send_window_end.strftime("%H:%M"),
            timezone=settings.timezone,
            days=list(settings.send_days),
            daily_limit=str(settings.daily_limit),
            spacing=str(settings.delay_between_emails_seconds),
            jitter=str(settings.jitter_seconds),
            sender_ids=[str(sender.id) for sender in senders],
            ticked=frozenset(name for name in cls.CHECKBOXES if getattr(settings, name)),
        )

    @classmethod
    def typed(cls, form: FormData, saved: SettingsForm) -> SettingsForm:
        """What `form` holds; without a `part` (the API's way, and older pages) every field."""

        def text(name: str, default: str = "") -> str:
            return str(form.get(name, default))[:100]

        part = str(form.get("part", ""))
        schedule = replace(
            saved,
            start=text("start"),
            end=text("end"),
            timezone=text("timezone", "UTC"),
            days=[str(day) for day in form.getlist("days")],
            daily_limit=text("daily_limit"),
            spacing=text("spacing"),
            jitter=text("jitter"),
            sender_ids=[str(value) for value in form.getlist("sender_id")],
            part="schedule",
        )
        ticked = frozenset(name for name in cls.CHECKBOXES if name in form)
        if part == "settings":
            return replace(saved, ticked=ticked, part="settings")
        return schedule if part == "schedule" else replace(schedule, ticked=ticked)

    def change(self) -> campaigns.SettingsChange:
        try:
            start, end = time.fromisoformat(self.start), time.fromisoformat(self.end)
            limit, spacing, jitter = int(self.daily_limit), int(self.spacing), int(self.jitter)
        except ValueError as error:
            raise ValidationFailed("Times are HH:MM and limits are whole numbers.") from error
        return campaigns.SettingsChange(
            send_window_start=start,
            send_window_end=end,
            send_days=self.days,
            timezone=zone_typed(self.timezone),
            daily_limit=limit,
            delay_between_emails_seconds=spacing,
            jitter_seconds=jitter,
            **{name: name in self.ticked for name in self.CHECKBOXES},
        )


@router.post("/campaigns/{campaign_id}/settings")
async def change_settings(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    typed = SettingsForm.typed(await request.form(), _saved(session, campaign_id)[1])

    def save() -> str:
        campaigns.update_settings(session, campaign_id, typed.change())
        try:
            sender_ids = [uuid.UUID(value) for value in typed.sender_ids]
        except ValueError as error:
            raise ValidationFailed("Choose the senders from the list.") from error
        campaigns.set_senders(session, campaign_id, sender_ids)
        return "Saved."

    return _acting(request, session, campaign_id, typed.part, save, settings_form=typed)


def _category_actions(
    chosen: Mapping[str, str] | None,
) -> list[tuple[Category, tuple[Action, ...], str]]:
    """Each category, the actions it allows (the default first), and the one chosen."""
    return [
        (category, ACTIONS[category], (chosen or {}).get(category.value, ACTIONS[category][0]))
        for category in Category
    ]


@router.post("/campaigns/{campaign_id}/category-actions")
async def change_category_actions(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    """What each category does in this campaign; a refused choice is said on the page, with the
    choices as they were made."""
    form = await request.form()
    typed = {c.value: str(form[c.value])[:64] for c in Category if c.value in form}

    def save() -> str:
        categories.set_campaign_actions(session, campaign_id, typed)
        return "Saved what each category does in this campaign."

    return _acting(
        request,
        session,
        campaign_id,
        "settings",
        save,
        category_actions=_category_actions(typed),
    )


@router.post("/campaigns/{campaign_id}/list")
def choose_list(
    request: Request,
    session: DbSession,
    user: PageUser,
    campaign_id: uuid.UUID,
    list_id: Annotated[str, Form()] = "",
) -> Response:
    def save() -> None:
        try:
            chosen = uuid.UUID(list_id)
        except ValueError as error:
            raise ValidationFailed("Choose the list from the menu.") from error
        campaigns.describe(session, campaign_id, list_id=chosen)

    return _acting(request, session, campaign_id, "settings", save)


@router.get("/campaigns/{campaign_id}/launch")
def confirm_launch(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    """What launching would do and the button that does it, or what stops it instead; the
    forecast comes once the page shows (launch_outlook)."""
    return _launch_page(request, session, campaign_id, forecast=False)


@router.get("/campaigns/{campaign_id}/launch/outlook")
def launch_outlook(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    """The launch page's forecast: the page asks for it once it shows (htmx), and without
    JavaScript it is the launch page with the forecast in it. Apart, because the forecast places
    every email the launch would send (300,000 for three steps to a list of 100,000, about
    1.5 s), and the page's button need not wait for it."""
    return _launch_page(request, session, campaign_id, forecast=True)


def _launch_page(
    request: Request, session: DbSession, campaign_id: uuid.UUID, *, forecast: bool
) -> Response:
    found = campaigns.get(session, campaign_id)
    fragment = bool(request.headers.get("HX-Request"))
    if found.status != CampaignStatus.draft:
        overview = tab_url(campaign_id, "overview")
        if fragment:  # launched meanwhile, from another tab: the whole page goes there
            return Response(headers={"HX-Redirect": overview})
        return RedirectResponse(overview, status_code=303)
    context = {
        "campaign": found,
        "tabs": TABS,
        "tab": "overview",
        "contacts": contact_queries.list_size(session, found.list_id) if found.list_id else 0,
        "outlook": None,
        "settings": campaign_queries.settings_of(session, campaign_id),
    }
    if forecast:
        context["outlook"] = outlook.of_draft(session, found, container_of(request).clock.now())
        if fragment:  # into a page that has shown what stops the launch already
            return render(request, "campaigns/_launch_outlook.html", context)
    context["problems"] = campaigns.launch_problems(session, found)
    return render(request, "campaigns/launch.html", context)


@router.post("/campaigns/{campaign_id}/steps/{step_id}/test")
def send_test(
    request: Request,
    session: DbSession,
    user: PageUser,
    campaign_id: uuid.UUID,
    step_id: uuid.UUID,
    key: Annotated[str, Form(max_length=40)] = "",
    sender_id: Annotated[str, Form(max_length=40)] = "",
    contact_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Sends the step, as the previewed contact would get it, to the signed-in person, once per
    form (delivery/test_sends.py): its row is committed before the transport is called."""
    container = container_of(request)
    contact = _previewed(session, campaigns.get(session, campaign_id), _uuid_or_none(contact_id))
    back = linked(tab_url(campaign_id, "sequence"), contact=contact_id or None)
    try:
        once = _uuid_or_none(key)
        if once is None:
            raise ValidationFailed("The form is incomplete: reload the page and try again.")
        test = test_sends.begin(
            session,
            once,
            campaign_id,
            step_id,
            _uuid_or_none(sender_id),
            contact,
            user.email,
            container.clock.now(),
        )
    except OutreachError as error:
        session.rollback()
        return campaign_page(request, session, campaign_id, "sequence", error=error.message)
    finish_transaction(session)  # the row exists before the transport is called
    try:
        container.transport_for(test.account).send(test.message)
    except ProviderError as error:
        test_sends.finish(session, test.key, container.clock.now(), error=str(error))
        return flash.redirect(
            request, back, warning=f"The test could not be sent from {test.account.email}: {error}"
        )
    test_sends.finish(session, test.key, container.clock.now())
    return flash.redirect(
        request,
        back,
        notice=f"Test sent to {user.email} from {test.account.email}: {test.message.subject}",
    )


@router.post("/campaigns/{campaign_id}/launch")
def launch(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    container = container_of(request)
    finish_transaction(session)  # the senders' domains may be asked of DNS
    try:
        warnings = container.launch_warnings(campaign_id)
    except OutreachError as error:
        return campaign_page(request, session, campaign_id, "overview", error=error.message)

    def go() -> str:
        report = campaigns.launch(session, campaign_id, container.clock.now())
        skipped = "; ".join(
            f"{count} skipped: {reason}" for reason, count in report.skipped.most_common()
        )
        return f"Launched: {counted(report.enrolled, 'contact')} enrolled." + (
            f" {skipped}." if skipped else ""
        )

    return _acting(
        request, session, campaign_id, "overview", go, warning=" ".join(warnings) or None
    )


@router.post("/campaigns/{campaign_id}/pause")
def pause(request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID) -> Response:
    return _acting(
        request,
        session,
        campaign_id,
        "overview",
        lambda: campaigns.pause(session, campaign_id),
        done="Paused: nothing more is sent until you resume.",
    )


@router.post("/campaigns/{campaign_id}/resume")
def resume(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    return _acting(
        request,
        session,
        campaign_id,
        "overview",
        lambda: campaigns.resume(session, campaign_id, container_of(request).clock.now()),
        done="Resumed.",
    )


@router.post("/campaigns/{campaign_id}/archive")
def archive(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    return _acting(
        request,
        session,
        campaign_id,
        "overview",
        lambda: campaigns.archive(session, campaign_id),
        done="Archived.",
    )
