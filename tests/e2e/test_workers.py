"""Several worker processes, and workers killed mid-send: every step reaches each contact at
most once, counted at the SMTP server."""

from __future__ import annotations

import email
import os
import random
import signal
import subprocess
import sys
import time as clock
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.campaigns import service as campaigns
from outreach.campaigns.models import CampaignContact
from outreach.contacts import lists
from outreach.container import build_container
from outreach.db import transaction
from outreach.delivery.models import Delivery
from outreach.senders import service as senders
from outreach.senders.service import DEFAULT_CONNECTIONS
from tests.app_settings import isolated_settings
from tests.contact_files import import_text
from tests.smtp_server import RecordingSMTPServer

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def build(
    url: str, data_dir: Path, port: int, campaigns_and_sizes: list[tuple[str, int]]
) -> dict[str, str]:
    """Campaigns of two steps (the second due right after the first) sent at any time, as fast
    as allowed; returns the environment a worker process needs."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = isolated_settings(
        data_dir, DATABASE_URL=url, OUTREACH_BASE_URL="https://outreach.example"
    )
    container = build_container(settings)
    with transaction(container.sessions) as session:
        account = senders.add(
            session,
            kind=senders.SenderKind.smtp,
            email="me@ourco.example",
            display_name=None,
            secret_key=settings.secret_key_value(),
            smtp=senders.SmtpSettings("127.0.0.1", port, "none"),
            now=START,
        )
        for name, size in campaigns_and_sizes:
            audience = lists.create(session, name, None, START)
            people = "email\n" + "".join(f"{name.lower()}{n}@example.com\n" for n in range(size))
            import_text(session, container.clock, data_dir, people, list_id=audience.id)
            found = campaigns.create(
                session, name=name, list_id=audience.id, sender_ids=[account.id], now=START
            )
            campaigns.add_step(session, found.id, subject=f"{name} one", body="First.")
            campaigns.add_step(session, found.id, subject=f"{name} two", body="Second.")
            campaigns.update_settings(
                session,
                found.id,
                campaigns.SettingsChange(
                    send_window_start=time(0),
                    send_window_end=time(0),
                    send_days=[
                        "monday",
                        "tuesday",
                        "wednesday",
                        "thursday",
                        "friday",
                        "saturday",
                        "sunday",
                    ],
                    daily_limit=100_000,
                    delay_between_emails_seconds=0,
                    jitter_seconds=0,
                ),
            )
            campaigns.launch(session, found.id, START)
    container.close()
    return {
        **os.environ,
        "DATABASE_URL": url,
        "OUTREACH_DATA_DIR": str(data_dir),
        "OUTREACH_SECRET_KEY": settings.secret_key_value(),
        "OUTREACH_BASE_URL": "https://outreach.example",
        "OUTREACH_WORKER_INTERVAL_SECONDS": "0.2",
    }


def per_recipient_and_subject(server: RecordingSMTPServer) -> Counter[tuple[str, str]]:
    seen = Counter()
    for message in server.messages:
        parsed = email.message_from_bytes(message.data, policy=policy.default)
        seen[(message.rcpt_tos[0], str(parsed["Subject"]))] += 1
    return seen


def deliveries(url: str) -> Counter[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)
        )
        found = Counter(dict(rows.all()))
    engine.dispose()
    return found


def enrollments_accounted_for(url: str) -> Counter[str]:
    """Each enrollment: completed, or waiting for a person to decide about an unknown send."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    unknown = sa.select(Delivery.id).where(
        Delivery.campaign_contact_id == CampaignContact.id, Delivery.status == "unknown"
    )
    with engine.connect() as connection:
        rows = connection.execute(sa.select(CampaignContact.status, unknown.exists()))
        found = Counter("waiting for a person" if waiting else status for status, waiting in rows)
    engine.dispose()
    return found


@pytest.mark.parametrize("workers", [2, 4])
def test_worker_processes_sharing_postgresql_send_each_step_exactly_once(
    workers, databases, tmp_path
):
    url = databases.fresh_url("postgresql")
    with RecordingSMTPServer() as server:
        plan = [(f"C{n}", 2000 // 4) for n in range(4)]
        environment = build(url, tmp_path / "data", server.port, plan)
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "outreach", "worker"],
                env=environment,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(workers)
        ]
        try:
            server.wait_for_messages(4000, timeout=240)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            outputs = [process.communicate(timeout=60)[1] for process in processes]
        assert all(process.returncode == 0 for process in processes), outputs
        seen = per_recipient_and_subject(server)
    assert len(seen) == 4000
    assert set(seen.values()) == {1}
    assert deliveries(url) == Counter({"sent": 4000})


