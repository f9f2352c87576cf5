"""`outreach campaigns ...`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.schedule import opening_hours
from outreach.cli.context import console, container_for
from outreach.contacts import lists
from outreach.contacts import queries as contact_queries
from outreach.db import transaction
from outreach.delivery import dispatch
from outreach.errors import ValidationFailed
from outreach.senders import service as senders
from outreach.words import counted

campaigns_app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py


Senders = Annotated[
    list[str] | None,
    typer.Option(
        help="A sender account's address. Repeatable; "
        "`campaigns settings NAME --sender ...` replaces them later."
    ),
]


@campaigns_app.command("create")
def create_campaign(
    ctx: typer.Context,
    name: str,
    list_name: Annotated[str, typer.Option("--list", help="The list to send to.")],
    sender: Senders = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a campaign (a draft until launched)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        sender_ids = _sender_ids(session, sender or [])
        campaigns.create(
            session,
            name=name,
            list_id=lists.named(session, list_name).id,
            sender_ids=sender_ids,
            description=description,
            now=container.clock.now(),
        )
    console.print(
        f"Created the campaign {name!r}. Add steps with: outreach campaigns step {name!r} ..."
    )
    if not sender:
        console.print(f"Choose its senders with: outreach campaigns settings {name!r} --sender ...")


@campaigns_app.command("step")
def add_step(
    ctx: typer.Context,
    name: str,
    subject: Annotated[
        str,
        typer.Option(
            help="Merge fields allowed, e.g. {{ first_name | default('there') }}. "
            'Empty on a follow-up: "Re: " + the first subject.'
        ),
    ] = "",
    body: Annotated[str | None, typer.Option(help="The text; or --body-file.")] = None,
    body_file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    delay_days: Annotated[int, typer.Option(help="Days after the previous email.")] = 0,
    delay_hours: Annotated[int, typer.Option()] = 0,
    ai_written: Annotated[
        bool,
        typer.Option(
            "--ai-written",
            help="The text is a brief: a draft is written ahead for each contact (drafts).",
        ),
    ] = False,
) -> None:
    """Append a step to a campaign."""
    text = body_file.read_text(encoding="utf-8") if body_file else body
    if not text:
        raise ValidationFailed("Give the step's text with --body or --body-file.")
    with container_for(ctx) as container, transaction(container.sessions) as session:
        found = campaigns.named(session, name)
        step = campaigns.add_step(
            session,
            found.id,
            subject=subject,
            body=text,
            delay_days=delay_days,
            delay_hours=delay_hours,
            ai_written=ai_written,
        )
    console.print(f"Added step {step.sequence_order} to {name!r}.")


@campaigns_app.command("settings")
def change_settings(
    ctx: typer.Context,
    name: str,
    sender: Senders = None,
    list_name: Annotated[
        str | None, typer.Option("--list", help="The list to send to (before launch).")
    ] = None,
    rename: Annotated[str | None, typer.Option(help="A new name for the campaign.")] = None,
    window: Annotated[
        str | None,
        typer.Option(help="Local send window, e.g. 09:00-17:30; 00:00-00:00 is all day."),
    ] = None,
    days: Annotated[
        str | None, typer.Option(help="e.g. monday,tuesday,wednesday,thursday,friday")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone, e.g. Europe/Berlin.")] = None,
    daily_limit: Annotated[int | None, typer.Option()] = None,
    spacing: Annotated[
        int | None, typer.Option(help="Seconds between two sends of the campaign.")
    ] = None,
    jitter: Annotated[
        int | None, typer.Option(help="Up to this many seconds added at random to the spacing.")
    ] = None,
    skip_active_elsewhere: Annotated[
        bool | None, typer.Option(help="Skip contacts running in another campaign.")
    ] = None,
    skip_replied_companies: Annotated[
        bool | None,
        typer.Option(
            help="One conversation per company: skip contacts whose company domain replied, "
            "and stop colleagues' sequences when someone replies."
        ),
    ] = None,
    unsubscribe_line: Annotated[
        bool | None, typer.Option(help="End each email with a visible unsubscribe line.")
    ] = None,
    require_approval: Annotated[
        bool | None,
        typer.Option(help="Contacts wait at an AI-written step until its draft is approved."),
    ] = None,
) -> None:
    """Change a campaign's name, its list (before launch), whom it sends from, and when and how
    fast it sends."""
    start, end = _window(window) if window else (None, None)
    change = campaigns.SettingsChange(
        send_window_start=start,
        send_window_end=end,
        send_days=None
        if days is None
        else [d.strip().lower() for d in days.split(",") if d.strip()],
        timezone=timezone,
        daily_limit=daily_limit,
        delay_between_emails_seconds=spacing,
        jitter_seconds=jitter,
        skip_active_elsewhere=skip_active_elsewhere,
        skip_replied_companies=skip_replied_companies,
        unsubscribe_line=unsubscribe_line,
        require_approval=require_approval,
    )
    with container_for(ctx) as container, transaction(container.sessions) as session:
        found = campaigns.named(session, name)
        audience = lists.named(session, list_name).id if list_name else None
        campaigns.describe(session, found.id, name=rename, list_id=audience)
        campaigns.update_settings(session, found.id, change)
        if sender:
            campaigns.set_senders(session, found.id, _sender_ids(session, sender))
    console.print(f"Saved the settings of {found.name!r}.")


def _sender_ids(session: Session, emails: list[str]) -> list[uuid.UUID]:
    return [senders.by_email(session, email).id for email in emails]


def _window(text: str) -> tuple[time, time]:
    start, _, end = text.partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError as error:
        raise ValidationFailed(f"--window {text!r}: write it as 09:00-17:30.") from error


@contextmanager
def _saying_how_to_fix(name: str) -> Iterator[None]:
    """A refused launch or resume names, under each missing part, the command that adds it."""
    fixes = {
        campaigns.NO_STEPS: f"outreach campaigns step {name!r} --subject ... --body ...",
        campaigns.NO_SENDERS: f"outreach campaigns settings {name!r} --sender EMAIL",
        campaigns.NO_SEND_DAYS: f"outreach campaigns settings {name!r} --days monday,...",
    }
    try:
        yield
    except ValidationFailed as error:
        problems = error.details.get("problems", [])
        commands = [f"\n  {fixes[p]}" for p in problems if p in fixes]
        if not commands:
            raise
        raise ValidationFailed(
            error.message + "\nFix with:" + "".join(commands), **error.details
        ) from error


@campaigns_app.command("launch")
def launch(ctx: typer.Context, name: str) -> None:
    """Check the campaign, enroll its list and start sending."""
    with container_for(ctx) as container:
        with transaction(container.sessions) as session:
            campaign_id = campaigns.named(session, name).id
        warnings = container.launch_warnings(campaign_id)
        with transaction(container.sessions) as session, _saying_how_to_fix(name):
            report = campaigns.launch(session, campaign_id, container.clock.now())
    console.print(f"Launched {name!r}: {counted(report.enrolled, 'contact')} enrolled.")
    for reason, count in report.skipped.most_common():
        console.print(f"  skipped {count}: {reason}")
    for warning in warnings:
        console.print(f"Warning: {warning}", highlight=False)


@campaigns_app.command("pause")
def pause(ctx: typer.Context, name: str) -> None:
    """Stop sending; enrollments keep their place."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        campaigns.pause(session, campaigns.named(session, name).id)
    console.print(f"Paused {name!r}.")


