"""The inbox at scale: 100,000 conversations (300,000 messages) and the inbox page, a
conversation page and /api/v1/conversations.

    .venv/bin/python bench/inbox.py [--conversations 100000] [--requests 200] [--backend sqlite|postgresql|both]

Each conversation is one contact and one of 5 sender accounts, across 3 campaigns: our first
email (sent_emails) and two messages of theirs (inbox_messages: a reply of about 1 KB of text
and a second one quoting the first), a fifth of them unread and waiting for an answer, a
hundredth assigned to the user measuring. Filled with COPY on PostgreSQL and executemany on
SQLite, then ANALYZE. Requests go through the app in process (ASGI, no sockets), signed in:
the inbox page with no filter, "needs an answer", a campaign and "assigned to me" (each a
figure of its own); a conversation page opens a random conversation (which also marks it read); the API lists 50.
The figure is p50 and p95 of `requests` requests each, after 10 to warm up. Goals: p95 at most
200 ms on PostgreSQL and 300 ms on SQLite (`ratio inbox_..._p95_over_goal` at most 1).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from volume import settings

from outreach.access import service as access
from outreach.access.models import Role
from outreach.clock import SystemClock
from outreach.container import build_container
from outreach.db import SQLITE_TIMESTAMP_FORMAT, transaction
from outreach.schema import upgrade
from outreach.web.app import create_app
from outreach.web.deps import SESSION_COOKIE

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
GOALS_MS = {"sqlite": 300.0, "postgresql": 200.0}
SENDERS = 5
CAMPAIGNS = 3
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REPLY = (
    "Hi Grace,\n\nThanks for reaching out. We looked at route planning last year and "
    "decided to wait, but the peak season went worse than we hoped. " * 6 + "\n\nBest,\nAda"
)
QUOTED = "Tuesday at 3pm works.\n\nOn Mon, 5 Jan 2026 at 10:00, Ada wrote:\n> " + REPLY.replace(
    "\n", "\n> "
)


def database(backend: str, folder: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'inbox-{uuid.uuid4().hex}.db'}", None
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.rsplit("/", 1)[0] + "/" + name, name


TABLES: dict[str, tuple[str, ...]] = {
    "contacts": ("id", "upload_batch_id", "email", "raw_data", "first_name", "company"),
    "conversations": (
        "id", "contact_id", "sender_account_id", "last_message_at", "last_inbound_at",
        "unread", "needs_answer", "assigned_to",
    ),
    "sent_emails": (
        "id", "contact_id", "sender_account_id", "campaign_id", "draft_type", "subject", "body",
        "recipient_email", "sent_at", "sequence_step",
    ),
    "inbox_messages": (
        "id", "sender_account_id", "provider_id", "kind", "reason", "received_at", "contact_id",
        "campaign_id", "sent_email_id", "matched_by", "subject", "snippet", "conversation_id",
        "body_text",
    ),
}  # fmt: skip


def rows(count: int, ids: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row) for every conversation, in the order the foreign keys need."""
    chance = random.Random(count)
    for n in range(count):
        contact, conversation, sent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        sender = ids["senders"][n % SENDERS]
        campaign = ids["campaigns"][n % CAMPAIGNS]
        sent_at = START + timedelta(seconds=n * 30)
        first = sent_at + timedelta(hours=chance.randint(1, 48))
        second = first + timedelta(hours=chance.randint(1, 48))
        waiting = chance.random() < 0.2
        mine = ids["user"] if n % 100 == 0 else None
        email = f"p{n}@example.com"
        yield "contacts", (contact, ids["batch"], email, "{}", f"Person {n}", f"Company {n}")
        yield (
            "conversations",
            (conversation, contact, sender, second, second, waiting, waiting, mine),
        )
        yield (
            "sent_emails",
            (sent, contact, sender, campaign, "first_outreach", f"Routes for Company {n}",
             "Hi,\n\nWould you have ten minutes next week?\n\nGrace", email, sent_at, 1),
        )  # fmt: skip
        for position, (at, body) in enumerate(((first, REPLY), (second, QUOTED))):
            yield (
                "inbox_messages",
                (uuid.uuid4(), sender, f"{n}:{position}", "human_reply", "a reply",
                 at, contact, campaign, sent, "in_reply_to", f"Re: Routes for Company {n}",
                 body[:200], conversation, body),
            )  # fmt: skip


