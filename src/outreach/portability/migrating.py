"""`outreach db migrate --from URL`: copy a live database into ours, table by table.

The source is read in one snapshot and never written: the original system's PostgreSQL (its
15 tables, without our columns), or another outreach database (SQLite or PostgreSQL). The
target gets everything in one guarded transaction, like an import, and each table is checked
afterwards: the rows that landed have the same fingerprint as the rows that were read, over
the columns both sides have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.db import READ_ONLY, create_engine
from outreach.errors import Conflict, ValidationFailed
from outreach.portability.loading import (
    Progress,
    fingerprint,
    guarded,
    insert_rows,
    refuse_if_not_empty,
)
from outreach.portability.tables import export_order


@dataclass
class MigrateReport:
    rows: dict[str, int] = field(default_factory=dict)
    columns_left_empty: dict[str, list[str]] = field(default_factory=dict)
    """Our columns the source does not have (they take their defaults)."""
    dry_run: bool = False


def migrate(
    source_url: str,
    target: Engine,
    now: datetime,
    *,
    merge: bool = False,
    dry_run: bool = False,
    progress: Progress = lambda t, n: None,
) -> MigrateReport:
    source = create_engine(source_url)
    try:
        with _snapshot(source) as reading, reading.begin():
            plan = _plan(reading)
            report = MigrateReport(dry_run=dry_run)
            for table, columns in plan:
                report.rows[table.name] = (
                    reading.scalar(sa.select(sa.func.count()).select_from(table)) or 0
                )
                missing = [c.name for c in table.columns if c.name not in columns]
                if missing:
                    report.columns_left_empty[table.name] = missing
            if not dry_run:
                _copy(reading, target, plan, now, merge, progress)
            return report
    except sa.exc.OperationalError as error:
        raise ValidationFailed(f"Cannot read the source database: {error.orig}") from error
    finally:
        source.dispose()


def _snapshot(engine: Engine) -> sa.Connection:
    connection = engine.connect().execution_options(**{READ_ONLY: True})
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return connection


def _plan(reading: sa.Connection) -> list[tuple[sa.Table, list[str]]]:
    """Our tables that the source has, with the columns both have (in our order)."""
    inspector = sa.inspect(reading)
    present = set(inspector.get_table_names())
    if "contacts" not in present:
        raise ValidationFailed(
            "The source database has no contacts table: it is not the original system's or ours."
        )
    plan = []
    for table in export_order():
        if table.name in present:
            theirs = {column["name"] for column in inspector.get_columns(table.name)}
            plan.append((table, [c.name for c in table.columns if c.name in theirs]))
    return plan


def _copy(
    reading: sa.Connection,
    target: Engine,
    plan: list[tuple[sa.Table, list[str]]],
    now: datetime,
    merge: bool,
    progress: Progress,
) -> None:
    try:
        with guarded(target, now) as writing:
            if not merge:
                refuse_if_not_empty(writing, [table for table, _ in plan])
            for table, columns in plan:
                select = sa.select(*(table.c[name] for name in columns)).order_by(table.c.id)
                rows = (
                    dict(row)
                    for row in reading.execute(select.execution_options(yield_per=5000)).mappings()
                )
                insert_rows(writing, table, rows, merge, progress)
                if not merge and fingerprint(reading, table, columns) != fingerprint(
                    writing, table, columns
                ):
                    raise Conflict(
                        f"{table.name}: the rows that landed differ from those read; "
                        "nothing was kept."
                    )
    except sa.exc.IntegrityError as error:
        raise Conflict(
            f"The source's rows break a rule of ours: {error.orig}; nothing was kept."
        ) from error
