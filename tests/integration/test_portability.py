"""Exports and imports: lossless across backends, refusing damaged exports untouched."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from outreach.access import service as access
from outreach.access.models import Role
from outreach.cli.main import app
from outreach.db import Base, create_engine, transaction
from outreach.drafts import queries
from outreach.drafts.models import DraftBatch
from outreach.errors import Conflict, OutreachError
from outreach.portability import exporting, restoring, tables
from tests.sample_data import START, checksums, container_on, counts, fill_every_table

CHECKED = {"first": restoring.CHECKED_ALONGSIDE, "alongside": 0}
"""restore()'s `alongside_from` for an export checked before its rows are written, and for
one checked by a process of its own while they are (as a large export is)."""


@pytest.mark.parametrize("checked", CHECKED)
def test_a_round_trip_sqlite_postgresql_sqlite_ends_with_identical_checksums(
    databases, tmp_path, checked
):
    source = container_on(databases.fresh_url("sqlite"), tmp_path / "a")
    fill_every_table(source, tmp_path)
    exporting.export(source.engine, tmp_path / "first", START)
    middle = container_on(databases.fresh_url("postgresql"), tmp_path / "b")
    restoring.restore(middle.engine, tmp_path / "first", START, alongside_from=CHECKED[checked])
    exporting.export(middle.engine, tmp_path / "second", START)
    last = container_on(databases.fresh_url("sqlite"), tmp_path / "c")
    restoring.restore(last.engine, tmp_path / "second", START, alongside_from=CHECKED[checked])
    exporting.export(last.engine, tmp_path / "third", START)
    assert (
        checksums(tmp_path / "first")
        == checksums(tmp_path / "second")
        == checksums(tmp_path / "third")
    )
    empty = [name for name, (rows, _) in checksums(tmp_path / "first").items() if not rows]
    assert empty == []
    for container in (source, middle, last):
        container.close()


def test_an_import_counts_nothing_twice(filled, databases, backend, tmp_path):
    exporting.export(filled.engine, tmp_path / "export", START)
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    restoring.restore(target.engine, tmp_path / "export", START)
    with filled.engine.connect() as before, target.engine.connect() as after:
        query = sa.text(
            "SELECT date, total_emails_sent, total_followups_sent, total_drafts_created, total_drafts_approved FROM email_analytics ORDER BY date"
        )
        assert before.execute(query).all() == after.execute(query).all()
        settings = sa.text("SELECT count(*) FROM campaign_settings")
        assert before.scalar(settings) == after.scalar(settings) == 1
        sizes = sa.text(
            "SELECT list_id, members FROM contact_list_sizes WHERE members > 0 ORDER BY list_id"
        )
        members = sa.text(
            "SELECT list_id, count(*) FROM contact_list_members GROUP BY list_id ORDER BY list_id"
        )
        assert before.execute(sizes).all() == after.execute(sizes).all()
        assert after.execute(sizes).all() == after.execute(members).all() != []
        assert batch_tallies(before) == batch_tallies(after) != {}
    target.close()


def batch_tallies(connection: sa.Connection) -> dict[uuid.UUID, list[queries.JobTally]]:
    """Each draft batch's jobs by status and writer, as its page shows them."""
    with Session(connection) as session:
        found = queries.job_tallies(session, session.scalars(sa.select(DraftBatch.id)).all())
    return {batch: sorted(tallies, key=repr) for batch, tallies in found.items()}


def test_an_import_keeps_sql_null_apart_from_json_values(filled, databases, backend, tmp_path):
    exporting.export(filled.engine, tmp_path / "export", START)
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    restoring.restore(target.engine, tmp_path / "export", START)
    query = sa.text(
        "SELECT count(*) FILTER (WHERE enriched_data IS NULL),"
        " count(*) FILTER (WHERE raw_data IS NULL) FROM contacts"
    )
    with filled.engine.connect() as before, target.engine.connect() as after:
        assert before.execute(query).one() == after.execute(query).one()
        assert before.execute(query).one()[0] > 0
    target.close()


