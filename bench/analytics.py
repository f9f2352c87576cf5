"""Analytics at volume: every /api/v1 analytics endpoint, the Analytics page and the home page
over a year of campaign emails, and what the rollup triggers add to the worker's cost of
recording a send.

    .venv/bin/python bench/analytics.py [--sent 200000] [--campaigns 500] [--requests 100]
        [--messages 1500] [--backend sqlite|postgresql|both] [--part reads|writes|both]

Reads: `sent` campaign emails over 12 months (3 steps, 40 sender accounts, 2 per campaign; each
campaign sends over 30 days of the year), 3% answered by a person (a third of those interested
or asking for a meeting), to recipients at Google, Microsoft and other domains already
resolved; one campaign in ten running. Filled with executemany on SQLite and COPY on
PostgreSQL, row by row through the rollup triggers as the worker's writes go, then ANALYZE.
Requests go through the app in process (ASGI): with an API token, the daily, steps, senders and
providers tables over the whole year for every campaign and for one, and a campaign's
analytics; signed in (the session cookie), the Analytics page over the year for every campaign
and for one, over its default 30 days, and the home page. Each is asked 10 times to warm up,
then `requests` rounds ask each once in turn, so that the shared machine's changing load falls
on every case alike (measured one case after the other, a case could look slower than its
neighbour only because the load rose meanwhile). Goals: p95 at most 200 ms on PostgreSQL and
300 ms on SQLite (`ratio analytics_..._p95_over_goal` at most 1).

Writes: bench/dispatch.py's campaign of `messages` contacts sent through the whole worker to an
SMTP server on loopback answering at once, with the rollup triggers and with them dropped, in
the same run (each twice, alternating; the faster of each kept). `ratio
analytics_send_cost_with_over_without` is the worker time with them over without (goal: at
most 1.10).
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

import sqlalchemy as sa
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dispatch import launched_campaign
from volume import database, drop_pg_database, settings, sqlite_value

from outreach.access import service as access
from outreach.access.models import Role
from outreach.clock import SystemClock
from outreach.container import build_container
from outreach.db import transaction
from outreach.schema import upgrade
from outreach.web.app import create_app
from tests.smtp_server import RecordingSMTPServer
from tests.web_session import sign_in

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
GOALS_MS = {"sqlite": 300.0, "postgresql": 200.0}
EMAIL, PASSWORD = "bench@example.com", "bench-password-1"
SENDERS = 40
STEPS = 3
YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)
DOMAINS = [("gmail.example", "google"), ("outlook.example", "microsoft")] + [
    (f"company{n}.example", "other") for n in range(50)
]
TRIGGERS = {
    "sent_emails": ("inserted",),
    "inbox_messages": ("inserted", "updated"),
    "deliveries": ("inserted", "updated"),
    "campaign_contacts": ("updated",),
}
TABLES: dict[str, tuple[str, ...]] = {
    "contacts": ("id", "upload_batch_id", "email", "raw_data"),
    "sent_emails": (
        "id", "contact_id", "sender_account_id", "campaign_id", "draft_type", "subject", "body",
        "recipient_email", "sent_at", "sequence_step",
    ),
    "inbox_messages": (
        "id", "sender_account_id", "provider_id", "kind", "reason", "received_at", "contact_id",
        "campaign_id", "sent_email_id", "matched_by", "category",
    ),
}  # fmt: skip


def rows(sent: int, ids: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row): contacts, each sent up to 3 steps four days apart, some replying."""
    chance = random.Random(sent)
    campaigns = ids["campaigns"]
    made = 0
    n = 0
    while made < sent:
        contact = uuid.uuid4()
        domain, _ = DOMAINS[n % len(DOMAINS)]
        email = f"p{n}@{domain}"
        c = n % len(campaigns)
        campaign = campaigns[c]
        sender = ids["senders"][(2 * c + n % 2) % SENDERS]
        first = YEAR_START + timedelta(
            days=(c * 335 // len(campaigns)) + chance.randint(0, 29),
            seconds=chance.randint(0, 86399),
        )
        yield "contacts", (contact, ids["batch"], email, "{}")
        for step in range(1, STEPS + 1):
            if made >= sent:
                break
            at = first + timedelta(days=4 * (step - 1))
            sent_id = uuid.uuid4()
            made += 1
            yield (
                "sent_emails",
                (sent_id, contact, sender, campaign, "first_outreach" if step == 1 else
                 "second_followup", "Hello", "Hi,\n\nTen minutes next week?\n\nGrace", email,
                 at, step),
            )  # fmt: skip
            if chance.random() < 0.03:
                category = chance.choice(["interested", "meeting_request", "not_interested"])
                yield (
                    "inbox_messages",
                    (uuid.uuid4(), sender, str(sent_id), "human_reply", "a reply",
                     at + timedelta(hours=chance.randint(1, 72)), contact, campaign, sent_id,
                     "in_reply_to", category),
                )  # fmt: skip
                break
        n += 1


def fill(url: str, sent: int, campaigns: int) -> dict[str, Any]:
    container = build_container(settings(url, Path(tempfile.gettempdir())), SystemClock())
    upgrade(container.engine)
    with transaction(container.sessions) as session:
        user = access.create_user(session, EMAIL, PASSWORD, Role.admin)
        ids: dict[str, Any] = {
            "token": access.issue_api_token(session, user, "bench", SystemClock().now()).secret
        }
    with container.engine.begin() as connection:
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
                sa.text(
                    "INSERT INTO campaigns (name, status) VALUES (:name, :status) RETURNING id"
                ),
                {"name": f"Campaign {n:03}", "status": "active" if n % 10 == 0 else "completed"},
            )
            for n in range(campaigns)
        ]
        for domain, provider in DOMAINS:
            connection.execute(
                sa.text(
                    "INSERT INTO recipient_domains (domain, provider, resolved_at)"
                    " VALUES (:domain, :provider, :at)"
                ),
                {"domain": domain, "provider": provider, "at": YEAR_START},
            )
        by_table: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
        for table, row in rows(sent, ids):
            by_table[table].append(row)
        driver = connection.connection.driver_connection
        if url.startswith("sqlite"):
            cursor = driver.cursor()
            for table, columns in TABLES.items():
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    [tuple(sqlite_value(value) for value in row) for row in by_table[table]],
                )
        else:
            with driver.cursor() as cursor:
                for table, columns in TABLES.items():
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in by_table[table]:
                            copy.write_row(row)
    with container.engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
        ids["rollups"] = connection.scalar(sa.text("SELECT count(*) FROM analytics_rollups"))
    container.close()
    return ids


