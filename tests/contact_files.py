"""Importing files in tests the way the CLI does: upload, confirm, claim, run."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from outreach.clock import Clock
from outreach.contacts import importing
from outreach.runner import Runner


def import_text(
    session: Session,
    clock: Clock,
    folder: Path,
    text: str,
    *,
    name: str = "people.csv",
    mapping: dict[str, str] | None = None,
    on_duplicate: str = "skip",
    list_id: uuid.UUID | None = None,
    chunk_rows: int = importing.CHUNK_ROWS,
) -> importing.ImportReport:
    path = folder / f"{uuid.uuid4().hex}-{name}"
    path.write_text(text, encoding="utf-8")
    return import_path(
        session,
        clock,
        path,
        name=name,
        mapping=mapping,
        on_duplicate=on_duplicate,
        list_id=list_id,
        chunk_rows=chunk_rows,
    )


def import_path(
    session: Session,
    clock: Clock,
    path: Path,
    *,
    name: str,
    mapping: dict[str, str] | None = None,
    on_duplicate: str = "skip",
    list_id: uuid.UUID | None = None,
    chunk_rows: int = importing.CHUNK_ROWS,
) -> importing.ImportReport:
    batch, _ = importing.create_upload(
        session, path=path, file_name=name, sheet=None, now=clock.now()
    )
    importing.confirm(
        session, batch.id, mapping=mapping, on_duplicate=on_duplicate, list_id=list_id
    )
    assert importing.claim(session, clock.now(), batch.id) == batch.id
    return importing.run(Runner.inside(session), batch.id, clock, chunk_rows=chunk_rows)
