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

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.db import READ_ONLY
from outreach.portability.loading import canonical_lines
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
) -> Manifest:
    """Writes every table (or those named in `only`) into `folder` (made if needed) and the
    manifest last, so a folder without a manifest is an export that did not finish."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    files = []
    revision = schema_state(engine).current
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            for table in export_order():
                if only is None or table.name in only:
                    files.append(_export_table(connection, table, folder, progress))
    manifest = Manifest(FORMAT, revision, now.isoformat(), files)
    manifest.write(folder)
    return manifest


def _export_table(
    connection: sa.Connection, table: sa.Table, folder: Path, progress: Callable[[str, int], None]
) -> TableFile:
    name = f"{table.name}.jsonl"
    digest = hashlib.sha256()
    rows = 0
    with (folder / name).open("wb") as target:
        for block in canonical_lines(connection, table, list(table.columns.keys())):
            target.write(block)
            digest.update(block)
            rows += block.count(b"\n")
            progress(table.name, rows)
    progress(table.name, rows)
    return TableFile(table.name, name, rows, digest.hexdigest())