@pytest.mark.parametrize("checked", CHECKED)
@pytest.mark.parametrize(
    "damage",
    ["truncate", "alter", "drop manifest row", "unknown column", "broken line", "a folder"],
)
def test_a_damaged_export_is_refused_naming_the_file_and_the_target_is_untouched(
    filled, databases, backend, tmp_path, damage, checked
):
    exporting.export(filled.engine, tmp_path / "export", START)
    contacts = tmp_path / "export" / "contacts.jsonl"
    lines = contacts.read_text().splitlines(keepends=True)
    if damage == "truncate":
        contacts.write_text("".join(lines[:-1]))
    elif damage == "a folder":
        contacts.unlink()
        contacts.mkdir()
    elif damage == "alter":
        contacts.write_text("".join(lines).replace("Ada", "Eve", 1))
    elif damage in ("unknown column", "broken line"):
        # Damage that the checksum does not see, which only reading every line finds.
        manifest = json.loads((tmp_path / "export" / exporting.MANIFEST).read_text())
        row = json.loads(lines[0])
        row["shoe_size"] = 42
        if damage == "unknown column":
            contacts.write_text(json.dumps(row) + "\n" + "".join(lines[1:]))
        else:
            contacts.write_text("".join(lines[:-1]) + lines[-1][:-5] + "\n")
        for entry in manifest["tables"]:
            if entry["table"] == "contacts":
                entry["sha256"] = hashlib.sha256(contacts.read_bytes()).hexdigest()
        (tmp_path / "export" / exporting.MANIFEST).write_text(json.dumps(manifest))
    else:
        manifest = json.loads((tmp_path / "export" / exporting.MANIFEST).read_text())
        for entry in manifest["tables"]:
            if entry["table"] == "contacts":
                entry["rows"] += 1
        (tmp_path / "export" / exporting.MANIFEST).write_text(json.dumps(manifest))
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    said = {
        "unknown column": "has no column shoe_size",
        "broken line": "not valid JSON",
        "a folder": "cannot be read: Is a directory",
    }
    with pytest.raises(restoring.ExportDamaged, match=r"contacts\.jsonl.*" + said.get(damage, "")):
        restoring.restore(
            target.engine, tmp_path / "export", START, alongside_from=CHECKED[checked]
        )
    assert set(counts(target.engine).values()) == {0}
    target.close()


def test_an_import_whose_check_cannot_run_says_so_and_keeps_nothing(
    filled, databases, backend, tmp_path, monkeypatch
):
    exporting.export(filled.engine, tmp_path / "export", START)
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    monkeypatch.setenv("PYTHONHOME", str(tmp_path / "no python here"))  # the check's Python
    with pytest.raises(OutreachError, match="check of the export's files stopped") as stopped:
        restoring.restore(target.engine, tmp_path / "export", START, alongside_from=0)
    assert "No module named 'encodings'" in stopped.value.message
    assert set(counts(target.engine).values()) == {0}
    target.close()


def test_an_export_in_the_first_format_still_imports_and_is_verified(
    filled, databases, backend, tmp_path
):
    exporting.export(filled.engine, tmp_path / "export", START)
    _rewrite_in_the_first_format(tmp_path / "export", tmp_path / "first")
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    report = restoring.restore(target.engine, tmp_path / "first", START)
    assert report.verified
    assert counts(target.engine) == counts(filled.engine)
    exporting.export(target.engine, tmp_path / "again", START)
    assert checksums(tmp_path / "again") == checksums(tmp_path / "export")
    target.close()


def test_an_export_in_the_first_format_whose_rows_differ_from_what_landed_is_refused(
    filled, databases, backend, tmp_path
):
    exporting.export(filled.engine, tmp_path / "export", START)
    _rewrite_in_the_first_format(tmp_path / "export", tmp_path / "first")
    manifest = json.loads((tmp_path / "first" / exporting.MANIFEST).read_text())
    # Claims the file of the second format's lines: what landed is not that.
    for entry in manifest["tables"]:
        if entry["table"] == "contacts":
            entry["sha256"] = checksums(tmp_path / "export")["contacts"][1]
    (tmp_path / "first" / "contacts.jsonl").write_bytes(
        (tmp_path / "export" / "contacts.jsonl").read_bytes()
    )
    (tmp_path / "first" / exporting.MANIFEST).write_text(json.dumps(manifest))
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    with pytest.raises(restoring.ExportDamaged, match="contacts: after importing"):
        restoring.restore(target.engine, tmp_path / "first", START)
    assert set(counts(target.engine).values()) == {0}
    target.close()


