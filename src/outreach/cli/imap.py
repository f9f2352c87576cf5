"""`outreach inbox imap` and `outreach senders add imap`: where an SMTP account's replies
arrive. A module of its own so that `outreach senders ...` registers it without importing
the inbox's commands."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli.context import console, container_for
from outreach.db import transaction
from outreach.providers.errors import ProviderError
from outreach.senders import mailboxes
from outreach.senders import service as senders


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
