"""Status changes as data: each stateful table has a Lifecycle (which moves are allowed), and
transition() is the only code that writes a status (in the column the Lifecycle names: `status`,
or the seed's sender_accounts.state).

transition() is one conditional UPDATE: it moves the row only if its current status is one the
target may be reached from, and any extra preconditions hold, in the same statement, so two
processes racing for a row cannot both win.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.db import get_or_not_found
from outreach.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Lifecycle(Generic[S]):
    noun: str
    moves: Mapping[S, frozenset[S]]
    """For each status, the statuses a row may come from to reach it."""
    column: str = "status"
    """The column that holds the status (transition and transition_many; transition_each
    writes `status` only)."""

    def sources(self, target: S) -> frozenset[S]:
        return self.moves.get(target, frozenset())


def transition(
    session: Session,
    table: Any,
    row_id: uuid.UUID,
    target: S,
    lifecycle: Lifecycle[S],
    *,
    where: tuple[sa.ColumnElement[bool], ...] = (),
    **values: Any,
) -> None:
    """Move one row to `target` (setting `values` too), or raise InvalidTransition saying why."""
    status = getattr(table, lifecycle.column)
    statement = (
        sa.update(table)
        .where(table.id == row_id, status.in_(lifecycle.sources(target)), *where)
        .values({lifecycle.column: target.value, **values})
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount == 1:  # type: ignore[attr-defined]
        forget_loaded(session, table, [row_id], [lifecycle.column, *values])
        return
    current = session.scalar(sa.select(status).where(table.id == row_id))
    if current is None:
        get_or_not_found(session, table, row_id, lifecycle.noun)
    raise InvalidTransition(
        refusal(lifecycle, str(current), target),
        id=str(row_id),
        status=current,
        wanted=target.value,
    )


def refusal(lifecycle: Lifecycle[S], current: str, target: S) -> str:
    """Why a row cannot move, in a sentence: "The campaign is already active.", "A draft
    campaign cannot be paused.", or, when the move is allowed but a precondition of the
    moment is not met, "The delivery cannot be sent now."."""
    wanted = _status_words(target.value)
    if current == target.value:
        return f"The {lifecycle.noun} is already {wanted}."
    if current in lifecycle.sources(target):
        return f"The {lifecycle.noun} cannot be {wanted} now."
    state = _status_words(current)
    article = "An" if state[0] in "aeiou" else "A"
    return f"{article} {state} {lifecycle.noun} cannot be {wanted}."


def _status_words(status: str) -> str:
    return status.replace("_", " ")


def transition_many(
    session: Session,
    table: Any,
    where: tuple[sa.ColumnElement[bool], ...],
    target: S,
    lifecycle: Lifecycle[S],
    **values: Any,
) -> int:
    """Moves every row matching `where` whose status allows it to `target`; returns how many."""
    statement = (
        sa.update(table)
        .where(getattr(table, lifecycle.column).in_(lifecycle.sources(target)), *where)
        .values({lifecycle.column: target.value, **values})
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount or 0  # type: ignore[attr-defined]


def transition_each(
    session: Session,
    table: Any,
    row_ids: Collection[uuid.UUID],
    target: S,
    lifecycle: Lifecycle[S],
    *,
    counting: tuple[str, ...] = (),
    skip_taken: bool = False,
    **values: Any,
) -> set[uuid.UUID]:
    """Moves each of these rows whose status allows it to `target` (setting `values` too, and
    adding 1 to each column named in `counting`), in one statement; returns the ids it moved.
    Rows left out are the caller's to explain. With skip_taken, a row another transaction
    holds (PostgreSQL; SQLite has one writer) is left out instead of waited for: workers racing
    for the same rows in different orders, each holding some, would otherwise deadlock.

    Run on the session's connection through the driver's own cursor, in the session's
    transaction: a worker runs several per round of sends, and SQLAlchemy's execution (compiled
    cache lookup, expanding the IN list, processing each bind and result) cost several times
    the statement itself. The values go through each column's own bind processor, so they are
    stored exactly as SQLAlchemy would store them."""
    if not row_ids:
        return set()
    if session.autoflush:
        session.flush()
    connection = session.connection()
    dialect = connection.dialect
    shape = _moving_each(
        table.__table__,
        target,
        lifecycle.sources(target),
        tuple(sorted(values)),
        counting,
        dialect.name,
        skip_taken,
    )
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    to_driver = shape.id_bind(dialect)
    # The driver hands back the ids as they were bound (the same text on SQLite): mapping them
    # back costs a dict lookup where parsing each into a UUID cost more than the statement.
    ids = {to_driver(row_id): row_id for row_id in row_ids}
    bound = list(ids)
    moved: set[uuid.UUID] = set()
    try:
        settings = [process(values[name]) for name, process in shape.binds(dialect)]
        # One statement for each chunk (SQLite caps the number of binds per statement).
        for at in range(0, len(bound), _CHUNK):
            chunk = bound[at : at + _CHUNK]
            if dialect.name == "postgresql":
                cursor.execute(
                    shape.sql, (chunk, *settings) if shape.ids_first else (*settings, chunk)
                )
            else:
                cursor.execute(shape.sql.format(ids=_placeholders(len(chunk))), (*settings, *chunk))
            moved.update(ids[row[0]] for row in cursor.fetchall())
    finally:
        cursor.close()
    forget_loaded(session, table, moved, ["status", *values, *counting])
    return moved


_CHUNK = 5000


@functools.cache
def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


@dataclass(frozen=True)
class _Moving:
    """transition_each's statement for one shape, with what turns its values into the driver's."""

    table: sa.Table
    names: tuple[str, ...]
    sql: str
    ids_first: bool = False

    def binds(self, dialect: sa.Dialect) -> list[tuple[str, Any]]:
        return [
            (name, self.table.c[name].type._cached_bind_processor(dialect) or _same)
            for name in self.names
        ]

    def id_bind(self, dialect: sa.Dialect) -> Any:
        return self.table.c.id.type._cached_bind_processor(dialect) or _same


def _same(value: Any) -> Any:
    return value


@functools.cache
def _moving_each(
    table: sa.Table,
    target: StrEnum,
    sources: frozenset[StrEnum],
    names: tuple[str, ...],
    counting: tuple[str, ...],
    dialect: str,
    skip_taken: bool,
) -> _Moving:
    """transition_each's SQL, written once for each shape and dialect: the statuses are the
    code's own words, so they are written as literals; the values and ids are bound (on SQLite
    the id list's placeholders are filled in per size, on PostgreSQL it is one array)."""
    for word in (target, *sources):
        assert word.value.isidentifier(), word
    marker = "%s" if dialect == "postgresql" else "?"
    settings = ", ".join(
        [
            f"status = '{target.value}'",
            *(f"{name} = {marker}" for name in names),
            *(f"{name} = {name} + 1" for name in counting),
        ]
    )
    statuses = ", ".join(f"'{source.value}'" for source in sorted(sources))
    ids = "id = ANY(%s)" if dialect == "postgresql" else "id IN ({ids})"
    if skip_taken and dialect == "postgresql":
        # The rows are locked first, in id order, skipping those held elsewhere (FOR UPDATE
        # checks the status again on the row as locked), then updated by primary key. As a CTE: as a
        # subquery under IN, the planner chose a plan that took 12 ms for a few rows of 1,000.
        # The ids come before the values here.
        name = table.name
        locked = (
            f"WITH free AS (SELECT id FROM {name} WHERE {ids} AND status IN ({statuses}) "  # noqa: S608 (names and statuses from the code, values bound)
            "ORDER BY id FOR UPDATE SKIP LOCKED) "
        )
        update = f"UPDATE {name} SET {settings} FROM free WHERE {name}.id = free.id "  # noqa: S608 (as above)
        return _Moving(table, names, f"{locked}{update}RETURNING {name}.id", ids_first=True)
    sql = f"UPDATE {table.name} SET {settings} WHERE {ids} AND status IN ({statuses}) RETURNING id"  # noqa: S608 (names and statuses from the code, values bound)
    return _Moving(table, names, sql)


def forget_loaded(
    session: Session, table: Any, row_ids: Collection[uuid.UUID], names: Collection[str] = ()
) -> None:
    """Rows this session loaded are read afresh (`names`, or all of them) after an UPDATE made
    around the session."""
    if not session.identity_map:
        return
    for row_id in row_ids:
        loaded = session.identity_map.get(session.identity_key(table, row_id))
        if loaded is not None:
            session.expire(loaded, list(names) or None)
