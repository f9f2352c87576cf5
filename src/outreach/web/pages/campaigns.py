"""Campaign pages: the list, the builder (steps, settings, senders, live preview), launching,
pausing, and each enrollment with why its next email waits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from functools import partial
from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import CampaignSequence, CampaignSettings
from outreach.campaigns.schedule import DAY_NAMES, opening_hours
from outreach.campaigns.states import EDITABLE, STEPS_LOCKED_BECAUSE
from outreach.campaigns.templates.rendering import render_preview
from outreach.contacts import queries as contact_queries
from outreach.delivery import dispatch
from outreach.errors import OutreachError, ValidationFailed
from outreach.inbox import categories
from outreach.inbox.categories import ACTIONS, Action
from outreach.inbox.reply_rules import Category
from outreach.senders import queries as sender_queries
from outreach.senders.models import SenderAccount
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, finish_transaction
from outreach.web.rendering import linked, render
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
    return RedirectResponse(f"/campaigns/{found.id}", status_code=303)


def campaign_page(
    request: Request, session: DbSession, campaign_id: uuid.UUID, **extra: object
) -> Response:
    found = campaigns.get(session, campaign_id)
    steps = campaign_queries.steps_of(session, campaign_id)
    settings = campaign_queries.settings_of(session, campaign_id)
    typed_actions = extra.pop("typed_actions", None)  # a refused choice, shown as made
    now = container_of(request).clock.now()
    senders = campaign_queries.senders_of(session, campaign_id)
    enrolled, cursor = _page_of(
        request,
        partial(campaign_queries.enrollments_page, session, campaign_id, limit=ENROLLMENTS_PAGE),
    )
    context = {
        "campaign": found,
        "settings": settings,
        "settings_form": SettingsForm.saved(settings, senders),
        "category_actions": _category_actions(
            typed_actions if isinstance(typed_actions, dict) else settings.category_actions
        ),
        "hours": opening_hours(settings.send_window_start, settings.send_window_end),
        "steps": steps,
        "editable": found.status in EDITABLE,
        "steps_locked_because": STEPS_LOCKED_BECAUSE.get(found.status),
        "senders": senders,
        "list_choices": contact_queries.list_choices(session, None, found.list_id),
        "all_senders": sender_queries.all_senders(session),
        "counts": campaign_queries.enrollment_counts(session, campaign_id),
        "enrollments": enrolled,
        "next_enrollments": (
            linked(f"/campaigns/{campaign_id}", after=cursor) + "#enrollments" if cursor else None
        ),
        "next_sends": dispatch.next_sends(session, found, enrolled, now),
        "days": DAY_NAMES,
        "preview": _preview(
            session,
            found.list_id,
            steps,
            partial(dispatch.unsubscribe_footer, container_of(request).links, settings),
        ),
        **extra,
    }
    return render(
        request, "campaigns/campaign.html", context, status_code=422 if "error" in extra else 200
    )


def _preview(
    session: DbSession,
    list_id: uuid.UUID | None,
    steps: Sequence[CampaignSequence],
    footer_for: Callable[[uuid.UUID], str],
) -> list[dict[str, object]]:
    """Each step as the list's first contact would get it (`footer_for` gives the text sending
    adds under it), with any problem it would have."""
    contact = (
        contact_queries.first_matching(session, contact_queries.ContactFilter(list_id=list_id))
        if list_id
        else None
    )
    if contact is None:
        return []
    fields = campaigns.fields_of(contact)
    footer = footer_for(contact.id)
    shown: list[dict[str, object]] = []
    for index, step in enumerate(steps):
        subject = step.subject_template.strip() or steps[0].subject_template
        rendered, problems = render_preview(subject, step.body_template, step.html_template, fields)
        follow_up = index > 0 and not step.subject_template.strip()
        shown.append(
            {
                "contact": contact.email,
                "subject": ("Re: " if follow_up else "") + rendered.subject,
                "text": rendered.text + footer,
                "problems": [problem.sentence() for problem in problems],
            }
        )
    return shown


@router.get("/campaigns/{campaign_id}")
def show(request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID) -> Response:
    return campaign_page(request, session, campaign_id)


def _acting(
    request: Request,
    session: DbSession,
    campaign_id: uuid.UUID,
    action: Callable[[], object],
    warning: str | None = None,
    **typed: object,
) -> Response:
    """Does what a form asked; the page again with the reason (and `typed`, what the form
    held) when it cannot be done, else a redirect back to the campaign, which shows what
    happened when the action says (a str) and `warning`."""
    try:
        notice = action()
    except OutreachError as error:
        session.rollback()
        return campaign_page(request, session, campaign_id, error=error.message, **typed)
    return flash.redirect(
        request,
        f"/campaigns/{campaign_id}",
        notice=notice if isinstance(notice, str) else None,
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

    return _acting(request, session, campaign_id, save, typed=typed, typed_for=step_id)


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
    return _acting(request, session, campaign_id, lambda: campaigns.remove_step(session, step_id))


@dataclass(frozen=True)
class SettingsForm:
    """The settings form's fields as text and ticks: the saved settings, or what a person typed,
    shown again as typed when it cannot be saved."""

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
    def typed(cls, form: FormData) -> SettingsForm:
        def text(name: str, default: str = "") -> str:
            return str(form.get(name, default))[:100]

        return cls(
            start=text("start"),
            end=text("end"),
            timezone=text("timezone", "UTC"),
            days=[str(day) for day in form.getlist("days")],
            daily_limit=text("daily_limit"),
            spacing=text("spacing"),
            jitter=text("jitter"),
            sender_ids=[str(value) for value in form.getlist("sender_id")],
            ticked=frozenset(name for name in cls.CHECKBOXES if name in form),
        )

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
            timezone=self.timezone,
            daily_limit=limit,
            delay_between_emails_seconds=spacing,
            jitter_seconds=jitter,
            **{name: name in self.ticked for name in self.CHECKBOXES},
        )


@router.post("/campaigns/{campaign_id}/settings")
async def change_settings(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    typed = SettingsForm.typed(await request.form())

    def save() -> None:
        campaigns.update_settings(session, campaign_id, typed.change())
        try:
            sender_ids = [uuid.UUID(value) for value in typed.sender_ids]
        except ValueError as error:
            raise ValidationFailed("Choose the senders from the list.") from error
        campaigns.set_senders(session, campaign_id, sender_ids)

    return _acting(request, session, campaign_id, save, settings_form=typed)


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

    return _acting(request, session, campaign_id, save, typed_actions=typed)


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

    return _acting(request, session, campaign_id, save)


@router.post("/campaigns/{campaign_id}/launch")
def launch(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    container = container_of(request)
    finish_transaction(session)  # the senders' domains may be asked of DNS
    try:
        warnings = container.launch_warnings(campaign_id)
    except OutreachError as error:
        return campaign_page(request, session, campaign_id, error=error.message)

    def go() -> str:
        report = campaigns.launch(session, campaign_id, container.clock.now())
        skipped = "; ".join(
            f"{count} skipped: {reason}" for reason, count in report.skipped.most_common()
        )
        return f"Launched: {counted(report.enrolled, 'contact')} enrolled." + (
            f" {skipped}." if skipped else ""
        )

    return _acting(request, session, campaign_id, go, warning=" ".join(warnings) or None)


@router.post("/campaigns/{campaign_id}/pause")
def pause(request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID) -> Response:
    return _acting(request, session, campaign_id, lambda: campaigns.pause(session, campaign_id))


@router.post("/campaigns/{campaign_id}/resume")
def resume(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    return _acting(
        request,
        session,
        campaign_id,
        lambda: campaigns.resume(session, campaign_id, container_of(request).clock.now()),
    )


@router.post("/campaigns/{campaign_id}/archive")
def archive(
    request: Request, session: DbSession, user: PageUser, campaign_id: uuid.UUID
) -> Response:
    return _acting(request, session, campaign_id, lambda: campaigns.archive(session, campaign_id))
