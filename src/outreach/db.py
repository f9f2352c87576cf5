"""Declarative base, the column types both backends share, the engine factory, and reading one
row by its key or saying there is none.

One schema serves PostgreSQL and SQLite. Where the seed uses PostgreSQL types SQLite lacks, the
types here keep the Python side identical: UUIDs are `uuid.UUID` (canonical text on SQLite),
timestamps are timezone-aware UTC (ISO text on SQLite, never handed back naive), TEXT[] is a
`list[str]` (JSON on SQLite), JSONB is JSON.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from outreach.errors import NotFound, ValidationFailed

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
READ_ONLY = "outreach_read_only"
"""Execution option for connections that only read: on SQLite they begin without taking the
write lock, so a health probe never queues behind an import."""


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class GUID(TypeDecorator[uuid.UUID]):
    """UUID: native on PostgreSQL, canonical 36-character text on SQLite."""

    impl = sa.CHAR(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID(as_uuid=True))
        return dialect.type_descriptor(sa.CHAR(36))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(str(value))


def time_ordered_uuid(at: datetime) -> uuid.UUID:
    """A version 7 UUID (RFC 9562): the millisecond of `at`, then random bits.

    Rows inserted together get neighbouring keys, so a bulk insert appends to the primary key's
    B-tree instead of touching a random page per row, on both backends. Still a UUID, so the
    seed's UUID columns and gen_random_uuid() (v4) keys live beside it.
    """
    return uuid.UUID(time_ordered_uuid_texts(at, 1)[0])


def time_ordered_uuid_texts(at: datetime, count: int) -> list[str]:
    """`count` time_ordered_uuid()s of `at` in canonical text form, for bulk inserts: built from
    one read of random bytes and string slicing, several times faster than uuid.UUID objects."""
    millisecond = f"{int(at.timestamp() * 1000) & ((1 << 48) - 1):012x}"
    head = f"{millisecond[:8]}-{millisecond[8:]}-7"
    # 20 random hex digits per id: 3 after the version, 1 that picks the variant digit (binary
    # 10xx: 8, 9, a or b), then 3 and 12; the 8th is left unused to keep the slices aligned.
    noise = os.urandom(10 * count).hex()
    return [
        f"{head}{noise[i : i + 3]}-{_VARIANT[noise[i + 3]]}{noise[i + 4 : i + 7]}-"
        + noise[i + 8 : i + 20]
        for i in range(0, 20 * count, 20)
    ]


_VARIANT = {digit: "89ab"[int(digit, 16) & 0x3] for digit in "0123456789abcdef"}


class UtcDateTime(TypeDecorator[datetime]):
    """TIMESTAMPTZ: aware datetimes in, aware UTC datetimes out, on both backends.

    SQLite keeps `YYYY-MM-DD HH:MM:SS.ffffff` in UTC so that text order is time order; values
    written by other tools (ISO with `T` or an offset) are still read back correctly.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(SQLiteTimestampText())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware datetimes, got {value!r}")
        if dialect.name == "sqlite":
            return value.astimezone(UTC).strftime(SQLITE_TIMESTAMP_FORMAT)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


class SQLiteTimestampText(sa.String):
    """Text that SQLite's DDL calls DATETIME, so the schema reads as what it holds."""


@compiles(SQLiteTimestampText, "sqlite")
def _compile_sqlite_timestamp(type_: SQLiteTimestampText, compiler: Any, **kw: Any) -> str:
    return "DATETIME"


