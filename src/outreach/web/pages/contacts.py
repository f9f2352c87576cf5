"""Contacts pages: search, a contact, the import wizard, uploads, export."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.states import CampaignStatus
from outreach.campaigns.templates.fields import column_merge_field
from outreach.contacts import importing, lists, notes, queries, service, suppressions
from outreach.contacts.leads import LeadStatus
from outreach.contacts.mapping import FIELDS
from outreach.contacts.queries import ContactFilter
from outreach.contacts.states import Outcome, UploadStatus
from outreach.container import Container
from outreach.db import transaction
from outreach.errors import OutreachError, ValidationFailed
from outreach.inbox import timeline
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, read_only
from outreach.web.rendering import linked, render
from outreach.words import counted

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
ENROLLING = (CampaignStatus.draft, CampaignStatus.active, CampaignStatus.paused)
"""The campaigns contacts can be enrolled in from the contacts page."""


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


FILTERS = ("q", "company", "domain", "list_id", "lead_status")
"""The contacts page's filter, as its address and its bulk form carry it."""
COLUMNS = {
    "name": "Name",
    "company": "Company",
    "title": "Title",
    "lead_status": "Lead status",
    "lists": "Lists",
    "campaigns": "Campaigns",
    "added": "Added",
}
"""The columns a person may show beside each contact's address, in the order shown."""
DEFAULT_COLUMNS = ("name", "company", "lead_status", "lists", "campaigns")
COLUMNS_COOKIE = "outreach_contact_columns"
"""The columns this browser's person chose, kept a year: a preference, nothing secret."""
COUNTED_UP_TO = 10_000
"""The page counts matching contacts up to here, and says "more than" beyond: its bulk actions'
confirmation counts them all."""
MOST_TICKED = 1000
"""Rows a bulk action takes by id: a page's worth many times over; more is "all matching"."""


def _filter_of(text: Mapping[str, str | None]) -> ContactFilter:
    return ContactFilter(
        text=text.get("q") or None,
        company=text.get("company") or None,
        domain=text.get("domain") or None,
        list_id=_uuid_or_none(text.get("list_id")),
        lead_status=_lead_status_or_none(text.get("lead_status")),
    )


def _filters_shown(where: ContactFilter) -> dict[str, str]:
    return {
        "q": where.text or "",
        "company": where.company or "",
        "domain": where.domain or "",
        "list_id": str(where.list_id or ""),
        "lead_status": where.lead_status or "",
    }


def columns_chosen(request: Request) -> list[str]:
    """The columns this person chose (a cookie), else the usual ones; unknown names ignored."""
    kept = request.cookies.get(COLUMNS_COOKIE)
    if kept is None:
        return list(DEFAULT_COLUMNS)
    return [name for name in COLUMNS if name in kept.split(",")]


@router.get("/contacts")
def contacts_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    q: str | None = None,
    company: str | None = None,
    domain: str | None = None,
    list_id: str | None = None,
    lead_status: str | None = None,
    after: str | None = None,
) -> Response:
    typed = {"q": q, "company": company, "domain": domain, "list_id": list_id}
    where = _filter_of({**typed, "lead_status": lead_status})
    return _contacts_page(request, session, where, after)


def _contacts_page(
    request: Request,
    session: DbSession,
    where: ContactFilter,
    after: str | None = None,
    error: str | None = None,
    bulk_action: str = "",
) -> Response:
    """A page of contacts with the count of all that match; the lists and campaigns of the
    page's rows only, each in one query, and only when their column is shown. `bulk_action`:
    the bulk form's action as a refused form chose it, chosen again."""
    page, next_after = queries.contacts_page(session, where, after, PAGE_SIZE)
    shown = columns_chosen(request)
    ids = [contact.id for contact in page]
    context = {
        "contacts": page,
        "next_after": next_after,
        "total": queries.count_matching(session, where, COUNTED_UP_TO),
        "counted_up_to": COUNTED_UP_TO,
        "filters": _filters_shown(where),
        "list_choices": queries.list_choices(session, None, where.list_id),
        "chosen_list": where.list_id,
        "columns": COLUMNS,
        "shown": shown,
        "lists_of": queries.lists_of_contacts(session, ids) if "lists" in shown else {},
        "campaigns_of": (
            campaign_queries.campaigns_of_contacts(session, ids) if "campaigns" in shown else {}
        ),
        "enrolling": [
            found
            for found in campaign_queries.all_campaigns(session)
            if found.status in ENROLLING and found.list_id is not None
        ],
        "bulk_action": bulk_action,
        # Set only when refused: otherwise the flash's notice or error is shown.
        **({"error": error} if error else {}),
    }
    return render(request, "contacts/index.html", context, status_code=422 if error else 200)


