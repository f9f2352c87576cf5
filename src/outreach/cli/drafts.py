"""`outreach drafts ...`: write drafts for a list, an upload or a campaign, review and approve
them; `outreach drafts templates ...`: the instructions they are written from."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from outreach.campaigns import service as campaigns
from outreach.campaigns.states import DraftType
from outreach.cli.context import console, container_for
from outreach.contacts import lists
from outreach.contacts import queries as contact_queries
from outreach.container import Container
from outreach.db import READ_ONLY, transaction
from outreach.delivery import contacted
from outreach.drafts import batches, campaign_steps, queries, review, templates
from outreach.drafts.batches import TYPE_ORDER
from outreach.drafts.pricing import dollars
from outreach.drafts.states import BatchStatus, JobStatus
from outreach.drafts.writers.base import WriterError
from outreach.errors import NotFound, ValidationFailed
from outreach.words import counted

drafts_app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py
templates_app = typer.Typer(
    help="Templates: the instructions drafts are written from.", no_args_is_help=True
)
drafts_app.add_typer(templates_app, name="templates")

POLL_SECONDS = 0.5
BATCH_ID = "A batch's id, or its first characters."
SKIPPED_SHOWN = 5
"""How many contacts a batch names per reason it skipped drafts for."""


def _types(text: str) -> list[DraftType]:
    try:
        return [DraftType(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError as error:
        names = ", ".join(kind.value for kind in TYPE_ORDER)
        raise ValidationFailed(f"--types takes {names}, separated by commas.") from error


@drafts_app.command("generate")
def generate(
    ctx: typer.Context,
    list_name: Annotated[str | None, typer.Option("--list", help="A list's members.")] = None,
    upload: Annotated[
        str | None, typer.Option(help="An upload's id: the contacts it imported.")
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option(help="A campaign's AI-written steps, for each enrollment (or its list)."),
    ] = None,
    types: Annotated[
        str, typer.Option(help="Draft types, e.g. first_outreach,second_followup.")
    ] = "first_outreach",
    template: Annotated[
        str | None, typer.Option(help="The template (by name) to write from, for --list/--upload.")
    ] = None,
    rewrite_unreviewed: Annotated[
        bool,
        typer.Option(
            "--rewrite-unreviewed",
            help="Write again drafts still waiting for review (approved or edited ones never).",
        ),
    ] = False,
    now: Annotated[
        bool, typer.Option("--now", help="Write them in this command instead of the worker.")
    ] = False,
    wait: Annotated[
        bool, typer.Option(help="Follow the batch's progress until it is done.")
    ] = True,
) -> None:
    """Ask for drafts, and follow them being written with a progress bar.

    Without --now the worker writes them (`outreach worker` or `outreach run` must be running);
    stopping this command leaves the batch going."""
    chosen = [name for name in (list_name, upload, campaign) if name]
    if len(chosen) != 1:
        raise ValidationFailed("Give exactly one of --list, --upload or --campaign.")
    with container_for(ctx) as container:
        with transaction(container.sessions) as session:
            batch_id = _new_batch(
                session, container, list_name, upload, campaign, types, template, rewrite_unreviewed
            )
            progress = batches.progress(session, batch_id)
        skipped = _skip_reasons(container, batch_id)
        console.print(
            f"Batch [bold]{batch_id}[/bold] ({progress.batch.label}): "
            f"{counted(progress.counts[JobStatus.queued.value], 'draft')} to write."
        )
        for reason, emails in sorted(skipped.items(), key=lambda each: -len(each[1])):
            shown = ", ".join(sorted(set(emails))[:SKIPPED_SHOWN])
            more = len(set(emails)) - SKIPPED_SHOWN
            shown += f" and {more} more" if more > 0 else ""
            console.print(f"  skipped {len(emails)}: {reason} ({shown})", highlight=False)
        if not wait and not now:
            console.print(
                f"The worker writes them. Follow with: outreach drafts show-batch {batch_id}"
            )
            return
        final = _follow(container, batch_id, write_here=now)
    _print_outcome(final)
    if final.batch.status == BatchStatus.paused:
        raise typer.Exit(1)


def _new_batch(
    session: Session,
    container: Container,
    list_name: str | None,
    upload: str | None,
    campaign: str | None,
    types: str,
    template: str | None,
    rewrite_unreviewed: bool,
) -> uuid.UUID:
    now = container.clock.now()
    if campaign:
        found = campaigns.named(session, campaign)
        if not campaign_steps.ai_steps(session, found.id):
            raise ValidationFailed(
                f"The campaign {campaign!r} has no AI-written step: mark one with "
                "`outreach campaigns step ... --ai-written`."
            )
        campaign_steps.plan(session, found, now, list_too=True)
        return campaign_steps.batch_of(session, found, now).id
    if not template:
        raise ValidationFailed("Give the template to write from with --template NAME.")
    asked = batches.instructions(_types(types), templates.named(session, template).id)
    if list_name:
        return batches.for_list(
            session,
            lists.named(session, list_name).id,
            asked,
            now,
            held=contacted.holds(session, now, container.recent_email),
            rewrite_unreviewed=rewrite_unreviewed,
        ).id
    try:
        upload_id = uuid.UUID(str(upload))
    except ValueError as error:
        raise ValidationFailed(
            "--upload takes an upload's id (see outreach contacts uploads)."
        ) from error
    return batches.for_upload(
        session,
        upload_id,
        asked,
        now,
        held=contacted.holds(session, now, container.recent_email),
        rewrite_unreviewed=rewrite_unreviewed,
    ).id


def _skip_reasons(container: Container, batch_id: uuid.UUID) -> dict[str, list[str]]:
    """Each reason drafts were skipped for, with the contacts' addresses (one per draft)."""
    with transaction(container.sessions) as session:
        rows = queries.jobs_of(session, batch_id, [JobStatus.skipped.value], limit=1_000_000)
        found: dict[str, list[str]] = {}
        for job, contact in rows:
            found.setdefault(job.error or "skipped", []).append(contact.email)
        return found


