"""What every command needs: the settings, loaded once, and a container built from them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import Progress, TaskID, TextColumn

from outreach.clock import Clock
from outreach.config import Settings
from outreach.container import Container, build_container

console = Console()
errors = Console(stderr=True)


def settings_of(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.ensure_object(dict)["settings"]
    return settings


@contextmanager
def container_for(ctx: typer.Context, clock: Clock | None = None) -> Iterator[Container]:
    container = build_container(settings_of(ctx), clock)
    try:
        yield container
    finally:
        container.close()


@contextmanager
def table_progress(verb: str) -> Iterator[Callable[[str, int], None]]:
    """A Rich progress line per table, fed with (table, rows so far)."""
    bars = Progress(
        TextColumn(f"{verb} [bold]{{task.description}}"),
        TextColumn("{task.completed} rows"),
        console=console,
    )
    tasks: dict[str, TaskID] = {}

    def update(table: str, rows: int) -> None:
        if table not in tasks:
            tasks[table] = bars.add_task(table, total=None)
        bars.update(tasks[table], completed=rows)

    with bars:
        yield update
