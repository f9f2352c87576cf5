"""One row of a file, read through a column mapping: a contact to store, or the reason not.

Pure: no database. The database decides the rest (duplicates of existing contacts, suppressions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from json.encoder import encode_basestring
from typing import NamedTuple
from zoneinfo import available_timezones

from outreach.contacts.addresses import check_address, dedupe_key, domain_of
from outreach.contacts.readers.table import SourceRow
from outreach.contacts.states import Outcome

PERSON_FIELDS = ("name", "first_name", "last_name", "company", "title", "timezone", "website")
HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir"})


# Named tuples, not frozen dataclasses: one of these is built per row of the file, and a tuple
# is built several times faster.
class Candidate(NamedTuple):
    line: int
    address: str
    key: str
    domain: str
    role: bool
    fields: dict[str, str | None]
    raw_data: dict[str, str]


class Rejected(NamedTuple):
    line: int
    outcome: Outcome
    value: str
    reason: str


@cache
def _known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _person(mapped: Mapping[str, str]) -> dict[str, str | None]:
    """The contact's own fields; a full name fills in first and last names and the reverse."""
    get = mapped.get
    name, first, last = get("name") or None, get("first_name") or None, get("last_name") or None
    if name and not (first and last):
        words = [w for w in name.split() if w.lower().rstrip(".") not in HONORIFICS]
        first = first or (words[0] if words else None)
        last = last or (words[-1] if len(words) > 1 else None)
    # Only a full name is split: a lone last name is no first name ("Hi Hoare,"), so the
    # template's fallback greets them.
    name = name or " ".join(part for part in (first, last) if part) or None
    zone = get("timezone") or None
    return {
        "name": name,
        "first_name": first,
        "last_name": last,
        "company": get("company") or None,
        "title": get("title") or None,
        "timezone": zone if zone and zone in _known_timezones() else None,
        "website": get("website") or None,
    }


def candidate(
    row: SourceRow, headers: Sequence[str], columns: Mapping[str, int]
) -> Candidate | Rejected:
    """The row as a contact to store, or why not. `columns` maps fields to positions in the row
    (see positions())."""
    line, values = row
    mapped = {field: values[index] for field, index in columns.items()}
    value = mapped.get("email", "")
    address, problem, role = check_address(value)
    if address is None:
        return Rejected(line, Outcome.invalid, value, problem or "not an email address")
    # Positional: keywords cost a measurable share of the import.
    return Candidate(
        line,
        address,
        dedupe_key(address),
        domain_of(address),
        role,
        _person(mapped),
        dict(zip(headers, values, strict=False)),
    )


class RawDataEncoder:
    """raw_data as JSON text, exactly as json.dumps(raw_data, ensure_ascii=False) writes it, for
    rows whose columns are the file's headers in order. The headers are encoded once per file
    instead of once per row, which makes it about three times faster than json.dumps."""

    def __init__(self, headers: Sequence[str]) -> None:
        self._keys = [encode_basestring(header) + ": " for header in headers]

    def __call__(self, raw_data: Mapping[str, str]) -> str:
        values = raw_data.values()
        pairs = [
            key + encode_basestring(value) for key, value in zip(self._keys, values, strict=False)
        ]
        return "{" + ", ".join(pairs) + "}"


def positions(headers: Sequence[str], mapping: Mapping[str, str]) -> dict[str, int]:
    """Where each mapped field's column is in a row."""
    return {field: headers.index(header) for field, header in mapping.items() if header in headers}


def first_of_each_address(
    rows: Sequence[Candidate | Rejected],
) -> tuple[list[Candidate], list[Rejected]]:
    """Keeps the first row of each address in a chunk; later ones are duplicates of it."""
    seen: dict[str, int] = {}
    kept: list[Candidate] = []
    rejected: list[Rejected] = []
    for row in rows:
        if isinstance(row, Rejected):
            rejected.append(row)
        elif row.key in seen:
            reason = f"same address as line {seen[row.key]}"
            rejected.append(Rejected(row.line, Outcome.duplicate, row.address, reason))
        else:
            seen[row.key] = row.line
            kept.append(row)
    return kept, rejected


def merged(
    fields: Mapping[str, str | None], raw_data: Mapping[str, object], row: Candidate
) -> tuple[dict[str, str | None], dict[str, object]] | None:
    """An existing contact completed from a new row: empty fields filled, new columns added,
    nothing overwritten. None when the row adds nothing."""
    new_fields = {name: fields.get(name) or row.fields.get(name) for name in PERSON_FIELDS}
    new_raw: dict[str, object] = dict(raw_data)
    for header, value in row.raw_data.items():
        if value and not new_raw.get(header):
            new_raw[header] = value
    if new_fields == dict(fields) and new_raw == dict(raw_data):
        return None
    return new_fields, new_raw
