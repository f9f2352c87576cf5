"""What every command needs: the settings, loaded once, and a container built from them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

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
