"""`outreach db export`: every table as JSON Lines, in dependency order, with a manifest.

Streamed: rows are read in slices and written as they come, so memory stays flat whatever the
size. Read in one snapshot (a repeatable-read transaction on PostgreSQL, a read transaction
in SQLite's WAL mode), so the files agree with each other even while the app keeps writing.
On PostgreSQL a whole export reads on JOBS connections at once, each in that same snapshot.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import queue
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Engine

from outreach.db import READ_ONLY
from outreach.portability import changes
from outreach.portability.changes import Mark
from outreach.portability.loading import (
    SLICE,
    Lines,
    block_bounds,
    canonical_lines,
    line_block,
    selected_lines,
)
from outreach.portability.tables import FORMAT, export_order
from outreach.schema import schema_state

MANIFEST = "manifest.json"
JOBS = 2
"""Connections a whole export reads on at once on PostgreSQL, as pg_dump --jobs does: most of
an export's time is PostgreSQL writing our lines (tables.line_sql), one row after another on
each connection, so that two backends write them on two cores (what that gains on a loaded
machine: docs/benchmarks.md)."""
Item = TypeVar("Item")
Done = TypeVar("Done")
AHEAD = 2 * JOBS
"""Blocks asked for before the oldest is written: every connection busy while one block is
written, and memory bounded by a few blocks whatever the size of the export."""


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
    block_rows: int = SLICE,
) -> Manifest:
    """Writes every table (or those named in `only`) into `folder` (made if needed) and the
    manifest last, so a folder without a manifest is an export that did not finish. With
    `since` (a mark from an earlier export's manifest), only the rows changed after it and the
    ids deleted after it (`only` must then name tables that backup_changes logs). On
    PostgreSQL, whole tables are read in blocks of `block_rows` rows."""
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
            if since is None and connection.dialect.name == "postgresql":
                tables = [t for t in export_order() if only is None or t.name in only]
                files = _export_at_once(engine, connection, tables, folder, progress, block_rows)
            elif since is None:
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
    if statement is None:  # the whole table, by PostgreSQL's COPY where there is one
        blocks = canonical_lines(connection, table, list(table.columns.keys()))
    else:
        blocks = selected_lines(connection, statement)
    return _table_file(table, blocks, folder, progress, suffix)


def _table_file(
    table: sa.Table,
    blocks: Iterable[Lines],
    folder: Path,
    progress: Callable[[str, int], None],
    suffix: str = "",
) -> TableFile:
    """Writes the table's blocks of lines into its new file, with their sha256, saying how many
    lines are written after each block."""
    name = f"{table.name}{suffix}.jsonl"
    digest = hashlib.sha256()
    rows = 0
    with (folder / name).open("wb") as target:
        for block, lines in blocks:
            target.write(block)
            digest.update(block)
            rows += lines
            progress(table.name, rows)
    progress(table.name, rows)
    return TableFile(table.name, name, rows, digest.hexdigest())


@dataclass(frozen=True)
class _Block:
    table: sa.Table
    columns: list[str]
    ids: tuple[Any, Any]
    """line_block()'s bounds."""


def _export_at_once(
    engine: Engine,
    connection: sa.Connection,
    tables: list[sa.Table],
    folder: Path,
    progress: Callable[[str, int], None],
    block_rows: int,
) -> list[TableFile]:
    """The whole tables on PostgreSQL, read on JOBS connections at once, each in the snapshot
    of `connection` (pg_export_snapshot, as pg_dump --jobs does), in blocks of block_rows by
    id taken in the files' order, each by the next free connection, and written in that order
    as they come: the files are the bytes one connection reading table after table writes,
    and at most AHEAD blocks wait in memory."""
    snapshot = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
    readers: queue.Queue[sa.Connection] = queue.Queue()
    with ExitStack() as stack:
        for _ in range(JOBS):
            reader = stack.enter_context(engine.connect())
            reader.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            stack.enter_context(reader.begin())
            driver = reader.connection.driver_connection
            assert driver is not None
            # The transaction's first statement: it then sees exactly what `connection` sees.
            driver.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            # line_block's aggregate sorts a block's rows in memory, also when they are wide.
            driver.execute("SET LOCAL work_mem = '64MB'")
            readers.put(reader)
        pool = ThreadPoolExecutor(JOBS)
        stack.callback(pool.shutdown, cancel_futures=True)  # a failed block: not the others

        def read(block: _Block) -> Lines:
            reader = readers.get()
            try:
                return line_block(reader, block.table, block.columns, block.ids)
            finally:
                readers.put(reader)

        def blocks() -> Iterator[_Block]:
            for table in tables:
                columns = list(table.columns.keys())
                for ids in block_bounds(connection, table, block_rows):
                    yield _Block(table, columns, ids)

        done = _in_order(pool, read, blocks(), AHEAD)
        return [
            _table_file(table, (lines for _, lines in its), folder, progress)
            for table, its in itertools.groupby(done, key=lambda pair: pair[0].table)
        ]


def _in_order(
    pool: Executor, work: Callable[[Item], Done], items: Iterable[Item], ahead: int
) -> Iterator[tuple[Item, Done]]:
    """Each item with work(item), in the items' order, the work done on the pool for up to
    `ahead` items at once (memory: `ahead` results at most)."""
    waiting: deque[tuple[Item, Future[Done]]] = deque()
    remaining = iter(items)
    while True:
        for item in itertools.islice(remaining, ahead - len(waiting)):
            waiting.append((item, pool.submit(work, item)))
        if not waiting:
            return
        item, done = waiting.popleft()
        yield item, done.result()
