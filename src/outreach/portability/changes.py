"""What hourly backups read from backup_changes (migration 0029): where a backup's snapshot
stands in the log (its mark), the rows changed and deleted since an earlier mark, and forgetting
the entries a backup covered.

A mark is recorded in every backup's manifest. On SQLite it is the highest seq the snapshot saw:
one writer at a time, so seqs are committed in order. On PostgreSQL a seq is handed out before
its transaction commits, so a later backup could see seq 101 but not 100 (still running) and
skip 100 for ever; there the mark is the snapshot itself (pg_current_snapshot), and an entry is
new when its transaction was not visible to it (pg_visible_in_snapshot).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import UserDefinedType

from outreach.portability.models import BackupChange

Mark = dict[str, Any]
"""{"seq": int} on SQLite, {"snapshot": "xmin:xmax:xip,..."} on PostgreSQL."""

log: sa.Table = BackupChange.__table__  # type: ignore[assignment]


def mark(connection: sa.Connection) -> Mark:
    """Where the connection's snapshot stands in the log: run inside the backup's snapshot."""
    if connection.dialect.name == "postgresql":
        return {"snapshot": connection.scalar(sa.text("SELECT pg_current_snapshot()::text"))}
    return {"seq": connection.scalar(sa.select(sa.func.coalesce(sa.func.max(log.c.seq), 0)))}


class _Named(UserDefinedType[str]):
    """A PostgreSQL type for CAST that SQLAlchemy does not know (xid8, pg_snapshot)."""

    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **kw: Any) -> str:
        return self.name


def _seen_by(connection: sa.Connection, since: Mark) -> sa.ColumnElement[bool]:
    """Entries the snapshot of `since` already saw (and a backup then covered)."""
    if connection.dialect.name == "postgresql":
        return sa.func.pg_visible_in_snapshot(
            sa.cast(sa.cast(log.c.xid, sa.Text), _Named("xid8")),
            sa.cast(sa.literal(since["snapshot"], sa.Text), _Named("pg_snapshot")),
        )
    return log.c.seq <= int(since["seq"])


def logged_since(connection: sa.Connection, table: sa.Table, since: Mark) -> sa.Select[Any]:
    """The ids of the table's rows inserted, updated or deleted after `since` (the log is about
    an hour long, so this reads little; each id once however often it changed)."""
    return (
        sa.select(log.c.row_id)
        .where(log.c.table_name == table.name, sa.not_(_seen_by(connection, since)))
        .distinct()
    )


def deleted_ids(connection: sa.Connection, table: sa.Table, since: Mark) -> sa.Select[Any]:
    """Ids logged since `since` whose row is gone: what a restore must delete, so that a row
    deleted after the base does not come back."""
    changed = logged_since(connection, table, since).subquery()
    return (
        sa.select(changed.c.row_id.label("id"))
        .where(~sa.exists().where(table.c.id == changed.c.row_id))
        .order_by(changed.c.row_id)
    )


def forget(connection: sa.Connection, tables: list[str], upto: Mark) -> int:
    """Deletes the tables' entries that a verified backup at mark `upto` covered."""
    result = connection.execute(
        sa.delete(log).where(log.c.table_name.in_(tables), _seen_by(connection, upto))
    )
    return result.rowcount or 0
