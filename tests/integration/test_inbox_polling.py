"""The inbox poll (worker job and `outreach inbox poll`) against a real Dovecot on loopback:
how often a mailbox is read, where the cursor is kept, and what a failing mailbox does."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.inbox import queries as inbox_queries
from outreach.senders import mailboxes
from outreach.senders import service as senders
from outreach.worker.jobs import poll_inboxes
from tests.imap_server import (
    ImapAccount,
)
from tests.inbox_messages import mailing_list_message, plain_reply


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def smtp_account_reading(session, container, clock, email: str, imap: ImapAccount, port: int):
    key = container.settings.secret_key_value()
    account = senders.add(
        session,
        kind=senders.SenderKind.smtp,
        email=email,
        display_name=None,
        secret_key=key,
        smtp=senders.SmtpSettings(host="127.0.0.1", port=2525, security="none"),
        password=imap.password,
        now=clock.now(),
    )
    mailbox = mailboxes.ImapMailbox("127.0.0.1", port, "none", imap.username)
    mailboxes.set_imap(session, account.id, mailbox, secret_key=key)
    session.commit()
    return account


def test_a_mailbox_is_read_from_where_it_stood_and_at_most_every_interval(
    session, container, clock, imap_account
):
    # There before the first poll, from before its lookback: never read.
    imap_account.append(mailing_list_message(), received_at=clock.now() - timedelta(days=30))
    account = smtp_account_reading(
        session, container, clock, "me@ourco.example", imap_account, imap_account.server.port
    )

    first = poll_inboxes(container)
    assert first.summary.startswith("1 mailbox read, 0 failed; 0 read")
    cursor = inbox_queries.cursor_of(session, account.id)
    assert cursor is not None
    assert cursor.cursor
    assert cursor.polled_at == clock.now()
    started_at = cursor.cursor

    imap_account.append(plain_reply("Not for me, thanks."))
    clock.advance(timedelta(seconds=60))
    assert poll_inboxes(container).lines == ("me@ourco.example: skipped, polled recently",)

    clock.advance(timedelta(seconds=60))
    report = poll_inboxes(container)
    assert "1 read" in report.summary
    assert "1 unmatched" in report.summary
    session.expire_all()
    later = inbox_queries.cursor_of(session, account.id)
    assert later is not None
    assert later.cursor != started_at
    assert later.last_error is None


def test_a_failing_mailbox_keeps_its_error_and_the_others_are_still_read(
    session, container, clock, imap_account, closed_port
):
    broken = smtp_account_reading(
        session, container, clock, "a@ourco.example", imap_account, closed_port
    )
    working = smtp_account_reading(
        session, container, clock, "b@ourco.example", imap_account, imap_account.server.port
    )

    report = poll_inboxes(container)

    assert report.summary.startswith("2 mailboxes read, 1 failed")
    assert report.lines[0].startswith("a@ourco.example: failed: ")
    session.expire_all()
    failed = inbox_queries.cursor_of(session, broken.id)
    assert failed is not None
    assert failed.last_error
    assert failed.cursor is None
    fine = inbox_queries.cursor_of(session, working.id)
    assert fine is not None
    assert fine.cursor
    assert fine.last_error is None


def test_inbox_poll_on_the_command_line_reads_now_and_says_what_it_found(
    backend, databases, tmp_path, monkeypatch, imap_account
):
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OUTREACH_SMTP_PASSWORD", imap_account.password)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*arguments: str, code: int = 0) -> str:
        result = runner.invoke(app, list(arguments), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    run("senders", "add", "smtp", "me@ourco.example", "--host", "127.0.0.1", "--security", "none")
    port = str(imap_account.server.port)
    said = run(
        "senders", "add", "imap", "me@ourco.example", "--host", "127.0.0.1", "--port", port,
        "--security", "none", "--username", imap_account.username,
    )  # fmt: skip
    assert "signed in as" in said
    # Nothing listens for its SMTP here: the test says so, and that replies can be read.
    tested = run("senders", "test", "me@ourco.example", code=1)
    assert "sending: " in tested
    assert "reading replies: " in tested
    assert "signed in as" in tested.split("reading replies: ")[1]
    assert "0 read" in run("inbox", "poll", "--sender", "me@ourco.example")
    imap_account.append(plain_reply("Not for me, thanks."))
    found = run("inbox", "poll")
    assert "me@ourco.example: 1 read" in found
    assert "1 unmatched" in found
    assert "me@ourco.example" in run("inbox", "status")
    run("inbox", "poll", "--sender", "nobody@ourco.example", code=1)
