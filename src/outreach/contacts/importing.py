"""Importing a file of contacts: upload, mapping, then rows stored chunk by chunk.

Each chunk is one short step of the runner (outreach/runner.py), so another process sees progress
and a crash loses at most one chunk; processed_contacts is the resume point. Every row of the
file gets exactly one outcome, counted on the batch: imported, updated, duplicate, invalid or
suppressed; the rows that did not become contacts are kept with their reason for the report.
"""

from __future__ import annotations

import csv
import logging
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from outreach.clock import Clock
from outreach.contacts import queries
from outreach.contacts.candidates import (
    Candidate,
    RawDataEncoder,
    Rejected,
    candidate,
    first_of_each_address,
    merged,
    positions,
)
from outreach.contacts.mapping import checked_mapping, propose_mapping
from outreach.contacts.models import ColumnMapping, UploadBatch
from outreach.contacts.readers import open_table
from outreach.contacts.readers.table import SourceRow
from outreach.contacts.service import spreadsheet_safe
from outreach.contacts.states import UPLOADS, Outcome, UploadStatus
from outreach.db import get_or_not_found, time_ordered_uuid_texts
from outreach.errors import InvalidTransition, NotFound, ValidationFailed
from outreach.retry import RetryPolicy
from outreach.runner import Runner
from outreach.states import transition

log = logging.getLogger("outreach.contacts")

CHUNK_ROWS = 10_000
RETRY_POLICY = RetryPolicy(lease=timedelta(minutes=10))
"""An import is not retried by itself (a failed one is confirmed again by a person); one whose
importer has not beaten for the lease lost its importer, and another takes it over."""
PREVIEW_ROWS = 5

Progress = Callable[[int, int], None]


class DuplicatePolicy(StrEnum):
    """What an import does with a row whose address is already a contact."""

    skip = "skip"
    update = "update"


@dataclass(frozen=True)
class Preview:
    headers: list[str]
    proposal: dict[str, str]
    rows: list[SourceRow]
    sheets: list[str]
    delimiter: str | None
    encoding: str | None


def stored_copy(uploads: Path, file_name: str, source: BinaryIO) -> Path:
    """Keeps an uploaded file under the data folder, under a name nobody can choose."""
    folder = uploads / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / ("upload" + Path(file_name).suffix.lower()[:10])
    with path.open("wb") as target:
        shutil.copyfileobj(source, target, length=1 << 20)
    return path


def preview(path: Path, file_name: str, sheet: str | None = None) -> Preview:
    """The file's columns, a proposed mapping and its first rows, read without importing."""
    with open_table(path, sheet=sheet, file_name=file_name) as table:
        rows = list(islice(table.rows(), PREVIEW_ROWS))
        return Preview(
            headers=table.headers,
            proposal=propose_mapping(table.headers),
            rows=rows,
            sheets=table.sheet_names(),
            delimiter=table.delimiter,
            encoding=table.encoding,
        )


