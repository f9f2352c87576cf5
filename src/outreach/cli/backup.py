"""`outreach backup ...`: compressed, verified backups on the seed's schedule."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outreach.cli.context import console, container_for, settings_of, table_progress
from outreach.clock import SystemClock
from outreach.errors import ValidationFailed
from outreach.portability import backups
from outreach.portability.backups import Backup
from outreach.words import counted, duration, frequency

app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py


@app.command("run")
def run_command(
    ctx: typer.Context,
    kind: Annotated[
        str | None,
        typer.Option(help="Take a backup of this kind now (full, contacts, sent_emails, ...)."),
    ] = None,
) -> None:
    """Take every backup that is due and delete those past their retention (what the worker
    does), or with --kind take that one now."""
    with container_for(ctx) as container:
        folder, now = container.settings.backup_dir, container.clock.now()
        if kind is not None:
            with table_progress("Backing up") as update:
                taken = backups.take(
                    container.engine, folder, backups.kind_named(kind), now, update
                )
            console.print(f"Wrote and verified {taken.path}.")
            return
        with console.status("Running the backup schedule"):
            report = backups.run_schedule(container.engine, folder, now)
    if report.busy:
        console.print("Another process is running the schedule in this folder; nothing done.")
    for backup in report.taken:
        console.print(f"Wrote and verified {backup.path}.")
    for path in report.removed:
        console.print(f"Deleted {path.name} (past its retention).")
    for problem in report.failed:
        console.print(f"[red]{problem}[/red]")
    if not (report.taken or report.removed or report.failed or report.busy):
        console.print("Nothing was due.")
    if report.failed:
        raise typer.Exit(1)


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every backup, newest first, with its verification; then when each kind runs next."""
    settings = settings_of(ctx)
    folder, now = settings.backup_dir, SystemClock().now()
    table = Table("backup", "taken (UTC)", "base", "size", "rows", "verified")
    for backup in backups.existing(folder):
        table.add_row(
            backup.path.name,
            f"{backup.taken_at:%Y-%m-%d %H:%M:%S}",
            backup.base_label,
            backup.size_label,
            backup.rows_label,
            _verdict(backup),
        )
    console.print(table)
    schedule = Table("kind", "runs", "kept", "last", "next")
    for plan in backups.plans(folder, now):
        schedule.add_row(
            plan.kind.name,
            frequency(plan.kind.every),
            duration(plan.kind.keep),
            f"{plan.latest:%Y-%m-%d %H:%M}" if plan.latest else "never",
            "now" if plan.next_at <= now else f"{plan.next_at:%Y-%m-%d %H:%M}",
        )
    console.print(schedule)
    if not settings.backups_enabled:
        console.print("The worker does not take backups (OUTREACH_BACKUPS is off).")


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="One backup's file name; every backup when left out.")
    ] = None,
) -> None:
    """Open backups and check every file against its manifest; exit 1 if one is damaged."""
    folder = settings_of(ctx).backup_dir
    chosen = [backups.named(folder, name)] if name else backups.existing(folder)
    damaged = 0
    for backup in chosen:
        try:
            rows = backups.verify(backup.path)
        except ValidationFailed as error:
            damaged += 1
            console.print(f"[red]{error.message}[/red]")
        else:
            console.print(f"{backup.path.name}: good, {counted(sum(rows.values()), 'row')}")
    if damaged:
        raise typer.Exit(1)


@app.command("restore")
def restore_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The file name `outreach backup list` shows.")],
    merge: Annotated[
        bool,
        typer.Option(
            "--merge", help="Into a database with rows: put back only rows whose id is missing."
        ),
    ] = False,
) -> None:
    """Put a backup back, checked first: into an empty database, or --merge to bring back
    deleted rows (say, contacts removed by mistake) and keep everything else. An incremental
    backup restores its full backup, then every hourly one up to it, into an empty database."""
    with container_for(ctx, schema=None) as container:
        backup = backups.named(container.settings.backup_dir, name)
        with table_progress("Restoring") as update:
            report = backups.restore(
                container.engine, backup.path, container.clock.now(), merge=merge, progress=update
            )
    console.print(
        f"Restored {counted(sum(report.rows.values()), 'row')} into "
        f"{counted(len(report.rows), 'table')} from "
        f"{backup.path.name}, verified."
    )


def _verdict(backup: Backup) -> str:
    if backup.verified is None:
        return "[yellow]not checked[/yellow]"
    return "[green]good[/green]" if backup.verified else f"[red]damaged: {backup.problem}[/red]"
