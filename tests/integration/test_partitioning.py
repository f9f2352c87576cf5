"""sent_emails partitioned by month on PostgreSQL: rows moved unchanged, nothing counted twice,
the old foreign keys' behaviour kept, partitions kept ahead, Alembic content, SQLite refused.

Each test gets its own database: partitioning commits DDL, so the rolled-back connection of the
other tests cannot hold it. The campaign, sending and analytics tests also run against a
partitioned sent_emails (tests.databases.ALSO_PARTITIONED)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.clock import FixedClock
from outreach.container import Container
from outreach.db import create_engine, session_factory
from outreach.errors import ValidationFailed
from outreach.portability import exporting, partitioning, restoring
from outreach.portability.partitioning import (
    ensure_partitions,
    is_partitioned,
    months_from,
    partition_name,
    partition_sent_emails,
)
from outreach.schema import alembic_config
from outreach.worker.jobs import partition_ahead
from tests.app_settings import isolated_settings
from tests.databases import PARTITIONED, Databases
from tests.plain_sql import contact, insert, sender
from tests.sample_data import START, fill_every_table

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
SENT_AT = (
    "2025-11-03 10:00:00+00",
    "2026-01-31 23:59:59.999999+00",
    "2026-02-01 00:00:00+00",
    "2026-11-20 08:00:00+00",
)
"""Months with sends, two of them either side of a month's first instant."""


@pytest.fixture
def engine(databases: Databases):
    engine = create_engine(databases.fresh_url("postgresql"))
    yield engine
    engine.dispose()


def send(connection: sa.Connection, sent_at: str, **values: str) -> str:
    person = values.pop("contact_id", None) or contact(
        connection, f"{uuid.uuid4().hex}@example.com"
    )
    return insert(
        connection,
        "sent_emails",
        contact_id=person,
        sender_account_id=values.pop("sender_account_id", None) or sender(connection),
        draft_type="second_followup",
        subject="Hello",
        body="Hi",
        recipient_email="jane@example.com",
        sent_at=sent_at,
        **values,
    )


def delivery_for(connection: sa.Connection, sent_email_id: str) -> str:
    """A sent delivery recording which sent email it became."""
    person = contact(connection, f"{uuid.uuid4().hex}@example.com")
    draft = insert(
        connection,
        "email_drafts",
        contact_id=person,
        draft_type="first_outreach",
        subject="Hello",
        body="Hi",
    )
    return insert(
        connection,
        "deliveries",
        contact_id=person,
        draft_id=draft,
        sender_account_id=sender(connection),
        message_id=f"<{uuid.uuid4()}@ourco.example>",
        status="sent",
        next_attempt_at="2026-11-20 08:00:00+00",
        sent_email_id=sent_email_id,
    )


def reply_to(connection: sa.Connection, sent_email_id: str) -> str:
    person = contact(connection, f"{uuid.uuid4().hex}@example.com")
    return insert(connection, "email_replies", contact_id=person, sent_email_id=sent_email_id)


def every_row(engine: sa.Engine, table: str) -> list[sa.Row[object]]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")))


def partition_of(engine: sa.Engine, sent_email_id: str) -> str:
    with engine.connect() as connection:
        return str(
            connection.scalar(
                sa.text("SELECT tableoid::regclass::text FROM sent_emails WHERE id = :id"),
                {"id": sent_email_id},
            )
        )


def link_of(engine: sa.Engine, table: str, row_id: str) -> str | None:
    """The sent email a reply or a delivery points to."""
    with engine.connect() as connection:
        found = connection.scalar(
            sa.text(f"SELECT sent_email_id FROM {table} WHERE id = :id"), {"id": row_id}
        )
    return None if found is None else str(found)


def emails_sent_on(engine: sa.Engine, day: str) -> int | None:
    with engine.connect() as connection:
        return connection.scalar(
            sa.text("SELECT total_emails_sent FROM email_analytics WHERE date = :day"),
            {"day": day},
        )


@pytest.fixture
def sent(engine):
    """One sent email per SENT_AT, by id."""
    with engine.begin() as connection:
        return {at: send(connection, at) for at in SENT_AT}


@pytest.fixture(params=["plain", "partitioned"])
def either_shape(request, engine, sent):
    """The same rows, with sent_emails as the migrations made it or partitioned: what the
    foreign keys did on the first, their triggers must do on the second."""
    if request.param == "partitioned":
        partition_sent_emails(engine, NOW)
    return engine


