"""The time-zone picker the account page and a campaign's Schedule tab share
(templates/_zone_picker.html): the server searches the IANA names as a person types, and
understands what they typed when the form is saved, with or without JavaScript."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from outreach.campaigns.schedule import zone_named, zones_matching
from outreach.errors import ValidationFailed
from outreach.web.deps import PageUser
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/time-zones")
def time_zones(
    request: Request,
    user: PageUser,
    timezone: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The IANA zones the typed text finds, as buttons that fill the field in (for htmx)."""
    return render(request, "_zone_choices.html", {"zones": zones_matching(timezone)})


def zone_typed(typed: str) -> str:
    """The IANA name of the zone a person typed: the name itself, or a place only one zone is
    named for ("Berlin" for Europe/Berlin, as the picker offers it); else refused naming the
    zones it could be, or saying there is none."""
    zone = zone_named(typed)
    if zone is not None:
        return zone.key
    found = zones_matching(typed, limit=6)
    if len(found) == 1:
        return found[0]
    if found:
        raise ValidationFailed(
            f"Which time zone is {typed!r}? Choose one: {', '.join(found[:5])}.", field="timezone"
        )
    raise ValidationFailed(
        f"There is no time zone called {typed!r}: type a city, e.g. Berlin, and choose its zone.",
        field="timezone",
    )
