"""Which tables move between databases, in what order, and how their values become JSON."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from enum import Enum
from typing import Any

import sqlalchemy as sa

import outreach.models  # noqa: F401 (every table registered on Base.metadata)
from outreach.db import GUID, Base, TextArray, UtcDateTime

SEED_ORDER = (
    "sender_accounts",
    "email_templates",
    "contact_lists",
    "upload_batches",
    "contacts",
    "contact_list_members",
    "campaigns",
    "campaign_settings",
    "campaign_sequences",
    "campaign_contacts",
    "email_drafts",
    "sent_emails",
    "scheduled_emails",
    "email_replies",
    "email_analytics",
)
"""The seed's "Export All Data" order: each table after those it refers to."""
LEFT_OUT = frozenset(
    {
        "user_sessions",
        "login_attempts",
        "import_guard",
        "replied_contacts",
        "analytics_rollups",
        "worker_leases",
        "sender_dns_checks",
        "webhook_deliveries",
        "webhook_attempts",
        "idempotency_keys",
        "test_sends",
    }
)
"""Passing state that means nothing in another database (sign-ins, the import guard, workers'
leases: a delivery left `sending` whose worker has no lease is in doubt there at once; a day's
cache of DNS checks; webhook deliveries: another database would send them again; idempotency
keys, kept a day; test sends, whose only use is that a form's one-time key is not used twice),
and what the database derives from other tables as they are written
(replied_contacts; analytics_rollups, rebuilt at the end of every import)."""


def export_order() -> list[sa.Table]:
    """The seed's tables in its order, then ours in dependency order."""
    tables = Base.metadata.tables
    ours = [
        t
        for t in Base.metadata.sorted_tables
        if t.name not in SEED_ORDER and t.name not in LEFT_OUT
    ]
    return [tables[name] for name in SEED_ORDER] + ours


def line(row: dict[str, Any]) -> str:
    """One row as one canonical JSON line: keys and nested keys sorted, so the same rows give the
    same bytes whichever backend they came from (PostgreSQL's JSONB reorders object keys)."""
    return (
        json.dumps(row, default=_plain, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        + "\n"
    )


def _plain(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):  # a kept attachment (inbox_attachments.data)
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def reader(column: sa.Column[Any]) -> Callable[[Any], Any]:
    """How a JSON value becomes the column's Python value."""
    kind = column.type
    if isinstance(kind, GUID):
        return lambda value: None if value is None else uuid.UUID(str(value))
    if isinstance(kind, UtcDateTime):
        return lambda value: (
            None if value is None else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        )
    if isinstance(kind, sa.Date):
        return lambda value: None if value is None else date.fromisoformat(str(value))
    if isinstance(kind, sa.Time):
        return lambda value: None if value is None else time.fromisoformat(str(value))
    if isinstance(kind, sa.LargeBinary):
        return lambda value: None if value is None else base64.b64decode(str(value))
    if isinstance(kind, TextArray):
        return lambda value: None if value is None else [str(item) for item in value]
    return lambda value: value
