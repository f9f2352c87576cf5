"""When backups are due and when they expire: the seed's recommended schedule, pure.

| Data          | Frequency     | Retention |
| Full database | Daily         | 30 days   |
| contacts      | Hourly        | 7 days    |
| sent_emails   | Hourly        | 30 days   |
| email_drafts  | Every 6 hours | 14 days   |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class BackupKind:
    name: str
    tables: tuple[str, ...] | None
    """None for every table."""
    every: timedelta
    keep: timedelta


SCHEDULE = (
    BackupKind("full", None, timedelta(days=1), timedelta(days=30)),
    BackupKind("contacts", ("contacts",), timedelta(hours=1), timedelta(days=7)),
    BackupKind("sent_emails", ("sent_emails",), timedelta(hours=1), timedelta(days=30)),
    BackupKind("email_drafts", ("email_drafts",), timedelta(hours=6), timedelta(days=14)),
)
KINDS = {kind.name: kind for kind in SCHEDULE}


def next_run(kind: BackupKind, latest: datetime | None, now: datetime) -> datetime:
    """When the kind's next backup is due: now if it never ran or is late, else `every` after
    the last one."""
    if latest is None:
        return now
    return max(now, latest + kind.every)


def due(latest: Mapping[str, datetime], now: datetime) -> list[BackupKind]:
    """The kinds whose last backup is at least `every` old (or that never ran)."""
    return [
        kind
        for kind in SCHEDULE
        if kind.name not in latest or latest[kind.name] + kind.every <= now
    ]


def expired(backups: Sequence[tuple[str, datetime]], now: datetime) -> list[tuple[str, datetime]]:
    """The (kind, taken at) backups older than their kind keeps them. The newest of each kind is
    never expired, so a long-stopped worker does not wake up to delete every backup."""
    newest: dict[str, datetime] = {}
    for kind, at in backups:
        newest[kind] = max(at, newest.get(kind, at))
    return [
        (kind, at)
        for kind, at in backups
        if kind in KINDS and at < now - KINDS[kind].keep and at != newest[kind]
    ]
