"""Contacts: finding them, exporting them, and undoing an upload."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session

from outreach.contacts import queries
from outreach.contacts.candidates import PERSON_FIELDS
from outreach.contacts.models import Contact, UploadBatch
from outreach.contacts.queries import ContactFilter
from outreach.contacts.states import UPLOADS, UploadStatus
from outreach.db import get_or_not_found
from outreach.errors import Conflict, NotFound
from outreach.states import transition

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (CSV injection); a leading apostrophe makes it plain text there.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def get(session: Session, contact_id: uuid.UUID) -> Contact:
    return get_or_not_found(session, Contact, contact_id, "contact")


def by_email(session: Session, email: str) -> Contact:
    """The contact with this address (compared case-insensitively, as contacts_email_unique
    does); NotFound when there is none."""
    found = queries.contact_by_email(session, email.strip())
    if found is None:
        raise NotFound(f"There is no contact {email}.", email=email)
    return found


def spreadsheet_safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


EXPORT_SLICE = 1000
"""Rows per piece of a streamed export: a few hundred kilobytes, whatever the export's size."""


def export_csv(session: Session, where: ContactFilter, target: TextIO) -> int:
    """Writes matching contacts as CSV to `target`, row by row. Returns rows."""
    writer = csv.writer(target)
    rows = _export_rows(session, where)
    writer.writerow(next(rows))
    written = 0
    for row in rows:
        writer.writerow(row)
        written += 1
    return written


def export_csv_pieces(session: Session, where: ContactFilter) -> Iterator[str]:
    """The same CSV as export_csv, as text in pieces of EXPORT_SLICE rows: a download streams
    it with constant memory, whatever the number of contacts."""
    piece = io.StringIO()
    writer = csv.writer(piece)
    for number, row in enumerate(_export_rows(session, where), start=1):
        writer.writerow(row)
        if number % EXPORT_SLICE == 0:
            yield piece.getvalue()
            piece.seek(0)
            piece.truncate()
    yield piece.getvalue()


def _export_rows(session: Session, where: ContactFilter) -> Iterator[list[str]]:
    """The header, then one row per matching contact: our fields, then every original column,
    each made safe to open in a spreadsheet."""
    queries.whole_result_plans(session)
    ours = ["email", *PERSON_FIELDS, "role_address", "created_at", "lead_status"]
    originals = queries.raw_columns(session, where)
    headers = ours + [name if name not in ours else f"{name} (original)" for name in originals]
    yield [spreadsheet_safe(header) for header in headers]
    columns = [Contact.email, *(getattr(Contact, f) for f in PERSON_FIELDS)]
    columns += [Contact.role_address, Contact.created_at, Contact.lead_status, Contact.raw_data]
    for email, *person, role_address, created_at, lead_status, raw in queries.matching_rows(
        session, where, columns
    ):
        values = [email, *(value or "" for value in person)]
        values += ["yes" if role_address else "", created_at.isoformat(), lead_status]
        values += [str(raw.get(name, "") or "") for name in originals]
        yield [spreadsheet_safe(value) for value in values]


@dataclass(frozen=True)
class UndoReport:
    removed: int
    kept: int
    """Contacts that campaigns, drafts or sends already use: they stay."""


def delete_upload(session: Session, batch_id: uuid.UUID) -> str:
    """Deletes an upload left before its columns were matched, with its stored copy, and says
    which file it was. Refused (Conflict) for one that imported or is importing: undo that."""
    batch = get_or_not_found(session, UploadBatch, batch_id, "upload")
    name = batch.file_name
    stored = queries.delete_unmatched_upload(session, batch_id)
    if stored is None:
        raise Conflict(
            f"{name} was imported (or is importing): undo it to remove its contacts; "
            "only an upload whose columns were never matched can be deleted.",
            id=str(batch_id),
        )
    if stored:
        # The copy was kept only for matching and importing this upload.
        Path(stored).unlink(missing_ok=True)
    return name


def undo_upload(session: Session, batch_id: uuid.UUID) -> UndoReport:
    """Removes the contacts an upload created, except those already in use."""
    transition(session, UploadBatch, batch_id, UploadStatus.undone, UPLOADS)
    return delete_matching(session, ContactFilter(batch_id=batch_id))


def delete_matching(session: Session, where: ContactFilter) -> UndoReport:
    """Deletes the matching contacts, set-based, except those campaigns, drafts or sends
    already use (their history would go with them, or the database refuses)."""
    removed, kept = queries.delete_unused_contacts(session, where)
    return UndoReport(removed=removed, kept=kept)