def timed(client: TestClient, cases: dict[str, str], requests: int) -> dict[str, float]:
    """p95 in milliseconds of each case's GETs: 10 each to warm up, then `requests` rounds
    that ask each case once in turn."""
    for path in cases.values():
        for _ in range(10):
            response = client.get(path)
            assert response.status_code == 200, response.text[:300]
    times: dict[str, list[float]] = {case: [] for case in cases}
    for _ in range(requests):
        for case, path in cases.items():
            started = time.perf_counter()
            response = client.get(path)
            times[case].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return {case: statistics.quantiles(taken, n=100)[94] for case, taken in times.items()}


def reads(backend: str, sent: int, campaigns: int, requests: int, folder: Path) -> None:
    url, name = database(backend, folder, "analytics")
    try:
        started = time.perf_counter()
        ids = fill(url, sent, campaigns)
        print(
            f"{backend}: filled {sent:,} sent emails over 12 months, {campaigns} campaigns, "
            f"through the triggers, in {time.perf_counter() - started:.0f} s: "
            f"{ids['rollups']:,} rollup rows"
        )
        container = build_container(settings(url, folder), SystemClock())
        one = ids["campaigns"][campaigns // 2]
        year = "start=2025-12-01&end=2026-11-30"
        api = {
            "daily": f"/api/v1/analytics/daily?{year}",
            "daily_campaign": f"/api/v1/analytics/daily?{year}&campaign_id={one}",
            "steps": f"/api/v1/analytics/steps?{year}",
            "steps_csv": f"/api/v1/analytics/steps?{year}&format=csv",
            "steps_campaign": f"/api/v1/analytics/steps?{year}&campaign_id={one}",
            "senders": f"/api/v1/analytics/senders?{year}",
            "providers": f"/api/v1/analytics/providers?{year}",
            "campaign": f"/api/v1/campaigns/{one}/analytics",
        }
        pages = {
            "page_year": f"/analytics?{year}",
            "page_year_campaign": f"/analytics?{year}&campaign_id={one}",
            "page_30_days": "/analytics",
            "home": "/",
        }
        with TestClient(create_app(container), follow_redirects=False) as client:
            sign_in(client, EMAIL, PASSWORD)
            bearer = {"Authorization": f"Bearer {ids['token']}"}
            found = timed(client, pages, requests)
            client.headers.update(bearer)  # the API takes the token, never the cookie
            found |= timed(client, api, requests)
            goal = GOALS_MS[backend]
            for case in [*api, *pages]:
                p95 = found[case]
                print(f"{backend}: {case}: p95 {p95:.1f} ms (goal {goal:.0f})")
                print(f"ratio analytics_{case}_p95_over_goal_{backend}: {p95 / goal:.2f}")
        container.close()
    finally:
        drop_pg_database(name)


def worker_seconds(backend: str, messages: int, folder: Path, triggers: bool) -> float:
    with (
        RecordingSMTPServer(reply_delay_ms=0) as server,
        launched_campaign(backend, server, messages, folder) as (container, clock),
    ):
        if not triggers:
            with container.engine.begin() as connection:
                for table, moments in TRIGGERS.items():
                    for moment in moments:
                        on = f" ON {table}" if backend == "postgresql" else ""
                        connection.execute(sa.text(f"DROP TRIGGER roll_up_{table}_{moment}{on}"))
        started = time.perf_counter()
        while len(server.messages) < messages:
            container.sending_pass()
            clock.advance(timedelta(seconds=1))
        return time.perf_counter() - started


def writes(backend: str, messages: int, folder: Path) -> None:
    runs: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(2):
        for triggers in (False, True):
            runs[triggers].append(worker_seconds(backend, messages, folder, triggers))
    with_, without = min(runs[True]), min(runs[False])
    print(
        f"{backend}: worker sending {messages:,} emails: {without:.2f} s without the rollup "
        f"triggers, {with_:.2f} s with them"
    )
    print(f"ratio analytics_send_cost_with_over_without_{backend}: {with_ / without:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sent", type=int, default=200_000)
    parser.add_argument("--campaigns", type=int, default=500)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--part", choices=["reads", "writes", "both"], default="both")
    options = parser.parse_args()
    backends = ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]
    with tempfile.TemporaryDirectory() as scratch:
        for backend in backends:
            if options.part != "writes":
                reads(backend, options.sent, options.campaigns, options.requests, Path(scratch))
            if options.part != "reads":
                writes(backend, options.messages, Path(scratch))


if __name__ == "__main__":
    main()
