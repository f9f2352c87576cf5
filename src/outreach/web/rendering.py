"""Server-rendered pages: Jinja2 templates with the layout's shared context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from outreach.inbox.models import InboxAttachment
from outreach.words import counted, duration, frequency

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters.update(counted=counted, duration=duration, frequency=frequency)


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str | None
    """None for an area that is not built yet: shown, but not a link."""
    admin_only: bool = False
    also: tuple[str, ...] = ()
    """Other paths that belong to this area."""

    def holds(self, path: str) -> bool:
        if self.path is None:
            return False
        if self.path == "/":
            return path == "/"
        return any(path == p or path.startswith(p + "/") for p in (self.path, *self.also))


NAVIGATION = (
    NavItem("Home", "/"),
    NavItem("Contacts", "/contacts", also=("/lists", "/suppressions")),
    NavItem("Campaigns", "/campaigns", also=("/sends",)),
    NavItem("Drafts", "/drafts"),
    NavItem("Inbox", "/inbox"),
    NavItem("Senders", "/senders"),
    NavItem("Analytics", None),
    NavItem("Users", "/users", admin_only=True),
    NavItem("Backups", "/backups", admin_only=True),
)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    user = getattr(request.state, "viewer", None)
    shared = {
        "user": user,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "navigation": [
            item for item in NAVIGATION if not item.admin_only or (user and user.role == "admin")
        ],
        "area": next((item.label for item in NAVIGATION if item.holds(request.url.path)), None),
    }
    return TEMPLATES.TemplateResponse(
        request, template, {**shared, **(context or {})}, status_code=status_code, headers=headers
    )


def attachment_response(attachment: InboxAttachment) -> Response:
    """A reply's attachment as a download of an opaque type, never sniffed: a file from outside
    must not render as a page in the app's origin."""
    disposition = f"attachment; filename*=utf-8''{quote(attachment.filename or 'attachment')}"
    return Response(
        attachment.data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )
