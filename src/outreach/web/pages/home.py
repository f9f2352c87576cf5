"""The home page, a dashboard: what campaign emails produced today, over 7 and over 30 days,
and day by day; the conversations waiting for an answer; the running campaigns' reply rates;
the sender accounts in trouble; and the seed's daily counters."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outreach.analytics import figures
from outreach.analytics import queries as analytics
from outreach.analytics.first_run import first_run
from outreach.web.deps import DbSession, PageUser, container_of
from outreach.web.pages.analytics import daily_chart
from outreach.web.rendering import CHARTS_POLICY, render

router = APIRouter(include_in_schema=False)

SPANS = ((1, "Today (UTC)"), (7, "Last 7 days"), (30, "Last 30 days"))
BOUNCES_WORTH_A_LOOK = 0.5
"""An account is shown in trouble once its 7 days' bounce rate passes this share of the rate
at which the worker pauses it: a person can act before the pause."""


@router.get("/")
def home(request: Request, session: DbSession, user: PageUser) -> Response:
    container = container_of(request)
    today = container.clock.now().date()
    longest = max(span for span, _ in SPANS)
    days = figures.daily(session, figures.Scope(today - timedelta(days=longest - 1), today))
    seed = analytics.figures_of_last_days(session, today, [span for span, _ in SPANS])
    watched_rate = container.settings.bounce_pause_rate * BOUNCES_WORTH_A_LOOK
    context = {
        "spans": [
            (label, figures.added(days[-span:]), counters)
            for (span, label), counters in zip(SPANS, seed, strict=True)
        ],
        "daily": days,
        "chart": daily_chart(days),
        "running": figures.running_campaigns(session),
        "in_trouble": figures.senders_in_trouble(session, today, watched_rate),
        "pause_rate": container.settings.bounce_pause_rate,
        "watched_rate": watched_rate,
        "first_run": first_run(session),
    }
    return render(request, "home.html", context, headers=CHARTS_POLICY)
