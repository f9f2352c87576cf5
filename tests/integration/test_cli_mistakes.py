"""A user's mistake on the command line gets one line saying what is wrong, never a traceback:
each test runs the console script in its own process, as a user does, on both backends."""

from __future__ import annotations

import sys

import pytest

from outreach.cli.main import main


@pytest.fixture
def outreach(backend, databases, tmp_path, monkeypatch, capsys):
    """`outreach ARGUMENTS` through the console script's entry point, on a fresh database of the
    backend with a contact in it: (exit status, what it printed to stderr on one line)."""
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)

    def run(*arguments: str, **environment: str) -> tuple[int, str]:
        with monkeypatch.context() as scoped:
            for name, value in environment.items():
                scoped.setenv(name, value)
            scoped.setattr(sys, "argv", ["outreach", *arguments])
            with pytest.raises(SystemExit) as exited:
                main()
        said = capsys.readouterr().err
        return int(exited.value.code or 0), " ".join(said.split())

    (tmp_path / "people.csv").write_text("email,name\nada@analytical.example,Ada Lovelace\n")
    assert run("contacts", "import", "people.csv", "--list", "Pioneers")[0] == 0
    return run


def refusal(outcome: tuple[int, str]) -> str:
    """What a refused command said; it exits with status 1 (an unexpected error would have
    escaped the entry point, and its traceback failed the test)."""
    code, said = outcome
    assert code == 1, said
    return said


def test_trying_a_template_the_rules_refuse_says_why_in_one_line(outreach):
    added = outreach("drafts", "templates", "add", "Sums", "--text", 'Hi {{ "%s" % first_name }}')
    assert added[0] == 0
    said = refusal(outreach("drafts", "templates", "try", "Sums", "--contact", "ada@analytical"))
    assert said == (
        "No draft: Template 'Sums': The body uses \"%\" to format text, which templates may not "
        "do; use filters."
    )


def test_writing_where_no_file_can_be_written_names_the_path(outreach, tmp_path):
    missing = tmp_path / "no such folder" / "contacts.csv"
    assert refusal(outreach("contacts", "export", str(missing))) == (
        f"{missing}: No such file or directory."
    )
    assert refusal(outreach("db", "export", str(tmp_path / "people.csv" / "export"))) == (
        f"{tmp_path / 'people.csv' / 'export'}: Not a directory."
    )


def test_a_data_folder_that_cannot_be_made_is_named(outreach, tmp_path):
    inside_a_file = tmp_path / "people.csv" / "data"
    said = refusal(outreach("contacts", "uploads", OUTREACH_DATA_DIR=str(inside_a_file)))
    assert said.startswith(str(tmp_path / "people.csv"))


def test_a_database_url_that_is_not_one_says_how_to_write_it_hiding_the_password(outreach):
    said = refusal(outreach("contacts", "uploads", DATABASE_URL="postgres:/secret@localhost"))
    assert said.endswith("write postgresql://USER:PASSWORD@HOST:5432/NAME or sqlite:///PATH.")
    said = refusal(outreach("db", "migrate", "--from", "mysql://ada:secret@db.example/crm"))
    assert "'mysql://ada:***@db.example/crm' is not a database URL outreach can use" in said
    assert "secret" not in said


def test_an_unreachable_database_is_one_line_for_the_commands_that_create_the_schema(
    outreach, tmp_path
):
    nowhere = "postgresql://outreach@127.0.0.1:1/outreach"
    for command in (("db", "upgrade"), ("db", "migrate", "--from", "sqlite:///./source.db")):
        said = refusal(outreach(*command, DATABASE_URL=nowhere))
        assert said.startswith("The database is unreachable: ")


def test_numbers_beyond_what_a_setting_takes_are_refused_with_its_bounds(outreach):
    outreach("senders", "add", "outbox", "me@ourco.example")
    outreach("campaigns", "create", "Q4 Push", "--list", "Pioneers")
    for option in ("--daily-limit", "--jitter"):
        said = refusal(outreach("campaigns", "settings", "Q4 Push", option, "3000000000"))
        assert said == (
            "The daily limit is between 1 and 100,000; the spacing and jitter between 0 and "
            "86,400 seconds (a day)."
        )
    said = refusal(
        outreach("senders", "add", "outbox", "big@ourco.example", "--daily-cap", "3000000000")
    )
    assert said == "A daily cap is between 1 and 1,000,000 (leave it empty for none)."


def test_a_ramp_that_would_start_above_its_target_is_refused_in_words(outreach):
    outreach("senders", "add", "outbox", "me@ourco.example")
    said = refusal(outreach("senders", "limits", "me@ourco.example", "--ramp-start", "40"))
    assert said == (
        "A ramp starts at 1 email a day or more, grows by 1 or more a day, and its target is at "
        "least where it starts."
    )


def test_partitions_ten_years_ahead_at_most(outreach):
    code, said = outreach("db", "partition", "sent-emails", "--months-ahead", "100000")
    assert code in (1, 2)
    assert said
