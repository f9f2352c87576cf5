"""Backups: compressed exports on the seed's schedule, each checked right after it is written.

A backup is `<kind>-<UTC time>.tar.gz` holding an export (manifest and JSON Lines) of the
kind's tables; beside it, `<same name>.json` records its verification. Writing goes to a
temporary name first, so a half-written backup never looks like a backup.

The daily `full` backup copies every table. The other kinds (contacts and sent_emails hourly,
email_drafts every six hours) are incremental: the rows of their tables changed since the backup
before it (that kind's, or the full one if newer), found in backup_changes (migration 0029), and
the ids deleted since. A chain starts at its base, the full backup, and restoring a link puts
the base back, then every link up to it in order. When no verified backup to follow is there
(the first run, a damaged one), a kind's backup is a full copy of its tables instead, and is
the base of the links after it.
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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from outreach.errors import Conflict, NotFound, ValidationFailed
from outreach.portability import changes, checking, exporting, restoring
from outreach.portability.changes import Mark
from outreach.portability.loading import guarded
from outreach.portability.schedule import (
    KINDS,
    SCHEDULE,
    BackupKind,
    Kept,
    due,
    expired,
    next_run,
)
from outreach.words import counted

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
    """Rows written: every row of its tables, or an incremental backup's changed rows."""
    problem: str | None
    base: str | None = None
    """An incremental backup's full backup; None for a full backup or a kind's full copy."""
    after: str | None = None
    """An incremental backup's previous link (its base, or the same kind's backup before)."""
    deleted: dict[str, int] = field(default_factory=dict)
    """An incremental backup's ids of rows deleted since the previous link."""
    changes: Mark | None = None
    """Where its snapshot stood in backup_changes: the next incremental backup starts there."""

    @property
    def rows_label(self) -> str:
        """What it holds: its rows, or for an incremental backup the rows it writes and the
        deletions it carries."""
        if not self.rows and self.verified is None:
            return ""
        written = counted(sum(self.rows.values()), "row")
        if self.base is None:
            return written
        return f"{written} changed, {counted(sum(self.deleted.values()), 'deletion')}"

    @property
    def base_label(self) -> str:
        """Whether it restores alone, or on top of which full backup."""
        return "full copy" if self.base is None else f"incremental on {self.base}"

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
                base=record.get("base"),
                after=record.get("after"),
                deleted=record.get("deleted", {}),
                changes=record.get("changes"),
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
    with the reason recorded, and ValidationFailed says so. Conflict when another process is
    taking backups in the same folder (a link must follow the one before it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder) as mine:
        if not mine:
            raise Conflict("Another backup is being taken in this folder: try again shortly.")
        return _take(engine, folder, kind, now, progress)


def _take(
    engine: Engine,
    folder: Path,
    kind: BackupKind,
    now: datetime,
    progress: Callable[[str, int], None] = lambda t, n: None,
) -> Backup:
    path = folder / f"{kind.name}-{now.astimezone(UTC).strftime(STAMP)}.tar.gz"
    if path.exists():
        raise Conflict(f"A {kind.name} backup was already taken this second: {path.name}.")
    previous = _previous(engine, folder, kind)
    with tempfile.TemporaryDirectory() as scratch:
        exported = Path(scratch) / "export"
        manifest = exporting.export(
            engine,
            exported,
            now,
            progress,
            only=kind.tables,
            since=previous.changes if previous else None,
        )
        if previous is not None:
            manifest = replace(
                manifest, base=previous.base or previous.path.name, after=previous.path.name
            )
            manifest.write(exported)
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            for item in sorted(exported.iterdir()):
                archive.add(item, arcname=item.name)
        os.replace(partial, path)
    verify(path)
    return next(backup for backup in existing(folder) if backup.path == path)


def _previous(engine: Engine, folder: Path, kind: BackupKind) -> Backup | None:
    """The backup an incremental one of the kind follows: the newest verified one of the kind
    or a full one, taken from this database's log (a mark from another backend cannot be
    followed). None for a full backup, or when there is nothing to follow."""
    if kind.tables is None:
        return None
    key = "snapshot" if engine.dialect.name == "postgresql" else "seq"
    for backup in existing(folder):
        if backup.kind in ("full", kind.name) and backup.verified:
            return backup if backup.changes and key in backup.changes else None
    return None


def verify(path: Path) -> dict[str, int]:
    """Opens the backup and checks every file against its manifest; records the result."""
    return _checked(path)["rows"]  # type: ignore[no-any-return]


