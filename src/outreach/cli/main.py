"""`outreach`: the root command. Settings are loaded here, once, and handed to every command."""

from __future__ import annotations

import errno
import signal
import socket
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer
import uvicorn

from outreach import logs
from outreach.access import service as access
from outreach.cli import (
    backup,
    campaigns,
    contacts,
    db,
    drafts,
    inbox,
    senders,
    sends,
    users,
    webhooks,
)
from outreach.cli.context import console, container_for, errors, settings_of
from outreach.clock import FixedClock
from outreach.config import load_settings
from outreach.container import Container
from outreach.db import transaction
from outreach.delivery import dispatch
from outreach.errors import Conflict, OutreachError, ValidationFailed
from outreach.schema import ensure_current, upgrade
from outreach.web.app import create_app
from outreach.worker.jobs import JobReport
from outreach.worker.loop import run_once, run_until_stopped

app = typer.Typer(
    help="outreach: self-hosted cold email campaigns.", no_args_is_help=True, add_completion=False
)
app.add_typer(db.app, name="db")
app.add_typer(backup.app, name="backup")
app.add_typer(users.app, name="users")
app.add_typer(users.tokens, name="tokens")
app.add_typer(contacts.contacts_app, name="contacts")
app.add_typer(contacts.lists_app, name="lists")
app.add_typer(contacts.suppressions_app, name="suppressions")
app.add_typer(campaigns.campaigns_app, name="campaigns")
app.add_typer(senders.senders_app, name="senders")
app.add_typer(sends.sends_app, name="sends")
app.add_typer(drafts.drafts_app, name="drafts")
app.add_typer(inbox.inbox_app, name="inbox")
app.add_typer(webhooks.webhooks_app, name="webhooks")
# `outreach senders add imap` is `outreach inbox imap`: where an SMTP account's replies arrive.
senders.add_sender_app.command(
    "imap", help="Read an SMTP account's replies from an IMAP mailbox, and check it signs in."
)(inbox.set_imap)


@app.callback()
def load(ctx: typer.Context) -> None:
    logs.configure()
    ctx.ensure_object(dict)["settings"] = load_settings()


def _announce_first_admin(container: Container, email: str) -> None:
    with transaction(container.sessions) as session:
        password = access.create_first_admin(session, email)
    if password:
        console.print(
            f"First sign-in (shown once): [bold]{email}[/bold] / [bold]{password}[/bold]\n"
            "Change the password under your account once you are in."
        )


def _listening(host: str, port: int) -> socket.socket:
    """The web app's address, taken before anything says outreach runs there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        if error.errno == errno.EADDRINUSE:
            raise Conflict(
                f"Port {port} on {host} is already in use (another outreach, or another "
                f"program). Stop it, or choose another port with OUTREACH_PORT, e.g. "
                f"OUTREACH_PORT={port + 1} outreach run."
            ) from error
        raise ValidationFailed(
            f"outreach cannot listen on {host}:{port}: {error.strerror or error}. "
            "Check OUTREACH_HOST and OUTREACH_PORT."
        ) from error
    return listening


def _serve(container: Container, with_worker: bool, first_admin: str | None = None) -> None:
    """Serves on the configured address; with `first_admin`, creates that admin once the
    address is taken (a run that cannot start must not use up the one-time password)."""
    web = create_app(container)
    settings = container.settings
    listening = _listening(settings.host, settings.port)
    if first_admin:
        _announce_first_admin(container, first_admin)
    server = uvicorn.Server(
        uvicorn.Config(
            web, host=settings.host, port=settings.port, proxy_headers=True, log_level="warning"
        )
    )
    stop = threading.Event()
    worker = threading.Thread(target=run_until_stopped, args=(container, stop), name="worker")
    if with_worker:
        worker.start()
    console.print(f"outreach is running at [bold]{settings.base_url}[/bold]")
    try:
        with listening:
            server.run(sockets=[listening])
    finally:
        stop.set()
        if with_worker:
            worker.join()


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
    with container_for(ctx, schema=None) as container:
        if container.engine.dialect.name == "sqlite":
            upgrade(container.engine)
        ensure_current(container.engine)
        _serve(container, with_worker=True, first_admin=admin_email)


@app.command()
def serve(ctx: typer.Context) -> None:
    """Run the web app only (run workers with `outreach worker`)."""
    with container_for(ctx) as container:
        _serve(container, with_worker=False)


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


def _print_pass(report: dispatch.PassReport) -> None:
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
