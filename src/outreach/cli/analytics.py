"""`outreach analytics ...`: the figures kept beside the rows so that pages need not count them
(the rollups the analytics read, the implicit approvals the home page adds to the seed's
counters, the lists' sizes and the draft batches' tallies), rebuilt or checked from the rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from outreach.analytics import approvals, rollups
from outreach.cli.context import console, container_for
from outreach.contacts import queries as contact_queries
from outreach.db import transaction
from outreach.drafts import queries as draft_queries

analytics_app = typer.Typer(
    no_args_is_help=True,  # its help: AREAS in cli/main.py
)


Difference = (
    rollups.Difference
    | approvals.Difference
    | contact_queries.ListSizeDifference
    | draft_queries.TallyDifference
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
    """Recompute every rollup from sent emails, replies, bounces and enrollments, the implicit
    approvals from drafts and deliveries, the lists' sizes from their members and the draft
    batches' tallies from their jobs, in one transaction (pages read the old figures until it
    commits)."""
    with (
        container_for(ctx) as container,
        transaction(container.sessions) as session,
        campaign_progress("Rebuilding") as progress,
    ):
        written = rollups.rebuild(session.connection(), progress)
        days = approvals.rebuild(session.connection())
        contact_queries.rebuild_list_sizes(session.connection())
        draft_queries.rebuild_batch_tallies(session.connection())
    console.print(
        f"Rebuilt the analytics: {written} rollup rows, {days} days of implicit approvals, "
        "the lists' sizes and the draft batches' tallies."
    )


@analytics_app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Compare every rollup, every day of implicit approvals, every list's size and every draft
    batch's tallies with a full scan of the rows; print each difference and exit 1 on any
    (`outreach analytics rebuild` mends them)."""
    with (
        container_for(ctx) as container,
        transaction(container.sessions) as session,
        campaign_progress("Verifying") as progress,
    ):
        found: list[Difference] = [
            *rollups.differences(session.connection(), progress),
            *approvals.differences(session.connection()),
            *contact_queries.list_size_differences(session.connection()),
            *draft_queries.batch_tally_differences(session.connection()),
        ]
    for difference in found:
        console.print(difference.describe(), soft_wrap=True, highlight=False)
    if found:
        console.print(
            f"{len(found)} kept figures differ from the rows: run `outreach analytics rebuild`."
        )
        raise typer.Exit(1)
    console.print("The analytics equal a full scan of the rows.")
