"""`outreach db ...`: the database's schema."""

from __future__ import annotations

import typer

from outreach.cli.context import console, container_for
from outreach.schema import schema_state, upgrade

app = typer.Typer(help="The database: migrate it, see where it stands.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Apply every migration this version has. Safe to run again."""
    with container_for(ctx) as container:
        before = schema_state(container.engine)
        after = upgrade(container.engine)
    if before.current == after.current:
        console.print(f"Already at the latest revision ({after.current}).")
    else:
        console.print(f"Upgraded from {before.current or 'an empty database'} to {after.current}.")


@app.command("current")
def current_command(ctx: typer.Context) -> None:
    """Show the database's revision and whether it is the one this version needs."""
    with container_for(ctx) as container:
        state = schema_state(container.engine)
    console.print(f"database: {container.settings.database_url}")
    console.print(f"revision: {state.current or 'none'} (this version needs {state.head})")
    problem = state.problem()
    if problem:
        console.print(f"[yellow]{problem}[/yellow]")
        raise typer.Exit(1)
    console.print("[green]up to date[/green]")
