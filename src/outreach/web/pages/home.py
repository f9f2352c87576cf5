"""The home page: what happened today and over the last week."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outreach.analytics import queries as analytics
from outreach.web.deps import DbSession, PageUser, container_of
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, session: DbSession, user: PageUser) -> Response:
    today = container_of(request).clock.now().date()
    context = {
        "today": analytics.figures_between(session, today, today),
        "week": analytics.figures_between(session, today - timedelta(days=6), today),
    }
    return render(request, "home.html", context)
