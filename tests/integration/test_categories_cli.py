"""`outreach inbox categorize` and `outreach contacts status` as a user types them, on a database
with a campaign's replies in it."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.contacts.models import Contact
from outreach.errors import OutreachError
from outreach.inbox.models import Conversation, InboxMessage


@pytest.fixture
def cli(filled, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", filled.settings.database_url)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("USER", "grace")

    def run(*arguments: str) -> tuple[str, OutreachError | None]:
        result = CliRunner().invoke(app, list(arguments))
        if isinstance(result.exception, OutreachError):
            return result.exception.message, result.exception
        assert result.exit_code == 0, result.output
        return result.output, None

    return run


def the_reply(filled) -> tuple[uuid.UUID, str]:
    """The conversation of the one person's reply in the database, and their address."""
    with filled.sessions() as session:
        conversation, email = session.execute(
            sa.select(Conversation.id, Contact.email)
            .join(Contact, Contact.id == Conversation.contact_id)
            .join(InboxMessage, InboxMessage.conversation_id == Conversation.id)
            .where(InboxMessage.kind == "human_reply")
        ).one()
    return conversation, email


def test_categorize_sets_a_conversations_category_and_says_what_it_did(cli, filled):
    conversation, email = the_reply(filled)

    said, _ = cli("inbox", "categorize", str(conversation), "not interested")

    assert (
        said.strip()
        == "Categorized as not interested: the sequence stays stopped; lead status not interested"
    )
    with filled.sessions() as session:
        message = session.scalars(
            sa.select(InboxMessage)
            .where(InboxMessage.conversation_id == conversation)
            .where(InboxMessage.kind == "human_reply")
        ).one()
        assert (message.category, message.category_by) == ("not_interested", "grace (command line)")
        assert session.scalars(
            sa.select(Contact.lead_status).where(Contact.email == email)
        ).one() == ("not_interested")


def test_categorize_refuses_an_unknown_category_or_id_in_one_line(cli, filled):
    conversation, _ = the_reply(filled)

    wrong, error = cli("inbox", "categorize", str(conversation), "hot")
    assert error is not None
    assert wrong.startswith("'hot' is not a category: one of interested, meeting request")
    nobody = uuid.uuid4()
    missing, error = cli("inbox", "categorize", str(nobody), "other")
    assert error is not None
    assert missing == f"There is no conversation or message {nobody}."


def test_contacts_status_sets_a_lead_status_by_hand(cli, filled):
    _, email = the_reply(filled)

    said, _ = cli("contacts", "status", email.upper(), "meeting booked")

    assert said.strip() == f"{email}: replied → meeting booked"
    refused, error = cli("contacts", "status", email, "hot")
    assert error is not None
    assert refused.startswith("'hot' is not a lead status: one of new, contacted")
    missing, error = cli("contacts", "status", "nobody@nowhere.example", "won")
    assert missing == "There is no contact nobody@nowhere.example."