@campaigns_app.command("resume")
def resume(ctx: typer.Context, name: str) -> None:
    """Send again from where it stopped."""
    with (
        container_for(ctx) as container,
        transaction(container.sessions) as session,
        _saying_how_to_fix(name),
    ):
        campaigns.resume(session, campaigns.named(session, name).id, container.clock.now())
    console.print(f"Resumed {name!r}.")


@campaigns_app.command("archive")
def archive(ctx: typer.Context, name: str) -> None:
    """End the campaign for good; running enrollments stop."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        campaigns.archive(session, campaigns.named(session, name).id)
    console.print(f"Archived {name!r}.")


@campaigns_app.command("list")
def list_campaigns(ctx: typer.Context) -> None:
    """Every campaign with its status and how its enrollments stand."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        rows = [
            (c, campaign_queries.enrollment_counts(session, c.id))
            for c in campaign_queries.all_campaigns(session)
        ]
    table = Table("name", "status", "enrollments")
    for found, counts in rows:
        table.add_row(
            found.name,
            _said(found.status),
            ", ".join(f"{n} {_said(s)}" for s, n in sorted(counts.items())) or "—",
        )
    console.print(table)


def _said(status: str) -> str:
    """A status as the pages say it: "in progress", not in_progress."""
    return status.replace("_", " ")


@campaigns_app.command("show")
def show(ctx: typer.Context, name: str) -> None:
    """A campaign's settings, steps and enrollments."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        found = campaigns.named(session, name)
        settings = campaign_queries.settings_of(session, found.id)
        steps = campaign_queries.steps_of(session, found.id)
        enrolled = campaign_queries.enrollments_of(session, found.id)
        next_sends = dispatch.next_sends(session, found, enrolled, container.clock.now())
        accounts = campaign_queries.senders_of(session, found.id)
    console.print(f"[bold]{found.name}[/bold] ({_said(found.status)})")
    hours = opening_hours(settings.send_window_start, settings.send_window_end)
    console.print(
        f"sends {hours} {settings.timezone} on {', '.join(settings.send_days) or 'no day'}; "
        f"at most {settings.daily_limit} a day, "
        f"{settings.delay_between_emails_seconds} s apart (+ up to {settings.jitter_seconds} s)"
    )
    console.print("senders: " + (", ".join(a.email for a in accounts) or "none"))
    for step in steps:
        console.print(
            f"step {step.sequence_order}: after {step.delay_days} d {step.delay_hours} h — "
            f"{step.subject_template or '(Re: first subject)'}"
        )
    table = Table("contact", "status", "sent", "next send", "why")
    for enrollment, contact in enrolled:
        said = next_sends[enrollment.id]
        table.add_row(
            contact.email,
            _said(enrollment.status),
            f"{enrollment.current_sequence_step} of {len(steps)}",
            said.when or "—",
            said.why,
        )
    console.print(table)


@campaigns_app.command("preview")
def preview(
    ctx: typer.Context,
    name: str,
    contact: Annotated[
        str | None, typer.Option(help="A contact's address (default: the list's first).")
    ] = None,
) -> None:
    """Every step as one contact of the list will receive it."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        found = campaigns.named(session, name)
        steps = campaign_queries.steps_of(session, found.id)
        where = contact_queries.ContactFilter(list_id=found.list_id, text=contact)
        person = contact_queries.first_matching(session, where)
        if person is None:
            raise ValidationFailed("No contact of the campaign's list matches.")
        footer = dispatch.unsubscribe_footer(
            container.links, campaign_queries.settings_of(session, found.id), person.id
        )
        for index in range(len(steps)):
            rendered = campaigns.compose_step(steps, index, person)
            console.print(
                f"[bold]Step {index + 1}[/bold] to {person.email}\n"
                f"Subject: {rendered.subject}\n\n{rendered.text}{footer}\n",
                highlight=False,
            )
