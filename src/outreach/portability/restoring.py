"""`outreach db import`: an export (ours, or the seed's json_agg backup) into a database.

Two passes. The first reads every file: the manifest, each file's checksum and row count, every
line's JSON and columns. A damaged, truncated or mismatched export is refused, naming the file
and line, and the target is left as it was. A folder without a manifest (an export that did
not finish or lost it, or the original system's json_agg backup, which never has one) cannot be
checked: it is refused unless the caller asks for an unverified import, and the report says it
was not verified. The second writes everything in one transaction, in dependency order, with
the seed's counting triggers standing aside (migration 0005), checks the counts and checksums
against the manifest, and commits; an interruption rolls it all back, so importing again starts
clean and ends the same. A small export is read through before anything is written; a large
one (CHECKED_ALONGSIDE) by a process of its own while the rows are written, and the
transaction commits only once that check has passed, so a refused export leaves nothing behind
either way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.errors import OutreachError, ValidationFailed
from outreach.portability import checking
from outreach.portability.checking import ExportDamaged, check_file, records
from outreach.portability.exporting import MANIFEST
from outreach.portability.loading import (
    Progress,
    delete_rows,
    fingerprint,
    guarded,
    insert_lines,
    insert_rows,
    refuse_if_not_empty,
    upsert_rows,
)
from outreach.portability.tables import FIRST_FORMAT, FORMAT, export_order, reader
from outreach.words import counted


@dataclass
class Source:
    """One table's rows in an export folder."""

    table: sa.Table
    path: Path
    rows: int | None = None
    sha256: str | None = None
    format: str = FORMAT
    """The manifest's: how the export wrote the lines that sha256 is of."""
    columns: tuple[str, ...] = ()

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, row) from a JSON Lines file, or from the seed's json_agg array."""
        return records(self.path)


@dataclass
class ImportReport:
    verified: bool
    """Whether the export was checked against its manifest (False: imported as it was)."""
    rows: dict[str, int] = field(default_factory=dict)


def sources(folder: Path, *, unverified: bool = False) -> list[Source]:
    """The export's tables, checked without writing anything; ExportDamaged says what is wrong.
    Without a manifest the folder is refused, unless `unverified` accepts its files as they are."""
    found = _listed_sources(folder, unverified=unverified)
    for source in found:
        _check(source)
    return found


def _listed_sources(folder: Path, *, unverified: bool) -> list[Source]:
    """The export's tables, as its manifest (or, `unverified`, its files) lists them."""
    manifest_path = folder / MANIFEST
    if not folder.is_dir():
        raise ExportDamaged(f"{folder} is not a folder.")
    if manifest_path.exists():
        return _from_manifest(folder, manifest_path)
    if unverified:
        return _without_manifest(folder)
    raise ExportDamaged(
        f"{folder} has no {MANIFEST}, so its files cannot be checked: an export that did "
        "not finish, or lost its manifest, may be missing rows. Export again; or, for the "
        "original system's backup (which never has one), add --unverified to import the "
        "files as they are."
    )


def _from_manifest(folder: Path, manifest_path: Path) -> list[Source]:
    manifest = _manifest(manifest_path)
    if manifest.get("deleted") is not None:
        raise ValidationFailed(
            f"{folder} is an incremental backup: it holds only the rows changed after the "
            "backup before it. Put it back with `outreach backup restore NAME`, which restores "
            "its full backup first."
        )
    return _listed(folder, manifest_path, manifest["tables"], manifest["format"])


def manifest_of(folder: Path) -> dict[str, Any]:
    """The export's manifest, read but not yet checked against its files."""
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise ExportDamaged(f"{folder} has no {MANIFEST}: an export that did not finish.")
    return _manifest(manifest_path)


