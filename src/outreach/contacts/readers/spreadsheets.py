"""XLSX, XLS and ODS contact files: one sheet of a workbook read through calamine.

Spreadsheets are parsed by calamine, whose Rust side holds the sheet's cells (Excel caps a sheet
at about a million rows); rows become Python text one at a time. A spreadsheet has the width of
its used range, so no row is wider than its header.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import TypeAlias

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, PasswordError

from outreach.contacts.readers.table import SourceRow, clean, clean_headers, no_header_row
from outreach.errors import ValidationFailed

_Cell: TypeAlias = int | float | str | bool | time | date | datetime | timedelta


class SheetTable:
    """One sheet of an XLSX, XLS or ODS workbook read through calamine."""

    def __init__(self, path: Path, file_name: str, kind: str, sheet: str | int | None) -> None:
        self.file_name = file_name
        self.kind = kind
        self.encoding: str | None = None
        self.delimiter: str | None = None
        self.replaced_bytes = 0
        self.overflow_rows = 0
        with _calamine_errors(file_name), path.open("rb") as content:
            # from_filelike recognises the format from the bytes, whatever the file is named.
            self._workbook = CalamineWorkbook.from_filelike(content)
        try:
            with _calamine_errors(file_name):
                self._sheet = _select_sheet(self._workbook, sheet, file_name)
                self._header_index, header = self._read_header()
        except BaseException:
            self._workbook.close()
            raise
        self.headers = clean_headers(header, len(header))

    def sheet_names(self) -> list[str]:
        return list(self._workbook.sheet_names)

    def rows(self) -> Iterator[SourceRow]:
        for line, cells in self._data_rows():
            values = [_cell_text(cell) for cell in cells]
            if any(values):
                yield SourceRow(line, values)

    def count_rows(self) -> int:
        return sum(1 for _, cells in self._data_rows() if not _is_blank_cells(cells))

    def close(self) -> None:
        self._workbook.close()

    def _all_rows(self) -> Iterator[list[_Cell]]:
        # python-calamine yields rows from the sheet's first row (blank rows above the used
        # range included), so a row's position + 1 is the row number Excel shows. An empty sheet
        # has no range to iterate.
        return iter(self._sheet.iter_rows()) if self._sheet.height else iter(())

    def _data_rows(self) -> Iterator[tuple[int, list[_Cell]]]:
        after_header = islice(self._all_rows(), self._header_index + 1, None)
        return enumerate(after_header, start=self._header_index + 2)

    def _read_header(self) -> tuple[int, list[str]]:
        """The 0-based position of the first non-blank row, and its cells as text."""
        for index, cells in enumerate(self._all_rows()):
            if not _is_blank_cells(cells):
                return index, [_cell_text(cell) for cell in cells]
        raise no_header_row(self.file_name)


def _select_sheet(
    workbook: CalamineWorkbook, sheet: str | int | None, file_name: str
) -> CalamineSheet:
    names = list(workbook.sheet_names)
    if not names:
        raise no_header_row(file_name)
    if sheet is None:
        return workbook.get_sheet_by_name(names[0])
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        return workbook.get_sheet_by_name(names[sheet])
    if isinstance(sheet, str) and sheet in names:
        return workbook.get_sheet_by_name(sheet)
    listing = ", ".join(f'"{name}"' for name in names)
    raise ValidationFailed(
        f"{file_name} has no sheet {sheet!r}; its sheets are {listing}.",
        file_name=file_name,
        sheet_names=names,
    )


@contextmanager
def _calamine_errors(file_name: str) -> Iterator[None]:
    """Turn calamine's complaints about a malformed workbook into a ValidationFailed."""
    try:
        yield
    except PasswordError as exc:
        raise ValidationFailed(
            f"{file_name} is password-protected; remove the password and upload it again.",
            file_name=file_name,
        ) from exc
    except CalamineError as exc:
        raise _unreadable(file_name, exc) from exc
    except BaseException as exc:
        # calamine panics on some malformed files; pyo3 raises PanicException for that, which
        # derives from BaseException so that ``except Exception`` misses it.
        if type(exc).__name__ != "PanicException":
            raise
        raise _unreadable(file_name, exc) from exc


def _unreadable(file_name: str, exc: BaseException) -> ValidationFailed:
    return ValidationFailed(
        f"{file_name} could not be read as a spreadsheet; it may be damaged. Open it in your "
        "spreadsheet program, save it again and upload the copy.",
        file_name=file_name,
        reason=str(exc),
    )


def _is_blank_cells(cells: Sequence[_Cell]) -> bool:
    return not any(_cell_text(cell) for cell in cells)


def _cell_text(cell: _Cell) -> str:
    """A cell as the text a user typed: 1.0 → "1", TRUE/FALSE, ISO 8601 dates, "" when empty.

    Formula cells arrive as their cached value, so they read as the result Excel last showed.
    """
    match cell:
        case str():
            return clean(cell)
        case bool():
            return "TRUE" if cell else "FALSE"
        case int():
            return str(cell)
        case float():
            return _number_text(cell)
        case datetime():
            return cell.date().isoformat() if cell.time() == time() else cell.isoformat()
        case date() | time():
            return cell.isoformat()
        case timedelta():
            return _duration_text(cell)
    return clean(str(cell))


def _number_text(number: float) -> str:
    """Whole numbers without ".0" (phone numbers stored as numbers keep their digits); others to
    15 significant digits, as Excel shows them, so 0.1 + 0.2 reads "0.3"."""
    if not math.isfinite(number):
        return str(number)
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    text = format(number, ".15g")
    if "e" in text and abs(number) < 1:
        return format(Decimal(text), "f")
    return text


def _duration_text(duration: timedelta) -> str:
    """Hours:minutes:seconds, as Excel's [h]:mm:ss shows a duration."""
    seconds = round(duration.total_seconds())
    hours, rest = divmod(abs(seconds), 3600)
    sign = "-" if seconds < 0 else ""
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
