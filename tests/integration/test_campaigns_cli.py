"""`outreach campaigns ...` as a user types them, against a fresh database."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from outreach.campaigns.models import CampaignContact
from outreach.cli.main import app
from outreach.errors import OutreachError
from outreach.inbox.models import EmailReply
from tests.campaign_setup import PEOPLE


@pytest.fixture
def runner(backend, databases, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def outreach(runner, tmp_path):
    def run(*arguments: str) -> str:
        result = runner.invoke(app, list(arguments), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    run("contacts", "import", str(people), "--list", "Pioneers")
    run("senders", "add", "outbox", "me@ourco.example")
    run("campaigns", "create", "Q4 Push", "--list", "Pioneers")
    run("campaigns", "step", "Q4 Push", "--subject", "Hi {{ first_name }}", "--body", "Hello.")
    return run


@pytest.fixture
def refused(runner):
    """What the command says when the campaign refuses it (the console script prints the
    message and exits with 1)."""

    def run(*arguments: str) -> str:
        result = runner.invoke(app, list(arguments))
        assert isinstance(result.exception, OutreachError), result.output
        return result.exception.message

    return run


def test_settings_without_a_send_day_are_refused(outreach, refused):
    assert refused("campaigns", "settings", "Q4 Push", "--days", "") == (
        "Choose at least one send day: with none the campaign would never send."
    )
    assert "on monday, tuesday, wednesday, thursday, friday;" in outreach(
        "campaigns", "show", "Q4 Push"
    )


def test_equal_start_and_end_show_as_all_day(outreach):
    outreach("campaigns", "settings", "Q4 Push", "--window", "00:00-00:00")
    assert "sends all day UTC on monday" in outreach("campaigns", "show", "Q4 Push")


def test_a_launch_without_senders_says_how_to_add_one_and_settings_adds_it(outreach, refused):
    refusal = refused("campaigns", "launch", "Q4 Push")
    assert refusal == (
        "The campaign cannot start: choose at least one sender account\n"
        "Fix with:\n"
        "  outreach campaigns settings 'Q4 Push' --sender EMAIL"
    )

    outreach("campaigns", "settings", "Q4 Push", "--sender", "me@ourco.example")
    assert "senders: me@ourco.example" in outreach("campaigns", "show", "Q4 Push")
    launched = outreach("campaigns", "launch", "Q4 Push")
    assert "Launched 'Q4 Push': 3 contacts enrolled." in launched
    assert "Warning: OUTREACH_BASE_URL is http://" in launched
    assert "no one-click unsubscribe (RFC 8058)" in launched


def test_the_preview_ends_with_the_unsubscribe_line_unless_the_campaign_adds_none(outreach):
    shown = outreach("campaigns", "preview", "Q4 Push")
    assert "Subject: Hi Ada\n\nHello.\n\n--\nNot interested? Unsubscribe: http://" in shown

    outreach("campaigns", "settings", "Q4 Push", "--no-unsubscribe-line")
    assert "Unsubscribe" not in outreach("campaigns", "preview", "Q4 Push")


def with_a_follow_up_sending_any_time(outreach, *pace: str) -> None:
    """Q4 Push with a second step three days on, sending at any hour of any day."""
    outreach("campaigns", "step", "Q4 Push", "--body", "Following up.", "--delay-days", "3")
    every_day = "monday,tuesday,wednesday,thursday,friday,saturday,sunday"
    outreach(
        "campaigns",
        "settings",
        "Q4 Push",
        "--sender",
        "me@ourco.example",
        "--window",
        "00:00-00:00",
        "--days",
        every_day,
        *pace,
    )


def test_show_and_list_say_how_far_each_contact_is_as_the_pages_do(outreach):
    with_a_follow_up_sending_any_time(outreach, "--spacing", "0", "--jitter", "0")
    outreach("campaigns", "launch", "Q4 Push")
    assert "│ pending │ 0 of 2 │" in outreach("campaigns", "show", "Q4 Push")

    outreach("worker", "--once")
    assert "│ in progress │ 1 of 2 │" in outreach("campaigns", "show", "Q4 Push")
    assert "3 in progress" in outreach("campaigns", "list")


def test_a_campaign_gets_its_list_and_a_new_name_from_settings(outreach):
    outreach("lists", "create", "Others")
    outreach("campaigns", "create", "Later", "--list", "Others", "--sender", "me@ourco.example")
    outreach("campaigns", "step", "Later", "--subject", "Hi", "--body", "Hello.")
    said = outreach("campaigns", "settings", "Later", "--list", "Pioneers", "--rename", "Spring")
    assert "Saved the settings of 'Spring'." in said
    assert "3 contacts enrolled" in outreach("campaigns", "launch", "Spring")


def test_a_contact_whose_company_holds_a_placeholder_is_left_out_and_shown_why(outreach, tmp_path):
    more = tmp_path / "more.csv"
    more.write_text(
        'email,name,company,City\nlinus@kernel.example,Linus,"{{ company }}",Helsinki\n'
    )
    outreach("contacts", "import", str(more), "--list", "Pioneers")
    outreach("campaigns", "step", "Q4 Push", "--body", "Hello {{ company }}.", "--delay-days", "2")
    outreach("campaigns", "settings", "Q4 Push", "--sender", "me@ourco.example")

    launched = outreach("campaigns", "launch", "Q4 Push")

    why = 'left out: their company contains "{{ company }}"'
    assert "Launched 'Q4 Push': 3 contacts enrolled." in launched
    assert f"skipped 1: {why}" in launched
    [row] = [
        line for line in outreach("campaigns", "show", "Q4 Push").splitlines() if "linus" in line
    ]
    assert "skipped" in row
    assert why in row


def test_show_gives_a_contact_who_replied_no_next_send_and_says_they_replied(outreach):
    with_a_follow_up_sending_any_time(outreach)
    outreach("campaigns", "launch", "Q4 Push")
    outreach("worker", "--once")
    engine = sa.create_engine(os.environ["DATABASE_URL"])
    with Session(engine) as session:
        sent = session.scalars(
            sa.select(CampaignContact).where(CampaignContact.current_sequence_step == 1)
        ).one()
        # What the inbox records for a reply; the database marks the enrollment replied.
        session.add(
            EmailReply(
                contact_id=sent.contact_id,
                campaign_id=sent.campaign_id,
                received_at=datetime.now(UTC),
            )
        )
        session.commit()
    engine.dispose()

    [row] = [
        line for line in outreach("campaigns", "show", "Q4 Push").splitlines() if "replied" in line
    ]
    assert "│ — " in row
    assert "ended: they replied" in row


def test_sends_in_doubt_say_so_plainly_when_there_are_none(outreach):
    assert outreach("sends", "unknown").strip() == "Nothing to decide: no send is in doubt."
