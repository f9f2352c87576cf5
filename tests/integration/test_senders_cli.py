"""`outreach senders ...` as a user types them: a relay added without sign-in, and the state
`senders test` leaves, which `senders list` shows (failing and tried again by itself, needing a
person, ok again)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.errors import OutreachError


@pytest.fixture
def outreach(backend, databases, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("OUTREACH_SMTP_PASSWORD", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*arguments: str, code: int = 0, typed: str | None = None) -> str:
        result = runner.invoke(app, list(arguments), input=typed, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_a_relay_is_added_without_sign_in_and_tests_without_signing_in(outreach, smtp_server):
    port = str(smtp_server.port)

    added = outreach(
        "senders", "add", "smtp", "relay@ourco.example", "--host", "127.0.0.1", "--port", port,
        "--security", "none", "--no-sign-in",
    )  # fmt: skip

    assert f"Added relay@ourco.example (127.0.0.1:{port}, no sign-in)." in added
    assert "relay@ourco.example sends without signing in (a relay)." in outreach("senders", "list")
    tested = outreach("senders", "test", "relay@ourco.example")
    assert f"sending: Connected to 127.0.0.1:{port}, no encryption, without signing in." in tested


def test_an_account_that_signs_in_asks_for_its_password(outreach, make_smtp_server):
    server = make_smtp_server(username="me@ourco.example", password="right")
    outreach(
        "senders", "add", "smtp", "me@ourco.example", "--host", "127.0.0.1",
        "--port", str(server.port), "--security", "none", typed="right\n",
    )  # fmt: skip

    tested = outreach("senders", "test", "me@ourco.example")

    assert "authenticated as me@ourco.example" in tested
    assert "without signing in" not in outreach("senders", "list")


def test_senders_test_sets_the_state_that_senders_list_shows(outreach, make_smtp_server):
    server = make_smtp_server(username="me@ourco.example", password="right")
    port = str(server.port)
    outreach(
        "senders", "add", "smtp", "me@ourco.example", "--host", "127.0.0.1", "--port", port,
        "--security", "none", "--password", "wrong",
    )  # fmt: skip

    refused = outreach("senders", "test", "me@ourco.example", code=1)

    assert "me@ourco.example needs you: The server refused the username or password" in refused
    listed = outreach("senders", "list")
    assert "needs you" in listed
    assert listed.rstrip().endswith("Fix it, then resume the account.")

    server.accept_credentials("me@ourco.example", "wrong")
    server.stop()
    down = outreach("senders", "test", "me@ourco.example", code=1)
    assert f"is failing: Could not connect to 127.0.0.1:{port}: connection refused; " in down
    assert "retrying at " in outreach("senders", "list")

    server.start()
    outreach("senders", "test", "me@ourco.example")
    listed = outreach("senders", "list")
    assert "failing" not in listed
    assert "needs you" not in listed
    assert "│ me@ourco.example │ smtp │ —       │ 0    │ 0       │ 0       │ ok    │" in listed


def test_a_new_mailbox_ramps_up_and_its_limits_can_be_changed(outreach, smtp_server):
    port = str(smtp_server.port)
    outreach(
        "senders", "add", "smtp", "new@ourco.example", "--host", "127.0.0.1", "--port", port,
        "--security", "none", "--no-sign-in",
    )  # fmt: skip
    outreach(
        "senders", "add", "smtp", "old@ourco.example", "--host", "127.0.0.1", "--port", port,
        "--security", "none", "--no-sign-in", "--no-ramp", "--min-gap", "0",
    )  # fmt: skip

    listed = outreach("senders", "list")

    assert "new@ourco.example: ramping up: 10 a day today (sending day 1), 30 from " in listed
    assert "new@ourco.example: 60 to 90 s between sends, at random" in listed
    assert "old@ourco.example:" not in listed.split("└")[-1]

    changed = outreach(
        "senders", "limits", "new@ourco.example", "--tenant", "OurCo.example", "--licences",
        "100", "--ramp-target", "20", "--min-gap", "0",
    )  # fmt: skip

    assert "tenant ourco.example (100 licences): 0 of 22,059 external recipients in 24 hours" in (
        changed
    )
    assert "10 a day today (sending day 1), 20 from" in changed
    assert "between sends" not in changed
    assert "ramped up" not in outreach("senders", "limits", "new@ourco.example", "--no-ramp")


SIGNATURE = "Grace Hopper\nAcme Ltd\n+44 20 7946 0000"


def test_senders_edit_changes_an_account_and_reads_the_signature_from_a_file(outreach, tmp_path):
    outreach("senders", "add", "outbox", "me@ourco.example", "--daily-cap", "50")
    signature = tmp_path / "signature.txt"
    signature.write_text(SIGNATURE + "\n", encoding="utf-8")

    said = outreach(
        "senders", "edit", "me@ourco.example", "--name", "Grace", "--daily-cap", "30",
        "--signature-file", str(signature),
    )  # fmt: skip

    assert said == (
        "Saved me@ourco.example: sends as Grace, at most 30 a day, 4 connections at once; "
        f"signs answers with:\n{SIGNATURE}\n"
    )
    assert "│ 30 " in outreach("senders", "list")
    uncapped = outreach("senders", "edit", "me@ourco.example", "--no-daily-cap", "--no-signature")
    assert uncapped == (
        "Saved me@ourco.example: sends as Grace, no daily cap, 4 connections at once; "
        "signs no answers.\n"
    )


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (("--max-connections", "50"), "Connections at once are between 1 and 20."),
        (("--daily-cap", "0"), "A daily cap is between 1 and 1,000,000"),
        (("--daily-cap", "5", "--no-daily-cap"), "Either --daily-cap or --no-daily-cap"),
        ((), "Nothing to change: give --name, --daily-cap, --signature-file"),
    ],
)
def test_senders_edit_refuses_what_it_cannot_do_in_a_line(outreach, arguments, says):
    outreach("senders", "add", "outbox", "me@ourco.example")
    with pytest.raises(OutreachError, match=re.escape(says)):
        outreach("senders", "edit", "me@ourco.example", *arguments)
