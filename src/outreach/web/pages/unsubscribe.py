"""The unsubscribe link in every email. Public: the signed token is the authority, so a mail
client's one-click POST (RFC 8058) needs no session and no CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outreach.delivery import unsubscribe
from outreach.web.deps import DbSession, container_of
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)


def _token(request: Request, token: str) -> unsubscribe.UnsubscribeToken | None:
    return unsubscribe.read_token(container_of(request).settings.secret_key_value(), token)


@router.get("/unsubscribe/{token}")
def confirm_page(request: Request, session: DbSession, token: str) -> Response:
    """A person who clicked: ask before acting (link scanners follow GET links)."""
    if _token(request, token) is None:
        return render(request, "unsubscribe.html", {"state": "invalid"}, status_code=404)
    return render(request, "unsubscribe.html", {"state": "ask", "token": token})


@router.post("/unsubscribe/{token}")
def unsubscribe_now(request: Request, session: DbSession, token: str) -> Response:
    """One-click (a mail client, body `List-Unsubscribe=One-Click`) or the page's button: 200."""
    found = _token(request, token)
    if found is None:
        return render(request, "unsubscribe.html", {"state": "invalid"}, status_code=404)
    unsubscribe.unsubscribe(session, found, "unsubscribe link", container_of(request).clock.now())
    return render(request, "unsubscribe.html", {"state": "done"})
