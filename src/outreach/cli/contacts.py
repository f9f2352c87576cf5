"""`outreach contacts ...`, `outreach lists ...` and `outreach suppressions ...`."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Column, Table
from sqlalchemy.orm import Session

from outreach.cli.context import console, container_for, person_at_the_terminal
from outreach.contacts import importing, leads, lists, notes, queries, service, suppressions
from outreach.contacts.leads import LeadStatus
from outreach.contacts.mapping import parse_overrides
from outreach.contacts.queries import ContactFilter
from outreach.contacts.states import Outcome
from outreach.container import Container
from outreach.db import transaction
from outreach.errors import ValidationFailed
from outreach.inbox import timeline
from outreach.runner import Runner
from outreach.words import counted, time_in_zone

contacts_app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py
lists_app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py
suppressions_app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py


@dataclass(frozen=True)
class ImportChoices:
    sheet: str | None
    overrides: list[str]
    mapping_name: str | None
    save_as: str | None
    list_name: str | None
    on_duplicate: importing.DuplicatePolicy


@contacts_app.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="CSV, TSV, XLSX, XLS or ODS."
        ),
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="field=Column, e.g. email='Work Email'. Repeatable."),
    ] = None,
    mapping: Annotated[
        str | None, typer.Option(help="Use a mapping saved under this name.")
    ] = None,
    save_mapping: Annotated[
        str | None, typer.Option(help="Save the mapping used under this name.")
    ] = None,
    list_name: Annotated[
        str | None, typer.Option("--list", help="Add the contacts to this list (made if new).")
    ] = None,
    on_duplicate: Annotated[
        importing.DuplicatePolicy,
        typer.Option(help="skip: leave existing contacts alone; update: fill their empty fields."),
    ] = importing.DuplicatePolicy.skip,
    sheet: Annotated[
        str | None, typer.Option(help="Spreadsheet sheet name (default: the first).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and check everything, store nothing.")
    ] = False,
) -> None:
    """Import contacts from a file, with a progress bar and a summary."""
    choices = ImportChoices(sheet, map_ or [], mapping, save_mapping, list_name, on_duplicate)
    with container_for(ctx) as container:
        with file.open("rb") as source:
            stored = importing.stored_copy(
                container.settings.data_dir / "uploads", file.name, source
            )
        with container.sessions() as session:
            try:
                report = _import(session, container, stored, file.name, choices, dry_run)
            finally:
                session.rollback()
                if dry_run:
                    stored.unlink()
    _print_report(report, dry_run)
    if report.error:
        raise typer.Exit(1)


def _import(
    session: Session,
    container: Container,
    stored: Path,
    file_name: str,
    choices: ImportChoices,
    dry_run: bool,
) -> importing.ImportReport:
    """A dry run is the real import inside one transaction that is rolled back at the end."""
    batch_id = _queue(session, container, stored, file_name, choices)
    with _progress_bar(file_name) as update:
        if dry_run:
            return importing.run(Runner.inside(session), batch_id, container.clock, update)
        session.commit()
        with Runner(container.sessions) as runner:
            return importing.run_or_fail(runner, batch_id, container.clock, update)


def _queue(
    session: Session, container: Container, stored: Path, file_name: str, choices: ImportChoices
) -> uuid.UUID:
    now = container.clock.now()
    batch, seen = importing.create_upload(
        session, path=stored, file_name=file_name, sheet=choices.sheet, now=now
    )
    chosen = (
        importing.saved_mapping(session, choices.mapping_name)
        if choices.mapping_name
        else dict(seen.proposal)
    )
    chosen.update(parse_overrides(choices.overrides))
    target = lists.named_or_created(session, choices.list_name, now) if choices.list_name else None
    importing.confirm(
        session,
        batch.id,
        mapping=chosen,
        on_duplicate=choices.on_duplicate.value,
        list_id=target.id if target else None,
        save_as=choices.save_as,
    )
    mapped = ", ".join(
        f"{field} ← [bold]{header}[/bold]" for field, header in chosen.items() if header
    )
    console.print(f"Columns: {mapped}")
    importing.claim(session, now, batch.id)
    return batch.id


class _progress_bar:
    """A Rich progress bar fed with (done, total) by the importer."""

    def __init__(self, label: str) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task(label, total=None)

    def __enter__(self) -> importing.Progress:
        self.progress.start()
        return lambda done, total: self.progress.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _print_report(report: importing.ImportReport, dry_run: bool) -> None:
    table = Table("outcome", "rows")
    for outcome in Outcome:
        table.add_row(outcome.value, str(report.counts.get(outcome, 0)))
    table.add_row("[dim]read[/dim]", f"[dim]{report.processed}[/dim]")
    console.print(table)
    if dry_run:
        console.print("Dry run: nothing was stored.")
    if report.roles:
        console.print(
            f"{report.roles} imported addresses are role addresses (info@, sales@…): "
            "they are flagged on the contact."
        )
    if report.error:
        console.print(f"[red]The import failed: {report.error}[/red]")
    if not dry_run and any(
        report.counts.get(o) for o in (Outcome.invalid, Outcome.duplicate, Outcome.suppressed)
    ):
        console.print(
            f"Rows not imported, with reasons: outreach contacts report {report.batch_id}"
        )


@contacts_app.command("show")
def show_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The contact's address.")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Entries per page.")] = 50,
    before: Annotated[str | None, typer.Option(help="The cursor a previous page ended at.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Every email's whole text.")] = False,
) -> None:
    """A contact and their history, newest first: imported, lists, enrollments, emails sent,
    their messages, suppressions and notes."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        contact = service.by_email(session, email)
        entries, cursor = timeline.timeline(session, contact.id, before, limit)
    who = " · ".join(part for part in (contact.name, contact.company, contact.title) if part)
    console.print(f"[bold]{escape(contact.email)}[/bold] {escape(who)}", highlight=False)
    for entry in entries:
        said = entry.title + (f" · {entry.by}" if entry.by else "")
        console.print(f"\n{time_in_zone(entry.at)}  {escape(said)}", highlight=False)
        if entry.subject:
            console.print(f"  Subject: {escape(entry.subject)}", highlight=False)
        if entry.body and (full or entry.kind == timeline.EntryKind.note):
            console.print(escape(entry.body), highlight=False)
        elif entry.body:
            console.print(f"  [dim]({len(entry.body.splitlines())} lines; --full shows them)[/dim]")
    if cursor:
        console.print(f"\nOlder: --before '{cursor}'", highlight=False)


