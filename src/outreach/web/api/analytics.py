"""Analytics: a campaign's numbers, and the Analytics page's tables by day, step, sender account
and recipient provider, as JSON or (`?format=csv`) CSV. Read from the rollups only."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, TypeAdapter
from sqlalchemy.orm import Session

from outreach.analytics import figures
from outreach.web.api.analytics_schemas import (
    CampaignAnalyticsOut,
    DayOut,
    EnrollmentsOut,
    FiguresOut,
    ProviderOut,
    SenderOut,
    StepOut,
)
from outreach.web.api.common_schemas import Page
from outreach.web.deps import ApiUser, DbSession, container_of

router = APIRouter(tags=["analytics"])

Row = TypeVar("Row", bound=figures.Figures)
Out = TypeVar("Out", bound=BaseModel)
Format = Annotated[
    Literal["json", "csv"], Query(description="csv: the same rows as a CSV download")
]
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}, "text/csv": {}}}}


@cache
def _adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _out(model: type[Out], rows: Sequence[figures.Figures]) -> list[Out]:
    return [model.model_validate(row.record()) for row in rows]


@router.get("/campaigns/{campaign_id}/analytics")
def campaign_analytics(
    session: DbSession, user: ApiUser, campaign_id: uuid.UUID
) -> CampaignAnalyticsOut:
    """A campaign's numbers over its whole life: its contacts and how they finished, the five
    counts and their rates overall, per step, per sender account and per recipient provider,
    and the median time to a first reply."""
    found = figures.of_campaign(session, campaign_id)
    wait = found.median_first_reply
    return CampaignAnalyticsOut(
        campaign_id=found.campaign_id,
        name=found.name,
        enrollments=EnrollmentsOut.model_validate(asdict(found.enrollments)),
        totals=FiguresOut.model_validate(found.totals.record()),
        median_first_reply_seconds=None if wait is None else wait.total_seconds(),
        steps=_out(StepOut, found.steps),
        senders=_out(SenderOut, found.senders),
        providers=_out(ProviderOut, found.providers),
    )


def _table(
    request: Request,
    session: Session,
    read: Callable[[Session, figures.Scope], Sequence[Row]],
    model: type[Out],
    name: str,
    start: date | None,
    end: date | None,
    campaign_id: uuid.UUID | None,
    format: str,
) -> Response:
    today = container_of(request).clock.now().date()
    scope = figures.Scope.of(today, start, end, campaign_id)
    rows = read(session, scope)
    if format == "json":
        # Checked and written by pydantic at once: through FastAPI's response handling a year
        # of every campaign's steps (750 rows) took 2.5 times as long as its CSV.
        adapter = _adapter(model)
        items = adapter.dump_json(adapter.validate_python([row.record() for row in rows]))
        # The page every list answers; a report of its range is one page.
        return Response(b'{"items":' + items + b',"next":null}', media_type="application/json")
    return csv_download(rows, model, name, scope)


def csv_download(
    rows: Sequence[figures.Figures], model: type[BaseModel], name: str, scope: figures.Scope
) -> Response:
    """The table `name` of `scope` as a CSV file (also the Analytics page's downloads)."""
    filename = f"{name}-{scope.first}-{scope.last}.csv"
    target = io.StringIO()
    # What the row is about first, then its counts and rates.
    columns = [field for field in model.model_fields if field not in FiguresOut.model_fields]
    columns += list(FiguresOut.model_fields)
    writer = csv.DictWriter(target, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        record = row.record()
        writer.writerow({name: "" if record[name] is None else record[name] for name in columns})
    return Response(
        target.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    """Only YYYY-MM-DD: pydantic would also read a number as a Unix time (end=0)."""
    if isinstance(value, str) and not ISO_DAY.fullmatch(value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = BeforeValidator(_iso_day)
Start = Annotated[
    date | None, Query(description="First UTC day; by default 29 days before end"), Day
]
End = Annotated[date | None, Query(description="Last UTC day, included; by default today"), Day]
CampaignId = Annotated[uuid.UUID | None, Query(description="One campaign; by default all")]


TABLES: tuple[
    tuple[str, Callable[[Session, figures.Scope], Sequence[Any]], type[BaseModel], str], ...
] = (
    (
        "daily",
        figures.daily,
        DayOut,
        "Sent, replies, positive replies, bounces and unsubscribes of every UTC day in the "
        "range, days without emails included.",
    ),
    ("steps", figures.steps, StepOut, "Each campaign's steps (the funnel) in the range."),
    (
        "senders",
        figures.senders,
        SenderOut,
        "Each sender account's figures in the range, most sent first.",
    ),
    (
        "providers",
        figures.providers,
        ProviderOut,
        "The figures by recipient provider (from each domain's MX records): google, "
        "microsoft, other, and unknown for domains not resolved yet.",
    ),
)
"""Each table the Analytics page shows: its name (and path), what reads it, its row, what it
holds."""


def _table_endpoint(
    name: str, read: Callable[[Session, figures.Scope], Sequence[Any]], model: type[BaseModel]
) -> Callable[..., Response]:
    def table(
        request: Request,
        session: DbSession,
        user: ApiUser,
        start: Start = None,
        end: End = None,
        campaign_id: CampaignId = None,
        format: Format = "json",
    ) -> Response:
        return _table(request, session, read, model, name, start, end, campaign_id, format)

    return table


for name, read, model, description in TABLES:
    router.add_api_route(
        f"/analytics/{name}",
        _table_endpoint(name, read, model),
        methods=["GET"],
        name=name,
        description=description,
        responses=CSV,
        response_model=Page[model],  # type: ignore[valid-type]
    )
