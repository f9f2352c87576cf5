"""Sending speed: a campaign's emails through our worker beside a bare smtplib loop.

    .venv/bin/python bench/dispatch.py [--messages 10000] [--delay-ms 50] [--backend sqlite|postgresql|both]

An aiosmtpd server on loopback answers each message after `delay-ms` (like a real relay).
Ours: one campaign of N contacts with one step and no window, limit or spacing, sent by
`sending_pass` until every message has arrived (claim, render, send, record: the whole worker).
Baseline, in the same run: smtplib over the same number of connections as the worker uses per
sender (DEFAULT_CONNECTIONS), each connection sending its share in a loop.
"""

from __future__ import annotations

import argparse
import os
import queue
import smtplib
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.campaigns import service as campaigns
from outreach.clock import FixedClock
from outreach.config import Settings
from outreach.contacts import importing, lists
from outreach.container import Container, build_container
from outreach.db import transaction
from outreach.runner import Runner
from outreach.schema import upgrade
from outreach.senders import service as senders
from outreach.senders.service import DEFAULT_CONNECTIONS
from tests.smtp_server import RecordingSMTPServer

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BODY = "Hi there,\n\nA short, plain note of a few lines, like a real first email.\n\nBest,\nMe\n"


def bare_payload() -> bytes:
    return (
        "From: me@ourco.example\r\nTo: someone@example.com\r\nSubject: Hello\r\n\r\n"
        + BODY.replace("\n", "\r\n")
    ).encode()