def _read_progress(container: Container, batch_id: uuid.UUID) -> batches.Progress:
    """The batch's progress through a read-only connection (on SQLite it takes no write lock,
    so it never queues behind the writer)."""
    connection = container.engine.connect().execution_options(**{READ_ONLY: True})
    with connection, Session(bind=connection) as session:
        found = batches.progress(session, batch_id)
        session.expunge_all()
        return found


def _follow(container: Container, batch_id: uuid.UUID, *, write_here: bool) -> batches.Progress:
    """A progress bar fed by polling the batch, while this command or the worker writes."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
    )
    done = threading.Event()
    current = _read_progress(container, batch_id)
    task = bar.add_task("drafts", total=current.total, completed=current.done, note="")

    def show(found: batches.Progress) -> None:
        failed = found.counts[JobStatus.failed.value]
        note = f"{failed} failed · est. {found.cost}" + (
            f" · paused: {found.batch.pause_reason}" if found.batch.status == "paused" else ""
        )
        bar.update(task, total=found.total, completed=found.done, note=note)

    def write() -> None:
        try:
            container.drafting_pass(batch_id=batch_id, budget_seconds=None, linger=True)
        finally:
            done.set()

    writer = threading.Thread(target=write, name="drafts-writer", daemon=True)
    try:
        with bar:
            if write_here:
                writer.start()
            while True:
                current = _read_progress(container, batch_id)
                show(current)
                stopped = current.batch.status in (BatchStatus.paused, BatchStatus.cancelled)
                if current.finished or stopped or (write_here and done.is_set()):
                    break
                done.wait(POLL_SECONDS)
            if write_here:
                writer.join()
            current = _read_progress(container, batch_id)
            show(current)
    except KeyboardInterrupt:
        console.print("Stopped following; the batch goes on in the worker.")
        raise typer.Exit(130) from None
    return current


def _print_outcome(found: batches.Progress) -> None:
    counts = ", ".join(
        f"{found.counts[status.value]} {status.value}"
        for status in JobStatus
        if found.counts[status.value]
    )
    console.print(f"Batch {found.batch.status}: {counts or 'nothing to write'}.")
    if found.written_by:
        console.print(f"Written by {found.written_by}.", highlight=False)
    if found.writer_warning:
        console.print(f"[yellow]{found.writer_warning}[/yellow]", highlight=False)
    usage = found.usage
    console.print(
        f"Tokens: {usage.input_tokens:,} in, {usage.output_tokens:,} out, "
        f"{usage.cache_read_tokens:,} read from cache, {usage.cache_write_tokens:,} written to it; "
        f"estimated cost {found.cost} (list prices; the Claude Console has the bill)."
    )
    if found.batch.status == BatchStatus.paused:
        console.print(f"[red]Paused: {found.batch.pause_reason}[/red]", highlight=False)
        console.print(f"When it is fixed: outreach drafts resume {found.batch.id}")


@drafts_app.command("show-batch")
def show_batch(ctx: typer.Context, batch: Annotated[str, typer.Argument(help=BATCH_ID)]) -> None:
    """A batch's progress, cost and failures."""
    with container_for(ctx) as container:
        with transaction(container.sessions) as session:
            batch_id = batches.resolve(session, batch)
            failures = queries.jobs_of(session, batch_id, [JobStatus.failed.value], limit=50)
        found = _read_progress(container, batch_id)
    _print_outcome(found)
    for job, contact in failures:
        console.print(f"  failed {contact.email} ({job.draft_type}): {job.error}", highlight=False)


