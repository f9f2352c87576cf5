"""Admins see the backups, their verification and the next runs; take or check one now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, Response

from outreach.access import service as access
from outreach.errors import ValidationFailed
from outreach.portability import backups
from outreach.portability.schedule import KINDS
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, finish_transaction
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)


def backups_page(request: Request, **extra: object) -> Response:
    container = container_of(request)
    folder, now = container.settings.backup_dir, container.clock.now()
    context = {
        "backups": backups.existing(folder),
        "plans": backups.plans(folder, now),
        "now": now,
        "enabled": container.settings.backups_enabled,
        "folder": folder,
        "kinds": list(KINDS),
        **extra,
    }
    return render(request, "backups.html", context, status_code=422 if "error" in extra else 200)


@router.get("/backups")
def list_backups(request: Request, user: PageUser) -> Response:
    access.require_admin(user)
    return backups_page(request)


@router.post("/backups")
def take_backup(
    request: Request,
    session: DbSession,
    user: PageUser,
    kind: Annotated[str, Form(max_length=40)] = "full",
) -> Response:
    access.require_admin(user)
    finish_transaction(session)
    container = container_of(request)
    try:
        backups.take(
            container.engine,
            container.settings.backup_dir,
            backups.kind_named(kind),
            container.clock.now(),
        )
    except ValidationFailed as error:
        return flash.redirect(request, "/backups", error=error.message)
    return flash.redirect(request, "/backups", notice="Backup taken.")


@router.post("/backups/{name}/verify")
def verify_backup(request: Request, session: DbSession, user: PageUser, name: str) -> Response:
    access.require_admin(user)
    finish_transaction(session)
    backup = backups.named(container_of(request).settings.backup_dir, name)
    try:
        backups.verify(backup.path)
    except ValidationFailed as error:
        return flash.redirect(request, "/backups", error=error.message)
    return flash.redirect(request, "/backups", notice=f"{name} is whole: it verified.")


@router.get("/backups/{name}")
def download_backup(request: Request, user: PageUser, name: str) -> Response:
    access.require_admin(user)
    backup = backups.named(container_of(request).settings.backup_dir, name)
    return FileResponse(backup.path, media_type="application/gzip", filename=backup.path.name)
