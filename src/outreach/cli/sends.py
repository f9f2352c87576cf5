"""`outreach sends ...`: emails whose fate a crash left unknown, for a person to decide."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outreach.campaigns.states import DraftType
from outreach.cli.context import console, container_for
from outreach.contacts import queries as contact_queries
from outreach.db import transaction
from outreach.delivery import contacted, dispatch, queries, scheduled
from outreach.drafts import queries as drafts
from outreach.errors import NotFound, ValidationFailed
from outreach.inbox import queries as inbox_queries
from outreach.senders import service as senders
from outreach.words import time_in_zone

sends_app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py


@sends_app.command("unknown")
def unknown(ctx: typer.Context) -> None:
    """Sends that may or may not have gone out (those of a worker that stopped, at once)."""
    with container_for(ctx) as container:
        container.settle_lapsed()
        with transaction(container.sessions) as session:
            rows = queries.unknown_with_recipients(session)
            answering = inbox_queries.answered_conversations(
                session, [delivery.scheduled_email_id for delivery, _ in rows]
            )
    if not rows:
        console.print("Nothing to decide: no send is in doubt.")
        return
    table = Table("id", "to", "email", "claimed", "why")
    for delivery, recipient in rows:
        claimed = time_in_zone(delivery.claimed_at) if delivery.claimed_at else ""
        step = f"step {delivery.sequence_step}" if delivery.sequence_step else None
        table.add_row(
            str(delivery.id),
            recipient,
            step or _one_off(answering.get(delivery.scheduled_email_id)),
            claimed,
            delivery.last_error or "",
        )
    console.print(table)
    _print_conversations(
        {delivery.id: answering.get(delivery.scheduled_email_id) for delivery, _ in rows}
    )
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


@sends_app.command("schedule")
def schedule(
    ctx: typer.Context,
    to: Annotated[str, typer.Option(help="The contact's address (an existing contact).")],
    sender: Annotated[str, typer.Option(help="The sender account's address.")],
    subject: Annotated[str, typer.Option()],
    body: Annotated[str | None, typer.Option(help="The text; or --body-file.")] = None,
    body_file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    at: Annotated[
        datetime | None, typer.Option(help="When (ISO 8601 with a zone); default now.")
    ] = None,
    anyway: Annotated[
        bool,
        typer.Option(
            "--anyway",
            help="Send even though a running campaign writes to them or we emailed them lately.",
        ),
    ] = False,
) -> None:
    """Write, approve and schedule a one-off email to one contact. Refused for someone a running
    campaign writes to or whom we emailed lately, unless --anyway."""
    text = body_file.read_text(encoding="utf-8") if body_file else body
    if not text:
        raise ValidationFailed("Give the text with --body or --body-file.")
    with container_for(ctx) as container, transaction(container.sessions) as session:
        now = container.clock.now()
        contact = contact_queries.existing_contacts(session, [to.strip().lower()]).get(
            to.strip().lower()
        )
        if contact is None:
            raise NotFound(f"There is no contact {to}.")
        draft = drafts.add_written(
            session,
            contact_id=contact.id,
            draft_type=DraftType.first_outreach,
            subject=subject,
            body=text,
            at=now,
        )
        drafts.approve(session, draft.id, now)
        try:
            found = scheduled.schedule(
                session,
                draft.id,
                senders.by_email(session, sender).id,
                at if at and at.tzinfo else (at or now).replace(tzinfo=UTC),
                now,
                recent=container.recent_email,
                anyway=anyway,
            )
        except contacted.InTouchAlready as error:
            raise error.confirm_with("add --anyway") from None
    console.print(f"Scheduled {found.id} for {time_in_zone(found.scheduled_for)}.")


@sends_app.command("scheduled")
def list_scheduled(ctx: typer.Context) -> None:
    """One-off emails waiting for their time."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        rows = queries.scheduled_with_recipients(session)
        answering = inbox_queries.answered_conversations(session, [row.id for row, _ in rows])
    table = Table("id", "to", "email", "when", "status")
    for row, recipient in rows:
        table.add_row(
            str(row.id),
            recipient,
            _one_off(answering.get(row.id)),
            time_in_zone(row.scheduled_for),
            row.status or "",
        )
    console.print(table)
    _print_conversations({row.id: answering.get(row.id) for row, _ in rows})


def _one_off(conversation_id: uuid.UUID | None) -> str:
    return scheduled.ONE_OFF if conversation_id is None else scheduled.ANSWER


def _print_conversations(conversations: dict[uuid.UUID, uuid.UUID | None]) -> None:
    """Where each answer among the rows was written (after the table: ids wrap in a cell)."""
    for row_id, conversation_id in conversations.items():
        if conversation_id is not None:
            console.print(
                f"{row_id} answers conversation {conversation_id}: "
                f"outreach inbox show {conversation_id}",
                highlight=False,
                soft_wrap=True,
            )


@sends_app.command("cancel")
def cancel(ctx: typer.Context, scheduled_email: uuid.UUID) -> None:
    """Cancel a one-off email that has not been taken for sending yet."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        scheduled.cancel(session, scheduled_email)
    console.print("Cancelled.")
