"""`outreach inbox referral`: the address a "wrong person" reply points to, offered from a
terminal and made a contact (noted as referred, enrolled in the same campaign) only when a
person confirms; against a fresh database on both backends."""

from __future__ import annotations

import re
import uuid
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
from outreach.inbox.models import Conversation
from outreach.inbox.service import ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from tests.app_settings import isolated_settings
from tests.campaign_setup import MONDAY_9, launched_from_outbox
from tests.inbox_messages import Thread, plain_reply

GRACE, LIN = "grace@navy.example", "lin@navy.example"


@pytest.fixture
def referred(backend, databases, tmp_path, monkeypatch):
    """Grace answered the campaign's first email pointing to Lin; the worker categorized it.
    Returns the conversation and a way to read the database."""
    url = databases.fresh_url(backend)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("USER", "grace")
    container = build_container(isolated_settings(tmp_path / "data", DATABASE_URL=url))
    clock = container.clock = FixedClock(MONDAY_9)
    with transaction(container.sessions) as session:
        _, account = launched_from_outbox(session, container, clock, tmp_path)
    with transaction(container.sessions) as session:
        ours = session.scalars(
            sa.select(Delivery.message_id)
            .join(Contact, Contact.id == Delivery.contact_id)
            .where(Contact.email == GRACE)
        ).one()
        text = "I'm the wrong person for this, please contact lin@navy.example."
        reply = plain_reply(text, Thread(ours, "Hello", account.email, GRACE))
        at = clock.now() + timedelta(hours=1)
        ingest(session, account, InboxPage((InboundMessage("1", reply, at),), "1", False), at)
    container.categorizing_pass()
    with container.sessions() as session:
        conversation = session.scalars(sa.select(Conversation.id)).one()
    yield conversation, container
    container.close()


def outreach(*arguments: str) -> str:
    result = CliRunner().invoke(app, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def lin(container) -> Contact | None:
    with container.sessions() as session:
        return session.scalars(sa.select(Contact).where(Contact.email == LIN)).one_or_none()


def test_a_referral_is_offered_on_the_command_line_and_made_a_contact_only_when_confirmed(
    referred,
):
    conversation, container = referred

    offered = outreach("inbox", "referral", str(conversation))
    shown = outreach("inbox", "show", str(conversation))

    assert f"{LIN}: offered, waiting for a person to confirm or dismiss" in offered
    assert f"outreach inbox referral {conversation} EMAIL --confirm" in offered
    assert f"outreach inbox referral {conversation} {LIN} --confirm" in shown
    assert lin(container) is None

    said = outreach(
        "inbox", "referral", str(conversation), LIN, "--confirm", "--name", "Lin Hopper",
        "--field", "city=London",
    )  # fmt: skip

    assert said == f"{LIN} is a contact, referred by {GRACE}, enrolled in Spring"
    made = lin(container)
    assert made is not None
    assert (made.name, made.company) == ("Lin Hopper", "US Navy")
    history = outreach("contacts", "show", LIN)
    assert re.search(rf"Referred by Grace Hopper <{GRACE}>, in a reply answering Spring", history)
    assert f"{LIN}: confirmed by grace (command line)" in outreach(
        "inbox", "referral", str(conversation)
    )


def test_a_dismissed_referral_makes_nobody_a_contact_and_cannot_be_confirmed_after(referred):
    conversation, container = referred

    assert outreach("inbox", "referral", str(conversation), LIN, "--dismiss") == (
        f"{LIN} dismissed"
    )

    assert lin(container) is None
    with pytest.raises(OutreachError, match=r"already dismissed by grace \(command line\)"):
        outreach("inbox", "referral", str(conversation), LIN, "--confirm")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("nobody@navy.example", "--confirm"), f"refers to no nobody@navy.example (its referrals: {LIN})"),
        ((LIN, "--confirm", "--dismiss"), "Either --confirm or --dismiss, not both."),
        (("--confirm",), "Name the address to confirm or dismiss."),
        ((LIN, "--confirm", "--field", "London"), "'London' is not COLUMN=VALUE."),
    ],
)  # fmt: skip
def test_a_referral_that_cannot_be_decided_is_refused_in_a_line(referred, arguments, message):
    conversation, container = referred
    with pytest.raises(OutreachError, match=re.escape(message)):
        outreach("inbox", "referral", str(conversation), *arguments)
    assert lin(container) is None


def test_a_referral_of_another_conversation_is_not_found(referred):
    with pytest.raises(OutreachError, match="There is no conversation"):
        outreach("inbox", "referral", str(uuid.uuid4()), LIN, "--confirm")
