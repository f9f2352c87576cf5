"""Uploads, contacts, lists and suppressions."""

from __future__ import annotations

import io
import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from outreach.contacts import importing, leads, lists, notes, queries, service, suppressions
from outreach.contacts.leads import ChangedBy, LeadStatus
from outreach.contacts.models import ContactList, UploadBatch
from outreach.contacts.queries import ContactFilter
from outreach.errors import ValidationFailed
from outreach.inbox import timeline
from outreach.web.api.common_schemas import PAGE_CURSOR, After, Limit, Page
from outreach.web.api.contacts_schemas import (
    BatchOut,
    ChangeOut,
    ConfirmIn,
    ContactDetail,
    ContactOut,
    CountOut,
    LeadStatusIn,
    ListIn,
    ListOut,
    ListPatch,
    MembersIn,
    MembersRemoveIn,
    NoteIn,
    NoteOut,
    PreviewRow,
    SavedMappingOut,
    SuppressionIn,
    SuppressionOut,
    TimelineEntryOut,
    UndoOut,
    UploadOut,
)
from outreach.web.deps import ApiUser, DbSession, container_of

router = APIRouter()
uploads = APIRouter(prefix="/uploads", tags=["uploads"])
contacts = APIRouter(prefix="/contacts", tags=["contacts"])
lists_router = APIRouter(prefix="/lists", tags=["lists"])
suppressed = APIRouter(prefix="/suppressions", tags=["suppressions"])


def upload_out(batch: UploadBatch, seen: importing.Preview) -> UploadOut:
    return UploadOut(
        batch=BatchOut.model_validate(batch),
        headers=seen.headers,
        proposed_mapping=seen.proposal,
        preview=[PreviewRow(line=row.line, values=row.values) for row in seen.rows],
        sheets=seen.sheets,
    )


@uploads.post("", status_code=201)
def upload(
    request: Request,
    session: DbSession,
    user: ApiUser,
    file: Annotated[
        UploadFile,
        File(description="CSV, TSV, TXT, XLSX, XLSM, XLS or ODS, by its name; others are refused"),
    ],
    sheet: Annotated[str | None, Form(max_length=200)] = None,
) -> UploadOut:
    """Store a file and propose a column mapping with a preview of its first rows."""
    container = container_of(request)
    name = file.filename or "upload.csv"
    path = importing.stored_copy(container.settings.data_dir / "uploads", name, file.file)
    batch, seen = importing.create_upload(
        session, path=path, file_name=name, sheet=sheet, now=container.clock.now()
    )
    return upload_out(batch, seen)


@uploads.get("")
def list_uploads(
    session: DbSession, user: ApiUser, after: After = None, limit: Limit = 50
) -> Page[BatchOut]:
    """The 50 most recent uploads."""
    found, cursor = queries.batches_page(session, after, limit)
    return Page(items=[BatchOut.model_validate(batch) for batch in found], next=cursor)


@uploads.get("/{batch_id}")
def get_upload(session: DbSession, user: ApiUser, batch_id: uuid.UUID) -> BatchOut:
    """An upload's status and live progress: processed_contacts of total_contacts, and counts."""
    return BatchOut.model_validate(importing.get(session, batch_id))


@uploads.get("/{batch_id}/preview")
def preview_upload(session: DbSession, user: ApiUser, batch_id: uuid.UUID) -> UploadOut:
    """The file's columns, the proposed mapping and its first rows."""
    batch = importing.get(session, batch_id)
    return upload_out(batch, importing.preview_of(batch))


@uploads.post("/{batch_id}/confirm", status_code=202)
def confirm_upload(
    request: Request,
    session: DbSession,
    user: ApiUser,
    batch_id: uuid.UUID,
    body: ConfirmIn,
    background: BackgroundTasks,
) -> BatchOut:
    """Choose the mapping and start the import; follow it with GET /uploads/{id}."""
    if body.list_id is not None:
        lists.get(session, body.list_id)
    batch = importing.confirm(
        session,
        batch_id,
        mapping=body.mapping,
        on_duplicate=body.on_duplicate,
        list_id=body.list_id,
        save_as=body.save_mapping_as,
    )
    container = container_of(request)
    background.add_task(importing.import_confirmed, container.sessions, container.clock, batch_id)
    return BatchOut.model_validate(batch)


