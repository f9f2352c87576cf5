"""Answering a reply from the command line, sent by worker processes to a real SMTP server:
in the thread, exactly once, also when the worker is killed while sending it."""

from __future__ import annotations

import email
import os
from email import policy
from pathlib import Path

import sqlalchemy as sa

from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign
from outreach.clock import FixedClock
from outreach.container import build_container
from tests.app_settings import isolated_settings
from tests.campaign_setup import MONDAY_9
from tests.conversation_setup import ADA, THEIR_ID, Replied, replied_over_smtp
from tests.e2e.test_workers import deliveries, worker_process
from tests.outreach_process import run_outreach
from tests.smtp_server import RecordingSMTPServer

BASE_URL = "https://outreach.example"


def replied_database(url: str, data_dir: Path, port: int) -> tuple[Replied, dict[str, str]]:
    """Ada replied to a campaign (replied_over_smtp) in the database at `url`; the campaign is
    paused, so the answer is all a worker has to send. Returns the conversation and the
    environment of an outreach process."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = isolated_settings(data_dir, DATABASE_URL=url, OUTREACH_BASE_URL=BASE_URL)
    container = build_container(settings, FixedClock(MONDAY_9))
    assert isinstance(container.clock, FixedClock)
    with container.sessions() as session:
        replied = replied_over_smtp(session, container, container.clock, data_dir, port)
        campaigns.pause(session, session.scalars(sa.select(Campaign.id)).one())
        session.commit()
    container.close()
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "OUTREACH_DATA_DIR": str(data_dir),
        "OUTREACH_SECRET_KEY": settings.secret_key_value(),
        "OUTREACH_BASE_URL": BASE_URL,
        "OUTREACH_WORKER_INTERVAL_SECONDS": "0.2",
    }
    return replied, environment


def answers_received(server: RecordingSMTPServer) -> list[email.message.EmailMessage]:
    found = []
    for message in server.messages:
        parsed = email.message_from_bytes(message.data, policy=policy.default)
        if message.rcpt_tos == (ADA,):
            found.append(parsed)
    return found[1:]  # the campaign's first email came before


def outreach(environment: dict[str, str], folder: Path, *arguments: str) -> tuple[int, str]:
    done = run_outreach(
        *arguments,
        database_url=environment["DATABASE_URL"],
        data_dir=folder,
        COLUMNS="200",
        **{k: v for k, v in environment.items() if k.startswith("OUTREACH_")},
    )
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def test_an_answer_from_the_command_line_arrives_once_in_the_thread(backend, databases, tmp_path):
    with RecordingSMTPServer() as server:
        replied, environment = replied_database(
            databases.fresh_url(backend), tmp_path / "data", server.port
        )
        conversation = str(replied.conversation_id)

        code, said = outreach(
            environment, tmp_path, "inbox", "answer", conversation, "--body", "Hi {{ first_name }}"
        )
        assert code == 0, said
        assert f"({replied.subject}) goes at" in said
        for _ in range(2):
            assert outreach(environment, tmp_path, "worker", "--once")[0] == 0

        [answer] = answers_received(server)
    assert str(answer["Subject"]) == replied.subject
    assert answer["In-Reply-To"] == THEIR_ID
    assert str(answer["References"]).split() == [replied.our_id, THEIR_ID]
    assert answer.get_content().replace("\r\n", "\n").strip() == "Hi Ada\n\nGrace Hopper\nAcme"


def test_an_answer_to_a_suppressed_address_is_refused_on_the_command_line_saying_why(
    backend, databases, tmp_path
):
    with RecordingSMTPServer() as server:
        replied, environment = replied_database(
            databases.fresh_url(backend), tmp_path / "data", server.port
        )
        assert outreach(environment, tmp_path, "suppressions", "add", ADA)[0] == 0

        code, said = outreach(
            environment, tmp_path, "inbox", "answer", str(replied.conversation_id), "--body", "Hi"
        )
    assert code == 1
    assert "ada@analytical.example is on the suppression list" in said
    assert "Traceback" not in said


def test_an_answer_whose_worker_is_killed_while_sending_is_in_doubt_and_never_sent_again(
    backend, databases, tmp_path
):
    url = databases.fresh_url(backend)
    with RecordingSMTPServer() as server:
        replied, environment = replied_database(url, tmp_path / "data", server.port)
        code, said = outreach(
            environment, tmp_path, "inbox", "answer", str(replied.conversation_id), "--body", "Hi"
        )
        assert code == 0, said
        server.hold_reply_after_next_data()
        process = worker_process(environment, tmp_path)
        try:
            server.wait_for_messages(4, timeout=60)  # the campaign's three, then the answer
        finally:
            process.kill()
            process.wait(timeout=30)
        server.release_held_reply()

        code, unknown = outreach(environment, tmp_path, "sends", "unknown")
        assert code == 0
        assert outreach(environment, tmp_path, "worker", "--once")[0] == 0
        received = answers_received(server)

    assert ADA in unknown
    assert "answer in its conversation" in unknown
    assert f"answers conversation {replied.conversation_id}: outreach inbox show" in unknown
    assert "the worker stopped while sending" in unknown
    assert len(received) == 1
    assert deliveries(url)["unknown"] == 1
