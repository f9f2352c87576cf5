"""The signed-in user's own account: password and API tokens."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from outreach.access import queries as access_queries
from outreach.access import service as access
from outreach.errors import ValidationFailed
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of
from outreach.web.pages.zones import zone_typed
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)


def account_page(request: Request, session: DbSession, user: PageUser, **extra: Any) -> Response:
    status = 422 if "error" in extra else 200
    context = {
        "tokens": access_queries.api_tokens_of(session, user.id),
        **extra,
    }
    return render(request, "account.html", context, status_code=status)


@router.get("/account")
def account(request: Request, session: DbSession, user: PageUser) -> Response:
    return account_page(request, session, user)


@router.post("/account/password")
def change_password(
    request: Request,
    session: DbSession,
    user: PageUser,
    current_password: Annotated[str, Form(max_length=1000)],
    new_password: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        access.change_password(session, user, current_password, new_password)
    except ValidationFailed as error:
        return account_page(request, session, user, error=error.message)
    return RedirectResponse("/sign-in", status_code=303)


@router.post("/account/time-zone")
def set_time_zone(
    request: Request,
    session: DbSession,
    user: PageUser,
    timezone: Annotated[str, Form(max_length=100)],
) -> Response:
    """Saves the zone the person's pages show times in: its IANA name, or a city only one zone
    is named for; else the page again with why and what they typed."""
    try:
        zone = ZoneInfo(zone_typed(timezone))
    except ValidationFailed as error:
        return account_page(request, session, user, error=error.message, typed_zone=timezone)
    access.set_time_zone(session, user, zone)
    return flash.redirect(request, "/account", notice=f"Times are now shown in {zone.key}.")


@router.post("/account/tokens")
def create_token(
    request: Request, session: DbSession, user: PageUser, name: Annotated[str, Form(max_length=200)]
) -> Response:
    try:
        issued = access.issue_api_token(session, user, name, container_of(request).clock.now())
    except ValidationFailed as error:
        return account_page(request, session, user, error=error.message)
    # The secret goes in the sealed flash: shown once, on the page the redirect leads to.
    shown = {"token": {"name": issued.token.name}, "secret": issued.secret}
    return flash.redirect(request, "/account", issued=shown)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, session: DbSession, user: PageUser, token_id: uuid.UUID
) -> Response:
    access.revoke_api_token(session, user, token_id, container_of(request).clock.now())
    return flash.redirect(request, "/account", notice="The token no longer works.")
