"""Every page and every /api/v1 list endpoint at 1x and 10x the seed's year-one volume.

    .venv/bin/python bench/pages.py [--scales 1,10] [--backend postgresql|sqlite|both]
        [--requests 20] [--keep] [--reuse] [--only REGEX] [--name-prefix outreach_pages]

Databases (bench/volume.py): PostgreSQL at each scale, filled by COPY (10x: 1,000,000
contacts, 3,000,000 drafts, 1.9M sent emails, 750,000 enrollments, 500 campaigns, 500 lists
with 1.1M memberships), and SQLite at 1x, a copy of PostgreSQL's. `--keep` leaves them
(PostgreSQL databases outreach_pages_<n>x, SQLite file outreach_pages_1x.db in the temporary
folder); `--reuse` measures kept ones instead of filling again, after migrating them to the
code's head, so that a branch's pages can be measured on the same rows as another's.
`--name-prefix` names other databases (<prefix>_<n>x): copies of the kept ones, so that a
branch with a migration of its own measures without migrating the ones others share.

What is measured is enumerated from the app itself, so a page added later is included: every
GET route outside /api/v1 that a signed-in person opens (not sign-in, health, unsubscribe,
OAuth callbacks or file downloads), and every /api/v1 GET whose answer is a page {items,
next}. Path parameters are real ids: the biggest campaign and list, a contact with a
conversation, a draft awaiting review, and so on; a parameter with no id is reported as not
measured. Requests go through the app in process (ASGI TestClient): pages with a session
cookie from signing in, the API with a token. Each is warmed with 2 requests, then timed
`requests` times (fewer when one takes seconds); p50 and p95 in ms, and how many SQL statements
the last request ran (an N+1 shows as a count that follows the page's rows, at any scale).

Goals: p95 ≤ 200 ms at 10x on PostgreSQL (`ratio pages_<name>_p95_over_goal_pg_10x` ≤ 1),
≤ 300 ms at 1x on SQLite (`..._sqlite_1x` ≤ 1), and growth from 1x to 10x on PostgreSQL
(`ratio pages_<name>_growth`, p95 over p95) ≤ 2 for everything that pages.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import volume

from outreach.access import queries as access_queries
from outreach.access import service as access
from outreach.access.models import Role
from outreach.clock import SystemClock
from outreach.container import Container, build_container
from outreach.db import transaction
from outreach.web.app import API_PREFIX, create_app, freeze_start_up
from tests.web_session import sign_in

GOALS_MS = {"postgresql": 200.0, "sqlite": 300.0}
PREFIX = "outreach_pages"
"""The kept databases' names: outreach_pages_<n>x (PostgreSQL), outreach_pages_1x.db (SQLite)."""
EMAIL = "bench-pages@example.com"
PASSWORD = "bench-pages-password-1"  # noqa: S105 (the bench's own admin)
NOT_PAGES = {
    "/sign-in": "public",
    "/healthz": "public",
    "/readyz": "public",
    "/unsubscribe/{token}": "public",
    "/senders/graph/callback": "OAuth callback",
    "/senders/oauth/callback": "OAuth callback",
    "/contacts/export.csv": "download (bench/export_csv.py)",
    "/contacts/uploads/{batch_id}/report.csv": "download",
    "/inbox/conversations/{conversation_id}/attachments/{attachment_id}": "download",
    "/backups/{name}": "download",
    "/api/docs/openapi.json": "the API's document",
}
"""GET routes outside /api/v1 that are not pages a signed-in person reads, and why."""
QUERY_DEFAULTS = {"start": "{year_start}", "end": "{today}"}
"""Values for required query parameters, by name."""
Measured = tuple[float, float, int, int]
"""p50 and p95 in ms, the status answered, the statements of one request."""


HEAVIEST_VIEWS = ("/analytics?days=365", "/analytics/steps.csv?days=365")
"""Pages whose heaviest view is not their default: the Analytics page over a year of every
campaign (it opens on 30 days), and its download of every step of that year."""
HEAVIEST_API_VIEWS = tuple(
    f"/api/v1/analytics/{name}?start={{year_start}}&end={{today}}"
    for name in ("daily", "steps", "senders", "providers")
)
"""API lists whose heaviest view is not their default: the analytics tables over the year to
today, every campaign (they answer the last 30 days unless asked)."""


def ids_of(filled: volume.Volume) -> dict[str, uuid.UUID]:
    """Path parameter → id; "prefix:name" where a name means different things under paths."""
    return {
        "campaign_id": filled.big_campaign,
        "list_id": filled.big_list,
        "contact_id": filled.contact,
        "enrollment_id": filled.enrollment,
        "conversation_id": filled.conversation,
        "draft_id": filled.draft,
        "sender_id": filled.sender,
        "account_id": filled.sender,
        "/contacts:batch_id": filled.upload,
        "/api/v1/uploads:batch_id": filled.upload,
        "/drafts:batch_id": filled.draft_batch,
        "/api/v1/draft-batches:batch_id": filled.draft_batch,
    }


