"""`outreach webhooks ...` as a user types them: an endpoint added (its secret printed once),
listed, tested against a receiver on loopback, its deliveries shown and sent again, removed;
mistakes said in one line."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from outreach.cli.main import app, main
from tests.webhook_receiver import WebhookReceiver, verify


@pytest.fixture
def outreach(backend, databases, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*arguments: str, code: int = 0) -> str:
        result = runner.invoke(app, list(arguments), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_an_endpoint_is_added_tested_shown_sent_again_and_removed(outreach):
    with WebhookReceiver() as receiver:
        added = outreach("webhooks", "add", receiver.url, "--event", "reply.received")
        endpoint = re.search(r"Added webhook ([0-9a-f-]{36}) for reply.received\.", added)[1]
        secret = re.search(r"shown this once: (whsec_\S+)", added)[1]
        assert receiver.url in outreach("webhooks", "list")

        tested = outreach("webhooks", "test", endpoint)
        assert 'Answered 200: {"ok": true}' in tested
        delivery = re.search(r"delivery ([0-9a-f-]{36})", tested)[1]
        [got] = receiver.received
        assert verify(secret, got.headers, got.body, _sent_at(got))["type"] == "webhook.test"

    shown = outreach("webhooks", "deliveries", endpoint)
    assert delivery in shown
    assert "delivered" in shown
    again = outreach("webhooks", "redeliver", delivery)
    assert "goes again on the worker's next pass" in again
    assert "pending" in outreach("webhooks", "deliveries", endpoint)
    assert "Removed" in outreach("webhooks", "remove", endpoint)
    assert "No webhooks yet" in outreach("webhooks", "list")


def test_a_test_of_an_endpoint_that_does_not_answer_says_so_and_fails(outreach):
    added = outreach("webhooks", "add", "http://127.0.0.1:9/nothing")
    endpoint = re.search(r"Added webhook ([0-9a-f-]{36})", added)[1]

    tested = outreach("webhooks", "test", endpoint, code=1)

    assert "No answer: could not be reached" in tested


def test_an_unknown_event_kind_or_endpoint_is_refused_in_one_line(outreach, monkeypatch, capsys):
    def refused(*arguments: str) -> str:
        monkeypatch.setattr(sys, "argv", ["outreach", *arguments])
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code == 1
        return " ".join(capsys.readouterr().err.split())

    assert refused("webhooks", "add", "http://127.0.0.1/", "--event", "email.opened") == (
        "No such event kind for a standard endpoint: email.opened. Choose from email.sent, "
        "email.bounced, reply.received, reply.categorized, lead.status_changed, "
        "contact.unsubscribed, campaign.launched, campaign.completed, sender.paused, "
        "sender.failing."
    )
    assert refused("webhooks", "add", "ftp://example.com/") == (
        "'ftp://example.com/' is not an http:// or https:// address to POST to."
    )
    missing = "00000000-0000-0000-0000-000000000000"
    assert refused("webhooks", "remove", missing) == f"There is no webhook endpoint {missing}."


def _sent_at(got):
    return datetime.fromtimestamp(int(got.headers["webhook-timestamp"]), UTC)