def test_every_row_moves_unchanged_and_nothing_is_counted_again(engine, tmp_path):
    container = Container(
        settings=isolated_settings(tmp_path / "data"),
        engine=engine,
        sessions=session_factory(engine),
        clock=FixedClock(START),
    )
    fill_every_table(container, tmp_path)
    with engine.begin() as connection:
        for at in SENT_AT:
            reply_to(connection, send(connection, at))
    tables = ("sent_emails", "email_analytics", "email_replies", "deliveries")
    before = {table: every_row(engine, table) for table in tables}

    report = partition_sent_emails(engine, NOW)

    assert report.rows_moved == len(before["sent_emails"]) > len(SENT_AT)
    assert {table: every_row(engine, table) for table in tables} == before
    with engine.connect() as connection:
        in_default = connection.scalar(sa.text("SELECT count(*) FROM sent_emails_default"))
    assert in_default == 0


def test_an_export_imports_and_merges_into_a_partitioned_database_unchanged(
    engine, databases, tmp_path
):
    source = create_engine(databases.fresh_url("postgresql"))
    fill_every_table(
        Container(
            settings=isolated_settings(tmp_path / "data"),
            engine=source,
            sessions=session_factory(source),
            clock=FixedClock(START),
        ),
        tmp_path,
    )
    written = exporting.export(source, tmp_path / "export", START)
    partition_sent_emails(engine, NOW)

    restoring.restore(engine, tmp_path / "export", START)

    assert exporting.export(engine, tmp_path / "again", START).tables == written.tables
    assert every_row(engine, "email_analytics") == every_row(source, "email_analytics")

    restoring.restore(engine, tmp_path / "export", START, merge=True)
    assert exporting.export(engine, tmp_path / "merged", START).tables == written.tables
    source.dispose()


def test_each_month_with_sends_and_the_months_ahead_get_a_partition(engine, sent):
    report = partition_sent_emails(engine, NOW, months_ahead=2)
    assert report.partitions_created == (
        "sent_emails_2025_11",
        "sent_emails_2026_01",
        "sent_emails_2026_02",
        "sent_emails_2026_11",
        "sent_emails_2026_12",
        "sent_emails_2027_01",
        "sent_emails_default",
    )
    assert [partition_of(engine, sent[at]) for at in SENT_AT] == [
        "sent_emails_2025_11",
        "sent_emails_2026_01",
        "sent_emails_2026_02",
        "sent_emails_2026_11",
    ]
    assert is_partitioned(engine)


def test_the_schema_keeps_its_names_and_its_new_key(engine, sent):
    partition_sent_emails(engine, NOW)
    inspector = sa.inspect(engine)
    assert {index["name"] for index in inspector.get_indexes("sent_emails")} == {
        "idx_sent_emails_contact",
        "idx_sent_emails_campaign",
        "idx_sent_emails_sent_at",
        "ix_sent_emails_message_id",
    }
    key = inspector.get_pk_constraint("sent_emails")
    assert (key["name"], key["constrained_columns"]) == ("pk_sent_emails", ["id", "sent_at"])
    assert {key["name"] for key in inspector.get_foreign_keys("sent_emails")} == {
        "fk_sent_emails_draft_id_email_drafts",
        "fk_sent_emails_contact_id_contacts",
        "fk_sent_emails_sender_account_id_sender_accounts",
        "fk_sent_emails_campaign_id_campaigns",
    }
    with engine.connect() as connection:
        triggers = set(
            connection.scalars(
                sa.text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'sent_emails'::regclass"
                    " AND NOT tgisinternal"
                )
            )
        )
    assert triggers == {
        "update_email_analytics_trigger",
        "update_rollups_sent_emails_inserted",
        "uq_sent_emails_id",
        "sent_emails_keep_month",
        "sent_emails_truncate_guard",
        "fk_email_replies_sent_email_id_sent_emails",
        "fk_deliveries_sent_email_id_sent_emails",
        "backup_changes_sent_emails_insert",  # hourly backups' change log (migration 0029)
        "backup_changes_sent_emails_update",
        "backup_changes_sent_emails_delete",
    }


