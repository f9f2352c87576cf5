"""Streaming readers for contact files: CSV/TSV text and XLSX/XLS/ODS spreadsheets.

``open_table`` opens one file and gives a ``Table``: cleaned header names, then the data rows
as text, one at a time. Text files are decoded and parsed record by record on every pass, so
memory stays flat however long the file is. Spreadsheets are parsed by calamine, whose Rust side
holds the sheet's cells (Excel caps a sheet at about a million rows); rows become Python text one
at a time.

``table``         what every reader gives: ``Table``, ``SourceRow``, and how values and headers
                  are cleaned
``text``          CSV/TSV/TXT files: encoding, delimiter and width
``spreadsheets``  XLSX/XLS/ODS workbooks through calamine, cells as text
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePath

from outreach.contacts.readers.spreadsheets import SheetTable
from outreach.contacts.readers.table import Table, no_header_row
from outreach.contacts.readers.text import TextTable
from outreach.errors import ValidationFailed

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
SPREADSHEET_EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods"}
SUPPORTED_FORMATS = "CSV, TSV, TXT, XLSX, XLSM, XLS or ODS"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def open_table(
    path: Path, *, sheet: str | int | None = None, file_name: str | None = None
) -> AbstractContextManager[Table]:
    """Open a contact file for reading; leaving the ``with`` block closes it.

    ``file_name`` is the name the user uploaded (default ``path.name``): its extension picks the
    reader (.csv .tsv .txt as text; .xlsx .xlsm .xls .ods as spreadsheets), except that zip or
    OLE2 content is read as a spreadsheet whatever the name says. ``sheet`` selects a sheet by
    name or 0-based position (default: the first); text files ignore it.

    Raises ValidationFailed for an unsupported extension, a file without a header row, an
    unknown sheet, or a spreadsheet calamine cannot read.
    """
    return _opened(path, sheet, file_name or path.name)


@contextmanager
def _opened(path: Path, sheet: str | int | None, file_name: str) -> Iterator[Table]:
    kind = _format_of(path, file_name)
    if path.stat().st_size == 0:
        raise no_header_row(file_name)
    table: TextTable | SheetTable
    if kind == "csv":
        table = TextTable(path, file_name)
    else:
        table = SheetTable(path, file_name, kind, sheet)
    try:
        yield table
    finally:
        table.close()


def _format_of(path: Path, file_name: str) -> str:
    """The reader the file needs: "csv", "xlsx", "xls" or "ods"."""
    extension = PurePath(file_name).suffix.lower()
    if extension not in TEXT_EXTENSIONS and extension not in SPREADSHEET_EXTENSIONS:
        raise ValidationFailed(
            f"{file_name} is not a supported file type; upload a {SUPPORTED_FORMATS} file.",
            file_name=file_name,
        )
    with path.open("rb") as content:
        magic = content.read(len(_OLE2_MAGIC))
    # Users rename files ("contacts.xlsx" saved as "contacts.csv"): the bytes have the last word.
    if magic.startswith(_ZIP_MAGIC):
        return _zip_format(path)
    if magic.startswith(_OLE2_MAGIC):
        return "xls"
    return "csv" if extension in TEXT_EXTENSIONS else SPREADSHEET_EXTENSIONS[extension]


def _zip_format(path: Path) -> str:
    """The zip-based format: ODS when the archive holds content.xml, else XLSX.

    A zip that is neither is left for calamine to report.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return "ods" if "content.xml" in archive.namelist() else "xlsx"
    except zipfile.BadZipFile:
        return "xlsx"
