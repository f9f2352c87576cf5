"""Draft pages: the review queue (filters, edits beside the original, warnings, keyboard
shortcuts), one draft (rewrite with a note, schedule), batches with live progress, and
templates with a test run on one contact.

Actions answer htmx with the draft's card re-rendered, and plain form posts with a redirect
back, so every page works without JavaScript too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns.states import DraftType
from outreach.contacts import queries as contact_queries
from outreach.delivery import contacted, scheduled
from outreach.drafts import batches, campaign_steps, queries, review, templates
from outreach.drafts.models import EmailDraft, EmailStatus
from outreach.drafts.pricing import dollars
from outreach.drafts.states import ACTIVE_BATCHES, JobStatus
from outreach.drafts.writers.base import DraftRefused, WriterError
from outreach.errors import NotFound, OutreachError, ValidationFailed
from outreach.senders import queries as sender_queries
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, finish_transaction
from outreach.web.rendering import linked, render, typed_time
from outreach.words import counted

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=50_000)]
PAGE = 50
TYPES = [kind.value for kind in DraftType]


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# The queue says "more than 1000 drafts" beyond this: an exact count of a big filtered queue
# costs seconds, and the number is only a hint of how much is left.
COUNTED_UP_TO = 1000


def _filter_of(request: Request) -> tuple[review.DraftFilter, dict[str, str]]:
    params = request.query_params
    chosen = {
        name: params.get(name, "")
        for name in ("status", "type", "list_id", "campaign_id", "batch_id")
    }
    if "status" not in params:
        chosen["status"] = "draft"
    status = chosen["status"] if chosen["status"] in review.STATUSES else None
    kind = DraftType(chosen["type"]) if chosen["type"] in TYPES else None
    where = review.DraftFilter(
        status=status,
        draft_type=kind,
        list_id=_uuid(chosen["list_id"]),
        campaign_id=_uuid(chosen["campaign_id"]),
        batch_id=_uuid(chosen["batch_id"]),
    )
    return where, chosen


# The review queue -------------------------------------------------------------------------------


@router.get("/drafts")
def queue(request: Request, session: DbSession, user: PageUser) -> Response:
    where, chosen = _filter_of(request)
    try:
        rows, cursor = review.page(session, where, request.query_params.get("after"), PAGE)
    except ValidationFailed:
        rows, cursor = review.page(session, where, None, PAGE)
    seen = review.reviews_of(session, [draft for draft, _ in rows])
    here = linked("/drafts", chosen)
    context = {
        "cards": seen,
        "chosen": chosen,
        "statuses": review.STATUSES,
        "types": TYPES,
        "list_choices": contact_queries.list_choices(session, None, where.list_id),
        "chosen_list": where.list_id,
        "campaigns": campaign_queries.all_campaigns(session),
        "total": review.count(session, where, up_to=COUNTED_UP_TO),
        "counted_up_to": COUNTED_UP_TO,
        "next_page": linked("/drafts", chosen, after=cursor) if cursor else None,
        "here": here,
    }
    return render(request, "drafts/queue.html", context)


@router.post("/drafts/approve")
async def approve_shown(request: Request, session: DbSession, user: PageUser) -> Response:
    form = await request.form()
    ids = [found for value in form.getlist("draft_id") if (found := _uuid(str(value)))]
    outcome = review.approve_many(session, ids, container_of(request).clock.now())
    notice = f"Approved {counted(len(outcome.approved), 'draft')}."
    if outcome.refused:
        emails = queries.contact_emails(session, outcome.refused)
        refusals = "; ".join(
            f"{emails.get(draft_id, draft_id)}: {reason}"
            for draft_id, reason in outcome.refused.items()
        )
        notice += f" Not approved: {refusals}."
    back = str(form.get("next") or "/drafts")
    back = back if back.startswith("/drafts") else "/drafts"
    return flash.redirect(request, back, notice=notice)


# Batches (before /drafts/{draft_id}, which would take "batches" for an id) ---------------------


@router.get("/drafts/batches")
def show_batches(request: Request, session: DbSession, user: PageUser) -> Response:
    return batches_page(request, session)


def batches_page(request: Request, session: DbSession, **extra: object) -> Response:
    rows = batches.progress_of(session, queries.recent_batches(session))
    with_ai = campaign_queries.campaigns_with_ai_steps(session)
    context = {
        "rows": rows,
        # Every list by name (no counts): this menu also offers uploads and campaigns, so it is
        # not the searchable list picker yet.
        "lists": contact_queries.list_choices(session, None, None, limit=None),
        "uploads": contact_queries.recent_batches(session, 20),
        "campaigns": with_ai,
        "templates": templates.all_templates(session, active_only=True),
        "types": TYPES,
        **extra,
    }
    status = 422 if "error" in extra else 200
    return render(request, "drafts/batches.html", context, status_code=status)


@router.post("/drafts/batches")
async def start_batch(request: Request, session: DbSession, user: PageUser) -> Response:
    form = await request.form()
    now = container_of(request).clock.now()
    target = str(form.get("target", ""))
    kind, _, raw_id = target.partition(":")
    target_id = _uuid(raw_id)
    try:
        if target_id is None:
            raise ValidationFailed("Choose whom to write for.")
        if kind == "campaign":
            found = campaign_queries.campaign(session, target_id)
            if found is None:
                raise NotFound("There is no such campaign.")
            campaign_steps.plan(session, found, now, list_too=True)
            batch_id = campaign_steps.batch_of(session, found, now).id
        else:
            template_id = _uuid(str(form.get("template_id", "")))
            if template_id is None:
                raise ValidationFailed("Choose the template to write from.")
            chosen = [DraftType(str(value)) for value in form.getlist("types") if value in TYPES]
            asked = batches.instructions(chosen, template_id)
            rewrite = "rewrite_unreviewed" in form
            held = contacted.holds(session, now, container_of(request).recent_email)
            if kind == "list":
                made = batches.for_list(
                    session, target_id, asked, now, held=held, rewrite_unreviewed=rewrite
                )
            elif kind == "upload":
                made = batches.for_upload(
                    session, target_id, asked, now, held=held, rewrite_unreviewed=rewrite
                )
            else:
                raise ValidationFailed("Choose whom to write for.")
            batch_id = made.id
    except OutreachError as error:
        session.rollback()
        return batches_page(request, session, error=error.message)
    return RedirectResponse(f"/drafts/batches/{batch_id}", status_code=303)


def _batch_context(session: DbSession, batch_id: uuid.UUID) -> dict[str, object]:
    progress = batches.progress(session, batch_id)
    return {
        "progress": progress,
        "active": progress.batch.status in ACTIVE_BATCHES,
        "failures": queries.jobs_of(session, batch_id, [JobStatus.failed.value], 100),
        "skipped": queries.jobs_of(session, batch_id, [JobStatus.skipped.value], 20),
        "statuses": [status.value for status in JobStatus],
    }


@router.get("/drafts/batches/{batch_id}")
def batch_page(
    request: Request, session: DbSession, user: PageUser, batch_id: uuid.UUID
) -> Response:
    return render(request, "drafts/batch.html", _batch_context(session, batch_id))


STEERED = {
    "resume": "Resumed.",
    "cancel": "Cancelled.",
    "retry": "Its failed drafts will be written again.",
}


@router.post("/drafts/batches/{batch_id}/{action}")
def steer_batch(
    request: Request, session: DbSession, user: PageUser, batch_id: uuid.UUID, action: str
) -> Response:
    now = container_of(request).clock.now()
    try:
        if action == "resume":
            batches.resume(session, batch_id)
        elif action == "cancel":
            batches.cancel(session, batch_id, now)
        elif action == "retry":
            batches.retry_failed(session, batch_id, now)
        else:
            raise NotFound(f"There is no action {action!r}.")
    except OutreachError as error:
        session.rollback()
        return flash.redirect(request, f"/drafts/batches/{batch_id}", error=error.message)
    return flash.redirect(request, f"/drafts/batches/{batch_id}", notice=STEERED[action])


# Templates --------------------------------------------------------------------------------------


@router.get("/drafts/templates")
def show_templates(request: Request, session: DbSession, user: PageUser) -> Response:
    return templates_page(request, session)


def templates_page(request: Request, session: DbSession, **extra: object) -> Response:
    context = {"rows": templates.all_templates(session), **extra}
    status = 422 if "error" in extra else 200
    return render(request, "drafts/templates.html", context, status_code=status)


@router.post("/drafts/templates")
def create_template(
    request: Request,
    session: DbSession,
    user: PageUser,
    name: Annotated[str, Form(max_length=200)] = "",
    content: Text = "",
) -> Response:
    try:
        made = templates.create(session, name, content, container_of(request).clock.now())
    except OutreachError as error:
        session.rollback()
        return templates_page(request, session, error=error.message, name=name, content=content)
    return flash.redirect(request, f"/drafts/templates/{made.id}", notice=f"{made.name} is saved.")


def template_page(
    request: Request, session: DbSession, template_id: uuid.UUID, **extra: object
) -> Response:
    context = {
        "template": templates.get(session, template_id),
        "types": TYPES,
        **extra,
    }
    status = 422 if "error" in extra else 200
    return render(request, "drafts/template.html", context, status_code=status)


@router.get("/drafts/templates/{template_id}")
def show_template(
    request: Request, session: DbSession, user: PageUser, template_id: uuid.UUID
) -> Response:
    return template_page(request, session, template_id)


@router.post("/drafts/templates/{template_id}")
def update_template(
    request: Request,
    session: DbSession,
    user: PageUser,
    template_id: uuid.UUID,
    name: Annotated[str, Form(max_length=200)] = "",
    content: Text = "",
    is_active: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        templates.update(
            session,
            template_id,
            name=name,
            content=content,
            is_active=is_active is not None,
            now=container_of(request).clock.now(),
        )
    except OutreachError as error:
        session.rollback()
        return template_page(request, session, template_id, error=error.message)
    return flash.redirect(request, f"/drafts/templates/{template_id}", notice="Saved.")


@router.post("/drafts/templates/{template_id}/trial")
def try_template(
    request: Request,
    session: DbSession,
    user: PageUser,
    template_id: uuid.UUID,
    contact: Annotated[str, Form(max_length=320)] = "",
    draft_type: Annotated[str, Form(max_length=30)] = DraftType.first_outreach.value,
) -> Response:
    """Writes one draft for one contact with the real writer, stores nothing."""
    where = contact_queries.ContactFilter(text=contact.strip() or None)
    person = contact_queries.first_matching(session, where)
    kind = DraftType(draft_type) if draft_type in TYPES else DraftType.first_outreach
    if person is None:
        return template_page(
            request, session, template_id, error=f"No contact matches {contact!r}.", tried=contact
        )
    try:
        prepared = templates.prepare_trial(session, template_id, person.id, kind)
    except DraftRefused as error:
        return template_page(request, session, template_id, error=error.reason, tried=contact)
    finish_transaction(session)
    writer = container_of(request).draft_writer()
    try:
        result = templates.trial(writer, prepared)
    except WriterError as error:
        return template_page(request, session, template_id, error=error.reason, tried=contact)
    finally:
        close = getattr(writer, "close", None)
        if callable(close):
            close()
    return flash.redirect(
        request,
        f"/drafts/templates/{template_id}",
        trial=asdict(result),
        trial_cost=dollars(result.cost_micros) if batches.by_ai(result.written.model) else None,
        tried=contact,
    )


# One draft ---------------------------------------------------------------------------------------


def _card(request: Request, session: DbSession, draft: EmailDraft, **extra: object) -> Response:
    return render(request, "drafts/_card.html", {"card": review.review_of(session, draft), **extra})


def _answer(
    request: Request, session: DbSession, draft_id: uuid.UUID, back: str | None, done: str
) -> Response:
    """The card for htmx (which shows what changed), else back to the page the form was on,
    saying what was `done`."""
    if request.headers.get("HX-Request"):
        return _card(request, session, review.get(session, draft_id))
    target = back if back and back.startswith("/drafts") else f"/drafts/{draft_id}"
    return flash.redirect(request, target, notice=done)


def _acting(
    request: Request,
    session: DbSession,
    draft_id: uuid.UUID,
    back: str | None,
    action: Callable[[], object],
    done: str,
) -> Response:
    try:
        action()
    except OutreachError as error:
        session.rollback()
        if request.headers.get("HX-Request"):
            return _card(request, session, review.get(session, draft_id), error=error.message)
        return draft_page(request, session, draft_id, error=error.message)
    return _answer(request, session, draft_id, back, done)


def draft_page(
    request: Request, session: DbSession, draft_id: uuid.UUID, **extra: object
) -> Response:
    draft = review.get(session, draft_id)
    card = review.review_of(session, draft)
    context = {
        "card": card,
        "senders": sender_queries.all_senders(session),
        "schedules": scheduled.of_draft(session, draft_id),
        "in_touch": _in_touch(request, session, draft),
        "cost": dollars(card.cost_micros) if draft.model else None,
        **extra,
    }
    status = 422 if "error" in extra else 200
    return render(request, "drafts/draft.html", context, status_code=status)


def _in_touch(request: Request, session: DbSession, draft: EmailDraft) -> str | None:
    """Why sending this approved draft needs the "Send anyway" tick, said before it is tried."""
    if draft.status != EmailStatus.approved:
        return None
    container = container_of(request)
    now = container.clock.now()
    kind = DraftType(draft.draft_type)
    found = contacted.reasons(session, [draft.contact_id], kind, now, container.recent_email)
    return found.get(draft.contact_id)


@router.get("/drafts/{draft_id}")
def show_draft(
    request: Request, session: DbSession, user: PageUser, draft_id: uuid.UUID
) -> Response:
    return draft_page(request, session, draft_id)


@router.post("/drafts/{draft_id}/approve")
def approve(
    request: Request,
    session: DbSession,
    user: PageUser,
    draft_id: uuid.UUID,
    back: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Response:
    now = container_of(request).clock.now()
    return _acting(
        request,
        session,
        draft_id,
        back,
        lambda: review.approve(session, draft_id, now),
        "Approved.",
    )


@router.post("/drafts/{draft_id}/edit")
def edit(
    request: Request,
    session: DbSession,
    user: PageUser,
    draft_id: uuid.UUID,
    subject: Annotated[str, Form(max_length=1000)] = "",
    body: Text = "",
    back: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Response:
    now = container_of(request).clock.now()
    return _acting(
        request,
        session,
        draft_id,
        back,
        lambda: review.edit(session, draft_id, subject, body, now),
        "Your edit is saved.",
    )


@router.post("/drafts/{draft_id}/reject")
def reject(
    request: Request,
    session: DbSession,
    user: PageUser,
    draft_id: uuid.UUID,
    reason: Annotated[str | None, Form(max_length=2000)] = None,
    back: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Response:
    now = container_of(request).clock.now()
    return _acting(
        request,
        session,
        draft_id,
        back,
        lambda: review.reject(session, draft_id, reason, now),
        "Rejected.",
    )


@router.post("/drafts/{draft_id}/rewrite")
def rewrite(
    request: Request,
    session: DbSession,
    user: PageUser,
    draft_id: uuid.UUID,
    note: Annotated[str | None, Form(max_length=2000)] = None,
    back: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Response:
    now = container_of(request).clock.now()
    return _acting(
        request,
        session,
        draft_id,
        back,
        lambda: review.rewrite(session, draft_id, note, now),
        "It will be written again.",
    )


@router.post("/drafts/{draft_id}/schedule")
def schedule(
    request: Request,
    session: DbSession,
    user: PageUser,
    draft_id: uuid.UUID,
    sender_id: Annotated[str, Form(max_length=64)] = "",
    at: Annotated[str, Form(max_length=40)] = "",
    anyway: Annotated[bool, Form()] = False,
) -> Response:
    """Schedules an approved draft from a sender account; `at` is a wall-clock time in the
    viewer's zone (empty: now). `anyway`: the "Send anyway" tick, for someone we are writing to
    already."""
    container = container_of(request)
    now = container.clock.now()

    def go() -> None:
        sender = _uuid(sender_id)
        if sender is None:
            raise ValidationFailed("Choose the sender account to send from.")
        when = typed_time(request, at, now)
        try:
            scheduled.schedule(
                session, draft_id, sender, when, now, recent=container.recent_email, anyway=anyway
            )
        except contacted.InTouchAlready as error:
            raise error.confirm_with('tick "Send anyway"') from None

    return _acting(request, session, draft_id, f"/drafts/{draft_id}", go, "Scheduled.")


@router.post("/drafts/{draft_id}/unschedule/{scheduled_id}")
def unschedule(
    request: Request,
    session: DbSession,
    user: PageUser,
    draft_id: uuid.UUID,
    scheduled_id: uuid.UUID,
) -> Response:
    return _acting(
        request,
        session,
        draft_id,
        f"/drafts/{draft_id}",
        lambda: scheduled.cancel(session, scheduled_id),
        "Taken back: it is a draft again.",
    )
