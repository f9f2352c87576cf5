"""Backups on the seed's schedule: written compressed, verified, rotated, restorable."""

from __future__ import annotations

import fcntl
import tarfile
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.container import build_container
from outreach.errors import NotFound, ValidationFailed
from outreach.portability import backups, exporting
from outreach.portability.schedule import KINDS
from outreach.worker.jobs import take_backups
from outreach.worker.loop import run_until_stopped
from tests.app_settings import isolated_settings
from tests.plain_sql import contact, insert
from tests.sample_data import START, checksums, container_on, counts


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "backups"


def names(found) -> list[str]:
    return sorted(backup.path.name for backup in found)


def test_a_full_backup_is_a_verified_archive_of_every_table(filled, folder):
    backup = backups.take(filled.engine, folder, KINDS["full"], START)
    assert backup.path.name == "full-20260302T090000Z.tar.gz"
    assert tarfile.is_tarfile(backup.path)
    assert backup.verified is True
    assert backup.rows == counts(filled.engine)


def test_a_backup_restored_into_an_empty_database_holds_the_same_rows(
    filled, folder, databases, backend, tmp_path
):
    backup = backups.take(filled.engine, folder, KINDS["full"], START)
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    backups.restore(target.engine, backup.path, START)
    exporting.export(filled.engine, tmp_path / "before", START)
    exporting.export(target.engine, tmp_path / "after", START)
    assert checksums(tmp_path / "before") == checksums(tmp_path / "after")
    target.close()


def test_contacts_deleted_by_mistake_come_back_with_a_merge_restore(filled, folder):
    with filled.engine.begin() as connection:
        contact(connection, "katherine@nasa.example")
    backup = backups.take(filled.engine, folder, KINDS["contacts"], START)
    assert set(backup.rows) == {"contacts"}
    before = counts(filled.engine)
    with filled.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM contacts WHERE email = 'katherine@nasa.example'"))
    report = backups.restore(filled.engine, backup.path, START, merge=True)
    assert report.rows == {"contacts": before["contacts"]}
    assert counts(filled.engine) == before


def test_a_damaged_backup_fails_its_check_and_says_why(filled, folder):
    backup = backups.take(filled.engine, folder, KINDS["email_drafts"], START)
    backup.path.write_bytes(backup.path.read_bytes()[:-200])
    with pytest.raises(ValidationFailed, match=backup.path.name):
        backups.verify(backup.path)
    [listed] = backups.existing(folder)
    assert listed.verified is False
    assert listed.problem


@pytest.mark.parametrize("damage", ["cut short", "a row altered"])
def test_restoring_a_damaged_full_backup_refuses_it_keeps_nothing_and_marks_it(
    filled, folder, databases, backend, tmp_path, damage
):
    backup = backups.take(filled.engine, folder, KINDS["full"], START)
    if damage == "cut short":
        backup.path.write_bytes(backup.path.read_bytes()[:-200])
    else:  # damage only reading the files finds: the archive itself is whole
        inside = tmp_path / "inside"
        with tarfile.open(backup.path, "r:gz") as archive:
            archive.extractall(inside, filter="data")
        contacts = inside / "contacts.jsonl"
        contacts.write_text(contacts.read_text().replace("Ada", "Eve", 1))
        with tarfile.open(backup.path, "w:gz") as archive:
            for path in sorted(inside.iterdir()):
                archive.add(path, arcname=path.name)
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    with pytest.raises(ValidationFailed, match=f"The backup {backup.path.name} is damaged"):
        backups.restore(target.engine, backup.path, START)
    assert set(counts(target.engine).values()) == {0}
    [listed] = backups.existing(folder)
    assert listed.verified is False
    target.close()


def test_the_schedule_takes_what_is_due_and_deletes_what_is_past_its_retention(filled, folder):
    first = backups.run_schedule(filled.engine, folder, START)
    assert sorted(backup.kind for backup in first.taken) == [
        "contacts",
        "email_drafts",
        "full",
        "sent_emails",
    ]
    an_hour_later = backups.run_schedule(filled.engine, folder, START + timedelta(hours=1))
    assert sorted(backup.kind for backup in an_hour_later.taken) == ["contacts", "sent_emails"]
    assert backups.run_schedule(filled.engine, folder, START + timedelta(hours=1)).taken == []

    eight_days_later = backups.run_schedule(filled.engine, folder, START + timedelta(days=8))
    assert len(eight_days_later.taken) == 4
    assert sorted(path.name for path in eight_days_later.removed) == [
        "contacts-20260302T090000Z.tar.gz",
        "contacts-20260302T100000Z.tar.gz",
    ]
    assert not any(folder.glob("contacts-20260302T09*"))
    assert all(backup.verified for backup in backups.existing(folder))


def test_the_next_runs_follow_the_last_backups(filled, folder):
    backups.run_schedule(filled.engine, folder, START)
    plans = {plan.kind.name: plan for plan in backups.plans(folder, START + timedelta(minutes=5))}
    assert plans["contacts"].next_at == START + timedelta(hours=1)
    assert plans["email_drafts"].next_at == START + timedelta(hours=6)
    assert plans["full"].next_at == START + timedelta(days=1)


