"""`outreach drafts ...` as a user types them, against a fresh database; Claude is the fake
Anthropic API on loopback."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.errors import OutreachError
from tests.campaign_setup import PEOPLE
from tests.drafts_setup import FIRST_EMAIL
from tests.fakes.anthropic_server import (
    API_KEY,
    FakeAnthropic,
)


@pytest.fixture
def outreach(backend, databases, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    brief = tmp_path / "first.txt"
    brief.write_text(FIRST_EMAIL)

    def run(*arguments: str, code: int = 0) -> str:
        result = runner.invoke(app, list(arguments), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    run("contacts", "import", str(people), "--list", "Pioneers")
    run("drafts", "templates", "add", "First email", "--file", str(brief))
    return run


def draft_ids(output: str) -> list[str]:
    return re.findall(r"^│ ([0-9a-f]{8}) ", output, flags=re.MULTILINE)


def test_generate_for_a_list_writes_here_with_a_progress_bar_then_list_and_approve(outreach):
    output = outreach(
        "drafts", "generate", "--list", "Pioneers", "--template", "First email", "--now"
    )
    assert "3 drafts to write" in output
    assert "Batch completed: 3 written." in output
    assert "estimated cost $0.00" in output

    listed = outreach("drafts", "list")
    assert "Routes for Analytical Engines" in listed
    assert "3 of 3 shown." in listed
    ids = draft_ids(listed)
    assert len(ids) == 3

    assert "Approved 2 drafts." in outreach("drafts", "approve", ids[0], ids[1])
    assert "Rejected." in outreach("drafts", "reject", ids[2], "--reason", "wrong tone")
    assert "0 of 0 shown." in outreach("drafts", "list")
    assert "2 of 2 shown." in outreach("drafts", "list", "--status", "approved")
    assert "1 of 1 shown." in outreach("drafts", "list", "--status", "rejected")
    shown = outreach("drafts", "show", ids[2])
    assert "Rejected: wrong tone" in shown

    again = outreach(
        "drafts", "generate", "--list", "Pioneers", "--template", "First email", "--now"
    )
    assert "1 draft to write." in again
    assert "skipped 2: a person approved this draft already" in again


def test_approving_again_says_it_was_approved_already_and_a_batch_is_named_by_its_start(
    outreach,
):
    generated = outreach(
        "drafts", "generate", "--list", "Pioneers", "--template", "First email", "--now"
    )
    batch = re.findall(r"Batch ([0-9a-f-]{36})", generated)[0]
    first = draft_ids(outreach("drafts", "list"))[0]
    outreach("drafts", "approve", first)

    again = outreach("drafts", "approve", first, code=1)
    rest = outreach("drafts", "approve", "--batch", batch[:8])

    assert again.strip() == f"Not approved {first}: the draft was approved already."
    assert "Approved 2 drafts." in rest
    assert "Batch completed: 3 written." in outreach("drafts", "show-batch", batch[:8])
    assert "3 of 3 shown." in outreach(
        "drafts", "list", "--status", "approved", "--batch", batch[:8]
    )


def test_generate_for_ai_written_steps_without_a_key_warns_that_no_ai_wrote_them(outreach):
    outreach("campaigns", "create", "Spring", "--list", "Pioneers")
    outreach(
        "campaigns",
        "step",
        "Spring",
        "--subject",
        "Routes for {{ company }}",
        "--body",
        "Write a short friendly note to {{ first_name }} about routes.",
        "--ai-written",
    )

    output = outreach("drafts", "generate", "--campaign", "Spring", "--now")

    assert "Written by the template drafter (no AI)." in output
    assert "No AI wrote these AI-written steps' drafts (ANTHROPIC_API_KEY was not set)" in (
        " ".join(output.split())
    )


def test_a_spend_limit_stops_the_command_with_the_reason(outreach, fake_anthropic, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    monkeypatch.setenv("OUTREACH_DRAFT_CONCURRENCY", "1")
    fake_anthropic.spend_limit_next()

    output = outreach(
        "drafts", "generate", "--list", "Pioneers", "--template", "First email", "--now", code=1
    )

    assert "Paused: Anthropic spend limit reached" in output
    assert "outreach drafts resume" in output
    assert len(fake_anthropic.requests) == 1


def test_a_template_is_tried_on_one_contact_without_storing_anything(
    outreach, fake_anthropic: FakeAnthropic, monkeypatch
):
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    fake_anthropic.answer_next(
        {"subject": "Routes in London", "body": "Hi Ada, 37 depots in Paris?"}
    )

    output = outreach(
        "drafts", "templates", "try", "First email", "--contact", "ada@analytical.example"
    )

    assert "Subject: Routes in London" in output
    assert '"Paris"' in output
    assert '"37"' in output
    assert "0 of 0 shown." in outreach("drafts", "list")
    assert "First email" in outreach("drafts", "templates", "list")


def test_generate_needs_one_source_and_a_template(outreach):
    result = CliRunner().invoke(app, ["drafts", "generate", "--list", "Pioneers"])
    assert result.exit_code != 0
    assert "--template" in str(result.exception)


def spring_writing_to(outreach, tmp_path, people: str) -> None:
    """A campaign launched for a list of these people; nothing sent yet."""
    (tmp_path / "spring.csv").write_text(people)
    outreach("contacts", "import", str(tmp_path / "spring.csv"), "--list", "Spring list")
    outreach("senders", "add", "outbox", "me@ourco.example")
    outreach(
        "campaigns", "create", "Spring", "--list", "Spring list", "--sender", "me@ourco.example"
    )
    outreach("campaigns", "step", "Spring", "--subject", "Hi {{ first_name }}", "--body", "Hello.")
    outreach("campaigns", "launch", "Spring")


def test_a_one_off_email_to_someone_in_a_running_campaign_goes_only_with_anyway(outreach, tmp_path):
    spring_writing_to(outreach, tmp_path, PEOPLE)
    email = (
        "sends", "schedule", "--to", "ada@analytical.example", "--sender", "me@ourco.example",
        "--subject", "Quick one", "--body", "Hi Ada.",
    )  # fmt: skip

    with pytest.raises(OutreachError) as refused:
        outreach(*email)

    assert refused.value.message == (
        "ada@analytical.example would get a second first email: the campaign 'Spring' is "
        "writing to them. To send it all the same: add --anyway."
    )
    assert "ada@analytical.example" not in outreach("sends", "scheduled")
    assert "Scheduled" in outreach(*email, "--anyway")
    assert re.search(
        r"ada@analytical\.example\s*│\s*scheduled email", outreach("sends", "scheduled")
    )


def test_a_draft_batch_skips_people_a_running_campaign_writes_to_naming_them(outreach, tmp_path):
    spring_writing_to(outreach, tmp_path, "".join(PEOPLE.splitlines(keepends=True)[:2]))

    said = outreach(
        "drafts", "generate", "--list", "Pioneers", "--template", "First email", "--no-wait"
    )

    assert "2 drafts to write." in said
    assert (
        "skipped 1: they would get a second first email: the campaign 'Spring' is writing to "
        "them (ada@analytical.example)"
    ) in said