@dataclass(frozen=True)
class Case:
    template: str
    path: str | None
    api: bool
    why_not: str = ""


def concrete(template: str, ids: dict[str, uuid.UUID]) -> tuple[str | None, str]:
    """The path with its parameters filled, or None and the parameter that has no id."""
    missing = []

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        for key, found in ids.items():
            prefix, _, param = key.rpartition(":")
            if param == name and (not prefix or template.startswith(prefix)):
                return str(found)
        missing.append(name)
        return ""

    path = re.sub(r"\{(\w+)(?::\w+)?\}", value, template)
    return (None, f"no id for {{{missing[0]}}}") if missing else (path, "")


def cases(app: Any, ids: dict[str, uuid.UUID], today: datetime) -> list[Case]:
    found: list[Case] = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount) or "GET" not in route.methods:
            continue
        if route.path.startswith(API_PREFIX) or route.path in NOT_PAGES:
            continue
        path, why = concrete(route.path, ids)
        found.append(Case(route.path, path, False, why))
    found.extend(Case(view, view, False, "") for view in HEAVIEST_VIEWS)
    document = app.openapi()
    values = {
        "year_start": (today - timedelta(days=365)).date().isoformat(),
        "today": today.date().isoformat(),
    }
    for template, operations in document["paths"].items():
        get = operations.get("get")
        if not get or not _is_page(document, get):
            continue
        path, why = concrete(template, ids)
        required = [
            p["name"]
            for p in get.get("parameters", [])
            if p.get("in") == "query" and p.get("required")
        ]
        unknown = [name for name in required if name not in QUERY_DEFAULTS]
        if path and unknown:
            path, why = None, f"no value for ?{unknown[0]}"
        elif path and required:
            query = "&".join(f"{n}={QUERY_DEFAULTS[n].format(**values)}" for n in required)
            path = f"{path}?{query}"
        found.append(Case(template, path, True, why))
    found.extend(Case(view, view.format(**values), True, "") for view in HEAVIEST_API_VIEWS)
    return found


def _is_page(document: dict[str, Any], operation: dict[str, Any]) -> bool:
    """Whether the operation answers a page of rows: {items, next}."""
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return {"items", "next"} <= set(schema.get("properties", {}))


def api_token(container: Container) -> str:
    """A token of the bench's admin, made with the admin if needed."""
    with transaction(container.sessions) as session:
        user = access_queries.user_by_email(session, EMAIL) or access.create_user(
            session, EMAIL, PASSWORD, Role.admin
        )
        return access.issue_api_token(session, user, "bench", container.clock.now()).secret


