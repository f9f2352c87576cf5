"""Writing rows into a database as an import does: in one guarded transaction, in bulk, and
checked afterwards by a fingerprint of what landed."""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from outreach.analytics import approvals, rollups
from outreach.contacts import queries as contact_queries
from outreach.drafts import queries as draft_queries
from outreach.errors import Conflict
from outreach.portability.models import ImportGuard
from outreach.portability.tables import (
    FIRST_FORMAT,
    FORMAT,
    first_line,
    line,
    line_sql,
    value_sql,
)
from outreach.schema import connect, create_if_empty

SLICE = 5000
Progress = Callable[[str, int], None]
Lines = tuple[bytes, int]
"""A block of whole UTF-8 lines, and how many: counted as the rows are read, so that nobody
counts the newlines of a large export again."""


@contextmanager
def guarded(engine: Engine, now: datetime) -> Iterator[sa.Connection]:
    """One transaction with the counting triggers standing aside (migrations 0005, 0022,
    0035, 0036): committed when the block ends, rolled back entirely on any error; the
    analytics rollups, implicit approvals and draft batches' tallies the triggers did not keep,
    and the lists' sizes, are rebuilt from the imported rows at the end. A database without the
    schema gets it in the same transaction, so a refused import leaves not even that behind."""
    with connect(engine) as connection, connection.begin():
        create_if_empty(connection)
        connection.execute(sa.insert(ImportGuard).values(id=1, started_at=now.isoformat()))
        yield connection
        rollups.rebuild(connection)
        approvals.rebuild(connection)
        contact_queries.rebuild_list_sizes(connection)
        draft_queries.rebuild_batch_tallies(connection)
        connection.execute(sa.delete(ImportGuard))


def refuse_if_not_empty(connection: sa.Connection, tables: Iterable[sa.Table]) -> None:
    for table in tables:
        if connection.scalar(sa.select(sa.func.count()).select_from(table)):
            raise Conflict(
                f"The target database already has rows in {table.name}. Import into an "
                "empty database, or add --merge to keep its rows and skip those whose id exists."
            )


class RowRefused(Conflict):
    """The target database refuses a row (a unique value another row has, a reference to a
    row that is not there): the import stops and nothing of it is kept."""


def insert_rows(
    connection: sa.Connection,
    table: sa.Table,
    rows: Iterable[dict[str, Any]],
    merge: bool,
    progress: Progress,
) -> int:
    """Inserts rows (Python values) in slices; with merge, rows whose id exists are skipped.
    A row the database refuses raises RowRefused naming the table and the row."""
    if connection.dialect.name == "postgresql" and not merge:
        return _copy_rows(connection, table, rows, progress)
    statement: Any = sa.insert(table)
    if merge:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).on_conflict_do_nothing(
            index_elements=_primary_key(connection, table)
        )
    written = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == SLICE:
            _insert_slice(connection, table, statement, batch, merge)
            written += len(batch)
            batch = []
            progress(table.name, written)
    if batch:
        _insert_slice(connection, table, statement, batch, merge)
        written += len(batch)
    progress(table.name, written)
    return written