class TextArray(TypeDecorator[list[str]]):
    """TEXT[] on PostgreSQL, a JSON array on SQLite; a `list[str]` in Python on both."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(sa.Text()))
        return dialect.type_descriptor(sa.JSON())


JSONDocument = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
"""JSONB on PostgreSQL, JSON text on SQLite. Python None is SQL NULL, not the JSON `null`
SQLAlchemy would store by default: `enriched_data IS NULL` must mean the same after a restore."""


class json_member_text(FunctionElement[str]):
    """json_member_text(document, key): the text of the JSON object's top-level member `key`,
    NULL when it has none, for any key. PostgreSQL: `->>`. SQLite: json_each, whose keys come
    decoded; a JSON path would have to spell the key as the stored text escapes it (é as
    \\u00e9), and cannot name a key with a double quote or a NUL at all."""

    type = sa.Text()
    inherit_cache = True


@compiles(json_member_text, "postgresql")
def _json_member_text_pg(element: json_member_text, compiler: Any, **kw: Any) -> str:
    document, key = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({document} ->> CAST({key} AS TEXT))"


@compiles(json_member_text, "sqlite")
def _json_member_text_sqlite(element: json_member_text, compiler: Any, **kw: Any) -> str:
    document, key = (compiler.process(clause, **kw) for clause in element.clauses)
    # Compiled SQL fragments (a column, a bound parameter), never values: nothing to inject.
    return f"(SELECT member.value FROM json_each({document}) AS member WHERE member.key = {key})"  # noqa: S608


class new_uuid(FunctionElement[uuid.UUID]):
    """Database-side UUID v4 default, so rows written by other tools get ids too."""

    type = GUID()
    inherit_cache = True


@compiles(new_uuid, "postgresql")
def _new_uuid_pg(element: new_uuid, compiler: Any, **kw: Any) -> str:
    return "gen_random_uuid()"


@compiles(new_uuid, "sqlite")
def _new_uuid_sqlite(element: new_uuid, compiler: Any, **kw: Any) -> str:
    return SQLITE_NEW_UUID


SQLITE_NEW_UUID = (
    "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
    "substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || "
    "substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
)
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


class utc_now(FunctionElement[datetime]):
    """Database-side `now()` in the storage format of UtcDateTime."""

    type = UtcDateTime()
    inherit_cache = True


@compiles(utc_now, "postgresql")
def _utc_now_pg(element: utc_now, compiler: Any, **kw: Any) -> str:
    return "now()"


@compiles(utc_now, "sqlite")
def _utc_now_sqlite(element: utc_now, compiler: Any, **kw: Any) -> str:
    return SQLITE_NOW


class utc_today(FunctionElement[date]):
    """Database-side CURRENT_DATE, in UTC on both backends whatever the session's time zone."""

    type = sa.Date()
    inherit_cache = True


@compiles(utc_today, "postgresql")
def _utc_today_pg(element: utc_today, compiler: Any, **kw: Any) -> str:
    return "(now() AT TIME ZONE 'UTC')::date"


@compiles(utc_today, "sqlite")
def _utc_today_sqlite(element: utc_today, compiler: Any, **kw: Any) -> str:
    return "date('now')"


def create_engine(url: str, **options: Any) -> Engine:
    """An engine with each backend set up for concurrent use.

    SQLite: WAL so readers never wait for the writer, a busy timeout so writers queue instead
    of failing, foreign keys enforced, and transactions begun explicitly with BEGIN IMMEDIATE:
    one writer at a time, and no deadlock from two readers upgrading to writers at once
    (connections marked READ_ONLY begin deferred instead).
    PostgreSQL: sessions in UTC so date arithmetic in SQL matches the application's.
    A URL that names no database outreach can open raises ValidationFailed.
    """
    try:
        return _create_engine(url, **options)
    except (sa.exc.ArgumentError, ImportError) as error:
        shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
        raise ValidationFailed(
            f"{shown!r} is not a database URL outreach can use ({error}): write "
            "postgresql://USER:PASSWORD@HOST:5432/NAME or sqlite:///PATH."
        ) from error


def _create_engine(url: str, **options: Any) -> Engine:
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **options)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    url = _with_psycopg_driver(url)
    return sa.create_engine(url, connect_args={"options": "-c timezone=UTC"}, **options)


