"""The app, the worker and the CLI refuse a database whose schema is not this code's."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from outreach.cli.main import app as cli
from outreach.db import create_engine
from outreach.errors import DatabaseNotReady
from outreach.schema import HEAD as KNOWN_HEAD
from outreach.schema import alembic_config, ensure_current, schema_state, upgrade
from tests.outreach_process import run_outreach
from tests.plain_sql import contact, insert, one, sender

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture
def empty_engine(backend, databases):
    engine = create_engine(databases.empty_url(backend))
    yield engine
    engine.dispose()


def upgrade_to(engine: sa.Engine, revision: str) -> None:
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_the_head_revision_the_code_knows_without_alembic_is_alembic_s_head():
    # Add a migration, then set outreach.schema.HEAD to its revision.
    assert KNOWN_HEAD == HEAD


def test_an_empty_database_is_refused_with_the_command_that_fixes_it(empty_engine):
    with pytest.raises(
        DatabaseNotReady, match=r"no outreach schema yet\. Run `outreach db upgrade`"
    ):
        ensure_current(empty_engine)


def test_an_outdated_database_is_refused_with_the_command_that_fixes_it(empty_engine):
    upgrade_to(empty_engine, "0001")
    with pytest.raises(
        DatabaseNotReady, match=rf"at revision 0001; .* needs {HEAD}\. Run `outreach db upgrade`"
    ):
        ensure_current(empty_engine)


def test_a_database_migrated_by_a_newer_outreach_is_refused(empty_engine):
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DatabaseNotReady, match=r"newer outreach\. Upgrade outreach"):
        ensure_current(empty_engine)


def test_upgrading_twice_is_harmless(empty_engine):
    first = upgrade(empty_engine)
    assert upgrade(empty_engine) == first
    assert first.is_current


def test_upgrading_to_0011_fills_replied_contacts_from_the_replies_already_there(empty_engine):
    upgrade_to(empty_engine, "0010")
    with empty_engine.begin() as connection:
        person = contact(connection)
        for _ in range(2):
            insert(connection, "email_replies", contact_id=person)
    upgrade_to(empty_engine, "0011")
    with empty_engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT contact_id FROM replied_contacts")).all()
    assert [str(row.contact_id) for row in rows] == [person]


def test_upgrading_to_0014_puts_the_messages_already_there_into_read_conversations(empty_engine):
    upgrade_to(empty_engine, "0013")
    with empty_engine.begin() as connection:
        person, mailbox = contact(connection), sender(connection)
        for n, received in enumerate(("2026-03-02 10:00:00.000000", "2026-03-03 11:00:00.000000")):
            insert(
                connection,
                "inbox_messages",
                sender_account_id=mailbox,
                provider_id=f"1:{n}",
                kind="human_reply",
                reason="a reply",
                received_at=received,
                contact_id=person,
                matched_by="in_reply_to",
            )
    upgrade_to(empty_engine, "0014")
    with empty_engine.connect() as connection:
        found = one(connection, "SELECT * FROM conversations")
        linked = connection.execute(sa.text("SELECT conversation_id FROM inbox_messages")).all()
    assert (str(found.contact_id), str(found.sender_account_id)) == (person, mailbox)
    assert str(found.last_message_at).startswith("2026-03-03 11:00:00")
    assert (found.unread, found.needs_answer) == (False, False)
    assert [str(row.conversation_id) for row in linked] == [str(found.id)] * 2


def test_upgrading_to_0016_gives_each_contact_the_lead_status_of_what_already_happened(
    empty_engine,
):
    upgrade_to(empty_engine, "0014")
    with empty_engine.begin() as connection:
        _, sent, replied, bounced = (
            contact(connection, f"{name}@example.com")
            for name in ("new", "sent", "replied", "Bounced")
        )
        mailbox = sender(connection)
        for person in (sent, replied, bounced):
            insert(
                connection,
                "sent_emails",
                contact_id=person,
                sender_account_id=mailbox,
                draft_type="first_outreach",
                subject="Hello",
                body="Hi",
                recipient_email="x@example.com",
            )
        insert(connection, "email_replies", contact_id=replied)
        insert(connection, "suppressions", email="bounced@example.com", reason="bounced")
    upgrade_to(empty_engine, "0016")
    with empty_engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT email, lead_status FROM contacts")).all()
    assert dict(rows) == {
        "new@example.com": "new",
        "sent@example.com": "contacted",
        "replied@example.com": "replied",
        "Bounced@example.com": "bounced",
    }


def test_an_unreachable_database_says_so(tmp_path):
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(DatabaseNotReady, match="unreachable"):
        schema_state(engine)


@pytest.mark.parametrize(
    "command",
    [
        ["worker", "--once"],
        ["serve"],
        ["users", "list"],
        ["users", "create-admin", "--email", "ada@example.com", "--password", "a long password"],
        ["contacts", "import", "people.csv"],
        ["db", "export", "export"],
    ],
)
def test_every_command_on_an_unmigrated_database_says_to_upgrade_it_in_one_line(
    backend, databases, tmp_path, command
):
    (tmp_path / "people.csv").write_text("email\nada@example.com\n")
    result = run_outreach(*command, database_url=databases.empty_url(backend), data_dir=tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "The database has no outreach schema yet. Run `outreach db upgrade`."
    )


def test_db_upgrade_then_current_reports_up_to_date(backend, databases, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", databases.empty_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    upgraded = CliRunner().invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"Upgraded from an empty database to {HEAD}" in upgraded.output
    current = CliRunner().invoke(cli, ["db", "current"])
    assert current.exit_code == 0
    assert "up to date" in current.output


def test_upgrading_keeps_the_rows_already_there(empty_engine):
    upgrade_to(empty_engine, "0002")
    with empty_engine.begin() as connection:
        batch = insert(connection, "upload_batches", file_name="old.csv")
        person = insert(
            connection, "contacts", upload_batch_id=batch, raw_data="{}", email="old@example.com"
        )
        insert(connection, "campaigns", name="Old")
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        row = one(
            connection,
            "SELECT upload_batch_id, role_address FROM contacts WHERE email = 'old@example.com'",
        )
        assert (str(row.upload_batch_id), bool(row.role_address)) == (batch, False)
        assert (
            one(
                connection, "SELECT on_duplicate FROM upload_batches WHERE file_name = 'old.csv'"
            ).on_duplicate
            == "skip"
        )
        assert one(connection, "SELECT count(*) AS n FROM campaign_settings").n == 1
    assert person


def test_upgrading_to_0022_counts_the_campaign_emails_already_there(empty_engine):
    upgrade_to(empty_engine, "0021")
    with empty_engine.begin() as connection:
        person, mailbox = contact(connection), sender(connection)
        campaign = insert(connection, "campaigns", name="Spring")
        for step in (1, 2):
            insert(
                connection,
                "sent_emails",
                contact_id=person,
                sender_account_id=mailbox,
                campaign_id=campaign,
                draft_type="first_outreach",
                subject="Hello",
                body="Hi",
                recipient_email="jane@example.com",
                sequence_step=step,
                sent_at="2026-03-02 10:00:00.000000",
            )
    upgrade_to(empty_engine, "0022")
    with empty_engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT sequence_step, provider, sent FROM analytics_rollups ORDER BY 1")
        ).all()
    assert [tuple(row) for row in rows] == [(1, "unknown", 1), (2, "unknown", 1)]


def test_upgrading_to_0035_counts_the_approvals_no_person_gave_already_there(empty_engine):
    upgrade_to(empty_engine, "0034")
    monday, tuesday = "2026-03-02 10:00:00.000000", "2026-03-03 11:00:00.000000"
    with empty_engine.begin() as connection:
        person, mailbox = contact(connection), sender(connection)
        campaign = insert(connection, "campaigns", name="Spring")

        def draft(approved_at: str | None) -> str:
            return insert(
                connection,
                "email_drafts",
                contact_id=person,
                draft_type="first_outreach",
                subject="Hello",
                body="Hi",
                created_at=monday,
                approved_at=approved_at,
            )

        def queued(draft_id: str, campaign_id: str | None) -> None:
            insert(
                connection,
                "deliveries",
                campaign_id=campaign_id,
                contact_id=person,
                draft_id=draft_id,
                sender_account_id=mailbox,
                message_id=f"<{draft_id}@example.com>",
                next_attempt_at=tuesday,
                created_at=tuesday,
            )

        queued(draft(approved_at=monday), campaign)  # written from its template
        queued(draft(approved_at=None), campaign)  # written by AI, sent without approval
        queued(draft(approved_at=tuesday), campaign)  # a person approved it
        queued(draft(approved_at=None), None)  # a one-off email: not a campaign step
    upgrade_to(empty_engine, "0035")
    with empty_engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT day, written_approved, sent_unreviewed FROM implicit_approvals")
        ).all()
    assert sorted((str(row[0]), row[1], row[2]) for row in rows) == [
        ("2026-03-02", 1, 0),
        ("2026-03-03", 0, 1),
    ]


def test_upgrading_to_0036_tallies_the_jobs_already_there(empty_engine):
    upgrade_to(empty_engine, "0035")
    with empty_engine.begin() as connection:
        person = contact(connection)
        other = contact(connection, "joe@example.com")
        draft = insert(
            connection,
            "email_drafts",
            contact_id=person,
            draft_type="first_outreach",
            subject="Hello",
            body="Hi",
        )
        postgresql = connection.dialect.name == "postgresql"
        types = "{first_outreach}" if postgresql else '["first_outreach"]'
        batch = insert(
            connection, "draft_batches", label="Spring", source="list", draft_types=types
        )
        job = {"batch_id": batch, "draft_type": "first_outreach"}
        insert(
            connection,
            "draft_jobs",
            **job,
            contact_id=person,
            status="written",
            draft_id=draft,
            model="claude-sonnet-5-5",
            input_tokens=100,
            output_tokens=20,
            cost_micros=450,
        )
        insert(connection, "draft_jobs", **job, contact_id=other, status="queued")
    upgrade_to(empty_engine, "0036")
    with empty_engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT status, model, jobs, drafts, input_tokens, output_tokens, cost_micros,"
                " priced, unpriced FROM draft_batch_tallies ORDER BY status"
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("queued", "", 1, 0, 0, 0, 0, 0, 0),
        ("written", "claude-sonnet-5-5", 1, 1, 100, 20, 450, 1, 0),
    ]
