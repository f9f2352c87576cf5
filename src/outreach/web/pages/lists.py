"""Lists and suppressions pages."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from outreach.contacts import importing, lists, queries, suppressions
from outreach.contacts.queries import ContactFilter
from outreach.errors import OutreachError, ValidationFailed
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of
from outreach.web.rendering import linked, render
from outreach.words import counted

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]


LISTS_PAGE = 50


def _lists_page(request: Request, session: DbSession, **extra: object) -> Response:
    """A page of lists by name (the page the `after` cursor asks for; the first for a cursor
    we did not give)."""
    status = 422 if "error" in extra else 200
    after = request.query_params.get("after")
    try:
        shown, cursor = queries.lists_page(session, after, LISTS_PAGE)
    except ValidationFailed:
        shown, cursor = queries.lists_page(session, None, LISTS_PAGE)
    context = {
        "lists": shown,
        "next_page": linked("/lists", after=cursor) if cursor else None,
        **extra,
    }
    return render(request, "contacts/lists.html", context, status)


@router.get("/lists")
def lists_page(request: Request, session: DbSession, user: PageUser) -> Response:
    return _lists_page(request, session)


@router.get("/lists/choices")
def list_choices(
    request: Request,
    session: DbSession,
    user: PageUser,
    list_q: Annotated[str, Query(max_length=200)] = "",
    list_id: str = "",
    blank: Annotated[str, Query(max_length=40)] = "—",
) -> Response:
    """A list menu's options: the lists whose name holds `list_q`, the chosen one kept."""
    try:
        chosen = uuid.UUID(list_id) if list_id else None
    except ValueError:
        chosen = None
    choices = queries.list_choices(session, list_q, chosen)
    return render(
        request,
        "contacts/_list_choices.html",
        {"choices": choices, "chosen": chosen, "blank": blank},
    )


@router.post("/lists")
def create_list(
    request: Request, session: DbSession, user: PageUser, name: Text, description: Text = ""
) -> Response:
    try:
        created = lists.create(session, name, description, container_of(request).clock.now())
    except OutreachError as error:
        return _lists_page(request, session, error=error.message, name=name)
    return flash.redirect(request, f"/lists/{created.id}", notice=f"{created.name} is made.")


def _list_page(
    request: Request,
    session: DbSession,
    list_id: uuid.UUID,
    after: str | None = None,
    **extra: object,
) -> Response:
    found = lists.get(session, list_id)
    members, next_after = queries.contacts_page(session, ContactFilter(list_id=list_id), after, 100)
    context = {
        "list": found,
        "members": members,
        "next_after": next_after,
        "size": queries.list_size(session, list_id),
        "uploads": queries.recent_batches(session),
        **extra,
    }
    return render(request, "contacts/list.html", context, 422 if "error" in extra else 200)


@router.get("/lists/{list_id}")
def list_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    list_id: uuid.UUID,
    after: str | None = None,
) -> Response:
    return _list_page(request, session, list_id, after)


@router.post("/lists/{list_id}")
def rename_list(
    request: Request,
    session: DbSession,
    user: PageUser,
    list_id: uuid.UUID,
    name: Text,
    description: Text = "",
) -> Response:
    try:
        lists.rename(session, list_id, name, description)
    except OutreachError as error:
        session.rollback()
        return _list_page(request, session, list_id, error=error.message)
    return flash.redirect(request, f"/lists/{list_id}", notice="Saved.")


@router.post("/lists/{list_id}/delete")
def delete_list(
    request: Request, session: DbSession, user: PageUser, list_id: uuid.UUID
) -> Response:
    try:
        lists.delete(session, list_id)
    except OutreachError as error:
        return _list_page(request, session, list_id, error=error.message)
    return flash.redirect(request, "/lists", notice="The list is deleted; its contacts are kept.")


