"""`outreach db export`: every table as JSON Lines, in dependency order, with a manifest.

Streamed: rows are read in slices and written as they come, so memory stays flat whatever the
size. Read in one snapshot (a repeatable-read transaction on PostgreSQL, a read transaction
in SQLite's WAL mode), so the files agree with each other even while the app keeps writing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.db import READ_ONLY
from outreach.portability import changes
from outreach.portability.changes import Mark
from outreach.portability.loading import canonical_lines, selected_lines
from outreach.portability.tables import export_order
from outreach.schema import schema_state

MANIFEST = "manifest.json"
FORMAT = "outreach-export/1"


@dataclass(frozen=True)
class TableFile:
    table: str
    file: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    format: str
    schema_revision: str | None
    exported_at: str
    tables: list[TableFile]
    changes: Mark | None = None
    """Where the export's snapshot stood in backup_changes: the next incremental starts there."""
    deleted: list[TableFile] | None = None
    """An incremental export only: per table, the ids deleted since its `since` mark (one
    `{"id": ...}` line each); its `tables` files then hold the rows changed since."""
    counts: dict[str, int] | None = None
    """An incremental export only: each table's rows at its snapshot, checked after a restore."""
    base: str | None = None
    after: str | None = None
    """An incremental backup only: the full backup under it, and the backup it follows."""

    def write(self, folder: Path) -> None:
        temporary = folder / (MANIFEST + ".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, folder / MANIFEST)


def export(
    engine: Engine,
    folder: Path,
    now: datetime,
    progress: Callable[[str, int], None] = lambda t, n: None,
    only: Collection[str] | None = None,
    since: Mark | None = None,
) -> Manifest:
    """Writes every table (or those named in `only`) into `folder` (made if needed) and the
    manifest last, so a folder without a manifest is an export that did not finish. With
    `since` (a mark from an earlier export's manifest), only the rows changed after it and the
    ids deleted after it (`only` must then name tables that backup_changes logs)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    files: list[TableFile] = []
    deleted: list[TableFile] = []
    counts: dict[str, int] = {}
    revision = schema_state(engine).current
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            # The first statement takes the snapshot on PostgreSQL: the mark is the tables'.
            at = changes.mark(connection)
            if since is None:
                for table in export_order():
                    if only is None or table.name in only:
                        files.append(_export_table(connection, table, None, folder, progress))
            else:
                assert only is not None, "an incremental export names its logged tables"
                for table, statement in _increment(connection, only, since):
                    files.append(_export_table(connection, table, statement, folder, progress))
                for table in export_order():
                    if table.name not in only:
                        continue
                    gone = changes.deleted_ids(connection, table, since)
                    deleted.append(
                        _export_table(connection, table, gone, folder, progress, ".deleted")
                    )
                    counts[table.name] = (
                        connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0
                    )
    incremental = since is not None
    manifest = Manifest(
        FORMAT,
        revision,
        now.isoformat(),
        files,
        at,
        deleted if incremental else None,
        counts if incremental else None,
    )
    manifest.write(folder)
    return manifest


def _increment(
    connection: sa.Connection, tables: Collection[str], since: Mark
) -> list[tuple[sa.Table, sa.Select[Any]]]:
    """The statements of an incremental export, in export order: the rows of `tables` changed
    since the mark, then, walking up their foreign keys, the rows they refer to as they are now
    (a contact's upload batch; a sent email's draft, campaign and sender account): a restore
    puts the base back, then these, and a contact imported after the base would otherwise
    point at a batch the base does not have."""
    order = export_order()
    position = {table.name: number for number, table in enumerate(order)}
    wanted: dict[str, list[sa.Select[Any]]] = {name: [] for name in tables}
    chosen: dict[str, sa.Select[Any]] = {}
    for table in reversed(order):  # children before the parents they refer to
        if table.name not in wanted:
            continue
        ids = list(wanted[table.name])
        if table.name in tables:
            ids.append(changes.logged_since(connection, table, since))
        chosen[table.name] = (
            sa.select(table).where(table.c.id.in_(sa.union(*ids))).order_by(table.c.id)
        )
        for key in table.foreign_keys:
            parent = key.column.table
            if key.column.name == "id" and position.get(parent.name, -1) in range(
                position[table.name]
            ):
                wanted.setdefault(parent.name, []).append(
                    sa.select(key.parent).where(
                        key.parent.isnot(None), table.c.id.in_(sa.union(*ids))
                    )
                )
    return [(table, chosen[table.name]) for table in order if table.name in chosen]


def _export_table(
    connection: sa.Connection,
    table: sa.Table,
    statement: sa.Select[Any] | None,
    folder: Path,
    progress: Callable[[str, int], None],
    suffix: str = "",
) -> TableFile:
    name = f"{table.name}{suffix}.jsonl"
    digest = hashlib.sha256()
    rows = 0
    if statement is None:  # the whole table, by PostgreSQL's COPY where there is one
        blocks = canonical_lines(connection, table, list(table.columns.keys()))
    else:
        blocks = selected_lines(connection, statement)
    with (folder / name).open("wb") as target:
        for block in blocks:
            target.write(block)
            digest.update(block)
            rows += block.count(b"\n")
            progress(table.name, rows)
    progress(table.name, rows)
    return TableFile(table.name, name, rows, digest.hexdigest())
