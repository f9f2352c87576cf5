"""Status changes as data: each stateful table has a Lifecycle (which moves are allowed), and
transition() is the only code that writes a status.

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

from outreach.errors import InvalidTransition, NotFound

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Lifecycle(Generic[S]):
    noun: str
    moves: Mapping[S, frozenset[S]]
    """For each status, the statuses a row may come from to reach it."""

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
    statement = (
        sa.update(table)
        .where(table.id == row_id, table.status.in_(lifecycle.sources(target)), *where)
        .values(status=target.value, **values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount == 1:  # type: ignore[attr-defined]
        _forget(session, table, [row_id], ["status", *values])
        return
    current = session.scalar(sa.select(table.status).where(table.id == row_id))
    if current is None and session.get(table, row_id) is None:
        raise NotFound(f"There is no {lifecycle.noun} {row_id}.", id=str(row_id))
    raise InvalidTransition(
        f"The {lifecycle.noun} is {current}; it cannot become {target.value} now.",
        id=str(row_id),
        status=current,
        wanted=target.value,
    )


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
        .where(table.status.in_(lifecycle.sources(target)), *where)
        .values(status=target.value, **values)
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
    Rows left out are the caller's to explain. `skip_taken`: rows another transaction is
    moving just now are left out rather than waited for (workers taking work), and the others
    are locked in id order, so that two workers taking overlapping rows cannot deadlock."""
    if not row_ids:
        return set()
    statement = _moving_each(
        table, target, lifecycle.sources(target), tuple(sorted(values)), counting, skip_taken
    )
    parameters = {"row_ids": list(row_ids), **{f"new_{k}": v for k, v in values.items()}}
    moved = set(session.scalars(statement, parameters))
    _forget(session, table, moved, ["status", *values, *counting])
    return moved


@functools.cache
def _moving_each(
    table: Any,
    target: StrEnum,
    sources: frozenset[StrEnum],
    names: tuple[str, ...],
    counting: tuple[str, ...],
    skip_taken: bool,
) -> sa.UpdateBase:
    """transition_each's statement, built once for each shape: a worker runs one per batch of
    sends, and building it (and its cache key) cost more than running it. On the table rather
    than the mapped class, whose bulk UPDATE machinery costs more again."""
    columns = table.__table__.c
    ids = sa.bindparam("row_ids", expanding=True, type_=columns.id.type)
    statuses = sorted(source.value for source in sources)
    chosen: Any = ids
    if skip_taken:
        # FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer and renders none.
        chosen = (
            sa.select(columns.id)
            .where(columns.id.in_(ids), columns.status.in_(statuses))
            .order_by(columns.id)
            .with_for_update(skip_locked=True)
        )
    # Bind names are prefixed: a bind named like a column is reserved in UPDATE.
    return (
        sa.update(table.__table__)
        .where(columns.id.in_(chosen), columns.status.in_(statuses))
        .values(
            status=target.value,
            **{name: sa.bindparam(f"new_{name}", type_=columns[name].type) for name in names},
            **{name: columns[name] + 1 for name in counting},
        )
        .returning(columns.id)
    )


def _forget(session: Session, table: Any, row_ids: Collection[uuid.UUID], names: list[str]) -> None:
    """Rows this session loaded are read afresh after an UPDATE made around them."""
    for row_id in row_ids:
        loaded = session.identity_map.get(session.identity_key(table, row_id))
        if loaded is not None:
            session.expire(loaded, names)
