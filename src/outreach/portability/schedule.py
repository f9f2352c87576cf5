"""When backups are due and when they expire: the seed's recommended schedule, pure.

| Data          | Frequency     | Retention |
| Full database | Daily         | 30 days   |
| contacts      | Hourly        | 7 days    |
| sent_emails   | Hourly        | 30 days   |
| email_drafts  | Every 6 hours | 14 days   |

Every kind but the full database is taken incrementally (portability/backups.py): the rows
changed since the backup before it, on top of the latest full backup.
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


@dataclass(frozen=True)
class Kept:
    """A backup in the folder, as retention sees it."""

    name: str
    kind: str
    at: datetime
    base: str | None = None
    """An incremental backup's full backup (None for a full one, or a full copy of a kind)."""


def expired(backups: Sequence[Kept], now: datetime) -> list[str]:
    """The names of the backups to delete. A full backup (or a kind's full copy) goes once
    older than its kind keeps it, except the newest of its kind, so a long-stopped worker does
    not wake up to delete every backup. Incremental backups go together with their base, and
    otherwise together as one chain once its newest link is past the kind's retention: a link
    restores only with every link before it, so none is deleted while a later one is kept."""
    newest: dict[str, datetime] = {}
    for backup in backups:
        newest[backup.kind] = max(backup.at, newest.get(backup.kind, backup.at))

    def old(kind: str, at: datetime) -> bool:
        return kind in KINDS and at < now - KINDS[kind].keep and at != newest[kind]

    gone = {b.name for b in backups if b.base is None and old(b.kind, b.at)}
    present = {b.name for b in backups if b.base is None}
    chains: dict[tuple[str, str], datetime] = {}
    for b in backups:
        if b.base is not None:
            key = (b.kind, b.base)
            chains[key] = max(b.at, chains.get(key, b.at))
    for b in backups:
        if b.base is None or b.kind not in KINDS:
            continue
        if b.base in gone or b.base not in present or old(b.kind, chains[(b.kind, b.base)]):
            gone.add(b.name)
    return [b.name for b in backups if b.name in gone]
