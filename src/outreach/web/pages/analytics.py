"""The Analytics page: what the campaign emails of a range of days produced, by day, step,
sender account and recipient provider, each table also a CSV download. Read from the rollups
as /api/v1/analytics reads them, through the same functions and the same CSV writer: the API
takes a token, the page and its downloads the signed-in session."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from outreach.analytics import figures
from outreach.analytics import queries as analytics
from outreach.campaigns import queries as campaign_queries
from outreach.errors import NotFound, OutreachError, ValidationFailed
from outreach.web.api.analytics import TABLES, csv_download
from outreach.web.deps import DbSession, PageUser, container_of
from outreach.web.errors import status_of
from outreach.web.rendering import CHARTS_POLICY, render

router = APIRouter(include_in_schema=False)

PRESETS = ((7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last 12 months"))
"""The ranges offered in one click: that many days ending today."""
DEFAULT_DAYS = 30
STEPS_SHOWN = 50
"""Rows of the steps table on the page; rendering a year of 250 campaigns' 750 steps was a
quarter of the page's time, and nobody reads 750 rows (the CSV has every step)."""
Typed = Annotated[str, Query(max_length=100)]
CHARTED = ("sent", "replied", "bounced")
"""The daily chart's lines."""


def daily_chart(days: Sequence[figures.DayFigures]) -> dict[str, list[Any]]:
    """What /static/analytics.js draws: the days, and a line per count charted."""
    return {
        "days": [day.day.isoformat() for day in days],
        **{name: [getattr(day, name) for day in days] for name in CHARTED},
    }


@dataclass(frozen=True)
class Asked:
    """The page's query as typed: a preset (days), unless a first or last day is given."""

    days: str = ""
    start: str = ""
    end: str = ""
    campaign_id: str = ""

    def scope(self, session: Session, today: date) -> figures.Scope:
        """The days and campaign asked; ValidationFailed or NotFound saying what is wrong."""
        campaign_id = self._campaign(session)
        if self.start or self.end:
            first, last = _day(self.start, "From"), _day(self.end, "To")
            return figures.Scope.of(today, first, last, campaign_id)
        days = int(self.days) if self.days.isdigit() else DEFAULT_DAYS
        if self.days and days not in dict(PRESETS):
            offered = ", ".join(str(n) for n, _ in PRESETS)
            raise ValidationFailed(
                f"Choose the last {offered} days, or give the range's first and last day."
            )
        return figures.Scope(today - timedelta(days=days - 1), today, campaign_id)

    def _campaign(self, session: Session) -> uuid.UUID | None:
        if not self.campaign_id:
            return None
        try:
            campaign_id = uuid.UUID(self.campaign_id)
        except ValueError:
            campaign_id = None
        if campaign_id is None or campaign_queries.campaign(session, campaign_id) is None:
            raise NotFound("No such campaign: it may have been deleted. Choose one from the menu.")
        return campaign_id


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{name}: “{value}” is not a day; write it as YYYY-MM-DD, say 2026-03-01."
        ) from None


def _asked(
    days: Typed = "",
    start: Typed = "",
    end: Typed = "",
    campaign_id: Typed = "",
    campaign_q: Typed = "",  # the campaign menu's search box, sent with the form: not a filter
) -> Asked:
    return Asked(days.strip(), start.strip(), end.strip(), campaign_id.strip())


AskedQuery = Annotated[Asked, Depends(_asked)]


@router.get("/analytics")
def analytics_page(
    request: Request, session: DbSession, user: PageUser, asked: AskedQuery
) -> Response:
    today = container_of(request).clock.now().date()
    context: dict[str, Any] = {"asked": asked, "presets": PRESETS, "default_days": DEFAULT_DAYS}
    try:
        scope = asked.scope(session, today)
    except OutreachError as error:
        context["campaign_choices"] = analytics.campaign_choices(session, "", None)
        context["error"] = error.message
        return render(request, "analytics.html", context, status_of(error), headers=CHARTS_POLICY)
    days_of = figures.daily(session, scope)
    funnel = figures.busiest_steps(session, scope, STEPS_SHOWN)
    context.update(
        scope=scope,
        campaign_choices=analytics.campaign_choices(session, "", scope.campaign_id),
        totals=figures.added(days_of),
        daily=days_of,
        chart=daily_chart(days_of),
        steps=funnel.steps,
        every_step=funnel.of,
        senders=figures.senders(session, scope),
        providers=figures.providers(session, scope),
    )
    return render(request, "analytics.html", context, headers=CHARTS_POLICY)


@router.get("/analytics/campaigns")
def campaign_options(
    request: Request,
    session: DbSession,
    user: PageUser,
    campaign_q: Typed = "",
    campaign_id: Typed = "",
) -> Response:
    """The campaign menu's options: the campaigns whose name holds `campaign_q`, the chosen one
    kept. A NUL cannot be in a name (nor in PostgreSQL's text), so it is dropped."""
    try:
        chosen = uuid.UUID(campaign_id) if campaign_id else None
    except ValueError:
        chosen = None
    choices = analytics.campaign_choices(session, campaign_q.replace("\x00", ""), chosen)
    return render(
        request, "_analytics_campaigns.html", {"campaign_choices": choices, "chosen": chosen}
    )


@router.get("/analytics/{name}.csv")
def download(
    request: Request, session: DbSession, user: PageUser, name: str, asked: AskedQuery
) -> Response:
    """A table of the page, as the page shows it, as a CSV file: what /api/v1/analytics/{name}
    ?format=csv answers, for the signed-in session."""
    table = next((table for table in TABLES if table[0] == name), None)
    if table is None:
        raise NotFound(f"There is no table “{name}”: there are {', '.join(t[0] for t in TABLES)}.")
    _, read, model, _ = table
    scope = asked.scope(session, container_of(request).clock.now().date())
    return csv_download(read(session, scope), model, name, scope)
