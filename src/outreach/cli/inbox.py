"""`outreach inbox ...`: the conversations a team works through (list, show, done), reading the
sender accounts' mailboxes for replies, bounces and out-of-office notices, and where an SMTP
account's replies arrive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from outreach.access import queries as access_queries
from outreach.campaigns import service as campaigns
from outreach.cli import imap
from outreach.cli.context import console, container_for, person_at_the_terminal
from outreach.db import transaction
from outreach.delivery import answers as ledger
from outreach.errors import NotFound, ValidationFailed
from outreach.inbox import answers, categories, conversations
from outreach.inbox import queries as inbox_queries
from outreach.inbox.models import Referral
from outreach.inbox.parse import html_text
from outreach.inbox.polling import poll_lines, poll_summary
from outreach.inbox.reply_rules import Category
from outreach.senders import service as senders
from outreach.words import time_in_zone

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


inbox_app.command("imap")(imap.set_imap)


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
            time_in_zone(polled) if polled else "never",
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


@inbox_app.command("referral")
def referral(
    ctx: typer.Context,
    conversation_id: Annotated[uuid.UUID, typer.Argument(help="The conversation.")],
    email: Annotated[
        str | None, typer.Argument(help="The address it points to; left out: list them.")
    ] = None,
    confirm: Annotated[
        bool,
        typer.Option("--confirm", help="Make them a contact, noted as referred, and enrol them."),
    ] = False,
    dismiss: Annotated[bool, typer.Option("--dismiss", help="Make nobody a contact.")] = False,
    name: Annotated[str | None, typer.Option(help="Their name, when you know it.")] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(help="A column the campaign's emails use, as COLUMN=VALUE (repeatable)."),
    ] = None,
) -> None:
    """The addresses a wrong person / referral reply points to. With --confirm the address
    becomes a contact with a note of who referred them and joins the same campaign; nothing
    happens until a person confirms."""
    if confirm and dismiss:
        raise ValidationFailed("Either --confirm or --dismiss, not both.")
    if (confirm or dismiss) and email is None:
        raise ValidationFailed("Name the address to confirm or dismiss.")
    with container_for(ctx) as container, transaction(container.sessions) as session:
        if email is None:
            offered = categories.standing(session, conversation_id).referrals
            lines = [_referral_line(each) for each in offered]
            if any(each.status == "offered" for each in offered):
                lines.append(
                    f"Confirm one with: outreach inbox referral {conversation_id} EMAIL --confirm "
                    "--name 'Their Name' (or --dismiss)"
                )
        else:
            found = categories.referral_to(session, conversation_id, email)
            by, now = person_at_the_terminal(), container.clock.now()
            if confirm:
                given = _fields(field or [])
                lines = [
                    categories.confirm_referral(session, found.id, by, now, name=name, fields=given)
                ]
            elif dismiss:
                lines = [categories.dismiss_referral(session, found.id, by, now)]
            else:
                lines = [_referral_line(found)]
    for line in lines or ["This conversation refers to nobody."]:
        console.print(escape(line), highlight=False, soft_wrap=True)


def _referral_line(found: Referral) -> str:
    if found.status == "offered":
        return f"{found.email}: offered, waiting for a person to confirm or dismiss"
    return f"{found.email}: {found.status} by {found.decided_by}"


def _fields(pairs: list[str]) -> dict[str, str]:
    given = {}
    for pair in pairs:
        column, equals, value = pair.partition("=")
        if not equals or not column.strip():
            raise ValidationFailed(f"{pair!r} is not COLUMN=VALUE.", field="field")
        given[column.strip()] = value.strip()
    return given


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
        f"{time_in_zone(standing.scheduled_for)}, on the worker's first pass from then.",
        highlight=False,
    )


@inbox_app.command("list")
def list_conversations(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's (its name).")] = None,
    sender: Annotated[str | None, typer.Option(help="Only this sender account's.")] = None,
    unread: Annotated[bool, typer.Option("--unread", help="Only unread ones.")] = False,
    needs_answer: Annotated[
        bool, typer.Option("--needs-answer", help="Only those waiting for an answer.")
    ] = False,
    assigned_to: Annotated[
        str | None, typer.Option(help="Only those this user (their email) answers.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    before: Annotated[str | None, typer.Option(help="The cursor a previous page ended at.")] = None,
) -> None:
    """Conversations newest first, those waiting for an answer marked."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        where = conversations.ConversationFilter(
            campaign_id=campaigns.named(session, campaign).id if campaign else None,
            sender_account_id=senders.by_email(session, sender).id if sender else None,
            unread=True if unread else None,
            needs_answer=True if needs_answer else None,
            assigned_to=_user_id(session, assigned_to) if assigned_to else None,
        )
        rows, cursor = conversations.page(session, where, before, limit)
    if not rows:
        console.print("No conversation here.")
        return
    table = Table("id", "last message", "contact", "state", "subject")
    for row in rows:
        conversation = row.conversation
        state = ", ".join(
            word
            for word, on in (
                ("unread", conversation.unread),
                ("needs an answer", conversation.needs_answer),
                (f"assigned to {row.assignee_email}", row.assignee_email),
            )
            if on
        )
        who = row.contact.email + (f" ({row.contact.company})" if row.contact.company else "")
        table.add_row(
            str(conversation.id),
            time_in_zone(conversation.last_message_at),
            escape(who),
            state,
            escape(row.subject or "(no subject)"),
        )
    console.print(table)
    if cursor:
        console.print(f"More: --before '{cursor}'", highlight=False)


