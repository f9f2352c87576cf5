"""Signing in and out. The sign-in routes are public; signing out needs a session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from outreach.access import service as access
from outreach.errors import RateLimited, Unauthorized
from outreach.web.deps import SESSION_COOKIE, DbSession, PageUser, container_of
from outreach.web.rendering import render

public = APIRouter(include_in_schema=False)
signed_in = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would make the sign-in page a phishing aid."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@public.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return render(request, "sign_in.html", {"next": safe_next(next), "email": ""})


@public.post("/sign-in")
def sign_in(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    container = container_of(request)
    now = container.clock.now()
    ip = request.client.host if request.client else "unknown"
    try:
        user = access.authenticate(session, email, password, ip, now)
    except (Unauthorized, RateLimited) as error:
        status = 429 if isinstance(error, RateLimited) else 401
        context = {"next": safe_next(next), "email": email, "error": error.message}
        return render(request, "sign_in.html", context, status_code=status)
    token = access.start_session(
        session, user, now, container.session_lifetime, request.headers.get("user-agent")
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(container.session_lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@signed_in.post("/sign-out")
def sign_out(request: Request, session: DbSession, user: PageUser) -> Response:
    access.end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