class Statements:
    """Counts the statements an engine runs (SQLAlchemy's cursor event)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: object) -> None:
        self.count += 1


def timings(
    client: TestClient, path: str, requests: int, statements: Statements
) -> tuple[list[float], int, int]:
    """Milliseconds of each timed GET (after 2 to warm up), the status answered, and the
    statements the last request ran. A request that takes seconds is timed 3 times: its p95
    says enough."""
    started = time.perf_counter()
    status = 0
    for _ in range(2):
        status = client.get(path).status_code
    slow = (time.perf_counter() - started) / 2 > 2.0
    times = []
    for _ in range(3 if slow else requests):
        before = statements.count
        started = time.perf_counter()
        status = client.get(path).status_code
        times.append((time.perf_counter() - started) * 1000)
    return times, status, statements.count - before


def percentiles(times: list[float]) -> tuple[float, float]:
    if len(times) < 5:
        return statistics.median(times), max(times)
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


def measure(
    url: str, filled: volume.Volume, requests: int, only: str | None, folder: Path
) -> dict[str, Measured | str]:
    """template → (p50, p95, status, statements), or why it was not measured."""
    container = build_container(volume.settings(url, folder), SystemClock())
    statements = Statements(container.engine)
    results: dict[str, Measured | str] = {}
    try:
        token = api_token(container)
        app = create_app(container)
        freeze_start_up()  # as `outreach serve` does
        with TestClient(app, follow_redirects=False) as pages, TestClient(app) as api:
            pages.headers["Accept"] = "text/html"
            sign_in(pages, EMAIL, PASSWORD)
            api.headers["Authorization"] = f"Bearer {token}"
            for case in cases(app, ids_of(filled), container.clock.now()):
                if only and not re.search(only, case.template):
                    continue
                if case.path is None:
                    results[case.template] = case.why_not
                    continue
                client = api if case.api else pages
                times, status, ran = timings(client, case.path, requests, statements)
                p50, p95 = percentiles(times)
                results[case.template] = (p50, p95, status, ran)
                print(
                    f"    {case.template}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({status}), "
                    f"{ran} statements"
                )
    finally:
        container.close()
    return results


def prepared(backend: str, scale: int, keep: bool, reuse: bool, prefix: str) -> tuple[str, str]:
    """(url, what to drop afterwards: "" when kept) of a filled database."""
    name = f"{prefix}_{scale}x"
    now = datetime.now(UTC)
    if backend == "postgresql":
        if reuse and volume.pg_database_exists(name):
            url = volume.pg_url(name)
            volume.migrated(url)
            print(f"  reusing {name}")
            return url, ""
        volume.drop_pg_database(name)
        url, _ = volume.create_pg_database(name if keep else None)
        volume.migrated(url)
        print(f"  filling PostgreSQL at {scale}x")
        volume.fill(url, scale, now)
        return url, "" if keep else url.rsplit("/", 1)[1]
    target = Path(tempfile.gettempdir()) / f"{name}.db"
    if reuse and target.exists():
        url = f"sqlite:///{target}"
        volume.migrated(url)
        print(f"  reusing {target}")
        return url, ""
    target.unlink(missing_ok=True)
    source, _ = prepared("postgresql", scale, True, True, prefix)
    print(f"  copying PostgreSQL at {scale}x into SQLite")
    url = volume.copy_to_sqlite(source, target)
    return url, "" if keep else str(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="leave the filled databases")
    parser.add_argument("--reuse", action="store_true", help="measure kept databases")
    parser.add_argument("--only", help="measure only the routes matching this regex")
    parser.add_argument("--name-prefix", default=PREFIX, help="databases <prefix>_<n>x")
    options = parser.parse_args()
    scales = [int(s) for s in options.scales.split(",")]
    runs: list[tuple[str, int]] = []
    if options.backend != "sqlite":
        runs += [("postgresql", s) for s in scales]
    if options.backend != "postgresql" and 1 in scales:
        runs.append(("sqlite", 1))
    print(f"load average {os.getloadavg()[0]:.1f}")
    results: dict[tuple[str, int], dict[str, Measured | str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        dropping: list[str] = []
        try:
            for backend, scale in runs:
                print(f"{backend} at {scale}x:")
                url, drop = prepared(
                    backend, scale, options.keep, options.reuse, options.name_prefix
                )
                if drop:
                    dropping.append(drop)
                filled = volume.volume_of(url, scale)
                results[backend, scale] = measure(
                    url, filled, options.requests, options.only, folder
                )
                print(f"  load average {os.getloadavg()[0]:.1f}")
        finally:
            for drop in dropping:
                if drop.startswith("/"):
                    Path(drop).unlink(missing_ok=True)
                else:
                    volume.drop_pg_database(drop)
                if not options.keep and 1 in scales:
                    volume.drop_pg_database(f"{options.name_prefix}_1x")
    report(results, scales)


def report(results: dict[tuple[str, int], dict[str, Measured | str]], scales: list[int]) -> None:
    small, large = min(scales), max(scales)
    templates = sorted({t for found in results.values() for t in found})
    print("\np95 in ms (p50); growth is PostgreSQL's p95 at the largest scale over the smallest")
    for template in templates:
        cells = []
        for (backend, scale), found in results.items():
            value = found.get(template)
            if isinstance(value, tuple):
                note = "" if value[2] == 200 else f" [{value[2]}]"
                cells.append(
                    f"{backend} {scale}x {value[1]:.0f} ({value[0]:.0f}){note} "
                    f"[{value[3]} statements]"
                )
            elif value:
                cells.append(f"{backend} {scale}x not measured: {value}")
        print(f"{template}: " + "; ".join(cells))
        name = re.sub(r"[^a-z0-9]+", "_", template.lower()).strip("_") or "home"
        pg_small = results.get(("postgresql", small), {}).get(template)
        pg_large = results.get(("postgresql", large), {}).get(template)
        lite = results.get(("sqlite", 1), {}).get(template)
        if isinstance(pg_large, tuple) and large >= 10:
            print(
                f"ratio pages_{name}_p95_over_goal_pg_{large}x: "
                f"{pg_large[1] / GOALS_MS['postgresql']:.2f}"
            )
        if isinstance(lite, tuple):
            print(f"ratio pages_{name}_p95_over_goal_sqlite_1x: {lite[1] / GOALS_MS['sqlite']:.2f}")
        if isinstance(pg_small, tuple) and isinstance(pg_large, tuple) and large > small:
            print(f"ratio pages_{name}_growth: {pg_large[1] / pg_small[1]:.2f}")


if __name__ == "__main__":
    main()