def _manifest(manifest_path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        format_ = manifest["format"]
    except (ValueError, KeyError, TypeError) as error:
        raise ExportDamaged(f"{manifest_path}: not an outreach manifest ({error}).") from error
    if format_ not in (FORMAT, FIRST_FORMAT):
        raise ExportDamaged(
            f"{manifest_path}: format {format_!r}, which this version of outreach does not "
            f"read (it reads {FORMAT!r} and {FIRST_FORMAT!r}): import it with the version "
            "that wrote it, or a newer one."
        )
    return manifest


def _listed(
    folder: Path, manifest_path: Path, listed: list[dict[str, Any]], format: str
) -> list[Source]:
    try:
        entries = {entry["table"]: entry for entry in listed}
    except (KeyError, TypeError) as error:
        raise ExportDamaged(f"{manifest_path}: not an outreach manifest ({error}).") from error
    known = {table.name: table for table in export_order()}
    unknown = sorted(set(entries) - set(known))
    if unknown:
        raise ExportDamaged(
            f"{manifest_path}: tables this version does not have: {', '.join(unknown)}."
        )
    return [
        Source(
            known[name],
            folder / entries[name]["file"],
            int(entries[name]["rows"]),
            entries[name]["sha256"],
            format,
        )
        for name in known
        if name in entries
    ]


def _without_manifest(folder: Path) -> list[Source]:
    """The seed's backup (one `<table>.json` array per table, from json_agg), or our JSON Lines
    files without their manifest: whatever tables are there, nothing to check them against."""
    found = []
    for table in export_order():
        for suffix in (".jsonl", ".json"):
            path = folder / f"{table.name}{suffix}"
            if path.exists():
                found.append(Source(table, path))
                break
    if not found:
        raise ExportDamaged(f"{folder} holds no {MANIFEST} and no <table>.json or .jsonl files.")
    return found


def _check(source: Source) -> None:
    """Reads the whole file (checking.check_file) and keeps the columns its rows have."""
    source.columns = check_file(
        source.path,
        source.table.name,
        list(source.table.columns.keys()),
        source.rows,
        source.sha256,
    )


CHECKED_ALONGSIDE = 4 << 20
"""An export of this many bytes or more is read through (checking.main) by a process of its own
while its rows are written, and the transaction commits only once that check has passed: the
check's JSON decoding is about a sixth of a large import's time, which another core then spends
beside the writing (docs/benchmarks.md). A smaller export is checked first: starting that
process takes about 0.07 s, as long as checking 2 or 3 MB."""


def restore(
    engine: Engine,
    folder: Path,
    now: datetime,
    *,
    merge: bool = False,
    unverified: bool = False,
    progress: Progress = lambda t, n: None,
    alongside_from: int = CHECKED_ALONGSIDE,
) -> ImportReport:
    """Imports the export in `folder`; see the module's docstring for the guarantees, which
    hold whether the check comes first or alongside (`alongside_from`, in bytes)."""
    found = _listed_sources(folder, unverified=unverified)
    if sum(source.path.stat().st_size for source in found if source.path.exists()) < (
        alongside_from
    ):
        for source in found:
            _check(source)
        with guarded(engine, now) as connection:
            return load(connection, found, merge=merge, progress=progress)
    with _CheckAlongside(found) as check:
        try:
            with guarded(engine, now) as connection:
                for source in found:
                    source.columns = _first_columns(source)
                report = _written(connection, found, merge, check.watching(progress))
                check.wait()
                if not merge:
                    _verify(connection, found)
                return report
        except Exception:
            check.wait()  # a damaged export explains whatever its rows made fail
            raise


def load(
    connection: sa.Connection, checked: list[Source], *, merge: bool, progress: Progress
) -> ImportReport:
    """Writes checked sources inside a guarded transaction (loading.guarded)."""
    report = _written(connection, checked, merge, progress)
    if not merge:
        _verify(connection, checked)
    return report


def _written(
    connection: sa.Connection, found: list[Source], merge: bool, progress: Progress
) -> ImportReport:
    report = ImportReport(verified=all(source.sha256 is not None for source in found))
    if not merge:
        refuse_if_not_empty(connection, [source.table for source in found])
    for source in found:
        report.rows[source.table.name] = _insert(connection, source, merge, progress)
    return report


class _CheckAlongside:
    """checking.main over the sources, in a process of its own: a Python started afresh, so that
    it copies nothing of this one (threads, database connections, Rich's progress) and needs
    none of the application's imports."""

    def __init__(self, found: list[Source]) -> None:
        files = [
            [str(s.path), s.table.name, list(s.table.columns.keys()), s.rows, s.sha256]
            for s in found
        ]
        self._process = subprocess.Popen(  # noqa: S603 (our own module, by this Python)
            # -P: a folder named outreach where the import was started is not this package.
            [sys.executable, "-P", "-m", checking.__name__, json.dumps(files)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
        )
        self._outcome: tuple[int, str, str] | None = None

    def __enter__(self) -> _CheckAlongside:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._outcome is None:  # the import stopped for another reason: so does the check
            self._process.kill()
            self._process.communicate()

    def wait(self) -> None:
        """Returns once the check has passed; raises ExportDamaged if it refused a file."""
        if self._outcome is None:
            output, errors = self._process.communicate()
            self._outcome = (self._process.returncode, output, errors)
        status, output, errors = self._outcome
        if status == checking.REFUSED:
            raise ExportDamaged(output)
        if status != 0:
            raise OutreachError(
                f"The check of the export's files stopped before it finished "
                f"({_why_stopped(status, errors)}); nothing was imported."
            )

    def watching(self, progress: Progress) -> Progress:
        """`progress` that stops the writing as soon as the check has refused a file."""

        def reported(table: str, rows: int) -> None:
            if self._process.poll() is not None:
                self.wait()
            progress(table, rows)

        return reported


def _why_stopped(status: int, errors: str) -> str:
    """A stopped process's last error (a traceback's last line), or the signal that stopped it."""
    said = [line.strip() for line in errors.splitlines() if "Error" in line]
    if said:
        return said[-1]
    return f"killed by signal {-status}" if status < 0 else f"exit status {status}"


def _first_columns(source: Source) -> tuple[str, ...]:
    """The columns of the file's first row, as checking.check_file finds them."""
    first = next(iter(source.records()), (0, {}))[1]
    return tuple(column.name for column in source.table.columns if column.name in first)


def _insert(connection: sa.Connection, source: Source, merge: bool, progress: Progress) -> int:
    if source.path.suffix == ".jsonl" and connection.dialect.name == "postgresql" and not merge:
        with source.path.open(encoding="utf-8") as lines:
            return insert_lines(connection, source.table, lines, source.columns, progress)
    return insert_rows(connection, source.table, _values(source), merge, progress)


def _values(source: Source) -> Iterator[dict[str, Any]]:
    readers = {name: reader(source.table.c[name]) for name in source.columns}
    for _, row in source.records():
        yield {name: readers[name](row.get(name)) for name in source.columns}


@dataclass
class Increment:
    """An incremental backup's export, checked: the rows changed after the backup before it,
    the ids deleted since, and each table's rows at its snapshot."""

    changed: list[Source]
    deleted: list[Source]
    counts: dict[str, int]


def increment(folder: Path) -> Increment:
    """Checks an incremental export as `sources` checks a full one (checksums, counts, JSON,
    columns), its deletion files included; ExportDamaged says what is wrong."""
    manifest_path = folder / MANIFEST
    manifest = manifest_of(folder)
    if manifest.get("deleted") is None or not isinstance(manifest.get("counts"), dict):
        raise ExportDamaged(f"{manifest_path}: not an incremental backup's manifest.")
    found = Increment(
        _listed(folder, manifest_path, manifest["tables"], manifest["format"]),
        _listed(folder, manifest_path, manifest["deleted"], manifest["format"]),
        {str(name): int(rows) for name, rows in manifest["counts"].items()},
    )
    for source in found.changed + found.deleted:
        _check(source)
    return found


def apply(connection: sa.Connection, found: Increment, progress: Progress) -> None:
    """Brings the restored tables forward by one incremental backup: deletions first (a row
    deleted and another inserted with the same email must not collide; the database's own
    ON DELETE CASCADE removes what the deletion removed when it happened), then the changed
    rows written over or beside what is there."""
    for source in reversed(found.deleted):
        delete_rows(connection, source.table, (row["id"] for row in _values(source)))
    for source in found.changed:
        upsert_rows(connection, source.table, _values(source), progress)


def check_counts(connection: sa.Connection, found: Increment) -> None:
    """After a chain of incremental backups, each table holds as many rows as it did then: a
    deletion or an insert the chain missed would show here."""
    for name, expected in found.counts.items():
        table = next(t for t in export_order() if t.name == name)
        landed = connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0
        if landed != expected:
            raise ExportDamaged(
                f"{name}: after the incremental backups, {counted(landed, 'row')} where the "
                f"table had {expected}; nothing was kept."
            )


def _verify(connection: sa.Connection, checked: list[Source]) -> None:
    """What is now in the database is what the manifest describes, row for row."""
    for source in checked:
        if source.sha256 is None:
            continue
        landed = fingerprint(
            connection, source.table, list(source.table.columns.keys()), source.format
        )
        if landed != (source.rows, source.sha256):
            raise ExportDamaged(
                f"{source.table.name}: after importing, {counted(landed[0], 'row')} whose checksum "
                "does not match the export; nothing was kept."
            )
