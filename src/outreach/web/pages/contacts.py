"""Contacts pages: search, a contact, the import wizard, uploads, export."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from outreach.campaigns.templates.fields import column_merge_field
from outreach.contacts import importing, lists, notes, queries, service
from outreach.contacts.leads import LeadStatus
from outreach.contacts.mapping import FIELDS
from outreach.contacts.queries import ContactFilter
from outreach.contacts.states import Outcome, UploadStatus
from outreach.container import Container
from outreach.db import transaction
from outreach.errors import OutreachError
from outreach.inbox import timeline
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, read_only
from outreach.web.rendering import linked, render
from outreach.words import counted

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


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
    where = ContactFilter(
        text=q or None,
        company=company or None,
        domain=domain or None,
        list_id=_uuid_or_none(list_id),
        lead_status=_lead_status_or_none(lead_status),
    )
    page, next_after = queries.contacts_page(session, where, after, PAGE_SIZE)
    context = {
        "contacts": page,
        "next_after": next_after,
        "filters": {
            "q": q or "",
            "company": company or "",
            "domain": domain or "",
            "list_id": list_id or "",
            "lead_status": _lead_status_or_none(lead_status) or "",
        },
        "list_choices": queries.list_choices(session, None, where.list_id),
        "chosen_list": where.list_id,
    }
    return render(request, "contacts/index.html", context)


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
