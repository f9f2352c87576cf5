"""What every contact file reader gives: a ``Table`` of cleaned headers and ``SourceRow`` text.

Content is kept as it is, with two exceptions applied to every value and header:

* leading and trailing whitespace is stripped;
* NUL characters (U+0000) are removed, because PostgreSQL cannot store them in text.

Headers are cleaned further so that each names exactly one column: byte order marks are
removed, a blank header becomes "Column N" (N is its 1-based position), and a repeated header
(compared without regard to case) gets " (2)", " (3)"... in order of appearance.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple, Protocol

from outreach.errors import ValidationFailed


class SourceRow(NamedTuple):
    """One data record: the 1-based line (or sheet row) where it starts, and one text per header.

    A named tuple rather than a frozen dataclass: a million of them are built per import, and a
    tuple is built several times faster."""

    line: int
    values: list[str]


class Table(Protocol):
    """An opened contact file: cleaned headers, then its rows streamed as text.

    ``kind`` is "csv" for every text file, else "xlsx", "xls" or "ods". ``encoding`` and
    ``delimiter`` are None for spreadsheets. ``replaced_bytes`` (undecodable bytes read as
    U+FFFD) and ``overflow_rows`` (rows whose extra cells were joined into the last column) are
    complete once ``rows()`` has been read to the end; both stay 0 for spreadsheets.
    """

    file_name: str
    kind: str
    encoding: str | None
    delimiter: str | None
    headers: list[str]
    replaced_bytes: int
    overflow_rows: int

    def rows(self) -> Iterator[SourceRow]:
        """Every non-empty data row after the header row, in file order, as one pass."""
        ...

    def count_rows(self) -> int:
        """How many rows ``rows()`` yields, without building them; may be called first."""
        ...

    def sheet_names(self) -> list[str]:
        """The workbook's sheets in order; [] for text files."""
        ...


def no_header_row(file_name: str) -> ValidationFailed:
    """The error for a file (or sheet) in which no row has a value."""
    return ValidationFailed(f"{file_name} has no header row", file_name=file_name)


def clean(value: str) -> str:
    """A value as stored: without NUL characters and surrounding whitespace."""
    return value.replace("\x00", "").strip()


def clean_headers(cells: Sequence[str], width: int) -> list[str]:
    """Unique, non-blank names for ``width`` columns (rules in the module docstring)."""
    names: list[str] = []
    taken: set[str] = set()
    for position in range(1, width + 1):
        raw = cells[position - 1] if position <= len(cells) else ""
        base = clean(raw.replace("\ufeff", "")) or f"Column {position}"
        name, copy = base, 1
        while name.casefold() in taken:
            copy += 1
            name = f"{base} ({copy})"
        taken.add(name.casefold())
        names.append(name)
    return names
