"""The seed's backup schedule: what is due when, and what is deleted when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.portability.schedule import KINDS, SCHEDULE, Kept, due, expired, next_run

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


def kept(kind: str, days: float, base: str | None = None) -> Kept:
    at = MONDAY - timedelta(days=days)
    return Kept(f"{kind}-{days}", kind, at, base)


def test_backups_past_their_retention_expire_by_kind():
    backups = [kept("contacts", 8), kept("contacts", 6), kept("full", 8), kept("full", 31)]
    assert expired(backups, MONDAY) == ["contacts-8", "full-31"]


def test_the_newest_backup_of_a_kind_is_never_deleted_however_old():
    backups = [kept("full", 90), kept("full", 120)]
    assert expired(backups, MONDAY) == ["full-120"]


def test_files_of_an_unknown_kind_are_left_alone():
    assert expired([kept("weekly", 400)], MONDAY) == []


def test_incremental_backups_go_as_one_chain_and_with_their_base():
    backups = [
        kept("full", 8.5),
        kept("contacts", 8.2, base="full-8.5"),
        kept("contacts", 7.5, base="full-8.5"),
        kept("contacts", 6.9, base="full-8.5"),  # still kept, so the links before it are too
        kept("full", 31),
        kept("sent_emails", 29.5, base="full-31"),  # kept 30 days, but its base goes
        kept("sent_emails", 1, base="full-gone"),  # its base is not there: it cannot restore
        kept("full", 0.5),
        kept("sent_emails", 0.4, base="full-0.5"),
    ]
    assert expired(backups, MONDAY) == ["full-31", "sent_emails-29.5", "sent_emails-1"]


@settings(max_examples=15, deadline=None)
@given(
    pass_minutes=st.integers(min_value=20, max_value=180),
    stopped=st.tuples(st.integers(0, 40 * 24), st.integers(0, 20 * 24)),
)
def test_a_worker_running_the_schedule_keeps_each_kind_within_its_retention(pass_minutes, stopped):
    """Simulates 40 days of worker passes (with one outage of any length): each kind always has
    a backup once it first ran, never more than its retention holds (an incremental chain
    lives until its newest link, at most a day later), and none is late by more than one pass
    except during the outage."""
    backups: list[Kept] = []
    latest: dict[str, datetime] = {}
    outage_from = MONDAY + timedelta(hours=stopped[0])
    outage_to = outage_from + timedelta(hours=stopped[1])
    now = MONDAY
    while now < MONDAY + timedelta(days=40):
        if not outage_from <= now < outage_to:
            for kind in due(latest, now):
                base = None if kind.name == "full" else f"full-{latest['full']}"
                backups.append(Kept(f"{kind.name}-{now}", kind.name, now, base))
                latest[kind.name] = now
            gone = set(expired(backups, now))
            backups = [backup for backup in backups if backup.name not in gone]
            for kind in SCHEDULE:
                times = [b.at for b in backups if b.kind == kind.name]
                assert times, kind.name
                slack = kind.every + timedelta(minutes=pass_minutes)
                chain = timedelta(0) if kind.name == "full" else timedelta(days=1) + slack
                window = kind.keep + slack + chain
                assert len(times) <= window / kind.every + 1
                if now - outage_to > slack:
                    assert now - max(times) < slack
        now += timedelta(minutes=pass_minutes)