def upsert_rows(
    connection: sa.Connection, table: sa.Table, rows: Iterable[dict[str, Any]], progress: Progress
) -> int:
    """Writes rows over those with the same key, inserts the others (an incremental backup's
    changed rows); a row the database refuses raises RowRefused."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    written = 0
    for batch in _slices(rows):
        insert = dialect.insert(table)
        key = _primary_key(connection, table)
        statement = insert.on_conflict_do_update(
            index_elements=key,
            set_={name: insert.excluded[name] for name in batch[0] if name not in key},
        )
        _insert_slice(connection, table, statement, batch, merge=False)
        written += len(batch)
        progress(table.name, written)
    return written


def _slices(items: Iterable[Any]) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, SLICE)):
        yield batch


def delete_rows(connection: sa.Connection, table: sa.Table, ids: Iterable[object]) -> None:
    for batch in _slices(ids):
        connection.execute(sa.delete(table).where(table.c.id.in_(batch)))


def _insert_slice(
    connection: sa.Connection,
    table: sa.Table,
    statement: Any,
    batch: list[dict[str, Any]],
    merge: bool,
) -> None:
    """One executemany in a savepoint; when the database refuses it, the rows again one by one
    to find the row to name (the database's message names a constraint, not always a row)."""
    try:
        with connection.begin_nested():
            connection.execute(statement, batch)
    except (sa.exc.IntegrityError, sa.exc.DataError):
        for row in batch:
            try:
                with connection.begin_nested():
                    connection.execute(statement, [row])
            except (sa.exc.IntegrityError, sa.exc.DataError) as error:
                named = f"the row with id {row.get('id')}"
                raise _refused(table, named, error.orig, merge) from error
        raise


def _refused(table: sa.Table, row: str, error: BaseException | None, merge: bool) -> RowRefused:
    reason = " ".join(str(error).split())
    hint = (
        " --merge skips rows whose id is there already; a row with another id that repeats a "
        "unique value (an email, say) is refused: change or remove one of the two, then import "
        "again."
        if merge
        else ""
    )
    return RowRefused(
        f"Nothing was imported: in {table.name}, {row} does not fit the target database "
        f"({reason}).{hint}"
    )


def _primary_key(connection: sa.Connection, table: sa.Table) -> list[str]:
    """The key as the database has it: (id, sent_at) on a partitioned sent_emails
    (outreach.portability.partitioning), whose id alone cannot carry a unique index."""
    return sa.inspect(connection).get_pk_constraint(table.name)["constrained_columns"]


def _copy_rows(
    connection: sa.Connection, table: sa.Table, rows: Iterable[dict[str, Any]], progress: Progress
) -> int:
    """PostgreSQL's bulk path, the twin of the INSERTs above: COPY FROM STDIN on the same
    connection and transaction, values adapted by psycopg (several times faster than an
    INSERT per row, which is what executemany becomes)."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        progress(table.name, 0)
        return 0
    names = list(first)
    documents = [i for i, name in enumerate(names) if isinstance(table.c[name].type, sa.JSON)]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    written = 0
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in itertools.chain((first,), iterator):
                values = [row[name] for name in names]
                for i in documents:
                    if values[i] is not None:
                        values[i] = Jsonb(values[i])
                copy.write_row(values)
                written += 1
                if written % SLICE == 0:
                    progress(table.name, written)
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as error:
        raise _refused(table, "a row", error, merge=False) from error
    progress(table.name, written)
    return written


def insert_lines(
    connection: sa.Connection,
    table: sa.Table,
    lines: Iterable[str],
    columns: Sequence[str],
    progress: Progress,
) -> int:
    """PostgreSQL's bulk path for an export's JSON lines, the twin of reading each line with
    tables.reader() and inserting the values: COPY hands PostgreSQL the lines as they are, in
    slices, into a temporary table, and PostgreSQL casts their members (tables.value_sql), so
    no value passes through Python objects. The lines were checked as JSON objects with these
    columns (so no raw control character, which the CSV below could mistake for its quote or
    delimiter); a row the database refuses raises RowRefused."""
    staging = sql.Identifier("outreach_import_lines")
    values = ", ".join(value_sql(table.c[name], "line.j", connection.dialect) for name in columns)
    insert = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} AS line ORDER BY line.n").format(
        sql.Identifier(table.name),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(values),
        staging,
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    written = 0
    iterator = iter(lines)
    try:
        with driver.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "CREATE TEMPORARY TABLE {} "
                    "(n bigint GENERATED ALWAYS AS IDENTITY, j jsonb) ON COMMIT DROP"
                ).format(staging)
            )
            while batch := list(itertools.islice(iterator, SLICE)):
                copying = sql.SQL(
                    "COPY {} (j) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
                ).format(staging)
                with cursor.copy(copying) as copy:
                    copy.write("".join(batch))
                cursor.execute(insert)
                cursor.execute(sql.SQL("TRUNCATE {}").format(staging))
                written += len(batch)
                progress(table.name, written)
            cursor.execute(sql.SQL("DROP TABLE {}").format(staging))
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as error:
        raise _refused(table, "a row", error, merge=False) from error
    progress(table.name, written)
    return written


def canonical_lines(
    connection: sa.Connection, table: sa.Table, columns: Sequence[str], format: str = FORMAT
) -> Iterator[Lines]:
    """The table's rows in id order as the format's UTF-8 lines (FORMAT: line()), over the
    given columns, in blocks of whole lines: what an export writes and what an import's
    verification fingerprints."""
    if connection.dialect.name == "postgresql" and format == FORMAT:
        yield from copied_lines(connection, table, columns)
        return
    yield from selected_lines(
        connection, sa.select(*(table.c[name] for name in columns)).order_by(table.c.id), format
    )


def selected_lines(
    connection: sa.Connection, statement: sa.Select[Any], format: str = FORMAT
) -> Iterator[Lines]:
    """The statement's rows as the format's UTF-8 lines, in blocks of whole lines."""
    if format == FIRST_FORMAT:
        written: Callable[[dict[str, Any]], str] = first_line
    else:
        documents = {
            column.name for column in statement.selected_columns if isinstance(column.type, sa.JSON)
        }
        written = functools.partial(line, documents=documents)
    partitions = connection.execute(statement.execution_options(yield_per=SLICE)).mappings()
    for rows in partitions.partitions():
        yield "".join(written(dict(row)) for row in rows).encode(), len(rows)


def copied_lines(
    connection: sa.Connection, table: sa.Table, columns: Sequence[str]
) -> Iterator[Lines]:
    """PostgreSQL's fast path on one connection, the twin of the SELECT above: PostgreSQL
    writes each line (tables.line_sql) and COPY streams them while it writes the next, so no
    value becomes a Python object. CSV with a quote and a delimiter no line can hold (line()
    and jsonb escape control characters) passes the lines unaltered."""
    driver = connection.connection.driver_connection
    assert driver is not None
    statement = sql.SQL(
        "COPY (SELECT {} FROM {} ORDER BY id) TO STDOUT "
        "WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
    ).format(sql.SQL(line_sql(table, columns)), sql.Identifier(table.name))
    block: list[bytes] = []
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for data in copy:  # one row's line each
            block.append(data)
            if len(block) == SLICE:
                yield b"".join(block), SLICE
                block = []
    if block:
        yield b"".join(block), len(block)


def block_bounds(connection: sa.Connection, table: sa.Table, rows: int) -> list[tuple[Any, Any]]:
    """The id bounds of the table's blocks of `rows` rows, in id order, for line_block(); one
    block, found without counting, when PostgreSQL's estimate (reltuples, -1 before the
    table's first ANALYZE) says the table has no more rows than that."""
    estimate = connection.scalar(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
        {"name": table.name},
    )
    if estimate is not None and 0 <= estimate <= rows:
        return [(None, None)]
    numbered = sa.select(
        table.c.id, sa.func.row_number().over(order_by=table.c.id).label("n")
    ).subquery()
    starts = connection.scalars(
        sa.select(numbered.c.id)
        .where(numbered.c.n > 1, (numbered.c.n - 1) % rows == 0)
        .order_by(numbered.c.id)
    ).all()
    return list(itertools.pairwise([None, *starts, None]))


def line_block(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    ids: tuple[Any, Any],
) -> Lines:
    """The export's path on several connections: copied_lines() of the rows whose id is from
    the first of `ids` (inclusive) up to the second (exclusive; None: no bound), joined by
    PostgreSQL into one value and counted, so that a block costs Python one round trip, not one
    message a line, and can be read by whichever connection is free."""
    driver = connection.connection.driver_connection
    assert driver is not None
    bounds = [
        sql.SQL("id {} %s").format(sql.SQL(operator))
        for operator, value in zip((">=", "<"), ids, strict=True)
        if value is not None
    ]
    # The order inside the aggregate, not a sorted subquery's, which PostgreSQL only
    # "usually" keeps; a block's few thousand rows come sorted from the primary key anyway.
    statement = sql.SQL(
        "SELECT convert_to(string_agg({} || E'\\n', '' ORDER BY id), 'UTF8'), count(*) FROM {} {}"
    ).format(
        # Doubled: the bounds are parameters, so a % (LIKE '%.%', a key "Growth %") is one.
        sql.SQL(line_sql(table, columns).replace("%", "%%")),
        sql.Identifier(table.name),
        sql.SQL("WHERE ") + sql.SQL(" AND ").join(bounds) if bounds else sql.SQL(""),
    )
    # Prepared: the blocks of a table share one plan; binary: the bytes arrive as they are.
    found = driver.execute(
        statement, [value for value in ids if value is not None], prepare=True, binary=True
    ).fetchone()
    return (found[0], found[1]) if found and found[0] is not None else (b"", 0)


def fingerprint(
    connection: sa.Connection, table: sa.Table, columns: Sequence[str], format: str = FORMAT
) -> tuple[int, str]:
    """(rows, sha256 of their lines in the format, in id order), over the given columns: the
    same rows give the same fingerprint on either backend."""
    digest = hashlib.sha256()
    rows = 0
    for block, lines in canonical_lines(connection, table, columns, format):
        digest.update(block)
        rows += lines
    return rows, digest.hexdigest()
