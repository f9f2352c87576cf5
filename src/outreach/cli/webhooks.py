"""`outreach webhooks ...`: endpoints that events are POSTed to, and their deliveries."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.table import Table

from outreach.cli.context import console, container_for
from outreach.db import transaction
from outreach.events import webhooks
from outreach.events.kinds import SUBSCRIBABLE
from outreach.providers.hooks import Answer

webhooks_app = typer.Typer(
    no_args_is_help=True,  # its help: AREAS in cli/main.py
)


@webhooks_app.command("add")
def add(
    ctx: typer.Context,
    url: str,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            help=f"An event kind it wants (repeat it); every kind when none: "
            f"{', '.join(SUBSCRIBABLE)}.",
        ),
    ] = None,
    slack: Annotated[
        bool, typer.Option("--slack", help="A Slack incoming webhook: replies as readable text.")
    ] = False,
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
) -> None:
    """An endpoint; its signing secret is printed once."""
    fmt = webhooks.Format.slack if slack else webhooks.Format.standard
    with container_for(ctx) as container, transaction(container.sessions) as session:
        made = webhooks.add(
            session,
            url,
            event or [],
            format=fmt,
            description=description,
            secret_key=container.settings.secret_key_value(),
            now=container.clock.now(),
        )
    console.print(f"Added webhook {made.endpoint.id} for {', '.join(made.endpoint.kinds)}.")
    console.print(f"Its signing secret, shown this once: {made.secret}", soft_wrap=True)


@webhooks_app.command("list")
def list_endpoints(ctx: typer.Context) -> None:
    """Every endpoint, what it wants and whether it is enabled (why not, when it is not)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        found = webhooks.endpoints(session)
    if not found:
        console.print("No webhooks yet: `outreach webhooks add URL`.")
        return
    table = Table("id", "url", "events", "format", "state")
    for endpoint in found:
        state = "enabled" if endpoint.enabled else webhooks.disabled_words(endpoint)
        if endpoint.enabled and endpoint.failures:
            state += f" ({endpoint.failures} failed attempts in a row)"
        table.add_row(
            str(endpoint.id), endpoint.url, ", ".join(endpoint.kinds), endpoint.format, state
        )
    console.print(table)


@webhooks_app.command("remove")
def remove(ctx: typer.Context, endpoint: uuid.UUID) -> None:
    """Removes an endpoint and its deliveries."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        webhooks.remove(session, endpoint)
    console.print(f"Removed webhook {endpoint}.")


@webhooks_app.command("enable")
def enable(ctx: typer.Context, endpoint: uuid.UUID) -> None:
    """Enables an endpoint disabled after failing: its waiting deliveries go next."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        webhooks.enable(session, endpoint)
    console.print(f"Enabled webhook {endpoint}.")


@webhooks_app.command("rotate")
def rotate(ctx: typer.Context, endpoint: uuid.UUID) -> None:
    """A new signing secret, printed once; the old one signs too for 24 hours."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        secret = webhooks.rotate(
            session, endpoint, container.settings.secret_key_value(), container.clock.now()
        )
    console.print(f"Its new signing secret, shown this once: {secret}", soft_wrap=True)
    console.print("Deliveries are signed with the old secret too for 24 hours.")


@webhooks_app.command("test")
def test(ctx: typer.Context, endpoint: uuid.UUID) -> None:
    """POSTs a signed webhook.test event now and says what the endpoint answered."""
    with container_for(ctx) as container:
        with transaction(container.sessions) as session:
            delivery = webhooks.queue_test(session, endpoint, container.clock.now())
        answer = container.send_webhook_now(delivery)
    console.print(f"{answer_words(answer)} (delivery {delivery})", soft_wrap=True)
    if not (isinstance(answer, Answer) and answer.ok):
        raise typer.Exit(1)


def answer_words(answer: Answer | str) -> str:
    if isinstance(answer, str):
        return f"No answer: {answer}"
    return f"Answered {answer.status}: {answer.text[:200]}"


@webhooks_app.command("deliveries")
def deliveries(ctx: typer.Context, endpoint: uuid.UUID) -> None:
    """The endpoint's latest deliveries: status, attempts and the last answer."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        found = webhooks.deliveries_of(session, endpoint)
    table = Table("delivery", "event", "status", "attempts", "last answer")
    for delivery, event in found:
        last = delivery.last_error or (
            str(delivery.last_status_code) if delivery.last_status_code else ""
        )
        table.add_row(str(delivery.id), event.kind, delivery.status, str(delivery.attempts), last)
    console.print(table)


@webhooks_app.command("redeliver")
def redeliver(ctx: typer.Context, delivery: uuid.UUID) -> None:
    """Sends a delivery again on the worker's next pass, with a fresh round of retries."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        webhooks.redeliver(session, delivery, container.clock.now())
    console.print(f"Delivery {delivery} goes again on the worker's next pass.")