def _checked(path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch, _recorded(path):
        _extract(path, Path(scratch))
        record = _contents(Path(scratch))
    _write_record(path, record)
    return record


def _extract(path: Path, folder: Path) -> None:
    if not path.exists():
        raise NotFound(f"There is no backup {path}.")
    with tarfile.open(path, "r:gz") as archive:
        archive.extractall(folder, filter="data")


@contextmanager
def _recorded(path: Path) -> Iterator[None]:
    """An archive the block cannot read, or an export it finds damaged, is recorded as damaged
    on the backup and refused in words."""
    try:
        yield
    except (tarfile.TarError, OSError, EOFError, checking.ExportDamaged) as error:
        problem = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        # What the record knew of its place in a chain stays: the listing still shows it.
        _write_record(path, {**_record(path), "ok": False, "problem": problem})
        raise ValidationFailed(f"The backup {path.name} is damaged: {problem}") from error


def _contents(folder: Path) -> dict[str, Any]:
    """An extracted backup checked, as its sidecar records it."""
    manifest = restoring.manifest_of(folder)
    if manifest.get("deleted") is None:
        found = restoring.sources(folder)
        rows = {source.table.name: source.rows or 0 for source in found}
        return {"ok": True, "rows": rows, "changes": manifest.get("changes")}
    increment = restoring.increment(folder)
    return {
        "ok": True,
        "rows": {source.table.name: source.rows or 0 for source in increment.changed},
        "deleted": {source.table.name: source.rows or 0 for source in increment.deleted},
        "changes": manifest.get("changes"),
        "base": manifest.get("base"),
        "after": manifest.get("after"),
    }


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
    """Puts a backup back: into an empty database, or with merge into one that has rows. An
    incremental backup puts back its base, then each link up to it, into an empty database,
    all in one transaction; a missing or damaged link refuses the whole restore."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / path.name
        with _recorded(path):
            _extract(path, folder)
            manifest = restoring.manifest_of(folder)
            if manifest.get("deleted") is None:
                # A full backup: the import checks every file itself, before or beside its
                # writing, so the archive is read through once, not verified first and again.
                return restoring.restore(engine, folder, now, merge=merge, progress=progress)
            if merge:
                raise ValidationFailed(
                    f"{path.name} is incremental: it restores into an empty database only (its "
                    "base, then every hour up to it). To bring back deleted rows into this one, "
                    "restore it into an empty database first, or --merge a full backup."
                )
            newest = restoring.increment(folder)
        base, increments = _links_before(path, manifest, Path(scratch))
        increments.append(newest)
        with guarded(engine, now) as connection:
            report = restoring.load(connection, base, merge=False, progress=progress)
            for increment in increments:
                restoring.apply(connection, increment, progress)
            restoring.check_counts(connection, newest)
            report.rows.update(newest.counts)
    return report


def _links_before(
    path: Path, manifest: dict[str, Any], scratch: Path
) -> tuple[list[restoring.Source], list[restoring.Increment]]:
    """The full backup under the incremental `path` (whose manifest is `manifest`) and every
    link between them, oldest first, each extracted into `scratch` and checked once;
    ValidationFailed names the first link missing or damaged."""
    newest = path
    increments: list[restoring.Increment] = []
    while True:
        after = path.with_name(str(manifest["after"]))
        if not after.exists() or len(increments) > 10_000:
            raise ValidationFailed(
                f"{path.name} cannot be restored: it builds on {after.name}, which is not in "
                f"{path.parent} (deleted or moved), and every link from its full backup "
                f"{manifest['base']} is needed. Restore an older backup whose chain is whole, "
                f"or {manifest['base']} alone."
            )
        folder = scratch / after.name
        try:
            with _recorded(after):
                _extract(after, folder)
                manifest = restoring.manifest_of(folder)
                if manifest.get("deleted") is None:
                    return restoring.sources(folder), increments[::-1]
                increments.append(restoring.increment(folder))
        except ValidationFailed as error:
            raise ValidationFailed(
                f"{newest.name} cannot be restored: a link before it is damaged. {error.message}"
            ) from error
        path = after


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
                taken.append(_take(engine, folder, kind, now))
            except ValidationFailed as error:
                failed.append(error.message)
        _forget_covered(engine, folder)
        return ScheduleReport(taken, failed, _rotate(folder, now))


def _forget_covered(engine: Engine, folder: Path) -> None:
    """Empties backup_changes of what the backups each kind would follow next have covered.
    Housekeeping only (each incremental reads from its predecessor's mark, whatever is left),
    so it runs with the schedule rather than in `take`, whose callers may hold the database."""
    with engine.begin() as connection:
        for kind in SCHEDULE:
            previous = _previous(engine, folder, kind)
            if kind.tables and previous is not None and previous.changes is not None:
                changes.forget(connection, list(kind.tables), previous.changes)


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
    kept = [Kept(b.path.name, b.kind, b.taken_at, b.base) for b in current]
    old = set(expired(kept, now))
    removed = []
    for backup in current:
        if backup.path.name in old:
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