@router.post("/lists/{list_id}/add")
def add_to_list(
    request: Request,
    session: DbSession,
    user: PageUser,
    list_id: uuid.UUID,
    company: Text = "",
    domain: Text = "",
    field: Text = "",
    value: Text = "",
    batch_id: Text = "",
) -> Response:
    now = container_of(request).clock.now()
    try:
        if batch_id:
            added = lists.add_batch(session, list_id, uuid.UUID(batch_id), now)
        else:
            where = ContactFilter(
                company=company or None,
                domain=domain or None,
                field=field or None,
                value=value if field else None,
            )
            added = lists.add_matching(session, list_id, where, now)
    except (OutreachError, ValueError) as error:
        message = (
            error.message if isinstance(error, OutreachError) else "Choose an upload from the list."
        )
        return _list_page(request, session, list_id, error=message)
    return flash.redirect(
        request, f"/lists/{list_id}", notice=f"Added {counted(added, 'contact')}."
    )


@router.post("/lists/{list_id}/remove")
async def remove_from_list(
    request: Request, session: DbSession, user: PageUser, list_id: uuid.UUID
) -> Response:
    form = await request.form()
    chosen = [uuid.UUID(str(value)) for value in form.getlist("contact_id") if _is_uuid(str(value))]
    removed = lists.remove(session, list_id, chosen)
    notice = f"Removed {counted(removed, 'contact')} from the list."
    return flash.redirect(request, f"/lists/{list_id}", notice=notice)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _suppressions_page(
    request: Request,
    session: DbSession,
    q: str | None = None,
    after: str | None = None,
    **extra: object,
) -> Response:
    rows, next_after = queries.suppressions_page(session, q, after, 100)
    context = {
        "rows": rows,
        "next_after": next_after,
        "q": q or "",
        "reasons": list(suppressions.Reason),
        **extra,
    }
    return render(request, "contacts/suppressions.html", context, 422 if "error" in extra else 200)


@router.get("/suppressions")
def suppressions_page(
    request: Request,
    session: DbSession,
    user: PageUser,
    q: str | None = None,
    after: str | None = None,
) -> Response:
    return _suppressions_page(request, session, q, after)


@router.post("/suppressions")
def suppress(
    request: Request,
    session: DbSession,
    user: PageUser,
    entry: Text,
    reason: Annotated[suppressions.Reason, Form()] = suppressions.Reason.manual,
) -> Response:
    try:
        suppressions.add(
            session, entry, reason, f"page:{user.email}", container_of(request).clock.now()
        )
    except OutreachError as error:
        return _suppressions_page(request, session, error=error.message, entry=entry)
    return flash.redirect(request, "/suppressions", notice=f"{entry.strip()} is suppressed.")


@router.post("/suppressions/{suppression_id}/delete")
def unsuppress(
    request: Request, session: DbSession, user: PageUser, suppression_id: uuid.UUID
) -> Response:
    suppressions.remove_by_id(session, suppression_id)
    return flash.redirect(request, "/suppressions", notice="Lifted: emails to it may go again.")


@router.post("/suppressions/import")
def import_suppressions(
    request: Request,
    session: DbSession,
    user: PageUser,
    file: Annotated[UploadFile, File()],
    reason: Annotated[suppressions.Reason, Form()] = suppressions.Reason.manual,
) -> Response:
    container = container_of(request)
    name = file.filename or "suppressions.csv"
    path = importing.stored_copy(container.settings.data_dir / "uploads", name, file.file)
    try:
        result = suppressions.add_many(
            session,
            suppressions.entries_of_file(path, name),
            reason,
            f"file {name}",
            container.clock.now(),
        )
    except OutreachError as error:
        return _suppressions_page(request, session, error=error.message)
    finally:
        path.unlink(missing_ok=True)
    invalid = result.invalid or []
    notice = result.summary() + (
        f" {counted(len(invalid), 'line')} could not be read; the first 20 are below."
        if len(invalid) > 20
        else ""
    )
    return flash.redirect(request, "/suppressions", notice=notice, invalid=invalid[:20])
