"""`outreach inbox list|show|done`: the conversations from a terminal, against a fresh
database where people answered a campaign."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.clock import FixedClock
from outreach.contacts.models import Contact
from outreach.container import build_container
from outreach.db import transaction
from outreach.delivery.models import Delivery
from outreach.errors import OutreachError
from outreach.inbox.service import ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from tests.app_settings import isolated_settings
from tests.campaign_setup import MONDAY_9, launched_from_outbox
from tests.inbox_messages import Thread, outlook_auto_reply, plain_reply


@pytest.fixture
def replied(backend, databases, tmp_path, monkeypatch):
    """Ada answered the campaign's first email in plain text, quoting it; Alan's
    out-of-office came an hour later."""
    url = databases.fresh_url(backend)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    container = build_container(isolated_settings(tmp_path / "data", DATABASE_URL=url))
    clock = container.clock = FixedClock(MONDAY_9)
    with transaction(container.sessions) as session:
        _, account = launched_from_outbox(session, container, clock, tmp_path)
    with transaction(container.sessions) as session:
        sent = dict(
            session.execute(
                sa.select(Contact.email, Delivery.message_id).join(
                    Contact, Contact.id == Delivery.contact_id
                )
            ).all()
        )

        def thread(email: str) -> Thread:
            return Thread(sent[email], "Hello", account.email, email)

        replies = (
            InboundMessage(
                "1",
                plain_reply("Yes, Tuesday works.", thread("ada@analytical.example")),
                clock.now() + timedelta(hours=1),
            ),
            InboundMessage(
                "2",
                outlook_auto_reply(thread("alan@bletchley.example")),
                clock.now() + timedelta(hours=2),
            ),
        )
        ingest(session, account, InboxPage(replies, "2", more=False), clock.now())
    yield
    container.close()


def outreach(*arguments: str) -> str:
    result = CliRunner().invoke(app, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_inbox_is_listed_read_and_marked_done_from_the_command_line(replied):
    everything = outreach("inbox", "list")
    assert everything.index("alan@bletchley.example") < everything.index("ada@analytical.example")
    waiting = outreach("inbox", "list", "--needs-answer", "--campaign", "Spring")
    assert "alan@" not in waiting
    assert re.search(
        r"ada@analytical\.example \(Analytical Engines\).*unread, needs an answer", waiting
    )
    [ada] = re.findall(r"^[│|]?\s*([0-9a-f-]{36})", waiting, re.M)

    thread = outreach("inbox", "show", ada)
    assert "We wrote" in thread
    assert "Yes, Tuesday works." in thread
    assert "(3 quoted lines; --quoted shows them)" in thread
    assert "If you'd rather not hear from me again" not in thread
    assert "If you'd rather not hear from me again" in outreach("inbox", "show", ada, "--quoted")
    assert "unread" not in outreach("inbox", "list", "--needs-answer")  # reading it read it

    assert "Done: the conversation with ada@analytical.example needs no answer." in outreach(
        "inbox", "done", ada
    )
    assert outreach("inbox", "list", "--needs-answer").strip() == "No conversation here."


def test_each_reply_of_a_person_shows_its_category_and_who_set_it_from_the_command_line(replied):
    listed = outreach("inbox", "list")
    ids = {name: id_ for id_, name in re.findall(r"([0-9a-f-]{36}).*?(ada|alan)@", listed)}
    ada, alan = ids["ada"], ids["alan"]
    assert "Category: not decided yet" in outreach("inbox", "show", ada)

    outreach("inbox", "categorize", ada, "meeting request")

    assert re.search(
        r"Category: meeting request · Chosen by .+ \(command line\), 2026-",
        outreach("inbox", "show", ada),
    )
    assert "Category:" not in outreach("inbox", "show", alan)  # an out-of-office gets none


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("inbox", "show", "42"), "42 is not a conversation id: `outreach inbox list` shows them."),
        (
            ("inbox", "done", "00000000-0000-4000-8000-000000000000"),
            "There is no conversation 00000000-0000-4000-8000-000000000000.",
        ),
        (("inbox", "list", "--sender", "nobody@x.example"), "There is no sender account"),
        (("inbox", "list", "--assigned-to", "nobody@x.example"), "There is no user"),
        (("inbox", "list", "--before", "yesterday"), "This page cursor is not one we gave."),
    ],
)
def test_unknown_conversations_and_filters_are_refused_in_a_line(replied, arguments, message):
    with pytest.raises(OutreachError, match=re.escape(message)):
        CliRunner().invoke(app, list(arguments), catch_exceptions=False)


def test_a_contacts_history_is_shown_and_noted_from_the_command_line(replied):
    outreach("contacts", "note", "Ada@Analytical.example", "Call her on Tuesday.")

    history = outreach("contacts", "show", "ada@analytical.example")

    assert history.startswith("ada@analytical.example Ada Lovelace · Analytical Engines")
    assert "Replied: " in history
    assert "Sent: Spring, step 1 · grace@acme.example" in history
    assert "Subject: Hello from Analytical Engines, Ada" in history
    assert "Call her on Tuesday." in history
    assert "Hi Ada," not in history  # bodies are folded…
    assert "Hi Ada," in outreach("contacts", "show", "ada@analytical.example", "--full")
    with pytest.raises(OutreachError, match=re.escape("There is no contact nobody@x.example.")):
        CliRunner().invoke(app, ["contacts", "show", "nobody@x.example"], catch_exceptions=False)