def test_while_one_worker_takes_backups_another_does_nothing(filled, folder):
    folder.mkdir()
    with open(folder / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        report = backups.run_schedule(filled.engine, folder, START)
    assert report.busy
    assert backups.existing(folder) == []


def test_the_worker_takes_backups_only_when_enabled(databases, backend, tmp_path):
    on = container_on(databases.fresh_url(backend), tmp_path / "on")
    assert take_backups(on).summary == "4 taken, 0 damaged, 0 deleted"
    assert len(backups.existing(on.settings.backup_dir)) == 4
    on.close()
    off = container_on(databases.fresh_url(backend), tmp_path / "off", OUTREACH_BACKUPS=False)
    assert take_backups(off).changed == 0
    assert backups.existing(off.settings.backup_dir) == []
    off.close()


def test_a_person_runs_lists_checks_and_restores_backups_from_the_cli(
    filled, databases, backend, tmp_path, monkeypatch
):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("DATABASE_URL", filled.engine.url.render_as_string(hide_password=False))

    def outreach(*arguments: str, status: int = 0) -> str:
        result = runner.invoke(app, list(arguments), catch_exceptions=False)
        assert result.exit_code == status, result.output
        return result.output

    assert outreach("backup", "run").count("Wrote and verified") == 4
    assert "Nothing was due." in outreach("backup", "run")
    listed = outreach("backup", "list")
    assert listed.count("good") == 4
    assert "sent_emails" in listed
    assert "every hour" in listed
    assert "30 days" in listed
    assert "0:00:00" not in listed
    [full] = (tmp_path / "cli" / "backups").glob("full-*.tar.gz")
    assert "good" in outreach("backup", "verify", full.name)

    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    restored = outreach("backup", "restore", full.name)
    assert f"from {full.name}, verified" in restored

    full.write_bytes(b"not a backup")
    assert "damaged" in outreach("backup", "verify", status=1)
    with pytest.raises(NotFound, match="no backup named"):
        outreach("backup", "verify", "../../etc/passwd")


def test_the_worker_s_passes_go_on_while_a_backup_is_in_flight(databases, tmp_path):
    """PostgreSQL only: there a lock held on a table that only backups read keeps the daily
    backup in flight for as long as the test needs."""
    url = databases.fresh_url("postgresql")
    worker = build_container(
        isolated_settings(
            tmp_path / "data", DATABASE_URL=url, OUTREACH_WORKER_INTERVAL_SECONDS=0.05
        )
    )
    stop = threading.Event()
    running = threading.Thread(target=run_until_stopped, args=(worker, stop))
    with worker.engine.connect() as holder, worker.engine.connect() as other:
        holder.execute(sa.text("LOCK TABLE column_mappings IN ACCESS EXCLUSIVE MODE"))
        running.start()
        try:
            until(lambda: waiting_for_column_mappings(other), "the daily backup to start")
            user = insert(
                other, "users", email="ada@analytical.example", role="admin", password_hash="x"
            )
            insert(other, "user_sessions", user_id=user, token_hash="x", expires_at=START)
            other.commit()
            until(lambda: sessions(other) == 0, "a pass to forget the expired sign-in")
            taken = {backup.kind for backup in backups.existing(worker.settings.backup_dir)}
            assert "full" not in taken
        finally:
            holder.rollback()  # the backup goes on
            stop.set()
            running.join()
    assert [
        backup.verified
        for backup in backups.existing(worker.settings.backup_dir)
        if backup.kind == "full"
    ] == [True]
    worker.close()


def until(condition, what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        threading.Event().wait(0.02)
    pytest.fail(f"waited 20 s for {what}")


def waiting_for_column_mappings(connection) -> bool:
    waiting = connection.scalar(
        sa.text(
            "SELECT count(*) FROM pg_locks "
            "WHERE NOT granted AND relation = 'column_mappings'::regclass"
        )
    )
    connection.rollback()
    return bool(waiting)


def sessions(connection) -> int:
    count = connection.scalar(sa.text("SELECT count(*) FROM user_sessions"))
    connection.rollback()
    return int(count or 0)


def live(engine, folder):
    """(rows, sha256) of every table as it is now."""
    exporting.export(engine, folder, START)
    return checksums(folder)


def restored(databases, backend, backup, where):
    target = container_on(databases.fresh_url(backend), where / "target")
    backups.restore(target.engine, backup.path, START)
    found = live(target.engine, where / "restored")
    target.close()
    return found


def test_hourly_incremental_backups_restore_each_hour_exactly_deletions_included(
    filled, folder, databases, backend, tmp_path
):
    with filled.engine.begin() as connection:
        kept = contact(connection, "kept@hourly.example")
        gone = contact(connection, "gone@hourly.example")
    full = backups.take(filled.engine, folder, KINDS["full"], START)
    with filled.engine.begin() as connection:
        batch = insert(connection, "upload_batches", file_name="after-the-base.csv")
        insert(
            connection, "contacts", upload_batch_id=batch, raw_data="{}", email="new@hourly.example"
        )
        connection.execute(sa.text("UPDATE contacts SET name = 'Ada' WHERE id = :i"), {"i": kept})
        connection.execute(sa.text("DELETE FROM contacts WHERE id = :i"), {"i": gone})
    first = backups.take(filled.engine, folder, KINDS["contacts"], START + timedelta(hours=1))
    at_first = live(filled.engine, tmp_path / "live-1")
    with filled.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM contacts WHERE id = :i"), {"i": kept})
        contact(connection, "later@hourly.example")
    second = backups.take(filled.engine, folder, KINDS["contacts"], START + timedelta(hours=2))
    at_second = live(filled.engine, tmp_path / "live-2")

    assert (first.base, first.after) == (full.path.name, full.path.name)
    assert (second.base, second.after) == (full.path.name, first.path.name)
    assert {table: rows for table, rows in first.rows.items() if rows} == {
        "upload_batches": 2,  # the new contact's batch, and the updated one's
        "contacts": 2,
    }
    assert first.deleted == {"contacts": 1}
    assert restored(databases, backend, first, tmp_path / "one") == at_first
    assert restored(databases, backend, second, tmp_path / "two") == at_second


def test_a_damaged_incremental_backup_fails_its_check_and_keeps_its_place(filled, folder):
    full = backups.take(filled.engine, folder, KINDS["full"], START)
    with filled.engine.begin() as connection:
        contact(connection, "kept@hourly.example")
    hourly = backups.take(filled.engine, folder, KINDS["contacts"], START + timedelta(hours=1))
    assert hourly.verified is True
    hourly.path.write_bytes(hourly.path.read_bytes()[:-100])
    with pytest.raises(ValidationFailed, match=hourly.path.name):
        backups.verify(hourly.path)
    listed = backups.named(folder, hourly.path.name)
    assert (listed.verified, listed.base) == (False, full.path.name)


def two_hours(filled, folder) -> list[backups.Backup]:
    """Two hourly contacts backups on the full one, a new contact in each hour."""
    links = []
    for hour in (1, 2):
        with filled.engine.begin() as connection:
            contact(connection, f"person{hour}@hourly.example")
        links.append(
            backups.take(filled.engine, folder, KINDS["contacts"], START + timedelta(hours=hour))
        )
    return links


def test_restoring_an_hour_whose_earlier_link_is_missing_refuses_and_names_it(
    filled, folder, databases, backend, tmp_path
):
    backups.take(filled.engine, folder, KINDS["full"], START)
    links = two_hours(filled, folder)
    links[0].path.unlink()
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    with pytest.raises(ValidationFailed, match=f"builds on {links[0].path.name}, which is not"):
        backups.restore(target.engine, links[1].path, START)
    assert counts(target.engine)["contacts"] == 0
    target.close()


@pytest.mark.parametrize("damaged", ["the full backup", "the hour before"])
def test_restoring_an_hour_whose_earlier_link_is_damaged_refuses_and_marks_that_link(
    filled, folder, databases, backend, tmp_path, damaged
):
    full = backups.take(filled.engine, folder, KINDS["full"], START)
    links = two_hours(filled, folder)
    broken = full if damaged == "the full backup" else links[0]
    broken.path.write_bytes(broken.path.read_bytes()[:-200])
    target = container_on(databases.fresh_url(backend), tmp_path / "target")
    with pytest.raises(
        ValidationFailed,
        match=f"{links[1].path.name} cannot be restored: a link before it is damaged. "
        f"The backup {broken.path.name} is damaged",
    ):
        backups.restore(target.engine, links[1].path, START)
    assert set(counts(target.engine).values()) == {0}
    assert backups.named(folder, broken.path.name).verified is False
    assert backups.named(folder, links[1].path.name).verified is True
    target.close()


def test_the_worker_s_backup_thread_takes_incrementals_on_the_hour(databases, backend, tmp_path):
    worker = container_on(
        databases.fresh_url(backend), tmp_path / "worker", OUTREACH_WORKER_INTERVAL_SECONDS=3600
    )
    stop = threading.Event()

    def an_hour_passes(seconds: float) -> None:
        with worker.engine.begin() as connection:
            contact(connection, f"hour{len(waits)}@hourly.example")
        waits.append(seconds)
        worker.clock.advance(timedelta(seconds=seconds))  # type: ignore[attr-defined]
        if len(waits) == 3:
            stop.set()

    waits: list[float] = []
    run_until_stopped(worker, stop, wait=lambda seconds: stop.wait(), wait_apart=an_hour_passes)
    taken = sorted(
        (backup.taken_at - START, backup.kind, backup.base, sum(backup.rows.values()))
        for backup in backups.existing(worker.settings.backup_dir)
    )
    hourly = [(at, rows) for at, kind, base, rows in taken if kind == "contacts"]
    assert hourly == [(timedelta(hours=hour), 0 if hour == 0 else 2) for hour in range(3)]
    assert {base for _, kind, base, _ in taken if kind == "contacts"} == {
        "full-20260302T090000Z.tar.gz"
    }
    with worker.engine.connect() as connection:  # only the contact added after the last run
        assert connection.scalar(sa.text("SELECT count(*) FROM backup_changes")) == 1
    worker.close()