@drafts_app.command("batches")
def list_batches(ctx: typer.Context) -> None:
    """Recent batches with their progress."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        rows = batches.progress_of(session, queries.recent_batches(session))
    table = Table("id", "batch", "status", "done", "cost (est.)")
    for found in rows:
        status = found.batch.status + (
            f": {found.batch.pause_reason}" if found.batch.pause_reason else ""
        )
        table.add_row(
            str(found.batch.id),
            found.batch.label,
            status,
            f"{found.done}/{found.total}",
            found.cost,
        )
    console.print(table)


@drafts_app.command("resume")
def resume(ctx: typer.Context, batch: Annotated[str, typer.Argument(help=BATCH_ID)]) -> None:
    """A paused batch goes on (after the spend limit was raised, say)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        batches.resume(session, batches.resolve(session, batch))
    console.print("Resumed: the worker writes the rest.")


@drafts_app.command("cancel")
def cancel(ctx: typer.Context, batch: Annotated[str, typer.Argument(help=BATCH_ID)]) -> None:
    """Stop a batch; drafts already written stay."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        count = batches.cancel(session, batches.resolve(session, batch), container.clock.now())
    console.print(f"Cancelled: {counted(count, 'draft')} will not be written.")


@drafts_app.command("list")
def list_drafts(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help=f"One of {', '.join(review.STATUSES)}.")
    ] = "draft",
    draft_type: Annotated[str | None, typer.Option("--type", help="A draft type.")] = None,
    list_name: Annotated[str | None, typer.Option("--list")] = None,
    campaign: Annotated[str | None, typer.Option()] = None,
    batch: Annotated[str | None, typer.Option(help=BATCH_ID)] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Drafts, oldest first, with their warnings (by default those waiting for review)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        where = review.DraftFilter(
            status=status or None,
            draft_type=_types(draft_type)[0] if draft_type else None,
            list_id=lists.named(session, list_name).id if list_name else None,
            campaign_id=campaigns.named(session, campaign).id if campaign else None,
            batch_id=batches.resolve(session, batch) if batch else None,
        )
        rows, _ = review.page(session, where, None, limit)
        shown = review.reviews_of(session, [draft for draft, _ in rows])
        total = review.count(session, where)
    table = Table("id", "contact", "type", "status", "subject", "warnings")
    for seen in shown:
        draft = seen.draft
        table.add_row(
            str(draft.id)[:8],
            seen.contact.email,
            str(draft.draft_type),
            seen.review_status + (" (edited)" if draft.is_edited else ""),
            draft.outgoing_subject,
            str(len(seen.findings)) if seen.findings else "",
        )
    console.print(table)
    console.print(f"{len(shown)} of {total} shown.")


@drafts_app.command("show")
def show(ctx: typer.Context, draft: str) -> None:
    """One draft: its text (edits beside the original), warnings, where it came from, cost."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        seen = review.review_of(session, review.get(session, review.resolve(session, draft)))
    found = seen.draft
    console.print(
        f"[bold]{found.id}[/bold] to {seen.contact.email} · {found.draft_type} · "
        f"{seen.review_status}",
        highlight=False,
    )
    if found.is_edited:
        console.print("[dim]Original:[/dim]")
        console.print(f"Subject: {found.subject}\n\n{found.body}\n", highlight=False, markup=False)
        console.print("[dim]Edited (sent):[/dim]")
    console.print(
        f"Subject: {found.outgoing_subject}\n\n{found.outgoing_body}\n",
        highlight=False,
        markup=False,
    )
    for finding in seen.findings:
        console.print(f"[yellow]warning[/yellow] {finding.message}", highlight=False)
    if found.writer_error:
        console.print(f"[red]Last rewrite failed: {found.writer_error}[/red]", highlight=False)
    if found.rejected_reason:
        console.print(f"Rejected: {found.rejected_reason}", highlight=False)
    if found.model:
        console.print(
            f"Written by {seen.written_by} ({found.prompt_version}); "
            f"{seen.usage.total:,} tokens, est. {dollars(seen.cost_micros)}",
            highlight=False,
        )