def create_upload(
    session: Session, *, path: Path, file_name: str, sheet: str | None, now: datetime
) -> tuple[UploadBatch, Preview]:
    """A batch waiting for its mapping. The file is read first, so an unreadable one is refused
    here with its reason rather than failing later."""
    seen = preview(path, file_name, sheet)
    batch = UploadBatch(
        file_name=Path(file_name).name[:255] or "upload",
        stored_path=str(path),
        sheet=sheet,
        column_mapping=seen.proposal,
        status=UploadStatus.uploaded.value,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    return batch, seen


def confirm(
    session: Session,
    batch_id: uuid.UUID,
    *,
    mapping: Mapping[str, str] | None = None,
    on_duplicate: str = DuplicatePolicy.skip,
    list_id: uuid.UUID | None = None,
    save_as: str | None = None,
) -> UploadBatch:
    """Fixes how a batch is imported and queues it for an importer."""
    batch = get(session, batch_id)
    if on_duplicate not in (DuplicatePolicy.skip, DuplicatePolicy.update):
        raise ValidationFailed(
            f"{on_duplicate!r}: contacts already there are either skipped (skip) or updated "
            "(update).",
            field="on_duplicate",
        )
    headers = preview_of(batch).headers
    chosen = checked_mapping(
        mapping if mapping is not None else batch.column_mapping or {}, headers
    )
    if save_as:
        save_mapping(session, save_as, chosen)
    transition(
        session,
        UploadBatch,
        batch_id,
        UploadStatus.pending,
        UPLOADS,
        column_mapping=chosen,
        on_duplicate=on_duplicate,
        list_id=list_id,
        error=None,
    )
    session.refresh(batch)
    return batch


def save_mapping(session: Session, name: str, mapping: Mapping[str, str]) -> ColumnMapping:
    """Saves (or replaces) a mapping under a name for the next file from the same tool."""
    label = name.strip()
    if not label or len(label) > 100:
        raise ValidationFailed("A saved mapping needs a name of 1 to 100 characters.", field="name")
    saved = session.scalar(sa.select(ColumnMapping).where(ColumnMapping.name == label))
    if saved is None:
        saved = ColumnMapping(name=label, mapping=dict(mapping))
        session.add(saved)
    else:
        saved.mapping = dict(mapping)
    session.flush()
    return saved


def saved_mappings(session: Session) -> list[ColumnMapping]:
    return list(session.scalars(sa.select(ColumnMapping).order_by(ColumnMapping.name)))


def saved_mapping(session: Session, name: str) -> dict[str, str]:
    saved = session.scalar(sa.select(ColumnMapping).where(ColumnMapping.name == name.strip()))
    if saved is None:
        raise NotFound(f"There is no saved mapping called {name!r}.", name=name)
    return dict(saved.mapping)


def claim(session: Session, now: datetime, batch_id: uuid.UUID | None = None) -> uuid.UUID | None:
    """Takes a pending batch (this one, or the oldest, or one whose importer went silent) for
    this process; None when there is none or another process took it first."""
    stale_before = RETRY_POLICY.stale_before(now)
    chosen = batch_id or queries.claimable_batch(session, stale_before)
    if chosen is None:
        return None
    try:
        transition(
            session,
            UploadBatch,
            chosen,
            UploadStatus.processing,
            UPLOADS,
            where=(
                sa.or_(
                    UploadBatch.status == UploadStatus.pending.value,
                    UploadBatch.heartbeat_at < stale_before,
                ),
            ),
            heartbeat_at=now,
            started_at=sa.func.coalesce(UploadBatch.started_at, now),
        )
    except InvalidTransition:
        return None
    return chosen


@dataclass
class ImportReport:
    batch_id: uuid.UUID
    status: UploadStatus
    total: int
    processed: int
    counts: dict[Outcome, int] = field(default_factory=dict)
    roles: int = 0
    error: str | None = None


def run(
    runner: Runner,
    batch_id: uuid.UUID,
    clock: Clock,
    progress: Progress = lambda done, total: None,
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportReport:
    """Imports a claimed batch to the end, a step per chunk of `chunk_rows` rows (the file is
    read between them, with no transaction open). Raises on error."""
    batch = runner.read(partial(get, batch_id=batch_id))
    _import_rows(runner, batch, clock, progress, chunk_rows)
    return runner.step(partial(_finish, batch_id, UploadStatus.completed, clock.now()))


def run_or_fail(
    runner: Runner,
    batch_id: uuid.UUID,
    clock: Clock,
    progress: Progress = lambda done, total: None,
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportReport:
    """run(), but any error marks the batch failed with its reason instead of escaping: the
    chunks already stored stay, and confirming the batch again resumes after them."""
    try:
        return run(runner, batch_id, clock, progress, chunk_rows=chunk_rows)
    except Exception as error:
        reason = (
            error.message
            if isinstance(error, ValidationFailed)
            else f"{type(error).__name__}: {error}"
        )
        failed = partial(_finish, batch_id, UploadStatus.failed, clock.now(), error=reason[:2000])
        return runner.step(failed)


def import_confirmed(
    sessions: sessionmaker[Session], clock: Clock, batch_id: uuid.UUID | None = None
) -> list[ImportReport]:
    """Imports every confirmed upload (or just this one) that no other importer holds, each
    claimed in a step, then stored a step per chunk."""
    imported = []
    with Runner(sessions) as runner:
        while (
            claimed := runner.step(partial(claim, now=clock.now(), batch_id=batch_id))
        ) is not None:
            report = run_or_fail(runner, claimed, clock)
            log.info(
                "contacts.import_finished",
                extra={
                    "batch_id": str(claimed),
                    "status": report.status.value,
                    "error": report.error or "",
                },
            )
            imported.append(report)
            if batch_id is not None:
                break
    return imported


def _finish(
    batch_id: uuid.UUID, status: UploadStatus, now: datetime, session: Session, **values: Any
) -> ImportReport:
    transition(session, UploadBatch, batch_id, status, UPLOADS, finished_at=now, **values)
    return report(get(session, batch_id))


def report(batch: UploadBatch) -> ImportReport:
    return ImportReport(
        batch_id=batch.id,
        status=UploadStatus(batch.status or UploadStatus.pending),
        total=batch.total_contacts or 0,
        processed=batch.processed_contacts or 0,
        counts={outcome: getattr(batch, f"{outcome.value}_count") for outcome in Outcome},
        roles=batch.role_count,
        error=batch.error,
    )


def get(session: Session, batch_id: uuid.UUID) -> UploadBatch:
    """The batch as it is now in the database (another process may be importing it)."""
    found = get_or_not_found(session, UploadBatch, batch_id, "upload")
    session.refresh(found)
    return found


def preview_of(batch: UploadBatch) -> Preview:
    return preview(Path(batch.stored_path or ""), batch.file_name, batch.sheet)


def _import_rows(
    runner: Runner, batch: UploadBatch, clock: Clock, progress: Progress, chunk_rows: int
) -> None:
    path = Path(batch.stored_path or "")
    with open_table(path, sheet=batch.sheet, file_name=batch.file_name) as table:
        mapping = checked_mapping(batch.column_mapping or {}, table.headers)
        total = table.count_rows()
        done = batch.processed_contacts or 0
        runner.step(lambda session: queries.set_total(session, batch.id, total))
        progress(done, total)
        for chunk in _chunks(islice(table.rows(), done, None), chunk_rows):
            done += len(chunk)
            store = partial(_store, batch, table.headers, mapping, chunk, done, clock.now())
            runner.step(store)
            progress(done, total)


def _store(
    batch: UploadBatch,
    headers: Sequence[str],
    mapping: Mapping[str, str],
    chunk: Sequence[SourceRow],
    done: int,
    now: datetime,
    session: Session,
) -> None:
    """One chunk stored, and the batch's counts and resume point moved on."""
    counts = store_chunk(session, batch, headers, mapping, chunk, now)
    queries.add_progress(session, batch.id, counts, done, now)


def _chunks(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def store_chunk(
    session: Session,
    batch: UploadBatch,
    headers: Sequence[str],
    mapping: Mapping[str, str],
    rows: Sequence[SourceRow],
    now: datetime,
) -> Counter[str]:
    """Stores one chunk and returns how many rows had each outcome (plus `role`)."""
    columns = positions(headers, mapping)
    kept, rejected = first_of_each_address([candidate(row, headers, columns) for row in rows])
    fresh = _not_suppressed(session, kept, rejected)
    existing = queries.existing_contacts(session, [row.key for row in fresh])
    new = [row for row in fresh if row.key not in existing]
    with_ids = list(zip(new, time_ordered_uuid_texts(now, len(new)), strict=True))
    encode = RawDataEncoder(headers)
    missed = queries.store_new_contacts(
        session, batch.id, now, [_new_contact(row, i, encode) for row, i in with_ids]
    )
    inserted = [(row, i) for row, i in with_ids if i not in missed]
    rejected += [
        Rejected(
            row.line, Outcome.duplicate, row.address, "added by another import at the same time"
        )
        for row, i in with_ids
        if i in missed
    ]
    updates, known = _existing_outcomes(batch, fresh, existing, rejected)
    queries.update_contacts(session, updates)
    if batch.list_id:
        added = [uuid.UUID(i) for _, i in inserted]
        queries.add_members(session, batch.list_id, [*added, *known], now)
    queries.record_problems(
        session,
        batch.id,
        [
            {"line": r.line, "outcome": r.outcome.value, "value": r.value, "reason": r.reason}
            for r in rejected
        ],
    )
    counts = Counter(row.outcome.value for row in rejected)
    counts[Outcome.imported.value] = len(inserted)
    counts[Outcome.updated.value] = len(updates)
    counts["role"] = sum(1 for row, _ in inserted if row.role)
    return counts


def _not_suppressed(
    session: Session, kept: list[Candidate], rejected: list[Rejected]
) -> list[Candidate]:
    emails, domains = queries.suppressed_among(
        session, {r.key for r in kept}, {r.domain for r in kept}
    )
    fresh = []
    for row in kept:
        if row.key in emails or row.domain in domains:
            what = "address" if row.key in emails else f"domain {row.domain}"
            rejected.append(
                Rejected(row.line, Outcome.suppressed, row.address, f"the {what} is suppressed")
            )
        else:
            fresh.append(row)
    return fresh


def _existing_outcomes(
    batch: UploadBatch,
    fresh: Sequence[Candidate],
    existing: Mapping[str, queries.ExistingContact],
    rejected: list[Rejected],
) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    """Rows whose address is already a contact: updates to make, and those contacts' ids."""
    updates: list[dict[str, Any]] = []
    known: list[uuid.UUID] = []
    updating = batch.on_duplicate == DuplicatePolicy.update
    for row in fresh:
        found = existing.get(row.key)
        if found is None:
            continue
        known.append(found.id)
        if found.upload_batch_id == batch.id:
            reason = "same address as an earlier line of this file"
        elif not updating:
            reason = "already a contact"
        elif change := merged(found.fields, found.raw_data, row):
            updates.append({"contact_id": found.id, **change[0], "raw_data": change[1]})
            continue
        else:
            reason = "already a contact, nothing new"
        rejected.append(Rejected(row.line, Outcome.duplicate, row.address, reason))
    return updates, known


def _new_contact(row: Candidate, contact_id: str, encode: RawDataEncoder) -> tuple[Any, ...]:
    """The row's values in queries.NEW_CONTACT_COLUMNS order, id and raw_data as text."""
    fields = row.fields
    return (
        contact_id,
        encode(row.raw_data),
        fields["name"],
        row.address,
        fields["company"],
        fields["first_name"],
        fields["last_name"],
        fields["title"],
        fields["timezone"],
        fields["website"],
        row.role,
    )


def write_report(session: Session, batch_id: uuid.UUID, target: TextIO) -> int:
    """The rows of a batch that did not become contacts, as CSV: line, outcome, value, reason."""
    get(session, batch_id)
    writer = csv.writer(target)
    writer.writerow(["line", "outcome", "value", "reason"])
    written = 0
    for problem in queries.problems_of(session, batch_id):
        writer.writerow(
            [problem.line, problem.outcome, spreadsheet_safe(problem.value), problem.reason]
        )
        written += 1
    return written
