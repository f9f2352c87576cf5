"""Admins manage who can sign in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from outreach.access import queries as access_queries
from outreach.access import service as access
from outreach.access.models import Role
from outreach.errors import Conflict, ValidationFailed
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/users")
def users(request: Request, session: DbSession, user: PageUser) -> Response:
    access.require_admin(user)
    return render(
        request, "users.html", {"users": access_queries.all_users(session), "roles": list(Role)}
    )


@router.post("/users")
def create_user(
    request: Request,
    session: DbSession,
    user: PageUser,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    role: Annotated[Role, Form()] = Role.member,
) -> Response:
    access.require_admin(user)
    try:
        access.create_user(session, email, password, role)
    except (ValidationFailed, Conflict) as error:
        context = {
            "users": access_queries.all_users(session),
            "roles": list(Role),
            "error": error.message,
            "email": email,
        }
        return render(request, "users.html", context, status_code=422)
    return flash.redirect(request, "/users", notice=f"{email.strip().lower()} can sign in now.")
