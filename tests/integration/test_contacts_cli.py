"""`outreach contacts|lists|suppressions ...` as a user types them, against a fresh database."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.contacts import importing
from outreach.errors import OutreachError

EXPORT = (
    "Work Email;Full Name;Employer;Note\n"
    'ada@analytical.example;Ada Lovelace;Analytical Engines;=HYPERLINK("http://evil")\n'
    "broken-address;Nobody;;\n"
    "alan@bletchley.example;Alan Turing;Bletchley Park;\n"
)


def counted(output: str, outcome: str) -> int:
    """The count the summary table shows for an outcome."""
    found = re.search(rf"{outcome}\s*│\s*(\d+)", output)
    assert found, output
    return int(found.group(1))


@pytest.fixture
def outreach(backend, databases, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*arguments: str) -> str:
        result = runner.invoke(app, list(arguments), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.fixture
def refused(outreach):
    """What the console script prints for a command it refuses (the error's message)."""

    def run(*arguments: str) -> str:
        result = CliRunner().invoke(app, list(arguments))
        assert isinstance(result.exception, OutreachError), result.output
        return result.exception.message

    return run


@pytest.fixture
def export_file(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(EXPORT, encoding="cp1252")
    return path


def test_import_prints_the_mapping_and_a_summary_of_every_outcome(outreach, export_file):
    output = outreach(
        "contacts", "import", str(export_file), "--map", "company=Employer", "--list", "Pioneers"
    )
    assert "email ← Work Email" in output
    assert "company ← Employer" in output
    assert counted(output, "imported") == 2
    assert counted(output, "invalid") == 1
    assert "outreach contacts report" in output
    assert counted(outreach("lists", "list"), "Pioneers") == 2


def test_a_dry_run_stores_nothing(outreach, export_file):
    output = outreach("contacts", "import", str(export_file), "--dry-run")
    assert "Dry run: nothing was stored" in output
    assert counted(output, "imported") == 2
    again = outreach("contacts", "import", str(export_file))
    assert counted(again, "imported") == 2


def test_a_saved_mapping_is_reused_by_name(outreach, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text("Who,Mail\nAda,ada@analytical.example\n")
    outreach(
        "contacts",
        "import",
        str(first),
        "--map",
        "email=Mail",
        "--map",
        "name=Who",
        "--save-mapping",
        "Old CRM",
    )
    second = tmp_path / "second.csv"
    second.write_text("Who,Mail\nAlan,alan@bletchley.example\n")
    output = outreach("contacts", "import", str(second), "--mapping", "Old CRM")
    assert "name ← Who" in output
    assert counted(output, "imported") == 1


def test_the_export_is_safe_to_open_in_a_spreadsheet(outreach, export_file, tmp_path):
    outreach("contacts", "import", str(export_file))
    target = tmp_path / "out.csv"
    assert "2 contacts written" in outreach("contacts", "export", str(target))
    text = target.read_text()
    assert '\'=HYPERLINK(""http://evil"")' in text
    assert "=HYPERLINK" not in text.replace("'=HYPERLINK", "")


def test_suppressions_from_a_file_are_honoured_by_the_next_import(outreach, export_file, tmp_path):
    bounces = tmp_path / "bounces.csv"
    bounces.write_text("ada@analytical.example\n@bletchley.example\nnot valid\n")
    output = outreach("suppressions", "import", str(bounces), "--reason", "bounced")
    assert "Suppressed 2 new entries" in output
    assert "line 3: 'not valid'" in output
    assert counted(outreach("contacts", "import", str(export_file)), "suppressed") == 2
    assert "@bletchley.example" in outreach("suppressions", "list")


def test_lists_are_created_renamed_filled_and_deleted(outreach, export_file):
    outreach("contacts", "import", str(export_file))
    outreach("lists", "create", "Engines")
    assert "Added 1 contact to 'Engines'." in outreach(
        "lists", "add", "Engines", "--company", "engines"
    )
    outreach("lists", "rename", "Engines", "Machines")
    assert "Removed 1 contact from 'Machines'." in outreach(
        "lists", "remove", "Machines", "ada@analytical.example"
    )
    outreach("lists", "delete", "Machines")
    assert "Machines" not in outreach("lists", "list")


def test_an_upload_can_be_undone(outreach, export_file):
    outreach("contacts", "import", str(export_file))
    uploads = outreach("contacts", "uploads")
    batch_id = next(part.strip() for part in uploads.split("│") if len(part.strip()) == 36)
    assert "Removed 2 contacts" in outreach("contacts", "undo", batch_id)


def test_one_bad_entry_refuses_the_whole_suppression_and_says_which(outreach, refused):
    message = refused("suppressions", "add", "@omicron.example", "gmail.con", "bad entry")
    assert message == (
        "Nothing was suppressed: 'bad entry' is neither an email address nor a domain."
    )
    listed = outreach("suppressions", "list")
    assert "omicron" not in listed
    assert "gmail.con" not in listed


def test_suppressing_again_counts_what_was_already_there(outreach):
    assert "Suppressed 1 new entry." in outreach("suppressions", "add", "@omicron.example")
    again = outreach("suppressions", "add", "@omicron.example", "gmail.con")
    assert "Suppressed 1 new entry (1 already suppressed)." in again
    assert "gmail.con" in outreach("suppressions", "list")


def test_a_field_filter_without_a_value_is_refused_instead_of_adding_nobody(
    outreach, refused, export_file
):
    outreach("contacts", "import", str(export_file))
    outreach("lists", "create", "VIP")
    assert refused("lists", "add", "VIP", "--field", "Nope") == (
        "--field 'Nope': write it as Column=value, e.g. --field Region=North"
    )
    assert "Added 1 contact to 'VIP'." in outreach(
        "lists", "add", "VIP", "--field", "Employer=Bletchley Park"
    )


def test_an_unknown_duplicate_policy_names_the_option(export_file):
    result = CliRunner().invoke(
        app, ["contacts", "import", str(export_file), "--on-duplicate", "merge"]
    )
    assert result.exit_code == 2
    assert "--on-duplicate" in result.output
    assert "'skip', 'update'" in result.output


def test_an_upload_left_before_matching_is_deleted_and_an_imported_one_is_refused(
    outreach, refused, export_file, tmp_path
):
    outreach("contacts", "import", str(export_file))
    imported = outreach("contacts", "uploads")
    imported_id = next(part.strip() for part in imported.split("│") if len(part.strip()) == 36)
    # An upload whose columns were never matched, as the page or the API leaves one.
    engine = sa.create_engine(os.environ["DATABASE_URL"])
    with Session(engine) as session:
        batch, _ = importing.create_upload(
            session, path=export_file, file_name="left.csv", sheet=None, now=datetime.now(UTC)
        )
        session.commit()
        abandoned_id = str(batch.id)
    engine.dispose()

    assert "Deleted the upload of left.csv." in outreach("contacts", "delete-upload", abandoned_id)
    assert "left.csv" not in outreach("contacts", "uploads")
    assert "undo it to remove its contacts" in refused("contacts", "delete-upload", imported_id)