def _with_psycopg_driver(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "busy_timeout=15000",
        "foreign_keys=ON",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_immediate(connection: sa.Connection) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(bind: Engine | sa.Connection) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit, so entry points can render after committing.

    Bound to a connection (tests), a session joins the connection's transaction through
    savepoints and its commit never ends the outer transaction.
    """
    return sessionmaker(bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint")


Row = TypeVar("Row")


def get_or_not_found(
    session: Session, model: type[Row], row_id: uuid.UUID, noun: str, **details: Any
) -> Row:
    """The row of `model` with this primary key, or NotFound "There is no {noun} {row_id}.",
    whose details are `details` when given (a form's field, say), else the id."""
    found = session.get(model, row_id)
    if found is None:
        raise NotFound(f"There is no {noun} {row_id}.", **(details or {"id": str(row_id)}))
    return found


def rows_by_id(
    session: Session, model: type[Row], ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Row]:
    """These rows of `model` by primary key, in one statement (none without ids): what a page of
    rows reads instead of a `session.get` per row."""
    if not ids:
        return {}
    key = sa.inspect(model).primary_key[0]
    return {
        row[0]: row[1] for row in session.execute(sa.select(key, model).where(key.in_(list(ids))))
    }


def keyset_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """The cursor of a page that ends at the row with this time and id, for `read_cursor`."""
    return f"{at.isoformat()}|{row_id}"


def read_cursor(text: str, field: str) -> tuple[datetime, uuid.UUID]:
    """The (time, id) a `keyset_cursor` holds; ValidationFailed naming `field` for any other
    text, so a made-up cursor is a 422, never a 500."""
    try:
        at, _, row_id = text.partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("no time zone")
        return moment, uuid.UUID(row_id)
    except ValueError as error:
        raise ValidationFailed("This page cursor is not one we gave.", field=field) from error


Column = sa.ColumnElement[Any] | QueryableAttribute[Any]


def keyset_page(
    session: Session,
    statement: sa.Select[*tuple[Any, ...]],
    key: Column,
    row_id: Column,
    after: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> tuple[list[tuple[Any, ...]], str | None]:
    """Up to `limit` rows of `statement` in (key, row_id) order, after the row the cursor `after`
    names, and the cursor of the page after them (None on the last page). `key` is a time or a
    text column; an index on (key, id) serves the order and the jump, so a page costs its rows
    however many there are, and rows added or removed meanwhile move no other row to another
    page. ValidationFailed (422) for a cursor we did not give."""
    order = (key.desc(), row_id.desc()) if descending else (key, row_id)
    statement = statement.add_columns(key, row_id).order_by(*order).limit(limit + 1)
    if after:
        last = sa.tuple_(key, row_id)
        at = _read_key(after, isinstance(key.type, UtcDateTime))
        statement = statement.where(last < at if descending else last > at)
    rows = [tuple(row) for row in session.execute(statement)]
    page = rows[:limit]
    cursor = _key_cursor(page[-1][-2], page[-1][-1]) if len(rows) > limit else None
    return [row[:-2] for row in page], cursor


def keyset_scalars(
    session: Session,
    statement: sa.Select[*tuple[Any, ...]],
    key: Column,
    row_id: Column,
    after: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """`keyset_page` of a statement that selects one thing: the things, not rows of one."""
    rows, cursor = keyset_page(session, statement, key, row_id, after, limit, descending=descending)
    return [row[0] for row in rows], cursor


def _key_cursor(key: datetime | str, row_id: uuid.UUID) -> str:
    return keyset_cursor(key, row_id) if isinstance(key, datetime) else f"{key}|{row_id}"


def _read_key(text: str, timed: bool) -> tuple[datetime | str, uuid.UUID]:
    if timed:
        return read_cursor(text, "after")
    # A text key may hold "|" itself; the id after the last one cannot.
    key, _, row_id = text.rpartition("|")
    try:
        return key, uuid.UUID(row_id)
    except ValueError as error:
        raise ValidationFailed("This page cursor is not one we gave.", field="after") from error


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work for an entry point: commit on success, roll back on any error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class text_array_literal(FunctionElement[list[str]]):
    """A constant TEXT[] default: ARRAY['a', 'b'] on PostgreSQL, '["a", "b"]' on SQLite."""

    type = TextArray()
    inherit_cache = False

    def __init__(self, *items: str) -> None:
        super().__init__()
        self.items = items


@compiles(text_array_literal, "postgresql")
def _text_array_pg(element: text_array_literal, compiler: Any, **kw: Any) -> str:
    return "ARRAY[" + ", ".join(_sql_string(item) for item in element.items) + "]"


@compiles(text_array_literal, "sqlite")
def _text_array_sqlite(element: text_array_literal, compiler: Any, **kw: Any) -> str:
    return _sql_string(json.dumps(list(element.items)))


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
