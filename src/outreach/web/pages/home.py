"""The home page: what happened today and over the last week."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outreach.analytics import queries as analytics
from outreach.analytics.first_run import first_run
from outreach.web.deps import DbSession, PageUser, container_of
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, session: DbSession, user: PageUser) -> Response:
    today = container_of(request).clock.now().date()
    day, week = analytics.figures_of_last_days(session, today, (1, 7))
    context = {"today": day, "week": week}
    return render(request, "home.html", {**context, "first_run": first_run(session)})