def _user_id(session: Session, email: str) -> uuid.UUID:
    found = access_queries.user_by_email(session, email.strip().lower())
    if found is None:
        raise NotFound(f"There is no user {email}.", email=email)
    return found.id


def _conversation_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationFailed(
            f"{text} is not a conversation id: `outreach inbox list` shows them.", id=text
        ) from None


@inbox_app.command("show")
def show(
    ctx: typer.Context,
    conversation_id: Annotated[str, typer.Argument(metavar="ID", help="From `inbox list`.")],
    quoted: Annotated[
        bool, typer.Option("--quoted", help="Show the history each reply quotes too.")
    ] = False,
) -> None:
    """The whole thread, ours and theirs, oldest first (as plain text); reading it marks it
    read."""
    found_id = _conversation_id(conversation_id)
    with container_for(ctx) as container, transaction(container.sessions) as session:
        found = conversations.thread(
            session, found_id, show_images=False, attachment_url=lambda a: ""
        )
        conversations.mark(session, found_id, unread=False, needs_answer=None)
        referrals = categories.standing(session, found_id).referrals
    contact = found.listed.contact
    console.print(
        f"[bold]{escape(contact.email)}[/bold]"
        + (f" ({escape(contact.company)})" if contact.company else "")
        + f" with {escape(found.listed.sender_email)}"
        + (" · needs an answer" if found.listed.conversation.needs_answer else "")
    )
    for entry in found.entries:
        _print_entry(entry, found.campaigns, quoted)
    for each in referrals:
        line = _referral_line(each)
        if each.status == "offered":
            line += f": outreach inbox referral {found_id} {each.email} --confirm"
        console.print(f"\nReferral: {escape(line)}", highlight=False, soft_wrap=True)


def _print_entry(
    entry: conversations.Entry, campaign_names: dict[uuid.UUID, str], quoted: bool
) -> None:
    who = "We wrote" if entry.ours else entry.kind.replace("_", " ")
    about = ""
    if entry.campaign_id:
        about = f" · {campaign_names.get(entry.campaign_id, 'a campaign')}"
        about += f", step {entry.step}" if entry.step else ""
    console.print(
        f"\n[bold]{who}[/bold] {time_in_zone(entry.at)}{escape(about)}\n"
        f"Subject: {escape(entry.subject or '(no subject)')}",
        highlight=False,
    )
    if entry.reply is not None:
        category = entry.reply.category
        words = Category(category).words if category else "not decided yet"
        said = f" · {categories.set_by(entry.reply)}" if category else ""
        console.print(f"Category: {escape(words + said)}", highlight=False)
    own = entry.text or (html_text(entry.html.html) if entry.html else "")
    console.print(escape(own), highlight=False)
    history = entry.quoted_text or (html_text(entry.quoted_html.html) if entry.quoted_html else "")
    if history and quoted:
        console.print(escape(history), style="dim", highlight=False)
    elif history:
        console.print(f"[dim]({len(history.splitlines())} quoted lines; --quoted shows them)[/dim]")
    for attachment in entry.attachments:
        console.print(
            f"Attached: {escape(attachment.filename or 'attachment')} "
            f"({attachment.content_type}, {attachment.size_bytes:,} bytes)",
            highlight=False,
        )


@inbox_app.command("done")
def done(
    ctx: typer.Context,
    conversation_id: Annotated[str, typer.Argument(metavar="ID", help="From `inbox list`.")],
) -> None:
    """Nothing (more) to answer: the conversation leaves "needs an answer"."""
    found_id = _conversation_id(conversation_id)
    with container_for(ctx) as container, transaction(container.sessions) as session:
        conversations.mark(session, found_id, unread=False, needs_answer=False)
        email = conversations.listed(session, found_id).contact.email
    console.print(f"Done: the conversation with {escape(email)} needs no answer.", highlight=False)