def baseline(port: int, messages: int, connections: int) -> float:
    payload = bare_payload()

    def lane(share: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as client:
            for n in range(share):
                client.sendmail("me@ourco.example", [f"p{n}@example.com"], payload)

    shares = [
        messages // connections + (1 if i < messages % connections else 0)
        for i in range(connections)
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(lane, shares))
    return time.perf_counter() - started


def database(backend: str, folder: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'dispatch-{uuid.uuid4().hex}.db'}", None
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.rsplit("/", 1)[0] + "/" + name, name


@contextmanager
def launched_campaign(
    backend: str, server: RecordingSMTPServer, messages: int, folder: Path
) -> Iterator[tuple[Container, FixedClock]]:
    """A fresh database with one SMTP sender on `server` and a launched campaign of `messages`
    contacts, one step, no window, limit or spacing."""
    url, name = database(backend, folder)
    settings = Settings(
        _env_file=None,
        DATABASE_URL=url,
        OUTREACH_DATA_DIR=folder,
        OUTREACH_SECRET_KEY="bench-" + "k7Q2xL9pR4mZ8vN3wB6tY1cD5",
        OUTREACH_BASE_URL="https://o.example",
    )
    clock = FixedClock(MONDAY)
    container = build_container(settings, clock)
    upgrade(container.engine)
    try:
        with transaction(container.sessions) as session:
            account = senders.add(
                session,
                kind=senders.SenderKind.smtp,
                email="me@ourco.example",
                display_name=None,
                secret_key=settings.secret_key_value(),
                smtp=senders.SmtpSettings("127.0.0.1", server.port, "none"),
                now=MONDAY,
            )
            audience = lists.create(session, "Everyone", None, MONDAY)
            path = folder / f"{uuid.uuid4().hex}.csv"
            path.write_text("email\n" + "".join(f"p{n}@example.com\n" for n in range(messages)))
            batch, _ = importing.create_upload(
                session, path=path, file_name="people.csv", sheet=None, now=MONDAY
            )
            importing.confirm(session, batch.id, list_id=audience.id)
            importing.claim(session, MONDAY, batch.id)
            importing.run(Runner.inside(session), batch.id, clock)
            found = campaigns.create(
                session, name="Bench", list_id=audience.id, sender_ids=[account.id], now=MONDAY
            )
            campaigns.add_step(session, found.id, subject="Hello", body=BODY)
            campaigns.update_settings(
                session,
                found.id,
                campaigns.SettingsChange(
                    send_window_start=clock_time(0),
                    send_window_end=clock_time(0),
                    send_days=[
                        "monday",
                        "tuesday",
                        "wednesday",
                        "thursday",
                        "friday",
                        "saturday",
                        "sunday",
                    ],
                    daily_limit=100_000,  # the most a campaign allows; more than any run sends
                    delay_between_emails_seconds=0,
                    jitter_seconds=0,
                ),
            )
            campaigns.launch(session, found.id, MONDAY)
        yield container, clock
    finally:
        container.close()
        if name:
            with psycopg.connect(PG_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ours(backend: str, server: RecordingSMTPServer, messages: int, folder: Path) -> float:
    with launched_campaign(backend, server, messages, folder) as (container, clock):
        arrived = len(server.messages)
        started = time.perf_counter()
        while len(server.messages) < arrived + messages:
            container.sending_pass()
            clock.advance(timedelta(seconds=1))
        return time.perf_counter() - started


# The least a worker that tells the seed's story and never sends twice must write for an email,
# in plain SQL: the draft, committed before the send; then the draft sent, its sent_emails row
# (with the seed's analytics trigger) and the enrollment moved on. In this order in a
# transaction; placeholders are rewritten for psycopg.
BEFORE_SENDING = (
    "INSERT INTO email_drafts (id, contact_id, draft_type, subject, body, status)"
    " VALUES (?, ?, 'first_outreach', 'Hello', ?, 'scheduled')"
)
AFTER_SENDING = (
    "UPDATE email_drafts SET status = 'sent' WHERE id = ?",
    "INSERT INTO sent_emails (id, draft_id, contact_id, sender_account_id, campaign_id,"
    " draft_type, subject, body, recipient_email, sequence_step, message_id, sent_at)"
    " VALUES (?, ?, ?, ?, ?, 'first_outreach', 'Hello', ?, ?, 1, ?, ?)",
    "UPDATE campaign_contacts SET current_sequence_step = 1, last_email_sent_at = ?,"
    " status = 'completed', completed_at = ? WHERE id = ?",
)
STATEMENTS = (BEFORE_SENDING, *AFTER_SENDING)

Writes = list[tuple[str, tuple[object, ...]]]


class GroupWriter:
    """One writer for all lanes, as the worker has: whatever the lanes handed it since its last
    commit goes in one transaction, one executemany per statement, and each lane waits only
    for the commit that holds its email's draft."""

    def __init__(self, backend: str, url: str) -> None:
        self._postgresql = backend == "postgresql"
        if self._postgresql:
            self._connection: Any = psycopg.connect(url.replace("+psycopg", ""))
        else:
            self._connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in ("busy_timeout=15000", "foreign_keys=ON", "synchronous=NORMAL"):
                self._connection.execute(f"PRAGMA {pragma}")
        self._handed: queue.SimpleQueue[tuple[Writes, threading.Event | None]] = queue.SimpleQueue()

    def stamp(self, at: datetime) -> object:
        return at if self._postgresql else at.strftime("%Y-%m-%d %H:%M:%S.%f")

    def hand(self, writes: Writes, committed: threading.Event | None) -> None:
        """None for a lane's last writes: nobody waits for them, the writer stops after."""
        self._handed.put((writes, committed))

    def run(self, lanes: int) -> None:
        while lanes:
            batch = [self._handed.get()]
            with suppress(queue.Empty):
                while True:
                    batch.append(self._handed.get_nowait())
            self._commit([write for writes, _ in batch for write in writes])
            for _, committed in batch:
                if committed is None:
                    lanes -= 1
                else:
                    committed.set()

    def _commit(self, writes: Writes) -> None:
        by_statement: dict[str, list[tuple[object, ...]]] = {sql: [] for sql in STATEMENTS}
        for sql, values in writes:
            by_statement[sql].append(values)
        if self._postgresql:
            with self._connection.transaction(), self._connection.cursor() as cursor:
                for sql, rows in by_statement.items():
                    if rows:
                        cursor.executemany(sql.replace("?", "%s"), rows)
            return
        self._connection.execute("BEGIN IMMEDIATE")
        for sql, rows in by_statement.items():
            self._connection.executemany(sql, rows)
        self._connection.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()


def ceiling(backend: str, server: RecordingSMTPServer, messages: int, folder: Path) -> float:
    """The bare loop over the same connections, plus the writes above for each email through a
    GroupWriter. Nothing else: no rules, rendering, composing, claiming or reading back, so no
    worker that records what the issue asks for can send faster than this."""
    with launched_campaign(backend, server, messages, folder) as (container, _):
        with container.engine.connect() as connection:
            sender_id, campaign_id = connection.exec_driver_sql(
                "SELECT sender_account_id, campaign_id FROM campaign_senders"
            ).one()
            people: list[Any] = list(
                connection.exec_driver_sql(
                    "SELECT cc.id, c.id, c.email FROM campaign_contacts cc"
                    " JOIN contacts c ON c.id = cc.contact_id"
                ).all()
            )
        writer = GroupWriter(backend, container.settings.database_url)
        payload = bare_payload()

        def lane(share: list[Any]) -> None:
            after: Writes = []
            with smtplib.SMTP("127.0.0.1", server.port) as client:
                for enrollment_id, contact_id, email in share:
                    draft_id, committed = str(uuid.uuid4()), threading.Event()
                    writer.hand(
                        [*after, (BEFORE_SENDING, (draft_id, str(contact_id), BODY))], committed
                    )
                    committed.wait()
                    client.sendmail("me@ourco.example", [email], payload)
                    now = writer.stamp(datetime.now(UTC))
                    sent_email = (
                        str(uuid.uuid4()),
                        draft_id,
                        str(contact_id),
                        str(sender_id),
                        str(campaign_id),
                        BODY,
                        email,
                        f"<{draft_id}@ourco.example>",
                        now,
                    )
                    after = [
                        (AFTER_SENDING[0], (draft_id,)),
                        (AFTER_SENDING[1], sent_email),
                        (AFTER_SENDING[2], (now, now, str(enrollment_id))),
                    ]
            writer.hand(after, None)

        shares = [people[i::DEFAULT_CONNECTIONS] for i in range(DEFAULT_CONNECTIONS)]
        started = time.perf_counter()
        try:
            with ThreadPoolExecutor(DEFAULT_CONNECTIONS) as pool:
                lanes = [pool.submit(lane, share) for share in shares]
                writer.run(len(lanes))
                for finished in lanes:
                    finished.result()
            return time.perf_counter() - started
        finally:
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument(
        "--delay-ms", type=float, action="append", help="repeatable; default 50 and 0"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    options = parser.parse_args()
    backends = ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]
    with tempfile.TemporaryDirectory() as scratch:
        for delay in options.delay_ms or [50.0, 0.0]:
            with RecordingSMTPServer(reply_delay_ms=delay) as server:
                bare = options.messages / baseline(
                    server.port, options.messages, DEFAULT_CONNECTIONS
                )
                print(
                    f"delay {delay:g} ms: bare smtplib, {DEFAULT_CONNECTIONS} connections: {bare:,.0f} messages/s"
                )
                for backend in backends:
                    rate = options.messages / ours(backend, server, options.messages, Path(scratch))
                    print(
                        f"delay {delay:g} ms: outreach worker on {backend}: {rate:,.0f} messages/s"
                    )
                    print(f"ratio dispatch_{backend}_{delay:g}ms: {rate / bare:.2f}")
                    most = options.messages / ceiling(
                        backend, server, options.messages, Path(scratch)
                    )
                    print(
                        f"delay {delay:g} ms: ceiling, bare loop + the least a worker writes,"
                        f" on {backend}: {most:,.0f} messages/s"
                    )
                    print(f"ratio ceiling_{backend}_{delay:g}ms: {most / bare:.2f}")


if __name__ == "__main__":
    main()