def test_an_export_in_a_format_this_version_does_not_know_is_refused(
    filled, databases, backend, tmp_path
):
    exporting.export(filled.engine, tmp_path / "export", START)
    manifest = json.loads((tmp_path / "export" / exporting.MANIFEST).read_text())
    manifest["format"] = "outreach-export/3"
    (tmp_path / "export" / exporting.MANIFEST).write_text(json.dumps(manifest))
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    with pytest.raises(
        restoring.ExportDamaged,
        match="format 'outreach-export/3', which this version of outreach does not read",
    ):
        restoring.restore(target.engine, tmp_path / "export", START)
    target.close()


def _rewrite_in_the_first_format(export: Path, folder: Path) -> None:
    """The export as a version before outreach-export/2 wrote it: its rows as first_line()s
    (documents with sorted keys, compact), its checksums made again."""
    folder.mkdir()
    manifest = json.loads((export / exporting.MANIFEST).read_text())
    manifest["format"] = tables.FIRST_FORMAT
    for entry in manifest["tables"]:
        lines = (export / entry["file"]).read_text(encoding="utf-8").splitlines()
        text = "".join(tables.first_line(json.loads(line)) for line in lines).encode()
        (folder / entry["file"]).write_bytes(text)
        entry["sha256"] = hashlib.sha256(text).hexdigest()
    (folder / exporting.MANIFEST).write_text(json.dumps(manifest))


def test_importing_into_a_database_with_rows_needs_merge_which_skips_existing_ids(
    filled, backend, tmp_path
):
    exporting.export(filled.engine, tmp_path / "export", START)
    before = counts(filled.engine)
    with pytest.raises(Conflict, match="--merge"):
        restoring.restore(filled.engine, tmp_path / "export", START)
    restoring.restore(filled.engine, tmp_path / "export", START, merge=True)
    assert counts(filled.engine) == before


def test_the_original_systems_json_agg_backup_is_accepted(filled, databases, backend, tmp_path):
    exporting.export(filled.engine, tmp_path / "export", START)
    backup = tmp_path / "backup"
    backup.mkdir()
    for name in (
        "sender_accounts",
        "contact_lists",
        "upload_batches",
        "contacts",
        "contact_list_members",
    ):
        rows = [
            json.loads(text)
            for text in (tmp_path / "export" / f"{name}.jsonl").read_text().splitlines()
        ]
        (backup / f"{name}.json").write_text(json.dumps(rows))
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    report = restoring.restore(target.engine, backup, START, unverified=True)
    assert report.rows["contacts"] == counts(filled.engine)["contacts"]
    assert not report.verified
    target.close()


def test_an_export_without_its_manifest_is_refused_unless_imported_unverified(
    filled, databases, backend, tmp_path
):
    exporting.export(filled.engine, tmp_path / "export", START)
    (tmp_path / "export" / exporting.MANIFEST).unlink()
    contacts = tmp_path / "export" / "contacts.jsonl"
    contacts.write_text("".join(contacts.read_text().splitlines(keepends=True)[:-1]))
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    with pytest.raises(restoring.ExportDamaged, match=r"has no manifest\.json.*--unverified"):
        restoring.restore(target.engine, tmp_path / "export", START)
    assert set(counts(target.engine).values()) == {0}
    target.close()


def test_the_cli_says_an_import_without_a_manifest_was_not_verified(
    filled, databases, backend, tmp_path, monkeypatch
):
    exporting.export(filled.engine, tmp_path / "export", START)
    (tmp_path / "export" / exporting.MANIFEST).unlink()
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    refused = runner.invoke(app, ["db", "import", str(tmp_path / "export")])
    assert isinstance(refused.exception, restoring.ExportDamaged)
    imported = runner.invoke(
        app, ["db", "import", str(tmp_path / "export"), "--unverified"], catch_exceptions=False
    )
    assert "unverified" in imported.output
    assert "verified." not in imported.output


