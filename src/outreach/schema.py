"""Where a database stands against this code's migrations, and bringing it up to date."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.db import READ_ONLY
from outreach.errors import DatabaseNotReady

if TYPE_CHECKING:
    from alembic.config import Config

UPGRADE_COMMAND = "outreach db upgrade"
HEAD = "0036"
"""The newest migration's revision, known without importing Alembic, which every command's
start would pay for (its machinery takes longer to import than the rest of a simple command):
tests/integration/test_schema_state.py holds it equal to the head Alembic finds."""
_VERSION = sa.table("alembic_version", sa.column("version_num", sa.String))
"""Where Alembic keeps a database's revision."""


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "outreach:migrations")
    return config


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def is_current(self) -> bool:
        return self.current == self.head

    def problem(self) -> str | None:
        """What is wrong with this database for this code, in words an operator can act on."""
        if self.is_current:
            return None
        if self.current is None:
            return f"The database has no outreach schema yet. Run `{UPGRADE_COMMAND}`."
        from alembic.script import ScriptDirectory

        known = {
            script.revision
            for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
        }
        if self.current not in known:
            return (
                f"The database is at revision {self.current}, which this version of outreach does "
                "not know: it was migrated by a newer outreach. Upgrade outreach."
            )
        return (
            f"The database is at revision {self.current}; this version of outreach needs "
            f"{self.head}. Run `{UPGRADE_COMMAND}`."
        )


def connect(engine: Engine, **options: object) -> sa.Connection:
    """A connection with these execution options; DatabaseNotReady when there is none to have."""
    try:
        return engine.connect().execution_options(**options)
    except sa.exc.OperationalError as error:
        # One line: the driver's message spreads its hint over several.
        reason = " ".join(str(error.orig).split())
        raise DatabaseNotReady(f"The database is unreachable: {reason}") from error


def schema_state(engine: Engine) -> SchemaState:
    with connect(engine, **{READ_ONLY: True}) as connection:
        return SchemaState(current=current_revision(connection), head=HEAD)


def current_revision(connection: sa.Connection) -> str | None:
    """The database's revision as Alembic recorded it; None without Alembic's table."""
    if not sa.inspect(connection).has_table(_VERSION.name):
        return None
    return connection.scalar(sa.select(_VERSION.c.version_num))


def ensure_current(engine: Engine) -> None:
    """Refuse to go on with a database that is unreachable, un-migrated or outdated."""
    problem = schema_state(engine).problem()
    if problem:
        raise DatabaseNotReady(problem)


def create_if_empty(connection: sa.Connection) -> None:
    """Create the schema in a database that has none (an import into a new data folder), inside
    the transaction `connection` has begun: when the caller rolls back, the database is as it
    was, without even the schema. A database at any other revision is refused, as
    ensure_current does, rather than migrated unasked."""
    if current_revision(connection) is None:
        _migrate(connection)
    problem = SchemaState(current=current_revision(connection), head=HEAD).problem()
    if problem:
        raise DatabaseNotReady(problem)


def upgrade(engine: Engine) -> SchemaState:
    """Apply every migration this code has; harmless when the database is already current."""
    with connect(engine) as connection:
        _migrate(connection)
    return schema_state(engine)


def _migrate(connection: sa.Connection) -> None:
    """Alembic's upgrade on `connection`: a transaction per migration, committed as it goes,
    or, when the caller has begun a transaction, all of them inside it."""
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