@uploads.get(
    "/{batch_id}/report", response_class=Response, responses={200: {"content": {"text/csv": {}}}}
)
def upload_report(session: DbSession, user: ApiUser, batch_id: uuid.UUID) -> Response:
    """Rows that were not imported, with line, outcome, value and reason (CSV)."""
    target = io.StringIO()
    importing.write_report(session, batch_id, target)
    return Response(
        target.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="upload-{batch_id}-report.csv"'},
    )


@uploads.post("/{batch_id}/undo")
def undo_upload(session: DbSession, user: ApiUser, batch_id: uuid.UUID) -> UndoOut:
    """Remove the contacts this upload created, except those campaigns already use."""
    result = service.undo_upload(session, batch_id)
    return UndoOut(removed=result.removed, kept=result.kept)


@uploads.delete("/{batch_id}", status_code=204)
def delete_upload(session: DbSession, user: ApiUser, batch_id: uuid.UUID) -> Response:
    """Delete an upload left before its columns were matched; 409 for one that imported or is
    importing (undo that instead)."""
    service.delete_upload(session, batch_id)
    return Response(status_code=204)


@router.get("/mappings", tags=["uploads"])
def saved_mappings(
    session: DbSession, user: ApiUser, after: After = None, limit: Limit = 100
) -> Page[SavedMappingOut]:
    """Column mappings saved by name."""
    found, cursor = queries.mappings_page(session, after, limit)
    return Page(items=[SavedMappingOut.model_validate(saved) for saved in found], next=cursor)


@contacts.get("")
def search_contacts(
    session: DbSession,
    user: ApiUser,
    q: Annotated[str | None, Query(max_length=200, description="In email, name or company")] = None,
    company: Annotated[str | None, Query(max_length=200)] = None,
    domain: Annotated[str | None, Query(max_length=253)] = None,
    list_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
    field: Annotated[
        str | None,
        Query(
            max_length=200,
            description="An original column (no control characters)",
            # Stated, not enforced here: the filter refuses one saying why (contacts/queries.py).
            json_schema_extra={"pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"},
        ),
    ] = None,
    value: Annotated[
        str | None, Query(max_length=2000, description="…that equals this; needs field")
    ] = None,
    lead_status: LeadStatus | None = None,
    after: After = None,
    limit: Limit = 50,
) -> Page[ContactOut]:
    """Contacts in address order, a page at a time."""
    if value is not None and field is None:
        # Ignored, it would return every contact as if they all matched.
        raise ValidationFailed("value compares an original column: name it with field.")
    where = ContactFilter(
        text=q,
        company=company,
        domain=domain,
        list_id=list_id,
        batch_id=batch_id,
        field=field,
        value=value,
        lead_status=lead_status,
    )
    page, cursor = queries.contacts_page(session, where, after, limit)
    return Page(items=[ContactOut.model_validate(c) for c in page], next=cursor)


@contacts.get("/{contact_id}")
def get_contact(session: DbSession, user: ApiUser, contact_id: uuid.UUID) -> ContactDetail:
    """Every field of a contact, its original columns and its lists."""
    found = service.get(session, contact_id)
    in_lists = [each.id for each in queries.lists_of(session, contact_id)]
    summary = ContactOut.model_validate(found).model_dump()
    return ContactDetail(
        **summary, raw_data=found.raw_data, enriched_data=found.enriched_data, lists=in_lists
    )


@contacts.post("/{contact_id}/lead-status")
def set_lead_status(
    request: Request, session: DbSession, user: ApiUser, contact_id: uuid.UUID, body: LeadStatusIn
) -> ContactOut:
    """A person sets the contact's lead status; events never change it after that."""
    now = container_of(request).clock.now()
    by = ChangedBy.someone(user.email, user.id)
    return ContactOut.model_validate(leads.set_by_person(session, contact_id, body.status, by, now))


@contacts.get("/{contact_id}/changes")
def contact_changes(session: DbSession, user: ApiUser, contact_id: uuid.UUID) -> Page[ChangeOut]:
    """Every change of the contact's lead status and of their replies' categories: who or what
    made it, when and why, oldest first. One contact's are few: all on one page (`next` is
    null), in an order a cursor cannot keep (a category before the status it set)."""
    service.get(session, contact_id)
    changes = leads.history(session, contact_id)
    return Page(items=[ChangeOut.model_validate(change) for change in changes], next=None)