@contacts_app.command("note")
def note_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The contact's address.")],
    text: Annotated[str, typer.Argument(help="The note.")],
) -> None:
    """Add a note to a contact's history."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        contact = service.by_email(session, email)
        notes.add(session, contact.id, None, text, container.clock.now())
    console.print(f"Note added to {escape(contact.email)}.", highlight=False)


@contacts_app.command("report")
def report_command(
    ctx: typer.Context, batch: uuid.UUID, output: Annotated[Path | None, typer.Argument()] = None
) -> None:
    """Write an upload's rows that were not imported, with line and reason, as CSV."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        if output is None:
            importing.write_report(session, batch, sys.stdout)
            return
        with output.open("w", newline="", encoding="utf-8") as target:
            written = importing.write_report(session, batch, target)
    console.print(f"{counted(written, 'row')} written to {output}.")


@contacts_app.command("uploads")
def uploads_command(ctx: typer.Context) -> None:
    """Recent uploads with their status and counts."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        batches = queries.recent_batches(session)
    table = Table(
        Column("id", no_wrap=True, min_width=36),
        "file",
        "status",
        "rows",
        *(o.value for o in Outcome),
    )
    for batch in batches:
        report = importing.report(batch)
        table.add_row(
            str(batch.id),
            batch.file_name,
            batch.status or "",
            f"{report.processed}/{report.total}",
            *(str(report.counts[o]) for o in Outcome),
        )
    console.print(table)


@contacts_app.command("undo")
def undo_command(ctx: typer.Context, batch: uuid.UUID) -> None:
    """Remove the contacts an upload created (those already used by campaigns stay)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        result = service.undo_upload(session, batch)
    console.print(f"Removed {counted(result.removed, 'contact')}.")
    if result.kept:
        console.print(
            f"Kept {counted(result.kept, 'contact')} that campaigns, drafts or sends already use."
        )


@contacts_app.command("delete-upload")
def delete_upload_command(ctx: typer.Context, batch: uuid.UUID) -> None:
    """Delete an upload left before its columns were matched (an imported one: use undo)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        name = service.delete_upload(session, batch)
    console.print(f"Deleted the upload of {name}.")


@contacts_app.command("export")
def export_command(
    ctx: typer.Context,
    output: Path,
    list_name: Annotated[
        str | None, typer.Option("--list", help="Only this list's contacts.")
    ] = None,
    lead_status: Annotated[
        str | None, typer.Option("--lead-status", help="Only contacts with this lead status.")
    ] = None,
) -> None:
    """Export contacts as CSV, with their lead status (safe to open in a spreadsheet: formulas
    are neutralised)."""
    status = leads.parse_status(lead_status) if lead_status else None
    with container_for(ctx) as container, transaction(container.sessions) as session:
        where = ContactFilter(
            list_id=lists.named(session, list_name).id if list_name else None,
            lead_status=status.value if status else None,
        )
        with output.open("w", newline="", encoding="utf-8") as target:
            written = service.export_csv(session, where, target)
    console.print(f"{counted(written, 'contact')} written to {output}.")


@lists_app.command("list")
def lists_command(ctx: typer.Context) -> None:
    """Every list and its size."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        rows = queries.lists_with_sizes(session)
    table = Table("name", "contacts", "description")
    for found, size in rows:
        table.add_row(found.name, str(size), found.description or "")
    console.print(table)


@lists_app.command("create")
def create_list(
    ctx: typer.Context, name: str, description: Annotated[str | None, typer.Option()] = None
) -> None:
    """Create a list."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        lists.create(session, name, description, container.clock.now())
    console.print(f"Created the list {name!r}.")


@lists_app.command("rename")
def rename_list(ctx: typer.Context, name: str, new_name: str) -> None:
    """Rename a list."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        lists.rename(session, lists.named(session, name).id, new_name)
    console.print(f"Renamed {name!r} to {new_name!r}.")


