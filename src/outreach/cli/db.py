"""`outreach db ...`: the database's schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.context import console, container_for, settings_of, table_progress
from outreach.clock import SystemClock
from outreach.db import create_engine
from outreach.portability import exporting, migrating, partitioning, restoring
from outreach.schema import schema_state, upgrade
from outreach.words import counted

app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py
partition_app = typer.Typer(
    help="Partition a table that grows without end (PostgreSQL).", no_args_is_help=True
)
app.add_typer(partition_app, name="partition")


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Apply every migration this version has. Safe to run again."""
    with container_for(ctx, schema=None) as container:
        before = schema_state(container.engine)
        after = upgrade(container.engine)
    if before.current == after.current:
        console.print(f"Already at the latest revision ({after.current}).")
    else:
        console.print(f"Upgraded from {before.current or 'an empty database'} to {after.current}.")


@app.command("current")
def current_command(ctx: typer.Context) -> None:
    """Show the database's revision and whether it is the one this version needs."""
    with container_for(ctx, schema=None) as container:
        state = schema_state(container.engine)
    console.print(f"database: {container.settings.database_url}")
    console.print(f"revision: {state.current or 'none'} (this version needs {state.head})")
    problem = state.problem()
    if problem:
        console.print(f"[yellow]{problem}[/yellow]")
        raise typer.Exit(1)
    console.print("[green]up to date[/green]")


@app.command("export")
def export_command(ctx: typer.Context, folder: Path) -> None:
    """Write every table as JSON Lines in FOLDER, with a manifest of counts and checksums."""
    with container_for(ctx) as container, table_progress("Exporting") as update:
        manifest = exporting.export(container.engine, folder, container.clock.now(), update)
    total = sum(entry.rows for entry in manifest.tables)
    console.print(
        f"Exported {counted(total, 'row')} from {counted(len(manifest.tables), 'table')} "
        f"to {folder}."
    )


@app.command("import")
def import_command(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    merge: Annotated[
        bool,
        typer.Option("--merge", help="Keep existing rows; skip imported ones whose id exists."),
    ] = False,
    unverified: Annotated[
        bool,
        typer.Option(
            "--unverified",
            help="Import a folder that has no manifest.json (the original system's backup) "
            "as it is: nothing can check that its files are whole.",
        ),
    ] = False,
) -> None:
    """Import an export, checked against its manifest: nothing is kept unless every file is
    whole (or, with --unverified, the original system's json_agg backup). An empty database
    gets the schema first."""
    with (
        container_for(ctx, schema=None) as container,
        table_progress("Importing") as update,
    ):
        report = restoring.restore(
            container.engine,
            folder,
            container.clock.now(),
            merge=merge,
            unverified=unverified,
            progress=update,
        )
    imported = (
        f"Imported {counted(sum(report.rows.values()), 'row')} into "
        f"{counted(len(report.rows), 'table')}"
    )
    if report.verified:
        console.print(f"{imported}, verified.")
    else:
        console.print(
            f"[yellow]{imported}, unverified: {folder} has no {exporting.MANIFEST} to check "
            "them against.[/yellow]"
        )


@app.command("migrate")
def migrate_command(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The database to copy from: the original system's PostgreSQL URL, "
            "or another outreach database.",
        ),
    ],
    target: Annotated[
        str | None, typer.Option("--to", help="The database to copy into (default: DATABASE_URL).")
    ] = None,
    merge: Annotated[
        bool, typer.Option("--merge", help="Keep rows already there; skip those whose id exists.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would move; move nothing.")
    ] = False,
) -> None:
    """Copy a live database into this one (migrated first), checked table by table."""
    settings = settings_of(ctx)
    engine = create_engine(target or settings.database_url)
    try:
        upgrade(engine)
        with table_progress("Copying") as update:
            report = migrating.migrate(
                source, engine, SystemClock().now(), merge=merge, dry_run=dry_run, progress=update
            )
    finally:
        engine.dispose()
    for table, rows in report.rows.items():
        missing = report.columns_left_empty.get(table)
        console.print(
            f"{table}: {counted(rows, 'row')}"
            + (f" (without {', '.join(missing)})" if missing else "")
        )
    console.print("Dry run: nothing was copied." if dry_run else "Copied and checked.")


@partition_app.command("sent-emails")
def partition_sent_emails_command(
    ctx: typer.Context,
    months_ahead: Annotated[
        int,
        typer.Option(
            "--months-ahead",
            min=0,
            max=120,
            help="Create partitions for this many months after this one (at most ten years).",
        ),
    ] = partitioning.DEFAULT_MONTHS_AHEAD,
) -> None:
    """Partition sent_emails by month on sent_at, moving its rows. Safe to run again: then it
    only creates the months ahead that are missing (the worker does the same every pass)."""
    with container_for(ctx) as container:
        report = partitioning.partition_sent_emails(
            container.engine, container.clock.now(), months_ahead
        )
    if report.already_partitioned:
        console.print("sent_emails is already partitioned by month.")
        if report.rows_moved:
            console.print(
                f"Moved {counted(report.rows_moved, 'row')} out of the default partition."
            )
    else:
        console.print(
            f"Partitioned sent_emails by month: moved {counted(report.rows_moved, 'row')}."
        )
    created = ", ".join(report.partitions_created) or "none, every month ahead has one"
    console.print(f"Partitions created: {created}.", highlight=False)