@drafts_app.command("approve")
def approve(
    ctx: typer.Context,
    drafts: Annotated[list[str] | None, typer.Argument(help="Draft ids (or their start).")] = None,
    batch: Annotated[
        str | None,
        typer.Option(help=f"Every draft of this batch waiting for review. {BATCH_ID}"),
    ] = None,
) -> None:
    """Approve drafts: one, several, or a whole batch's."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        ids = [review.resolve(session, text) for text in drafts or []]
        if batch is not None:
            where = review.DraftFilter(status="draft", batch_id=batches.resolve(session, batch))
            rows, _ = review.page(session, where, None, 1_000_000)
            ids += [found.id for found, _ in rows]
        if not ids:
            raise ValidationFailed("Give draft ids, or --batch.")
        outcome = review.approve_many(session, ids, container.clock.now())
    if outcome.approved:
        console.print(f"Approved {counted(len(outcome.approved), 'draft')}.")
    for draft_id, reason in outcome.refused.items():
        console.print(f"Not approved {str(draft_id)[:8]}: {reason}.", highlight=False)
    if not outcome.approved:
        raise typer.Exit(1)


@drafts_app.command("reject")
def reject(
    ctx: typer.Context,
    draft: str,
    reason: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
) -> None:
    """Reject a draft: it will not be sent."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        review.reject(session, review.resolve(session, draft), reason, container.clock.now())
    console.print("Rejected.")


@drafts_app.command("rewrite")
def rewrite(
    ctx: typer.Context,
    draft: str,
    note: Annotated[str | None, typer.Option(help="What the writer should do differently.")] = None,
) -> None:
    """Have a draft written again, with a note to the writer (the worker writes it)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        review.rewrite(session, review.resolve(session, draft), note, container.clock.now())
    console.print("Queued: the worker writes it again.")


@templates_app.command("add")
def add_template(
    ctx: typer.Context,
    name: str,
    file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    text: Annotated[str | None, typer.Option(help="The instructions; or --file.")] = None,
) -> None:
    """A template: a brief for Claude, or an email with merge fields; first line may be
    "Subject: …"."""
    content = file.read_text(encoding="utf-8") if file else text
    if not content:
        raise ValidationFailed("Give the template's text with --text or --file.")
    with container_for(ctx) as container, transaction(container.sessions) as session:
        templates.create(session, name, content, container.clock.now())
    console.print(f"Added the template {name!r}.")


@templates_app.command("list")
def list_templates(ctx: typer.Context) -> None:
    """Every template."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        rows = templates.all_templates(session)
    table = Table("name", "active", "first line")
    for row in rows:
        table.add_row(
            row.name, "yes" if row.is_active else "no", row.template_content.split("\n")[0][:70]
        )
    console.print(table)


@templates_app.command("try")
def try_template(
    ctx: typer.Context,
    name: str,
    contact: Annotated[str, typer.Option(help="A contact's address.")],
) -> None:
    """Write one draft from a template for one contact, and store nothing."""
    with container_for(ctx) as container:
        try:
            trial = _trial(container, name, contact)
        except WriterError as error:
            raise ValidationFailed(f"No draft: {error.reason}") from error
    written = trial.written
    console.print(f"To {trial.contact_email}\nSubject: {written.subject}\n", highlight=False)
    console.print(written.body, highlight=False, markup=False)
    for finding in trial.findings:
        console.print(f"[yellow]warning[/yellow] {finding.message}", highlight=False)
    console.print(f"Written by {written.model}; est. {dollars(trial.cost_micros)}")


def _trial(container: Container, name: str, contact: str) -> templates.Trial:
    """The template's draft for the first contact matching `contact`; the writer's errors
    (the template refused for this contact, the model busy or stopped) go to the caller."""
    with transaction(container.sessions) as session:
        where = contact_queries.ContactFilter(text=contact)
        person = contact_queries.first_matching(session, where)
        if person is None:
            raise NotFound(f"No contact matches {contact!r}.")
        prepared = templates.prepare_trial(session, templates.named(session, name).id, person.id)
    writer = container.draft_writer()
    try:
        return templates.trial(writer, prepared)
    finally:
        close = getattr(writer, "close", None)
        if callable(close):
            close()
