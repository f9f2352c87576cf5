"""What the database does for one request of each page or /api/v1 list endpoint: statements,
rows read (PostgreSQL), the slowest statements with their times, and p50/p95, on a database
filled by bench/pages.py.

    .venv/bin/python bench/page_reads.py --url postgresql+psycopg://postgres@127.0.0.1:5432/COPY \
        [--only REGEX] [--requests 20]

Run it on a copy (`createdb -T outreach_pages_1x COPY`, or a copy of the SQLite file): it signs
in as bench/pages.py does, and a database at another migration needs code of that migration, so
a branch's before and after are two copies measured back to back. Statements are counted by
SQLAlchemy's cursor events during one request after one to warm up. Rows read are PostgreSQL's
own counters (pg_stat_user_tables.seq_tup_read plus pg_stat_user_indexes.idx_tup_read, so an
index-only scan counts the entries it read), whose pending figures a backend writes when it
ends: the pool is closed before and after the request; "-" on SQLite, which counts none.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pages
import volume

from outreach.clock import SystemClock
from outreach.container import build_container
from outreach.web.app import create_app, freeze_start_up

FLUSHED = 1.2
"""Seconds for PostgreSQL's statistics to take in a closed connection's counters."""
SLOWEST_SHOWN = 5
"""How many of a request's statements are printed, the slowest first, with their times."""


class SlowestStatements:
    """The time of each statement an engine runs (SQLAlchemy's cursor events), with its
    start, to show where a request spends its database time."""

    def __init__(self, engine: sa.Engine) -> None:
        self.taken: list[tuple[float, str]] = []
        self._started = 0.0
        sa.event.listen(engine, "before_cursor_execute", self._start)
        sa.event.listen(engine, "after_cursor_execute", self._end)

    def _start(self, *_: object) -> None:
        self._started = time.perf_counter()

    def _end(self, _connection: object, _cursor: object, statement: str, *_: object) -> None:
        said = " ".join(statement.split())[:160]
        self.taken.append(((time.perf_counter() - self._started) * 1000, said))

    def worst(self, most: int) -> list[tuple[float, str]]:
        return sorted(self.taken, reverse=True)[:most]


def rows_read(url: str) -> int:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        tables = connection.execute("SELECT sum(seq_tup_read) FROM pg_stat_user_tables")
        indexes = connection.execute("SELECT sum(idx_tup_read) FROM pg_stat_user_indexes")
        return int(tables.fetchone()[0] or 0) + int(indexes.fetchone()[0] or 0)  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--only", default="", help="only the routes matching this regex")
    parser.add_argument("--requests", type=int, default=20)
    options = parser.parse_args()
    postgresql = options.url.startswith("postgresql")
    container = build_container(
        volume.settings(options.url, Path(tempfile.mkdtemp())), SystemClock()
    )
    statements = pages.Statements(container.engine)
    slowest = SlowestStatements(container.engine)
    try:
        token = pages.api_token(container)
        app = create_app(container)
        freeze_start_up()  # as `outreach serve` does
        with TestClient(app, follow_redirects=False) as web, TestClient(app) as api:
            web.headers["Accept"] = "text/html"
            pages.sign_in(web, pages.EMAIL, pages.PASSWORD)
            api.headers["Authorization"] = f"Bearer {token}"
            ids = pages.ids_of(volume.volume_of(options.url, 1))
            for case in pages.cases(app, ids, container.clock.now()):
                if case.path is None or not re.search(options.only, case.template):
                    continue
                client = api if case.api else web
                client.get(case.path)
                before = 0
                if postgresql:
                    container.engine.dispose()
                    time.sleep(FLUSHED)
                    before = rows_read(options.url)
                counted = statements.count
                slowest.taken.clear()
                status = client.get(case.path).status_code
                counted = statements.count - counted
                read = "-"
                if postgresql:
                    container.engine.dispose()
                    time.sleep(FLUSHED)
                    read = f"{rows_read(options.url) - before:,}"
                slow = slowest.worst(SLOWEST_SHOWN)
                times = pages.timings(client, case.path, options.requests, statements)[0]
                p50, p95 = pages.percentiles(times)
                print(
                    f"{case.template}: {status}, {counted} statements, {read} rows read, "
                    f"p50 {p50:.0f} ms, p95 {p95:.0f} ms",
                    *(f"    {ms:7.1f} ms  {sql}" for ms, sql in slow),
                    sep="\n",
                    flush=True,
                )
    finally:
        container.close()


if __name__ == "__main__":
    main()
