"""Backups: compressed exports on the seed's schedule, each checked right after it is written.

A backup is `<kind>-<UTC time>.tar.gz` holding an export (manifest and JSON Lines) of the
kind's tables; beside it, `<same name>.json` records its verification. Writing goes to a
temporary name first, so a half-written backup never looks like a backup.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from outreach.errors import Conflict, NotFound, ValidationFailed
from outreach.portability import exporting, restoring
from outreach.portability.schedule import KINDS, SCHEDULE, BackupKind, due, expired, next_run

NAME = re.compile(r"(?P<kind>[a-z_]+)-(?P<at>\d{8}T\d{6}Z)\.tar\.gz")
STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Backup:
    path: Path
    kind: str
    taken_at: datetime
    size: int
    verified: bool | None
    """True or False once checked; None when never checked (or its record is lost)."""
    rows: dict[str, int]
    problem: str | None

    @property
    def size_label(self) -> str:
        size = float(self.size)
        for unit in ("B", "KiB", "MiB"):
            if size < 1024:
                return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
        return f"{size:.1f} GiB"


def existing(folder: Path) -> list[Backup]:
    """Every backup in the folder, newest first."""
    found = []
    for path in folder.glob("*.tar.gz") if folder.exists() else []:
        match = NAME.fullmatch(path.name)
        if match is None:
            continue
        record = _record(path)
        found.append(
            Backup(
                path=path,
                kind=match["kind"],
                taken_at=datetime.strptime(match["at"], STAMP).replace(tzinfo=UTC),
                size=path.stat().st_size,
                verified=record.get("ok"),
                rows=record.get("rows", {}),
                problem=record.get("problem"),
            )
        )
    return sorted(found, key=lambda backup: backup.taken_at, reverse=True)


def _record(path: Path) -> dict[str, Any]:
    sidecar = path.with_name(path.name + ".json")
    try:
        loaded: dict[str, Any] = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded


def take(
    engine: Engine,
    folder: Path,
    kind: BackupKind,
    now: datetime,
    progress: Callable[[str, int], None] = lambda t, n: None,
) -> Backup:
    """Writes one backup of the kind and verifies it; a backup that fails its check is kept
    with the reason recorded, and ValidationFailed says so."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind.name}-{now.astimezone(UTC).strftime(STAMP)}.tar.gz"
    if path.exists():
        raise Conflict(f"A {kind.name} backup was already taken this second: {path.name}.")
    with tempfile.TemporaryDirectory() as scratch:
        exported = Path(scratch) / "export"
        exporting.export(engine, exported, now, progress, only=kind.tables)
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            for item in sorted(exported.iterdir()):
                archive.add(item, arcname=item.name)
        os.replace(partial, path)
    verify(path)
    return next(backup for backup in existing(folder) if backup.path == path)


def verify(path: Path) -> dict[str, int]:
    """Opens the backup and checks every file against its manifest; records the result."""
    if not path.exists():
        raise NotFound(f"There is no backup {path}.")
    try:
        with tempfile.TemporaryDirectory() as scratch, tarfile.open(path, "r:gz") as archive:
            archive.extractall(scratch, filter="data")
            rows = {
                source.table.name: source.rows or 0 for source in restoring.sources(Path(scratch))
            }
    except (tarfile.TarError, OSError, EOFError, restoring.ExportDamaged) as error:
        problem = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        _write_record(path, {"ok": False, "problem": problem})
        raise ValidationFailed(f"The backup {path.name} is damaged: {problem}") from error
    _write_record(path, {"ok": True, "rows": rows})
    return rows


def _write_record(path: Path, record: dict[str, object]) -> None:
    sidecar = path.with_name(path.name + ".json")
    sidecar.write_text(json.dumps(record, indent=2), encoding="utf-8")


def restore(
    engine: Engine,
    path: Path,
    now: datetime,
    *,
    merge: bool = False,
    progress: Callable[[str, int], None] = lambda t, n: None,
) -> restoring.ImportReport:
    """Puts a backup back: into an empty database, or with merge into one that has rows."""
    verify(path)
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(path, "r:gz") as archive:
        archive.extractall(scratch, filter="data")
        return restoring.restore(engine, Path(scratch), now, merge=merge, progress=progress)


@dataclass(frozen=True)
class Plan:
    kind: BackupKind
    latest: datetime | None
    next_at: datetime


def plans(folder: Path, now: datetime) -> list[Plan]:
    """Each kind of the schedule with its last backup and when the next is due."""
    latest: dict[str, datetime] = {}
    for backup in existing(folder):
        latest.setdefault(backup.kind, backup.taken_at)
    return [
        Plan(kind, latest.get(kind.name), next_run(kind, latest.get(kind.name), now))
        for kind in SCHEDULE
    ]


@dataclass(frozen=True)
class ScheduleReport:
    taken: list[Backup]
    failed: list[str]
    """Why each backup that failed its verification failed (the file is kept to look at)."""
    removed: list[Path]
    busy: bool = False
    """Another process was running the schedule in the same folder."""


def run_schedule(engine: Engine, folder: Path, now: datetime) -> ScheduleReport:
    """Takes every backup that is due, then deletes those past their retention. When another
    process is already doing so in the same folder (two workers on one machine), does nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder) as mine:
        if not mine:
            return ScheduleReport([], [], [], busy=True)
        latest = {plan.kind.name: plan.latest for plan in plans(folder, now) if plan.latest}
        taken, failed = [], []
        for kind in due(latest, now):
            try:
                taken.append(take(engine, folder, kind, now))
            except ValidationFailed as error:
                failed.append(error.message)
        return ScheduleReport(taken, failed, _rotate(folder, now))


@contextmanager
def _exclusive(folder: Path) -> Iterator[bool]:
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _rotate(folder: Path, now: datetime) -> list[Path]:
    current = existing(folder)
    old = set(expired([(backup.kind, backup.taken_at) for backup in current], now))
    removed = []
    for backup in current:
        if (backup.kind, backup.taken_at) in old:
            backup.path.unlink()
            backup.path.with_name(backup.path.name + ".json").unlink(missing_ok=True)
            removed.append(backup.path)
    return removed


def named(folder: Path, name: str) -> Backup:
    """The backup with this file name (a bare name, never a path: it comes from users)."""
    for backup in existing(folder):
        if backup.path.name == name:
            return backup
    raise NotFound(f"There is no backup named {name!r} in {folder}.")


def kind_named(name: str) -> BackupKind:
    if name not in KINDS:
        raise ValidationFailed(f"{name!r} is not a kind of backup: {', '.join(KINDS)}.")
    return KINDS[name]
