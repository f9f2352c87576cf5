"""What every command needs: the settings, loaded once, and a container built from them."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from outreach.words import counted

if TYPE_CHECKING:
    from rich.progress import TaskID
    from sqlalchemy.engine import Engine

    from outreach.clock import Clock
    from outreach.config import Settings
    from outreach.contacts.leads import ChangedBy
    from outreach.container import Container

SchemaCheck = Callable[["Engine"], None]

console = Console()
errors = Console(stderr=True, soft_wrap=True)
"""Errors are one line each, never broken by Rich (a path cut in two cannot be copied); the
terminal wraps them."""


def person_at_the_terminal() -> ChangedBy:
    """Who a command's change is recorded as made by: the operating system's user."""
    from outreach.contacts.leads import ChangedBy

    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment nor the password database
        name = "someone"
    return ChangedBy.someone(f"{name} (command line)", None)


def settings_of(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.ensure_object(dict)["settings"]
    return settings


def at_this_revision(engine: Engine) -> None:
    """The default check: a database not at this code's revision stops the command."""
    from outreach.schema import ensure_current

    ensure_current(engine)


@contextmanager
def container_for(
    ctx: typer.Context, clock: Clock | None = None, schema: SchemaCheck | None = at_this_revision
) -> Iterator[Container]:
    """The container, its database first put through `schema`: by default a database that is
    not at this code's revision stops the command with the one line that says what to do.
    Only the commands that manage the schema themselves pass another check, or None."""
    from outreach.container import build_container

    container = build_container(settings_of(ctx), clock)
    try:
        if schema is not None:
            schema(container.engine)
        yield container
    finally:
        container.close()


@contextmanager
def table_progress(verb: str) -> Iterator[Callable[[str, int], None]]:
    """A Rich progress line per table, fed with (table, rows so far)."""
    from rich.progress import Progress, TextColumn  # here: most commands show no progress

    bars = Progress(
        TextColumn(f"{verb} [bold]{{task.description}}"),
        TextColumn("{task.fields[rows]}"),
        console=console,
    )
    tasks: dict[str, TaskID] = {}

    def update(table: str, rows: int) -> None:
        if table not in tasks:
            tasks[table] = bars.add_task(table, total=None, rows="")
        bars.update(tasks[table], completed=rows, rows=counted(rows, "row"))

    with bars:
        yield update