def test_a_new_send_lands_in_its_months_partition_and_counts_once(engine, sent):
    partition_sent_emails(engine, NOW)
    before = emails_sent_on(engine, "2026-11-24")
    with engine.begin() as connection:
        this_month = send(connection, "2026-11-24 17:00:00+00")
        far_ahead = send(connection, "2030-05-01 09:00:00+00")
    assert partition_of(engine, this_month) == "sent_emails_2026_11"
    assert partition_of(engine, far_ahead) == "sent_emails_default"
    assert emails_sent_on(engine, "2026-11-24") == (before or 0) + 1
    assert emails_sent_on(engine, "2030-05-01") == 1
    with engine.connect() as connection:  # and the hourly backup will copy both
        logged = connection.scalars(
            sa.text("SELECT row_id::text FROM backup_changes WHERE table_name = 'sent_emails'")
        )
        assert {str(this_month), str(far_ahead)} <= set(logged)


def test_a_sent_email_with_a_reply_cannot_be_deleted(either_shape, sent):
    with either_shape.begin() as connection:
        reply_to(connection, sent[SENT_AT[0]])
    with (
        pytest.raises(sa.exc.IntegrityError, match="fk_email_replies_sent_email_id_sent_emails"),
        either_shape.begin() as connection,
    ):
        connection.execute(
            sa.text("DELETE FROM sent_emails WHERE id = :id"), {"id": sent[SENT_AT[0]]}
        )


def test_deleting_a_sent_email_unlinks_its_delivery(either_shape, sent):
    with either_shape.begin() as connection:
        delivery = delivery_for(connection, sent[SENT_AT[1]])
        connection.execute(
            sa.text("DELETE FROM sent_emails WHERE id = :id"), {"id": sent[SENT_AT[1]]}
        )
    assert link_of(either_shape, "deliveries", delivery) is None


@pytest.mark.parametrize("table", ["email_replies", "deliveries"])
def test_a_link_to_a_sent_email_that_does_not_exist_is_refused(either_shape, sent, table):
    with either_shape.begin() as connection:
        row = (reply_to if table == "email_replies" else delivery_for)(connection, sent[SENT_AT[2]])
    missing = str(uuid.uuid4())
    with (
        pytest.raises(sa.exc.IntegrityError, match=f"fk_{table}_sent_email_id_sent_emails"),
        either_shape.begin() as connection,
    ):
        connection.execute(
            sa.text(f"UPDATE {table} SET sent_email_id = :missing WHERE id = :id"),
            {"missing": missing, "id": row},
        )
    with pytest.raises(sa.exc.IntegrityError), either_shape.begin() as connection:
        reply_to(connection, missing)


def test_sent_emails_cannot_be_truncated_while_replies_point_into_it(either_shape, sent):
    with either_shape.begin() as connection:
        reply_to(connection, sent[SENT_AT[0]])
    with pytest.raises(sa.exc.DBAPIError, match="truncate"), either_shape.begin() as connection:
        connection.execute(sa.text("TRUNCATE sent_emails"))


def test_an_id_cannot_be_used_twice_even_in_another_month(either_shape, sent):
    with pytest.raises(sa.exc.IntegrityError, match="unique"), either_shape.begin() as connection:
        send(connection, "2026-11-21 08:00:00+00", id=sent[SENT_AT[0]])


def test_sent_at_moves_within_its_month_only(engine, sent):
    partition_sent_emails(engine, NOW)
    moved = sent[SENT_AT[3]]
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE sent_emails SET sent_at = '2026-11-21 08:00+00' WHERE id = :id"),
            {"id": moved},
        )
    with (
        pytest.raises(sa.exc.IntegrityError, match="cannot move to another month"),
        engine.begin() as connection,
    ):
        connection.execute(
            sa.text("UPDATE sent_emails SET sent_at = '2026-12-01 08:00+00' WHERE id = :id"),
            {"id": moved},
        )


def test_running_twice_only_adds_the_months_now_ahead(engine, sent):
    partition_sent_emails(engine, NOW)
    rows = every_row(engine, "sent_emails")
    again = partition_sent_emails(engine, NOW)
    assert again == partitioning.PartitionReport(True, 0, ())
    later = partition_sent_emails(engine, datetime(2027, 3, 5, tzinfo=UTC))
    assert later.partitions_created == (
        "sent_emails_2027_03",
        "sent_emails_2027_04",
        "sent_emails_2027_05",
        "sent_emails_2027_06",
    )
    assert every_row(engine, "sent_emails") == rows


