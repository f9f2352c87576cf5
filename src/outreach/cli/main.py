"""`outreach`: the root command. Settings are loaded here, once, and handed to every command."""

from __future__ import annotations

import importlib
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from outreach.cli.context import console, container_for, errors, settings_of
from outreach.errors import OutreachError

if TYPE_CHECKING:
    # Typer carries its own copy of click; its commands are typed with that copy's classes.
    from typer._click import Command, Context, HelpFormatter

    from outreach.delivery.dispatch import PassReport
    from outreach.worker.jobs import JobReport


@dataclass(frozen=True)
class Area:
    """A group of commands, imported only when one of them runs or shows its help."""

    module: str
    app: str
    help: str


AREAS = {
    "db": Area("db", "app", "The database: migrate it, see where it stands."),
    "backup": Area(
        "backup",
        "app",
        "Backups: the full database daily, contacts and sent emails hourly, drafts every 6 "
        "hours, each verified after writing.",
    ),
    "users": Area("users", "app", "Users who can sign in."),
    "tokens": Area("users", "tokens", "API tokens for /api/v1."),
    "contacts": Area(
        "contacts", "contacts_app", "Contacts: import, export, search, undo an upload."
    ),
    "lists": Area("contacts", "lists_app", "Contact lists."),
    "suppressions": Area("contacts", "suppressions_app", "Addresses and domains never to email."),
    "campaigns": Area("campaigns", "campaigns_app", "Campaigns: steps, settings, launch, pause."),
    "senders": Area(
        "senders", "senders_app", "Sender accounts: the mailboxes campaigns send from."
    ),
    "sends": Area(
        "sends", "sends_app", "Sends a crash left unknown: send them again or mark them sent."
    ),
    "drafts": Area(
        "drafts",
        "drafts_app",
        "Drafts: written for a list, an upload or a campaign; reviewed; approved.",
    ),
    "inbox": Area(
        "inbox",
        "inbox_app",
        "Replies, bounces and out-of-office notices read from the senders' mailboxes.",
    ),
    "analytics": Area(
        "analytics",
        "analytics_app",
        "Analytics: the figures kept beside the rows (rollups, implicit approvals, lists' sizes, "
        "draft batches' tallies), rebuilt from them or verified.",
    ),
    "webhooks": Area(
        "webhooks",
        "webhooks_app",
        "Webhooks: endpoints that events are POSTed to, signed (Standard Webhooks).",
    ),
}
"""Every command but run, serve and worker, by area. Importing them all at start-up cost about
1.8 s a command (the web app, the ORM, argon2, the providers); each area now imports what its
own commands use, when one of them runs."""


class Areas(TyperGroup):
    """The root command: its own commands, and the areas, each loaded by name when used. Until
    then an area is a stand-in with its help: `outreach --help` lists them without importing
    any, and a mistyped name is still matched against them ("Did you mean 'senders'?")."""

    _describing = False

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, area in AREAS.items():
            self.add_command(TyperGroup(name=name, help=area.help))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        area = AREAS.get(cmd_name)
        if area is None or self._describing:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(f"outreach.cli.{area.module}")
        command = typer.main.get_group(getattr(module, area.app))
        command.help = area.help
        _listed_in_one_line(command)
        return command

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self._describing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._describing = False


def _listed_in_one_line(group: TyperGroup) -> None:
    """Each command of `group` (and of its groups) listed by its first paragraph reflowed:
    Typer's rich help keeps a docstring's line breaks in the list of commands, which broke each
    line of a long one in the middle of the terminal's."""
    for command in group.commands.values():
        if command.help and not command.short_help:
            command.short_help = " ".join(command.help.split("\n\n")[0].split())
        if isinstance(command, TyperGroup):
            _listed_in_one_line(command)


app = typer.Typer(
    cls=Areas,
    help="outreach: self-hosted cold email campaigns.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def load(ctx: typer.Context) -> None:
    from outreach import logs
    from outreach.config import load_settings

    logs.configure()
    ctx.ensure_object(dict)["settings"] = load_settings()


@app.command()
def run(
    ctx: typer.Context,
    admin_email: Annotated[
        str, typer.Option(help="The first admin's address, used when there are no users yet.")
    ] = "admin@example.com",
) -> None:
    """Run everything in one process: the web app and the worker.

    An embedded SQLite database is created and migrated on the way; a PostgreSQL database must
    be migrated first with `outreach db upgrade`.
    """
    from outreach.cli import serving
    from outreach.schema import ensure_current, upgrade

    with container_for(ctx, schema=None) as container:
        if container.engine.dialect.name == "sqlite":
            upgrade(container.engine)
        ensure_current(container.engine)
        serving.serve(container, with_worker=True, first_admin=admin_email)


@app.command()
def serve(ctx: typer.Context) -> None:
    """Run the web app only (run workers with `outreach worker`)."""
    from outreach.cli import serving

    with container_for(ctx) as container:
        serving.serve(container, with_worker=False)


@app.command()
def worker(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Do one pass, print what it did, exit.")
    ] = False,
    now: Annotated[
        datetime | None,
        typer.Option(
            help="Pretend it is this time (ISO 8601, with a zone) for campaigns and drafts, e.g. "
            "to see a campaign's week: what is due is sent for real. Backups, inbox polls and "
            "forgetting expired sign-ins follow the real clock: they are skipped."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Say what would be sent and why the rest waits; send nothing."
        ),
    ] = False,
) -> None:
    """Run the worker: every job, every interval. SIGTERM lets the pass in flight finish."""
    from outreach.clock import FixedClock
    from outreach.worker.loop import run_once, run_until_stopped

    clock = FixedClock(now if now.tzinfo else now.replace(tzinfo=UTC)) if now else None
    with container_for(ctx, clock) as container:
        if dry_run:
            _print_pass(container.sending_pass(dry_run=True))
            return
        if once:
            _print_reports(run_once(container, pretending=now is not None))
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
        console.print(f"worker started; a pass every {settings_of(ctx).worker_interval_seconds:g}s")
        run_until_stopped(container, stop, pretending=now is not None)


def _print_reports(reports: list[JobReport]) -> None:
    for report in reports:
        _print_job(report.job, report.summary, report.lines)


def _print_pass(report: PassReport) -> None:
    _print_job("send_campaigns", report.summary(), report.lines())


def _print_job(job: str, summary: str, lines: Sequence[str]) -> None:
    console.print(f"[bold]{job}[/bold]: {summary}")
    for line in lines:
        console.print(f"  {line}", highlight=False)


def main() -> None:
    """The console script: domain errors, and files that cannot be read or written where the
    user said, become one plain line and exit status 1."""
    try:
        app()
    except OutreachError as error:
        _refuse(error.message, error)
    except OSError as error:
        if error.filename is None:
            raise
        _refuse(f"{error.filename}: {error.strerror}.", error)


def _refuse(message: str, error: Exception) -> NoReturn:
    errors.print(f"[red]{message}[/red]", highlight=False)
    raise SystemExit(1) from error
