"""Which tables move between databases, in what order, and how their values become JSON."""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
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
        "implicit_approvals",
        "contact_list_sizes",
        "draft_batch_tallies",
        "worker_leases",
        "sender_dns_checks",
        "webhook_deliveries",
        "webhook_attempts",
        "idempotency_keys",
        "backup_changes",
        "test_sends",
    }
)
"""Passing state that means nothing in another database (sign-ins, the import guard, workers'
leases: a delivery left `sending` whose worker has no lease is in doubt there at once; a day's
cache of DNS checks; webhook deliveries: another database would send them again; idempotency
keys, kept a day; backup_changes, the hourly backups' log of what changed here; test sends,
whose only use is that a form's one-time key is not used twice), and what the database derives
from other tables as they are written (replied_contacts; analytics_rollups, implicit_approvals,
contact_list_sizes and draft_batch_tallies, rebuilt at the end of every import)."""


def export_order() -> list[sa.Table]:
    """The seed's tables in its order, then ours in dependency order."""
    tables = Base.metadata.tables
    ours = [
        t
        for t in Base.metadata.sorted_tables
        if t.name not in SEED_ORDER and t.name not in LEFT_OUT
    ]
    return [tables[name] for name in SEED_ORDER] + ours


FORMAT = "outreach-export/2"
"""The export format written: one line() per row."""
FIRST_FORMAT = "outreach-export/1"
"""The format written before 2026-12-08, still read: one first_line() per row. Its JSON
documents had their keys sorted and no spaces, which PostgreSQL cannot write without taking
each document apart; /2 writes them as jsonb prints them (document_text), which PostgreSQL does
as it stores them, several times cheaper (docs/benchmarks.md)."""


def line(row: Mapping[str, Any], documents: Collection[str]) -> str:
    """One row as one JSON line: columns sorted, compact, and the JSON documents of the columns
    named in `documents` as PostgreSQL's jsonb prints them (document_text), so the same rows
    give the same bytes whichever backend they came from."""
    present = [name for name in documents if row.get(name) is not None]
    if not present:
        return _encode_row(row) + "\n"
    # The row in one call to the encoder (a call per column costs three times as much), a 0 in
    # each document's place, then the documents put there: `"name":0` is found only where the
    # column's member is, since a quote inside an encoded string is always escaped.
    text = _encode_row({**row, **dict.fromkeys(present, 0)})
    for name in present:
        member = _encode_value(name) + ":"
        text = text.replace(member + "0", member + document_text(row[name]), 1)
    return text + "\n"


def first_line(row: Mapping[str, Any]) -> str:
    """One row as FIRST_FORMAT wrote it: keys and nested keys sorted, compact."""
    return _encode_row(row) + "\n"


def document_text(value: Any) -> str:
    """A JSON document as PostgreSQL's jsonb prints it: an object's keys shorter first, then
    in byte order, `, ` and `: ` between members, and numbers as numeric prints them (no
    exponent, no negative zero). The same text from a document read on SQLite as from
    `document::text` on PostgreSQL."""
    if isinstance(value, dict):
        members = sorted(value.items(), key=lambda item: (len(item[0].encode()), item[0]))
        return "{" + ", ".join(f"{_encode_value(k)}: {document_text(v)}" for k, v in members) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(document_text, value)) + "]"
    if isinstance(value, float) and math.isfinite(value):
        # numeric keeps the digits of the text it was given: repr(), as json.dumps writes it.
        text = format(Decimal(repr(value)), "f")
        return text.removeprefix("-") if value == 0 else text
    return _encode_value(value)


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


# Made once: json.dumps with options builds an encoder per call.
_encode_value = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_plain).encode
_encode_row = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_plain
).encode


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


# PostgreSQL's fast paths. Raw SQL, each kept beside its portable twin above: `line_sql`
# renders line() in PostgreSQL, `value_sql` is reader() applied by PostgreSQL to a row's JSON
# object. Both are held to their twins by tests/integration/test_portability.py.