def test_rows_waiting_in_the_default_partition_move_into_their_new_month(engine, sent):
    partition_sent_emails(engine, NOW)
    with engine.begin() as connection:
        early = send(connection, "2027-04-15 09:00:00+00")
        reply = reply_to(connection, early)
        delivery = delivery_for(connection, early)
    assert partition_of(engine, early) == "sent_emails_default"
    counted = every_row(engine, "email_analytics")

    report = ensure_partitions(engine, datetime(2027, 2, 10, tzinfo=UTC))

    assert report.partitions_created == (
        "sent_emails_2027_03",
        "sent_emails_2027_04",
        "sent_emails_2027_05",
    )
    assert report.rows_moved == 1
    assert partition_of(engine, early) == "sent_emails_2027_04"
    assert every_row(engine, "email_analytics") == counted
    assert (
        link_of(engine, "email_replies", reply) == link_of(engine, "deliveries", delivery) == early
    )
    with engine.connect() as connection:
        triggers = sa.text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal"
        )
        on_default = set(connection.scalars(triggers, {"t": "sent_emails_default"}))
        on_a_month = set(connection.scalars(triggers, {"t": "sent_emails_2027_04"}))
    assert on_default == on_a_month != set()


def test_the_worker_keeps_the_months_ahead_partitioned(engine, databases, tmp_path):
    def job_at(engine: sa.Engine, now: datetime):
        container = Container(
            settings=isolated_settings(tmp_path / "data"),
            engine=engine,
            sessions=session_factory(engine),
            clock=FixedClock(now),
        )
        return partition_ahead(container)

    assert job_at(engine, NOW).changed == 0
    partition_sent_emails(engine, NOW)
    report = job_at(engine, datetime(2027, 1, 2, tzinfo=UTC))
    assert report.changed == 2
    assert report.lines == ("created sent_emails_2027_03", "created sent_emails_2027_04")
    assert job_at(engine, datetime(2027, 1, 2, tzinfo=UTC)).changed == 0
    sqlite = create_engine(databases.fresh_url("sqlite"))
    assert job_at(sqlite, NOW).changed == 0
    sqlite.dispose()


def test_alembic_finds_nothing_to_change_on_a_partitioned_database(engine, sent):
    partition_sent_emails(engine, NOW)
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.check(config)


def test_sqlite_is_refused_with_the_reason(databases):
    sqlite = create_engine(databases.fresh_url("sqlite"))
    for operation in (partition_sent_emails, ensure_partitions):
        with pytest.raises(ValidationFailed, match="partitioning needs PostgreSQL; SQLite"):
            operation(sqlite, NOW)
    assert not is_partitioned(sqlite)
    sqlite.dispose()


def test_the_command_partitions_then_says_it_already_has(engine, sent, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    first = runner.invoke(app, ["db", "partition", "sent-emails", "--months-ahead", "1"])
    assert first.exit_code == 0, first.output
    assert "Partitioned sent_emails by month: moved 4 rows." in first.output
    ahead = [partition_name(month) for month in months_from(datetime.now(UTC), 1)]
    for name in ["sent_emails_2025_11", *ahead, "sent_emails_default"]:
        assert name in first.output
    second = runner.invoke(app, ["db", "partition", "sent-emails"])
    assert second.exit_code == 0, second.output
    assert "sent_emails is already partitioned by month." in second.output


def test_the_partitioned_test_backend_is_partitioned(databases):
    assert is_partitioned(databases.shared_engine(PARTITIONED))


def test_a_failure_half_way_leaves_the_table_as_it_was(engine, sent):
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE VIEW sends_per_day AS SELECT sent_at::date, count(*) FROM sent_emails GROUP BY 1"
            )
        )
    foreign_keys = sa.inspect(engine).get_foreign_keys("email_replies")
    with pytest.raises(
        sa.exc.InternalError, match="view sends_per_day depends on table sent_emails"
    ):
        partition_sent_emails(engine, NOW)
    assert not is_partitioned(engine)
    assert len(every_row(engine, "sent_emails")) == len(SENT_AT)
    assert sa.inspect(engine).get_foreign_keys("email_replies") == foreign_keys
    assert not [name for name in sa.inspect(engine).get_table_names() if "sent_emails_" in name]


def test_a_unique_index_without_sent_at_is_refused_untouched(engine, sent):
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE UNIQUE INDEX uq_message ON sent_emails (message_id)"))
    with pytest.raises(ValidationFailed, match="uq_message"):
        partition_sent_emails(engine, NOW)
    assert not is_partitioned(engine)


def test_ensuring_partitions_of_an_unpartitioned_table_says_what_to_run(engine):
    with pytest.raises(ValidationFailed, match="outreach db partition sent-emails"):
        ensure_partitions(engine, NOW)