def test_the_cli_exports_and_imports_with_a_summary(
    filled, databases, backend, tmp_path, monkeypatch
):
    runner = CliRunner()
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", str(filled.engine.url.render_as_string(hide_password=False)))
    exported = runner.invoke(
        app, ["db", "export", str(tmp_path / "export")], catch_exceptions=False
    )
    assert "Exported" in exported.output
    target = databases.fresh_url(backend)
    monkeypatch.setenv("DATABASE_URL", target)
    imported = runner.invoke(
        app, ["db", "import", str(tmp_path / "export")], catch_exceptions=False
    )
    assert "verified" in imported.output
    again = runner.invoke(app, ["db", "import", str(tmp_path / "export")])
    assert again.exit_code != 0


def test_an_export_imports_into_a_new_database_that_has_no_schema_yet(
    filled, databases, backend, tmp_path, monkeypatch
):
    exporting.export(filled.engine, tmp_path / "export", START)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("DATABASE_URL", databases.empty_url(backend))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    imported = runner.invoke(
        app, ["db", "import", str(tmp_path / "export")], catch_exceptions=False
    )
    assert "verified" in imported.output
    assert "up to date" in runner.invoke(app, ["db", "current"]).output


@pytest.mark.parametrize("damage", ["checksum", "rows that refer to none"])
def test_a_refused_import_into_an_empty_database_leaves_it_without_even_the_schema(
    filled, databases, backend, tmp_path, monkeypatch, damage
):
    exporting.export(filled.engine, tmp_path / "export", START)
    contacts = tmp_path / "export" / "contacts.jsonl"
    arguments = ["db", "import", str(tmp_path / "export")]
    if damage == "checksum":
        contacts.write_text(contacts.read_text().replace("Ada", "Eve", 1))
    else:
        contacts.write_text("")
        (tmp_path / "export" / exporting.MANIFEST).unlink()
        arguments.append("--unverified")
    target = databases.empty_url(backend)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("DATABASE_URL", target)
    monkeypatch.chdir(tmp_path)
    refused = CliRunner().invoke(app, arguments)
    assert refused.exit_code != 0
    if backend == "sqlite" and damage == "checksum":
        assert not Path(sa.make_url(target).database or "").exists()
    engine = create_engine(target)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


def test_a_merge_that_meets_the_same_email_under_another_id_is_refused_naming_the_row(
    filled, databases, backend, tmp_path, monkeypatch
):
    exporting.export(filled.engine, tmp_path / "export", START)
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    with transaction(target.sessions) as session:
        access.create_user(session, "ada@ourco.example", "another horse battery", Role.admin)
    exported = json.loads((tmp_path / "export" / "users.jsonl").read_text().splitlines()[0])
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("DATABASE_URL", target.engine.url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)
    before = counts(target.engine)
    refused = CliRunner().invoke(app, ["db", "import", str(tmp_path / "export"), "--merge"])
    assert isinstance(refused.exception, Conflict)
    assert refused.exception.message.startswith(
        f"Nothing was imported: in users, the row with id {exported['id']} does not fit"
    )
    assert "email" in refused.exception.message
    assert counts(target.engine) == before
    target.close()


USUAL_DOCUMENT = {
    "zz": '"quoted" \\ back\nslash\t\x01\x7f\u2028',
    "a": None,
    "é": True,
    "😀": False,
    "Growth %": "5%",
}
"""Keys in an order jsonb does not keep (shorter first, then by their UTF-8 bytes), strings that
need escaping; a % in a key is one in the export's statement too."""
AWKWARD_DOCUMENTS = [
    # Documents SQLite's export must write as jsonb prints them (tables.document_text): keys
    # jsonb reorders, escapes, big integers, decimals and numbers numeric prints without an
    # exponent, nesting, empty objects and arrays, a document that is not an object.
    USUAL_DOCUMENT,
    {**USUAL_DOCUMENT, "zz": "plain"},
    {**USUAL_DOCUMENT, "a": "Z"},
    {**USUAL_DOCUMENT, "a": 10**20},
    {**USUAL_DOCUMENT, "a": {"b": 1, "a": []}},
    {**USUAL_DOCUMENT, "a": ["two", "strings"]},
    {
        **USUAL_DOCUMENT,
        "Z": 10**20,
        "list": [1, "two", None, {"b": 1, "a": []}],
        "empty": {},
    },
    {**USUAL_DOCUMENT, "more": "a key the others lack"},
    {"zz": "fewer keys", "a": None},
    {"price": 2.5, "small": 1e-05, "third": 0.30000000000000004, "big": 1e16, "zero": -0.0},
    {"a": {"b": {"c": {"d": "deep"}}}},
    [],
    "just a string",
]