def fill(url: str, count: int) -> dict[str, Any]:
    """The database filled; the ids the measuring needs."""
    container = build_container(settings(url, Path(tempfile.gettempdir())), SystemClock())
    upgrade(container.engine)
    with transaction(container.sessions) as session:
        user = access.create_user(session, "bench@example.com", "bench-password-1", Role.admin)
        now = SystemClock().now()
        cookie = access.start_session(session, user, now, timedelta(days=1), None)
        token = access.issue_api_token(session, user, "bench", now).secret
        ids: dict[str, Any] = {"user": user.id, "cookie": cookie, "token": token}
    engine = container.engine
    with engine.begin() as connection:
        ids["batch"] = connection.scalar(
            sa.text("INSERT INTO upload_batches (file_name) VALUES ('bench.csv') RETURNING id")
        )
        ids["senders"] = [
            connection.scalar(
                sa.text("INSERT INTO sender_accounts (email) VALUES (:email) RETURNING id"),
                {"email": f"sender{n}@ourco.example"},
            )
            for n in range(SENDERS)
        ]
        ids["campaigns"] = [
            connection.scalar(
                sa.text("INSERT INTO campaigns (name) VALUES (:name) RETURNING id"),
                {"name": f"Campaign {n}"},
            )
            for n in range(CAMPAIGNS)
        ]
        driver = connection.connection.driver_connection
        if url.startswith("sqlite"):
            _sqlite_fill(driver, rows(count, ids))
        else:
            _copy_fill(driver, rows(count, ids))
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
        ids["conversations"] = [
            str(found) for found in connection.scalars(sa.text("SELECT id FROM conversations"))
        ]
    container.close()
    return ids


def _sqlite_fill(driver: Any, produced: Iterator[tuple[str, tuple[Any, ...]]]) -> None:
    by_table: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
    for table, row in produced:
        by_table[table].append(tuple(_sqlite(value) for value in row))
    cursor = driver.cursor()
    for table, columns in TABLES.items():
        marks = ", ".join("?" for _ in columns)
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", by_table[table]
        )


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(SQLITE_TIMESTAMP_FORMAT)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _copy_fill(driver: Any, produced: Iterator[tuple[str, tuple[Any, ...]]]) -> None:
    """COPY each table in turn (contacts before what refers to them), from rows kept in lists:
    one generator feeds four tables."""
    by_table: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
    for table, row in produced:
        by_table[table].append(row)
    with driver.cursor() as cursor:
        for table, columns in TABLES.items():
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in by_table[table]:
                    copy.write_row(row)


def timed(client: TestClient, paths: Iterator[str], requests: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of `requests` GETs, after 10 to warm up."""
    for _ in range(10):
        assert client.get(next(paths)).status_code == 200
    times = []
    for _ in range(requests):
        path = next(paths)
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.text[:300])
    cuts = statistics.quantiles(times, n=100)
    return cuts[49], cuts[94]


def measure(backend: str, count: int, requests: int, folder: Path) -> None:
    url, name = database(backend, folder)
    try:
        started = time.perf_counter()
        ids = fill(url, count)
        print(f"{backend}: filled {count:,} conversations in {time.perf_counter() - started:.0f} s")
        container = build_container(settings(url, folder), SystemClock())
        chance = random.Random(1)

        def every(path: str) -> Iterator[str]:
            return (path for _ in iter(int, 1))

        cases = {
            "inbox_page": every("/inbox"),
            "inbox_page_needs_answer": every("/inbox?state=needs_answer"),
            "inbox_page_campaign": every(f"/inbox?campaign={ids['campaigns'][1]}"),
            "inbox_page_assigned_to_me": every("/inbox?assigned=me"),
            "conversation_page": (
                f"/inbox/conversations/{chance.choice(ids['conversations'])}" for _ in iter(int, 1)
            ),
            "api_conversations": every("/api/v1/conversations?limit=50"),
        }
        with TestClient(create_app(container), cookies={SESSION_COOKIE: ids["cookie"]}) as client:
            client.headers["Authorization"] = f"Bearer {ids['token']}"
            for case, paths in cases.items():
                p50, p95 = timed(client, paths, requests)
                goal = GOALS_MS[backend]
                print(f"{backend}: {case}: p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal {goal:.0f})")
                print(f"ratio inbox_{case}_p95_over_goal_{backend}: {p95 / goal:.2f}")
        container.close()
    finally:
        if name:
            with psycopg.connect(PG_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for backend in ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]:
            measure(backend, options.conversations, options.requests, Path(scratch))


if __name__ == "__main__":
    main()
