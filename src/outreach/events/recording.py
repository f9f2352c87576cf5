"""Writing an event in the transaction of the change it describes: every domain calls `record`
right where the change is written, and flushes nothing more; the caller's commit writes both,
its rollback neither."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.db import time_ordered_uuid_texts
from outreach.events.kinds import EventKind, plain
from outreach.events.models import Event


def record(session: Session, kind: EventKind, at: datetime, **data: Any) -> None:
    """One event of `kind` that happened at `at`, its payload's data `data`."""
    record_many(session, kind, at, [data])


def record_many(
    session: Session, kind: EventKind, at: datetime, data: Iterable[dict[str, Any]]
) -> None:
    """Events of one kind at once (a round of sends): one INSERT however many."""
    payloads = [{key: plain(value) for key, value in each.items()} for each in data]
    if not payloads:
        return
    ids = time_ordered_uuid_texts(at, len(payloads))
    session.execute(
        sa.insert(Event),
        [
            {"id": uuid.UUID(event_id), "kind": kind.value, "occurred_at": at, "data": payload}
            for event_id, payload in zip(ids, payloads, strict=True)
        ],
    )