def test_workers_killed_at_random_moments_never_send_a_step_twice(databases, tmp_path):
    url = databases.fresh_url("postgresql")
    chance = random.Random(20261124)
    with RecordingSMTPServer(reply_delay_ms=20) as server:
        environment = build(url, tmp_path / "data", server.port, [("K", 150)])
        now = START
        for _ in range(20):
            process = subprocess.Popen(
                [sys.executable, "-m", "outreach", "worker", "--once", "--now", now.isoformat()],
                env=environment,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            arrived = len(server.messages)
            server.wait_for_messages_while(
                arrived + chance.randint(1, 6), lambda process=process: process.poll() is None
            )
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            # No wait: the next worker finds this one's process gone, and its sends in doubt.
            now += timedelta(seconds=1)
        for _ in range(10):
            subprocess.run(
                [sys.executable, "-m", "outreach", "worker", "--once", "--now", now.isoformat()],
                env=environment,
                cwd=tmp_path,
                capture_output=True,
                check=True,
            )
            now += timedelta(seconds=1)
        seen = per_recipient_and_subject(server)
    assert max(seen.values()) == 1, [key for key, count in seen.items() if count > 1]
    outcome = deliveries(url)
    assert set(outcome) <= {"sent", "unknown"}
    assert len(seen) >= outcome["sent"]
    assert outcome["unknown"] <= 20 * DEFAULT_CONNECTIONS, (
        "a kill leaves at most one send per connection unknown"
    )
    accounted = enrollments_accounted_for(url)
    assert accounted == Counter(
        {
            "completed": 150 - accounted["waiting for a person"],
            "waiting for a person": accounted["waiting for a person"],
        }
    )


def worker_process(environment: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "outreach", "worker"],
        env=environment,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def until(condition: Callable[[], bool], timeout: float) -> None:
    """Waits for what other processes do (not for time to pass): fails after `timeout`."""
    end = clock.monotonic() + timeout
    while not condition():
        if clock.monotonic() > end:
            raise TimeoutError("the workers did not get there")
        clock.sleep(0.2)


def test_a_worker_killed_mid_send_leaves_its_sends_in_doubt_at_once(backend, databases, tmp_path):
    url = databases.fresh_url(backend)
    with RecordingSMTPServer() as server:
        environment = build(url, tmp_path / "data", server.port, [("K", 20)])
        server.hold_reply_after_next_data()
        process = worker_process(environment, tmp_path)
        try:
            held = server.wait_for_messages(1, timeout=60)[0].rcpt_tos[0]
        finally:
            process.kill()
            process.wait(timeout=30)
        listed = subprocess.run(
            [sys.executable, "-m", "outreach", "sends", "unknown"],
            env={**environment, "COLUMNS": "200"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    assert held in listed
    assert "the worker stopped while sending" in listed
    outcome = deliveries(url)
    assert outcome["sending"] == 0
    assert 1 <= outcome["unknown"] <= DEFAULT_CONNECTIONS


def test_workers_sharing_postgresql_settle_a_killed_one_s_sends_at_once_and_a_live_one_s_never(
    databases, tmp_path
):
    url = databases.fresh_url("postgresql")
    with RecordingSMTPServer() as server:
        environment = build(url, tmp_path / "data", server.port, [("C", 60)])
        server.hold_reply_after_next_data()
        stuck = worker_process(environment, tmp_path)
        server.wait_for_messages(1, timeout=60)
        others = [worker_process(environment, tmp_path) for _ in range(2)]
        try:
            # Everything else goes; the stuck worker's send stays its own while it lives.
            everything_else = Counter({"sent": 60 + 59 - 1, "sending": 1})
            until(lambda: deliveries(url) == everything_else, timeout=120)
            stuck.kill()
            stuck.wait(timeout=30)
            until(lambda: deliveries(url) == Counter({"sent": 118, "unknown": 1}), timeout=30)
        finally:
            stuck.kill()
            for process in others:
                process.send_signal(signal.SIGTERM)
            outputs = [process.communicate(timeout=60)[1] for process in others]
        assert all(process.returncode == 0 for process in others), outputs
        seen = per_recipient_and_subject(server)
    assert set(seen.values()) == {1}
    assert len(seen) == 60 + 59