@lists_app.command("delete")
def delete_list(ctx: typer.Context, name: str) -> None:
    """Delete a list (its contacts stay)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        lists.delete(session, lists.named(session, name).id)
    console.print(f"Deleted the list {name!r}.")


@lists_app.command("add")
def add_to_list(
    ctx: typer.Context,
    name: str,
    batch: Annotated[
        uuid.UUID | None, typer.Option(help="Every contact this upload created.")
    ] = None,
    company: Annotated[str | None, typer.Option(help="Company contains this text.")] = None,
    domain: Annotated[str | None, typer.Option(help="Address is at this domain.")] = None,
    field: Annotated[
        str | None, typer.Option(help="Column=value: an original column equals a value.")
    ] = None,
) -> None:
    """Add contacts to a list: an upload's, or those matching filters."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        target = lists.named(session, name)
        now = container.clock.now()
        if batch:
            added = lists.add_batch(session, target.id, batch, now)
        else:
            column, value = _column_equals(field) if field else (None, None)
            where = ContactFilter(company=company, domain=domain, field=column, value=value)
            added = lists.add_matching(session, target.id, where, now)
    console.print(f"Added {counted(added, 'contact')} to {name!r}.")


def _column_equals(field: str) -> tuple[str, str]:
    column, separator, value = field.partition("=")
    if not separator or not column.strip():
        raise ValidationFailed(
            f"--field {field!r}: write it as Column=value, e.g. --field Region=North"
        )
    return column, value


@lists_app.command("remove")
def remove_from_list(ctx: typer.Context, name: str, emails: list[str]) -> None:
    """Remove contacts, by address, from a list."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        target = lists.named(session, name)
        found = queries.existing_contacts(session, [email.strip().lower() for email in emails])
        removed = lists.remove(session, target.id, [contact.id for contact in found.values()])
    console.print(f"Removed {counted(removed, 'contact')} from {name!r}.")


Reason = Annotated[
    suppressions.Reason, typer.Option(help="unsubscribed, bounced, complained or manual.")
]


@suppressions_app.command("add")
def suppress(
    ctx: typer.Context,
    entries: list[str],
    reason: Reason = suppressions.Reason.manual,
    source: Annotated[str, typer.Option(help="Where this came from.")] = "cli",
) -> None:
    """Suppress addresses or whole domains (`@example.com` or `example.com`). If one entry is
    neither, nothing is suppressed: the command names it, to be corrected and run again."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        result = suppressions.add_many(
            session, enumerate(entries, start=1), reason, source, container.clock.now()
        )
        if result.invalid:
            problems = " ".join(problem for _, _, problem in result.invalid)
            raise ValidationFailed(f"Nothing was suppressed: {problems}")
    console.print(result.summary())


@suppressions_app.command("remove")
def unsuppress(ctx: typer.Context, entries: list[str]) -> None:
    """Lift suppressions."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        for entry in entries:
            suppressions.remove(session, entry)
    console.print(f"Lifted {counted(len(entries), 'suppression')}.")


@suppressions_app.command("list")
def list_suppressions(
    ctx: typer.Context, search: Annotated[str | None, typer.Option()] = None
) -> None:
    """The suppression list (first 1,000 entries matching the search)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        rows, more = queries.suppressions_page(session, search, None, 1000)
    table = Table("address or domain", "reason", "source", "since")
    for row in rows:
        table.add_row(
            row.email or f"@{row.domain}",
            row.reason,
            row.source or "",
            row.created_at.strftime("%Y-%m-%d"),
        )
    console.print(table)
    if more:
        console.print("… more: narrow with --search.")


@suppressions_app.command("import")
def import_suppressions(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    reason: Reason = suppressions.Reason.manual,
) -> None:
    """Suppress every address or domain in a file (a column headed email/domain, or the first)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        result = suppressions.add_many(
            session,
            suppressions.entries_of_file(file),
            reason,
            f"file {file.name}",
            container.clock.now(),
        )
    console.print(result.summary())
    for line, entry, problem in result.invalid or []:
        console.print(f"[yellow]line {line}: {entry!r}: {problem}[/yellow]")


@contacts_app.command("status")
def status_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The contact's address.")],
    status: Annotated[
        str, typer.Argument(help=f"One of: {', '.join(s.words for s in LeadStatus)}.")
    ],
) -> None:
    """Set a contact's lead status; sends, replies and categories never change it after that."""
    chosen = leads.parse_status(status)
    with container_for(ctx) as container, transaction(container.sessions) as session:
        found = service.by_email(session, email)
        before = found.lead_status
        leads.set_by_person(
            session, found.id, chosen, person_at_the_terminal(), container.clock.now()
        )
    said = f"{found.email}: {before.replace('_', ' ')} → {chosen.words}"
    console.print(said, highlight=False, soft_wrap=True)
