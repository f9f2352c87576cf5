"""`outreach inbox ...`: reading the sender accounts' mailboxes for replies, bounces and
out-of-office notices, and where an SMTP account's replies arrive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outreach.cli.context import console, container_for, person_at_the_terminal
from outreach.db import transaction
from outreach.delivery import answers as ledger
from outreach.errors import ValidationFailed
from outreach.inbox import answers, categories
from outreach.inbox import queries as inbox_queries
from outreach.inbox.polling import poll_lines, poll_summary
from outreach.inbox.reply_rules import Category
from outreach.providers.errors import ProviderError
from outreach.senders import mailboxes
from outreach.senders import service as senders

inbox_app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py


@inbox_app.command("poll")
def poll(
    ctx: typer.Context,
    sender: Annotated[
        str | None, typer.Option("--sender", help="Only this sender account's mailbox.")
    ] = None,
) -> None:
    """Read the mailboxes now (whenever they were last read) and say what was found."""
    with container_for(ctx) as container:
        report = container.poll_mailboxes(sender, force=True)
    if not report.mailboxes:
        console.print(
            "No sender account has a mailbox to read" + (f" ({sender})." if sender else ".")
        )
        raise typer.Exit(1)
    for line in poll_lines(report):
        console.print(line, highlight=False)
    console.print(poll_summary(report), highlight=False)
    if report.failed:
        raise typer.Exit(1)


@inbox_app.command("imap")
def set_imap(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The SMTP sender account.")],
    host: Annotated[str, typer.Option(help="The IMAP server.")],
    port: Annotated[int, typer.Option(help="993 for tls, 143 for starttls.")] = 993,
    security: Annotated[str, typer.Option(help="tls, starttls or none.")] = "tls",
    username: Annotated[
        str | None, typer.Option(help="Default: the SMTP username, else the address.")
    ] = None,
    folder: Annotated[str, typer.Option(help="Where replies arrive.")] = "INBOX",
    password: Annotated[
        str | None,
        typer.Option(
            hide_input=True,
            envvar="OUTREACH_IMAP_PASSWORD",
            help="Or OUTREACH_IMAP_PASSWORD (default: the SMTP password).",
        ),
    ] = None,
) -> None:
    """Read an SMTP account's replies from an IMAP mailbox, and check it signs in."""
    with container_for(ctx) as container:
        key = container.settings.secret_key_value()
        with transaction(container.sessions) as session:
            account = senders.by_email(session, email)
            mailbox = mailboxes.ImapMailbox(host, port, security, username, folder)
            mailboxes.set_imap(session, account.id, mailbox, secret_key=key, password=password)
            reader = container.inbox_reader_for(account)
        assert reader is not None
        try:
            console.print(f"[green]{reader.check()}[/green]")
        except ProviderError as error:
            console.print(f"[yellow]Saved, but the mailbox cannot be read: {error.reason}[/yellow]")
        finally:
            reader.close()


@inbox_app.command("status")
def status(ctx: typer.Context) -> None:
    """Each mailbox read: when, and whether the last read failed."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        rows = [
            (account, inbox_queries.cursor_of(session, account.id))
            for account in inbox_queries.mailbox_accounts(session)
        ]
    table = Table("sender", "kind", "mailbox", "last read", "last error")
    for account, cursor in rows:
        polled = cursor.polled_at if cursor else None
        table.add_row(
            account.email,
            account.kind,
            "yes" if account.kind == "graph" or "imap" in (account.settings or {}) else "none",
            polled.strftime("%Y-%m-%d %H:%M UTC") if polled else "never",
            (cursor.last_error if cursor else None) or "",
        )
    console.print(table)


@inbox_app.command("categorize")
def categorize(
    ctx: typer.Context,
    conversation_or_message: Annotated[
        uuid.UUID, typer.Argument(help="A conversation (its latest reply) or one reply.")
    ],
    category: Annotated[
        str, typer.Argument(help=f"One of: {', '.join(c.words for c in Category)}.")
    ],
) -> None:
    """Set a reply's category; it does what the category does in the reply's campaign, and
    the machine never changes it after that."""
    chosen = categories.parse_category(category)
    with container_for(ctx) as container, transaction(container.sessions) as session:
        message = categories.message_to_categorize(session, conversation_or_message)
        changed = categories.set_category(
            session, message, chosen, person_at_the_terminal(), container.clock.now()
        )
        done = "; ".join(changed.done)
    said = f"Categorized as {chosen.words}" + (f": {done}" if done else "")
    console.print(said, highlight=False, soft_wrap=True)


@inbox_app.command("answer")
def answer(
    ctx: typer.Context,
    conversation_id: Annotated[uuid.UUID, typer.Argument(help="The conversation to answer.")],
    body: Annotated[str | None, typer.Option(help="The text; or --file.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", exists=True, dir_okay=False, help="The text's file.")
    ] = None,
    at: Annotated[
        datetime | None,
        typer.Option(help="When to send it (ISO 8601; UTC unless it says); default now."),
    ] = None,
    draft: Annotated[
        bool, typer.Option("--draft", help="Keep it as a draft: send nothing.")
    ] = False,
) -> None:
    """Answer a conversation from its sender account, in its thread: the text with the contact's
    merge fields filled and the account's signature under it. Sent by the worker's next pass,
    at --at, or kept with --draft. Refused, saying why, for a suppressed address."""
    text = file.read_text(encoding="utf-8") if file else body
    if not text:
        raise ValidationFailed("Give the answer's text with --body or --file.")
    if draft and at is not None:
        raise ValidationFailed("A draft is not sent: leave out --at, or --draft.")
    with container_for(ctx) as container, transaction(container.sessions) as session:
        now = container.clock.now()
        if draft:
            written = answers.draft(session, conversation_id, text, now, None)
        else:
            when = at if at is None or at.tzinfo else at.replace(tzinfo=UTC)
            written = answers.send(session, conversation_id, text, when or now, now, None)
        standing = ledger.standing_of(session, written.id)
    if standing.status is ledger.AnswerStatus.draft:
        console.print(f"Draft {written.id} kept; nothing is sent.", highlight=False)
        return
    assert standing.scheduled_for is not None
    console.print(
        f"Answer {written.id} ({standing.subject}) goes at "
        f"{standing.scheduled_for:%Y-%m-%d %H:%M} UTC, on the worker's first pass from then.",
        highlight=False,
    )
