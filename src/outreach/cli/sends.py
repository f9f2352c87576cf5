"""`outreach sends ...`: emails whose fate a crash left unknown, for a person to decide."""

from __future__ import annotations

import uuid

import typer
from rich.table import Table

from outreach.cli.context import console, container_for
from outreach.db import transaction
from outreach.delivery import dispatch, queries

sends_app = typer.Typer(
    help="Sends a crash left unknown: send them again or mark them sent.", no_args_is_help=True
)


@sends_app.command("unknown")
def unknown(ctx: typer.Context) -> None:
    """Sends that may or may not have gone out."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        rows = queries.unknown_with_recipients(session)
    table = Table("id", "to", "step", "claimed", "why")
    for delivery, recipient in rows:
        claimed = delivery.claimed_at.strftime("%Y-%m-%d %H:%M UTC") if delivery.claimed_at else ""
        table.add_row(
            str(delivery.id),
            recipient,
            str(delivery.sequence_step or ""),
            claimed,
            delivery.last_error or "",
        )
    console.print(table)
    if rows:
        console.print(
            "Check the mailbox's Sent folder, then: "
            "outreach sends resend ID, or outreach sends mark-sent ID"
        )


@sends_app.command("resend")
def resend(ctx: typer.Context, delivery: uuid.UUID) -> None:
    """It did not go out: send it again on the next pass."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        dispatch.send_again(session, delivery, container.clock.now())
    console.print("Queued to be sent again.")


@sends_app.command("mark-sent")
def mark_sent(ctx: typer.Context, delivery: uuid.UUID) -> None:
    """It did go out: record it as sent and move on to the next step."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        dispatch.mark_sent(session, delivery, container.clock.now())
    console.print("Recorded as sent.")