def line_sql(table: sa.Table, columns: Sequence[str]) -> str:
    """A PostgreSQL expression over `table`'s row whose text is line() of those columns,
    without its newline.

    Strings are written between quotes as they are, unless one of the row's strings has a
    quote, a backslash or a control character: then all of them by to_json, which escapes
    exactly as json.dumps(ensure_ascii=False) does. One test of the row's strings put together
    costs a fraction of one per string, and to_json several times either."""
    strings = [f'"{name}"::text' for name in columns if isinstance(table.c[name].type, sa.String)]
    plain = _line_text(table, columns, escaped=False)
    if not strings:
        return plain
    escaped = _line_text(table, columns, escaped=True)
    awkward = f"""concat({", ".join(strings)}) ~ '[\\x01-\\x1f"\\\\]'"""
    return f"CASE WHEN {awkward} THEN {escaped} ELSE {plain} END"


def _line_text(table: sa.Table, columns: Sequence[str], escaped: bool) -> str:
    parts = ["'{'"]
    for i, name in enumerate(sorted(columns)):
        column = table.c[name]
        parts.append(_literal(("," if i else "") + json.dumps(name) + ":"))
        if isinstance(column.type, sa.JSON):
            parts.append(f"""coalesce("{name}"::text, 'null')""")  # jsonb's own text
        else:
            parts.append(_value_text(column, escaped))
    parts.append("'}'")
    return " || ".join(parts)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _value_text(column: sa.Column[Any], escaped: bool) -> str:
    """The column's value as line() writes it, `null` for NULL; a string escaped by to_json
    if `escaped`, else between quotes as it is."""
    name = '"' + column.name + '"'
    kind = column.type
    if isinstance(kind, UtcDateTime):
        # isoformat() of an aware UTC datetime: microseconds only when there are some.
        text = (
            f"""'"' || replace(to_char({name} AT TIME ZONE 'UTC', """
            """'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), '.000000+', '+') || '"'"""
        )
    elif isinstance(kind, sa.Time):
        # PostgreSQL trims the fraction's trailing zeros, isoformat() keeps six digits.
        text = (
            f"""'"' || CASE WHEN {name}::text LIKE '%.%' THEN rpad({name}::text, 15, '0') """
            f"""ELSE {name}::text END || '"'"""
        )
    elif isinstance(kind, sa.Date | GUID):
        text = f"""'"' || {name}::text || '"'"""
    elif isinstance(kind, sa.LargeBinary):
        # encode() breaks base64 into lines of 76 characters, b64encode() does not.
        text = f"""'"' || translate(encode({name}, 'base64'), E'\\n', '') || '"'"""
    elif isinstance(kind, sa.Integer | sa.Boolean):
        text = f"{name}::text"
    elif isinstance(kind, TextArray):
        text = f"array_to_json({name})::text"
    elif isinstance(kind, sa.String):
        text = f"to_json({name}::text)::text" if escaped else f"""'"' || {name}::text || '"'"""
    else:
        raise TypeError(f"no PostgreSQL rendering for {column.table.name}.{column.name}")
    return f"coalesce({text}, 'null')"


def value_sql(column: sa.Column[Any], document: str, dialect: sa.Dialect) -> str:
    """A PostgreSQL expression giving the column's value from the row's JSON object (jsonb
    `document`), as reader() gives it in Python; JSON null is SQL NULL."""
    name = _literal(column.name)
    kind = column.type
    if isinstance(kind, sa.JSON):
        return f"nullif({document} -> {name}, 'null'::jsonb)"
    if isinstance(kind, TextArray):
        return (
            f"CASE WHEN {document} -> {name} <> 'null' THEN "
            f"ARRAY(SELECT jsonb_array_elements_text({document} -> {name})) END"
        )
    if isinstance(kind, sa.LargeBinary):
        return f"decode({document} ->> {name}, 'base64')"
    if isinstance(kind, sa.String) and not isinstance(kind, sa.Enum):
        # No cast: assigning text to a varchar(n) refuses a longer value, a cast would cut it.
        return f"({document} ->> {name})"
    return f"({document} ->> {name})::{kind.compile(dialect=dialect)}"