@contacts.get("/{contact_id}/timeline")
def get_timeline(
    session: DbSession,
    user: ApiUser,
    contact_id: uuid.UUID,
    after: Annotated[
        str | None,
        Query(
            max_length=400,
            description=PAGE_CURSOR,
            json_schema_extra={"format": "timeline-cursor"},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TimelineEntryOut]:
    """The contact's history, newest first: imported, lists joined, enrollments, emails sent
    (as sent), their messages (whole), suppressions and notes."""
    entries, cursor = timeline.timeline(session, contact_id, after, limit)
    return Page(items=[TimelineEntryOut.model_validate(entry) for entry in entries], next=cursor)


@contacts.post("/{contact_id}/notes", status_code=201)
def add_note(
    request: Request, session: DbSession, user: ApiUser, contact_id: uuid.UUID, body: NoteIn
) -> NoteOut:
    """A note on the contact, by the token's user; it shows in the contact's history."""
    now = container_of(request).clock.now()
    return NoteOut.model_validate(notes.add(session, contact_id, user.id, body.text, now))


def list_out(found: ContactList, size: int) -> ListOut:
    return ListOut(
        id=found.id,
        name=found.name,
        description=found.description,
        size=size,
        created_at=found.created_at,
    )


@lists_router.get("")
def all_lists(
    session: DbSession, user: ApiUser, after: After = None, limit: Limit = 100
) -> Page[ListOut]:
    """Every list and how many contacts it holds."""
    found, cursor = queries.lists_page(session, after, limit)
    return Page(items=[list_out(each, size) for each, size in found], next=cursor)


@lists_router.post("", status_code=201)
def create_list(request: Request, session: DbSession, user: ApiUser, body: ListIn) -> ListOut:
    """Create a list (names are unique, whatever their case)."""
    return list_out(
        lists.create(session, body.name, body.description, container_of(request).clock.now()), 0
    )


@lists_router.patch("/{list_id}")
def change_list(session: DbSession, user: ApiUser, list_id: uuid.UUID, body: ListPatch) -> ListOut:
    """Rename a list or change its description."""
    found = lists.get(session, list_id)
    changed = lists.rename(session, list_id, body.name or found.name, body.description)
    return list_out(changed, queries.list_size(session, list_id))


@lists_router.delete("/{list_id}", status_code=204)
def delete_list(session: DbSession, user: ApiUser, list_id: uuid.UUID) -> Response:
    """Delete a list; its contacts stay. Refused (409) while a campaign is sent to it."""
    lists.delete(session, list_id)
    return Response(status_code=204)


@lists_router.post("/{list_id}/members")
def add_members(
    request: Request, session: DbSession, user: ApiUser, list_id: uuid.UUID, body: MembersIn
) -> CountOut:
    """Add contacts by id, every contact of an upload, or every contact matching a filter."""
    now = container_of(request).clock.now()
    if body.contact_ids is not None:
        return CountOut(count=lists.add(session, list_id, body.contact_ids, now))
    if body.batch_id is not None:
        return CountOut(count=lists.add_batch(session, list_id, body.batch_id, now))
    chosen = body.filter.model_dump() if body.filter else {}
    return CountOut(count=lists.add_matching(session, list_id, ContactFilter(**chosen), now))


@lists_router.post("/{list_id}/members/remove")
def remove_members(
    session: DbSession, user: ApiUser, list_id: uuid.UUID, body: MembersRemoveIn
) -> CountOut:
    """Take contacts out of a list (they stay contacts)."""
    return CountOut(count=lists.remove(session, list_id, body.contact_ids))


@suppressed.get("")
def list_suppressions(
    session: DbSession,
    user: ApiUser,
    q: Annotated[str | None, Query(max_length=320)] = None,
    after: After = None,
    limit: Limit = 100,
) -> Page[SuppressionOut]:
    """Suppressed addresses and domains, in order, a page at a time."""
    page, cursor = queries.suppressions_page(session, q, after, limit)
    return Page(items=[SuppressionOut.model_validate(s) for s in page], next=cursor)


@suppressed.post("", status_code=201)
def suppress(
    request: Request, session: DbSession, user: ApiUser, body: SuppressionIn
) -> SuppressionOut:
    """Never email this address, or anyone at this domain."""
    added = suppressions.add(
        session,
        body.entry,
        suppressions.Reason(body.reason),
        body.source or f"api:{user.email}",
        container_of(request).clock.now(),
    )
    return SuppressionOut.model_validate(added)


@suppressed.delete("/{suppression_id}", status_code=204)
def unsuppress(session: DbSession, user: ApiUser, suppression_id: uuid.UUID) -> Response:
    """Lift a suppression."""
    suppressions.remove_by_id(session, suppression_id)
    return Response(status_code=204)


for part in (uploads, contacts, lists_router, suppressed):
    router.include_router(part)