JSON_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
"""What jsonb can hold as a string: no lone surrogate, no NUL."""
DOCUMENTS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


def test_sqlites_export_writes_a_document_as_postgresql_prints_it(databases):
    engine = create_engine(databases.fresh_url("postgresql"))
    with engine.connect() as connection:

        @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
        @given(document=DOCUMENTS)
        @example(document=[-0.0, 0, 1e16, 1e-7, 5e-324, 1.7976931348623157e308, 10**30])
        def written_alike(document: object) -> None:
            # What the app stores (json.dumps), as PostgreSQL's export writes it.
            printed = connection.scalar(
                sa.text("SELECT CAST(:document AS jsonb)::text"),
                {"document": json.dumps(document)},
            )
            assert tables.document_text(document) == printed

        written_alike()
    engine.dispose()


def test_awkward_values_export_as_the_same_bytes_from_both_backends_and_import_back(
    databases, tmp_path
):
    exports = {}
    for backend in ("sqlite", "postgresql"):
        container = container_on(databases.fresh_url(backend), tmp_path / backend)
        batch, contacts = (
            Base.metadata.tables["upload_batches"],
            Base.metadata.tables["contacts"],
        )
        with container.engine.begin() as connection:
            batch_id = uuid.UUID(int=1)
            connection.execute(
                sa.insert(batch).values(
                    id=batch_id, file_name="ä'b.csv", status="completed", created_at=START
                )
            )
            connection.execute(
                sa.insert(contacts),
                [
                    {
                        "id": uuid.UUID(int=n + 2),
                        "upload_batch_id": batch_id,
                        "raw_data": document,
                        "enriched_data": None if n % 2 else document,
                        # A name holding what line() looks for to put a document in its place.
                        "name": 'Zoë "Q" \\ O\'Neil\r\n\x1f "raw_data":0' if n % 2 else "Zoë Ölund",
                        "email": f"person{n}@example.com",
                        "created_at": START + timedelta(microseconds=n * 1000),
                    }
                    for n, document in enumerate(AWKWARD_DOCUMENTS)
                ],
            )
        exports[backend] = tmp_path / f"export-{backend}"
        # On PostgreSQL in blocks of two rows, read on several connections and put together.
        exporting.export(container.engine, exports[backend], START, block_rows=2)
        container.close()
    assert checksums(exports["sqlite"]) == checksums(exports["postgresql"])
    for backend in ("sqlite", "postgresql"):
        target = container_on(databases.fresh_url(backend), tmp_path / f"again-{backend}")
        restoring.restore(target.engine, exports["postgresql"], START)
        exporting.export(target.engine, tmp_path / f"again-{backend}-export", START)
        assert checksums(tmp_path / f"again-{backend}-export") == checksums(exports["sqlite"])
        target.close()


def test_an_export_taken_while_the_app_writes_is_one_point_in_time(databases, tmp_path):
    container = container_on(databases.fresh_url("postgresql"), tmp_path / "db")
    fill_every_table(container, tmp_path)
    contacts = Base.metadata.tables["contacts"]
    exported = threading.Event()

    def retitle_everyone(version: int) -> None:
        with container.engine.begin() as connection:
            connection.execute(sa.update(contacts).values(title=f"version {version}"))

    def keep_retitling() -> None:
        version = 1
        while not exported.is_set():
            version += 1
            retitle_everyone(version)

    retitle_everyone(1)  # every contact has the same title at any point in time from here
    writer = threading.Thread(target=keep_retitling)
    writer.start()
    try:
        # A block a row: every contact read by whichever connection is free, in its turn.
        exporting.export(container.engine, tmp_path / "export", START, block_rows=1)
    finally:
        exported.set()
        writer.join()
    lines = (tmp_path / "export" / "contacts.jsonl").read_text().splitlines()
    titles = {json.loads(line)["title"] for line in lines}
    assert len(lines) > 2
    assert len(titles) == 1
    container.close()
