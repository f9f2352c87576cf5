"""`outreach analytics ...`: the rollups the analytics read and the implicit approvals the home
page adds to the seed's counters, rebuilt or checked from the rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from outreach.analytics import approvals, rollups
from outreach.cli.context import console, container_for
from outreach.db import transaction

analytics_app = typer.Typer(
    no_args_is_help=True,  # its help: AREAS in cli/main.py
)


@contextmanager
def campaign_progress(verb: str) -> Iterator[Callable[[int, int], None]]:
    bars = Progress(
        TextColumn(f"{verb} campaigns"), BarColumn(), MofNCompleteColumn(), console=console
    )
    task = bars.add_task(verb, total=None)

    def update(done: int, total: int) -> None:
        bars.update(task, completed=done, total=total)

    with bars:
        yield update


@analytics_app.command("rebuild")
def rebuild(ctx: typer.Context) -> None:
    """Recompute every rollup from sent emails, replies, bounces and enrollments, and the
    implicit approvals from drafts and deliveries, in one transaction (the analytics read the
    old figures until it commits)."""
    with (
        container_for(ctx) as container,
        transaction(container.sessions) as session,
        campaign_progress("Rebuilding") as progress,
    ):
        written = rollups.rebuild(session.connection(), progress)
        days = approvals.rebuild(session.connection())
    console.print(
        f"Rebuilt the analytics: {written} rollup rows, {days} days of implicit approvals."
    )


@analytics_app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Compare every rollup and every day of implicit approvals with a full scan of the rows;
    print each difference and exit 1 on any (`outreach analytics rebuild` mends them)."""
    with (
        container_for(ctx) as container,
        transaction(container.sessions) as session,
        campaign_progress("Verifying") as progress,
    ):
        found: list[rollups.Difference | approvals.Difference] = [
            *rollups.differences(session.connection(), progress),
            *approvals.differences(session.connection()),
        ]
    for difference in found:
        console.print(difference.describe(), soft_wrap=True, highlight=False)
    if found:
        console.print(
            f"{len(found)} kept figures differ from the rows: run `outreach analytics rebuild`."
        )
        raise typer.Exit(1)
    console.print("The analytics equal a full scan of the rows.")