@router.post("/contacts/columns")
def choose_columns(
    request: Request,
    user: PageUser,
    column: Annotated[list[str] | None, Form(max_length=40)] = None,
    back: Annotated[str, Form(max_length=4000)] = "/contacts",
) -> Response:
    """Keeps the chosen columns in this browser and goes back to the same contacts."""
    chosen = [name for name in COLUMNS if name in (column or [])]
    response = RedirectResponse(back if back.startswith("/contacts") else "/contacts", 303)
    response.set_cookie(
        COLUMNS_COOKIE,
        ",".join(chosen),
        max_age=365 * 24 * 3600,
        path="/contacts",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


BULK_ACTIONS = {
    "list": "Add {count} to the list {target}?",
    "campaign": "Enrol {count} in {target}?",
    "suppress": "Suppress {count}?",
    "delete": "Delete {count}?",
}
"""What each bulk action asks before it runs: the count in it, always."""


@router.post("/contacts/bulk")
async def bulk(request: Request, session: DbSession, user: PageUser) -> Response:
    """A bulk action over the ticked contacts, or over every contact matching the filter: first
    a confirmation that says how many, then (confirmed) one set-based statement."""
    form = await request.form()
    text = {key: value for key, value in form.items() if isinstance(value, str)}
    where = _filter_of(text)
    try:
        chosen, target = _bulk_choice(session, where, text, form.getlist("contact_id"))
        count = queries.count_matching(session, chosen)
        if not count:
            raise ValidationFailed("None of the chosen contacts is left: nothing to do.")
    except OutreachError as error:
        return _contacts_page(
            request, session, where, error=error.message, bulk_action=text.get("action", "")
        )
    action = text["action"]
    if text.get("confirmed") != "yes":
        question = BULK_ACTIONS[action].format(count=counted(count, "contact"), target=target)
        context = {
            "question": question,
            "fields": [(k, v) for k, v in form.multi_items() if k not in ("csrf_token",)],
            "back": linked("/contacts", _filters_shown(where)),
            "action": action,
        }
        return render(request, "contacts/bulk_confirm.html", context)
    notice = _bulk_done(session, container_of(request), action, chosen, text)
    return flash.redirect(request, linked("/contacts", _filters_shown(where)), notice=notice)


def _bulk_choice(
    session: DbSession, where: ContactFilter, text: dict[str, str], ticked: Sequence[object]
) -> tuple[ContactFilter, str]:
    """The contacts a bulk action takes (the filter's, or the ticked ones) and what its target
    is called; refused in words when the form does not say."""
    action = text.get("action", "")
    if action not in BULK_ACTIONS:
        raise ValidationFailed("Choose what to do with the chosen contacts.", field="action")
    if text.get("all_matching") != "true":
        ids = [_uuid_or_none(str(value)) for value in ticked]
        if not ids:
            raise ValidationFailed(
                "Tick the contacts to act on, or choose all that match.", field="contact_id"
            )
        if None in ids or len(ids) > MOST_TICKED:
            raise ValidationFailed(
                f"Tick up to {MOST_TICKED:,} contacts, each by its row.", field="contact_id"
            )
        where = ContactFilter(ids=tuple(cid for cid in ids if cid is not None))
    if action == "list":
        target_id = _uuid_or_none(text.get("target_list_id"))
        if target_id is None:
            raise ValidationFailed("Choose the list to add them to.", field="target_list_id")
        return where, lists.get(session, target_id).name
    if action == "campaign":
        campaign_id = _uuid_or_none(text.get("campaign_id"))
        if campaign_id is None:
            raise ValidationFailed("Choose the campaign to enrol them in.", field="campaign_id")
        return where, campaigns.get(session, campaign_id).name
    return where, ""


def _bulk_done(
    session: DbSession,
    container: Container,
    action: str,
    chosen: ContactFilter,
    text: dict[str, str],
) -> str:
    now = container.clock.now()
    if action == "list":
        target = lists.get(session, uuid.UUID(text["target_list_id"]))
        added = lists.add_matching(session, target.id, chosen, now, everyone=True)
        return f"Added {counted(added, 'contact')} to {target.name}."
    if action == "campaign":
        found, joined = campaigns.enrol_matching(
            session, uuid.UUID(text["campaign_id"]), chosen, now
        )
        return f"{counted(joined, 'contact')} joined the list of {found.name}: it enrols them " + (
            "at launch." if found.status == CampaignStatus.draft else "on its next pass."
        )
    if action == "suppress":
        added = suppressions.suppress_matching(session, chosen, "contacts page", now)
        return f"Suppressed {counted(added, 'new address', 'new addresses')}."
    result = service.delete_matching(session, chosen)
    return f"Deleted {counted(result.removed, 'contact')}." + (
        f" Kept {counted(result.kept, 'contact')} that campaigns, drafts or sends already use."
        if result.kept
        else ""
    )


def _lead_status_or_none(value: str | None) -> str | None:
    """A lead status from the filter form; an unknown one filters nothing (as an unknown list)."""
    return value if value in {status.value for status in LeadStatus} else None


@router.get("/contacts/export.csv")
def export(
    request: Request,
    user: PageUser,
    list_id: str | None = None,
    lead_status: str | None = None,
) -> Response:
    where = ContactFilter(
        list_id=_uuid_or_none(list_id), lead_status=_lead_status_or_none(lead_status)
    )
    return StreamingResponse(
        _export_pieces(container_of(request), where),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
    )


def _export_pieces(container: Container, where: ContactFilter) -> Iterator[str]:
    """The export, read in a transaction of its own: the request's ends before the body is
    sent, and a million contacts are sent as they are read, never held."""
    with transaction(container.sessions) as session:
        read_only(session)
        yield from service.export_csv_pieces(session, where)


@router.get("/contacts/import")
def import_start(request: Request, user: PageUser) -> Response:
    return render(request, "contacts/import.html", {})


@router.post("/contacts/import")
def import_upload(
    request: Request,
    session: DbSession,
    user: PageUser,
    file: Annotated[UploadFile, File()],
    sheet: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    container = container_of(request)
    name = file.filename or "upload.csv"
    path = importing.stored_copy(container.settings.data_dir / "uploads", name, file.file)
    try:
        batch, _ = importing.create_upload(
            session, path=path, file_name=name, sheet=sheet or None, now=container.clock.now()
        )
    except OutreachError as error:
        return render(request, "contacts/import.html", {"error": error.message}, status_code=422)
    return RedirectResponse(f"/contacts/import/{batch.id}", status_code=303)


def _mapping_page(
    request: Request, session: DbSession, batch_id: uuid.UUID, error: str | None = None
) -> Response:
    batch = importing.get(session, batch_id)
    seen = importing.preview_of(batch)
    context = {
        "batch": batch,
        "seen": seen,
        "fields": FIELDS,
        "mapping": batch.column_mapping or seen.proposal,
        "list_choices": queries.list_choices(session, None, batch.list_id),
        "saved": importing.saved_mappings(session),
        "error": error,
    }
    return render(request, "contacts/mapping.html", context, status_code=422 if error else 200)


@router.get("/contacts/import/{batch_id}")
def import_mapping(
    request: Request, session: DbSession, user: PageUser, batch_id: uuid.UUID
) -> Response:
    batch = importing.get(session, batch_id)
    if batch.status not in (UploadStatus.uploaded, UploadStatus.failed):
        return RedirectResponse(f"/contacts/import/{batch_id}/progress", status_code=303)
    return _mapping_page(request, session, batch_id)


@router.post("/contacts/import/{batch_id}")
async def import_confirm(
    request: Request,
    session: DbSession,
    user: PageUser,
    batch_id: uuid.UUID,
    background: BackgroundTasks,
) -> Response:
    form = await request.form()
    text = {key: value for key, value in form.items() if isinstance(value, str)}
    mapping = {field: text.get(f"map_{field}", "") for field in FIELDS}
    container = container_of(request)
    try:
        target = _target_list(session, text, container)
        importing.confirm(
            session,
            batch_id,
            mapping=mapping,
            on_duplicate=text.get("on_duplicate", "skip"),
            list_id=target,
            save_as=text.get("save_as") or None,
        )
    except OutreachError as error:
        session.rollback()
        return _mapping_page(request, session, batch_id, error.message)
    background.add_task(importing.import_confirmed, container.sessions, container.clock, batch_id)
    return RedirectResponse(f"/contacts/import/{batch_id}/progress", status_code=303)


def _target_list(
    session: DbSession, form: dict[str, str], container: Container
) -> uuid.UUID | None:
    if form.get("new_list", "").strip():
        return lists.create(session, form["new_list"], None, container.clock.now()).id
    return _uuid_or_none(form.get("list_id"))


@router.get("/contacts/import/{batch_id}/progress")
def import_progress(
    request: Request, session: DbSession, user: PageUser, batch_id: uuid.UUID
) -> Response:
    batch = importing.get(session, batch_id)
    if batch.status == UploadStatus.uploaded:
        # Nothing is imported until its columns are matched: that is the step to go back to.
        return RedirectResponse(f"/contacts/import/{batch_id}", status_code=303)
    report = importing.report(batch)
    context = {
        "batch": batch,
        "report": report,
        "outcomes": list(Outcome),
        "running": batch.status in (UploadStatus.pending, UploadStatus.processing),
    }
    return render(request, "contacts/progress.html", context)


UPLOAD_STATUS_WORDS = {
    UploadStatus.uploaded: "waiting for its columns to be matched",
    UploadStatus.pending: "waiting to be imported",
    UploadStatus.processing: "importing",
    UploadStatus.completed: "imported",
    UploadStatus.failed: "failed",
    UploadStatus.undone: "undone",
}


def _uploads_page(request: Request, session: DbSession) -> Response:
    batches = [(batch, importing.report(batch)) for batch in queries.recent_batches(session)]
    context = {
        "batches": batches,
        "outcomes": list(Outcome),
        "status_words": UPLOAD_STATUS_WORDS,
    }
    return render(request, "contacts/uploads.html", context)


@router.get("/contacts/uploads")
def uploads_page(request: Request, session: DbSession, user: PageUser) -> Response:
    return _uploads_page(request, session)


@router.post("/contacts/uploads/{batch_id}/undo")
def undo(request: Request, session: DbSession, user: PageUser, batch_id: uuid.UUID) -> Response:
    result = service.undo_upload(session, batch_id)
    notice = f"Removed {counted(result.removed, 'contact')}." + (
        f" Kept {result.kept} that campaigns, drafts or sends already use." if result.kept else ""
    )
    return flash.redirect(request, "/contacts/uploads", notice=notice)


@router.post("/contacts/uploads/{batch_id}/delete")
def delete_upload(
    request: Request, session: DbSession, user: PageUser, batch_id: uuid.UUID
) -> Response:
    try:
        name = service.delete_upload(session, batch_id)
    except OutreachError as error:
        return flash.redirect(request, "/contacts/uploads", error=error.message)
    return flash.redirect(request, "/contacts/uploads", notice=f"Deleted the upload of {name}.")


@router.get("/contacts/uploads/{batch_id}/report.csv")
def report_csv(session: DbSession, user: PageUser, batch_id: uuid.UUID) -> Response:
    target = io.StringIO()
    importing.write_report(session, batch_id, target)
    return StreamingResponse(
        iter([target.getvalue()]),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="upload-{batch_id}-problems.csv"'},
    )


HISTORY_PAGE = 50


@router.get("/contacts/{contact_id}")
def contact_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    contact_id: uuid.UUID,
    before: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    found = service.get(session, contact_id)
    history, cursor = timeline.timeline(session, contact_id, before, HISTORY_PAGE)
    return render(
        request,
        "contacts/contact.html",
        {
            "contact": found,
            "lists": queries.lists_of(session, contact_id),
            "merge_field": column_merge_field,
            "history": history,
            "older": linked(f"/contacts/{contact_id}", before=cursor) if cursor else None,
        },
    )


@router.post("/contacts/{contact_id}/notes")
def add_note(
    request: Request,
    session: DbSession,
    user: PageUser,
    contact_id: uuid.UUID,
    text: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    notes.add(session, contact_id, user.id, text, container_of(request).clock.now())
    return flash.redirect(request, f"/contacts/{contact_id}#history", notice="Note added.")
