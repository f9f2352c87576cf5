"""The seed's backup schedule: what is due when, and what is deleted when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.portability.schedule import KINDS, SCHEDULE, due, expired, next_run

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def names(kinds) -> set[str]:
    return {kind.name for kind in kinds}


def test_every_kind_is_due_on_the_first_run():
    assert names(due({}, MONDAY)) == {"full", "contacts", "sent_emails", "email_drafts"}


def test_an_hour_later_only_the_hourly_kinds_are_due():
    taken = {kind.name: MONDAY for kind in SCHEDULE}
    assert names(due(taken, MONDAY + timedelta(hours=1))) == {"contacts", "sent_emails"}
    assert names(due(taken, MONDAY + timedelta(minutes=59))) == set()


def test_drafts_every_six_hours_and_the_full_database_daily():
    taken = {kind.name: MONDAY for kind in SCHEDULE}
    assert "email_drafts" in names(due(taken, MONDAY + timedelta(hours=6)))
    assert "full" not in names(due(taken, MONDAY + timedelta(hours=23)))
    assert "full" in names(due(taken, MONDAY + timedelta(days=1)))


def test_the_next_run_is_now_when_never_run_or_late():
    full = KINDS["full"]
    assert next_run(full, None, MONDAY) == MONDAY
    assert next_run(full, MONDAY - timedelta(days=3), MONDAY) == MONDAY
    assert next_run(full, MONDAY, MONDAY) == MONDAY + timedelta(days=1)


def test_backups_past_their_retention_expire_by_kind():
    backups = [
        ("contacts", MONDAY - timedelta(days=8)),
        ("contacts", MONDAY - timedelta(days=6)),
        ("full", MONDAY - timedelta(days=8)),
        ("full", MONDAY - timedelta(days=31)),
    ]
    assert expired(backups, MONDAY) == [
        ("contacts", MONDAY - timedelta(days=8)),
        ("full", MONDAY - timedelta(days=31)),
    ]


def test_the_newest_backup_of_a_kind_is_never_deleted_however_old():
    backups = [("full", MONDAY - timedelta(days=90)), ("full", MONDAY - timedelta(days=120))]
    assert expired(backups, MONDAY) == [("full", MONDAY - timedelta(days=120))]


def test_files_of_an_unknown_kind_are_left_alone():
    assert expired([("weekly", MONDAY - timedelta(days=400))], MONDAY) == []


@settings(max_examples=15, deadline=None)
@given(
    pass_minutes=st.integers(min_value=20, max_value=180),
    stopped=st.tuples(st.integers(0, 40 * 24), st.integers(0, 20 * 24)),
)
def test_a_worker_running_the_schedule_keeps_each_kind_within_its_retention(pass_minutes, stopped):
    """Simulates 40 days of worker passes (with one outage of any length): each kind always has
    a backup once it first ran, never more than its retention holds, and none is late by more
    than one pass except during the outage."""
    kept: list[tuple[str, datetime]] = []
    latest: dict[str, datetime] = {}
    outage_from = MONDAY + timedelta(hours=stopped[0])
    outage_to = outage_from + timedelta(hours=stopped[1])
    now = MONDAY
    while now < MONDAY + timedelta(days=40):
        if not outage_from <= now < outage_to:
            for kind in due(latest, now):
                kept.append((kind.name, now))
                latest[kind.name] = now
            gone = set(expired(kept, now))
            kept = [backup for backup in kept if backup not in gone]
            for kind in SCHEDULE:
                times = [at for name, at in kept if name == kind.name]
                assert times, kind.name
                slack = kind.every + timedelta(minutes=pass_minutes)
                window = kind.keep + slack
                assert len(times) <= window / kind.every + 1
                if now - outage_to > slack:
                    assert now - max(times) < slack
        now += timedelta(minutes=pass_minutes)
