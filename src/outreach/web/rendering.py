"""Server-rendered pages: Jinja2 templates with the layout's shared context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.responses import Response

from outreach.campaigns.schedule import wall_to_utc
from outreach.campaigns.templates.rendering import as_read
from outreach.contacts.leads import LeadStatus
from outreach.errors import ValidationFailed
from outreach.events import webhooks
from outreach.inbox import categories
from outreach.inbox.models import InboxAttachment
from outreach.inbox.reply_rules import Category
from outreach.web import flash
from outreach.words import counted, duration, frequency, percentage, spoken, time_in_zone

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


@pass_context
def local_time(
    context: Context, at: datetime | None, form: str = "%Y-%m-%d %H:%M", plain: bool = False
) -> Markup | str:
    """`at` as the signed-in person reads it: in their time zone (the account page's setting),
    named after the time (words.time_in_zone), with the UTC time on hover. `form` without an
    hour shows the day alone; `plain` gives the words without markup, for where no element may
    go (an option)."""
    if at is None:
        return ""
    utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    zone = viewer_zone(context["request"])
    shown = time_in_zone(utc, zone, form) if "%H" in form else utc.astimezone(zone).strftime(form)
    if plain:
        return shown
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        utc.isoformat(), time_in_zone(utc), shown
    )


def viewer_zone(request: Request) -> ZoneInfo:
    """The zone the signed-in person reads times in (UTC before sign-in): the sentences a page
    builds in Python (a hold, a retry) are written in it, as the `local_time` filter does."""
    return ZoneInfo(getattr(getattr(request.state, "viewer", None), "time_zone", "UTC"))


def typed_time(request: Request, typed: str, now: datetime) -> datetime:
    """The wall-clock time a person typed in a form (YYYY-MM-DDTHH:MM), read in the zone they
    read times in; `now` when they typed nothing."""
    if not typed.strip():
        return now
    zone = viewer_zone(request)
    try:
        wall = datetime.fromisoformat(typed.strip())
    except ValueError as error:
        raise ValidationFailed(f"Give the time as YYYY-MM-DD HH:MM ({zone.key}).") from error
    return wall_to_utc(wall.date(), wall.time(), zone)


TEMPLATES.env.filters.update(
    as_read=as_read,
    counted=counted,
    duration=duration,
    frequency=frequency,
    local_time=local_time,
    percentage=percentage,
    spoken=spoken,
)


def linked(path: str, query: Mapping[str, Any] | None = None, **changes: Any) -> str:
    """A link to `path` with `query` (say the request's) changed by `changes` (None drops a
    parameter), every value encoded: every link built from what a person typed goes through
    here, so that "Smith & Sons" stays one search and `#` no fragment."""
    given = getattr(query, "multi_items", lambda: list((query or {}).items()))()
    kept = [(name, value) for name, value in given if name not in changes]
    added = [(name, value) for name, value in changes.items() if value is not None]
    pairs = [(name, str(value)) for name, value in kept + added if value != ""]
    return f"{path}?{urlencode(pairs)}" if pairs else path


TEMPLATES.env.globals["linked"] = linked
TEMPLATES.env.globals["reply_categories"] = [(c.value, c.words) for c in Category]
TEMPLATES.env.globals["category_set_by"] = categories.set_by
TEMPLATES.env.globals["webhook_disabled"] = webhooks.disabled_words
TEMPLATES.env.globals["lead_statuses"] = [(s.value, s.words) for s in LeadStatus]


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
    NavItem("Webhooks", "/webhooks"),
    NavItem("Analytics", "/analytics"),
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
        "viewer_zone": viewer_zone(request),
        "navigation": [
            item for item in NAVIGATION if not item.admin_only or (user and user.role == "admin")
        ],
        "inbox_counts": getattr(request.state, "inbox_counts", None),
        "area": next((item.label for item in NAVIGATION if item.holds(request.url.path)), None),
    }
    # A page shows what the last form action left for it (web/flash.py); a fragment for htmx
    # leaves it for the page.
    full_page = request.method == "GET" and not request.headers.get("HX-Request")
    left = flash.shown(request) if full_page else {}
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {**shared, **left, **(context or {})},
        status_code=status_code,
        headers=headers,
    )
    if full_page:
        flash.forget(request, response)
    return response


CHARTS_POLICY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
}
"""The headers of the pages with charts: their scripts and styles are files of this origin
only (the charts' data is JSON in the page, read by a script file, never inline code), so an
injected script or style would not run."""


def attachment_response(attachment: InboxAttachment) -> Response:
    """A reply's attachment as a download of an opaque type, never sniffed: a file from outside
    must not render as a page in the app's origin."""
    disposition = f"attachment; filename*=utf-8''{quote(attachment.filename or 'attachment')}"
    return Response(
        attachment.data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )
