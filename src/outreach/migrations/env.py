"""Alembic environment: one history for SQLite and PostgreSQL.

The connection comes from the caller (outreach.schema passes one in) or from DATABASE_URL, so
`alembic upgrade head` and `outreach db upgrade` migrate the same database.
"""

from __future__ import annotations

import warnings
from functools import cache

import sqlalchemy as sa
from alembic import context
from alembic.runtime.environment import IncludeObjectFn, NameFilterType
from sqlalchemy import Connection
from sqlalchemy.sql.schema import SchemaItem

from outreach.config import Settings
from outreach.db import create_engine
from outreach.models import Base

# SQLite cannot reflect expression indexes (contacts_email_unique on lower(email)), so Alembic
# cannot compare them there; tests/integration/test_schema.py checks them on both backends.
warnings.filterwarnings("ignore", message=".*expression-based index")


def run_migrations(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        configure_and_run(connection)
        return
    # SQLite alters a table by copying it into a new one and dropping the old; with foreign keys
    # enforced, dropping a table that others reference would delete or refuse their rows. So
    # foreign keys are off while migrating (only possible outside a transaction) and checked after.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        configure_and_run(connection)
        broken = driver.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(
                f"migration left rows whose foreign keys point nowhere: {broken[:5]}"
            )
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=True,
        include_object=compared_objects(connection),
    )
    with context.begin_transaction():
        context.run_migrations()


def compared_objects(connection: Connection) -> IncludeObjectFn:
    """What comparing the models with this database looks at: not what the models build on
    another dialect only, nor partitions (see partitions_left_out)."""
    partitioned = partitions_left_out(connection)

    def include(
        item: SchemaItem,
        name: str | None,
        kind: NameFilterType,
        reflected: bool,
        compare_to: SchemaItem | None,
    ) -> bool:
        if not built_on(item, connection.dialect.name):
            return False
        return partitioned is None or partitioned(item, name, kind, reflected, compare_to)

    return include


def built_on(item: SchemaItem, dialect: str) -> bool:
    """False for an item the models create on another dialect only (`Index(...).ddl_if()`,
    such as PostgreSQL's trigram index on contacts.company)."""
    only = getattr(item, "_ddl_if", None)
    return only is None or only.dialect in (None, dialect)


def partitions_left_out(connection: Connection) -> IncludeObjectFn | None:
    """What comparing the models with a database whose sent_emails is partitioned
    (outreach.portability.partitioning) must not report: the partitions themselves, which are
    the parent table's storage, and foreign keys to a partitioned table, which PostgreSQL cannot
    hold without the partition key and which constraint triggers of the same name replace."""
    if connection.dialect.name != "postgresql":
        return None

    # Read on first use, which is during a comparison only: a query before configure() would
    # open a transaction that Alembic then takes for the caller's and never commits.
    @cache
    def partitioning() -> dict[str, bool]:
        """Partitions (False) and partitioned tables (True) by name."""
        rows = connection.execute(
            sa.text(
                "SELECT relname, relkind = 'p' FROM pg_class"
                " WHERE (relispartition OR relkind = 'p') AND pg_table_is_visible(oid)"
            )
        )
        return dict(rows.all())

    def include(
        item: SchemaItem, name: str | None, kind: str, reflected: bool, compare_to: object
    ) -> bool:
        if kind == "table":
            return partitioning().get(name or "") is not False
        if isinstance(item, sa.ForeignKeyConstraint):
            return partitioning().get(item.referred_table.name) is not True
        return True

    return include


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_engine(Settings().database_url)
    with engine.connect() as new_connection:
        run_migrations(new_connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit(
        "outreach migrations run against a live database; offline mode is not supported"
    )
run_online()
