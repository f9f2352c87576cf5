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
import smtplib
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.campaigns import service as campaigns
from outreach.clock import FixedClock
from outreach.config import Settings
from outreach.contacts import importing, lists
from outreach.container import build_container
from outreach.db import transaction
from outreach.delivery import senders
from outreach.delivery.senders import DEFAULT_CONNECTIONS
from outreach.schema import upgrade
from outreach.worker.sending import sending_pass
from tests.smtp_server import RecordingSMTPServer

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BODY = "Hi there,\n\nA short, plain note of a few lines, like a real first email.\n\nBest,\nMe\n"


def baseline(port: int, messages: int, connections: int) -> float:
    payload = (
        "From: me@ourco.example\r\nTo: someone@example.com\r\nSubject: Hello\r\n\r\n"
        + BODY.replace("\n", "\r\n")
    ).encode()

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


def ours(backend: str, server: RecordingSMTPServer, messages: int, folder: Path) -> float:
    url, name = database(backend, folder)
    settings = Settings(
        _env_file=None,
        DATABASE_URL=url,
        OUTREACH_DATA_DIR=folder,  # type: ignore[call-arg]
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
            importing.run(session, batch.id, clock, lambda s: s.flush())
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
                    daily_limit=10**9,
                    delay_between_emails_seconds=0,
                    jitter_seconds=0,
                ),
            )
            campaigns.launch(session, found.id, MONDAY)
        arrived = len(server.messages)
        started = time.perf_counter()
        while len(server.messages) < arrived + messages:
            sending_pass(container)
            clock.advance(timedelta(seconds=1))
        return time.perf_counter() - started
    finally:
        container.close()
        if name:
            with psycopg.connect(PG_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


if __name__ == "__main__":
    main()
