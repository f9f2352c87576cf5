"""Where a database stands against this code's migrations, and bringing it up to date."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from outreach.db import READ_ONLY
from outreach.errors import DatabaseNotReady

UPGRADE_COMMAND = "outreach db upgrade"


def alembic_config() -> Config:
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


def schema_state(engine: Engine) -> SchemaState:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.OperationalError as error:
        raise DatabaseNotReady(f"The database is unreachable: {error.orig}") from error
    return SchemaState(current=current, head=head)


def ensure_current(engine: Engine) -> None:
    """Refuse to go on with a database that is unreachable, un-migrated or outdated."""
    problem = schema_state(engine).problem()
    if problem:
        raise DatabaseNotReady(problem)


def create_if_empty(engine: Engine) -> None:
    """Create the schema in a database that has none (a restore into a new data folder);
    refuse one at any other revision, as ensure_current does, rather than migrate it unasked."""
    if schema_state(engine).current is None:
        upgrade(engine)
    ensure_current(engine)


def upgrade(engine: Engine) -> SchemaState:
    """Apply every migration this code has; harmless when the database is already current."""
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return schema_state(engine)
