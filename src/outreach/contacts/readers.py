"""Streaming readers for contact files: CSV/TSV text and XLSX/XLS/ODS spreadsheets.

``open_table`` opens one file and gives a ``Table``: cleaned header names, then the data rows
as text, one at a time. Text files are decoded and parsed record by record on every pass, so
memory stays flat however long the file is. Spreadsheets are parsed by calamine, whose Rust side
holds the sheet's cells (Excel caps a sheet at about a million rows); rows become Python text one
at a time.

Content is kept as it is, with two exceptions applied to every value and header:

* leading and trailing whitespace is stripped;
* NUL characters (U+0000) are removed, because PostgreSQL cannot store them in text.

Headers are cleaned further so that each names exactly one column: byte order marks are
removed, a blank header becomes "Column N" (N is its 1-based position), and a repeated header
(compared without regard to case) gets " (2)", " (3)"... in order of appearance.

Width. A text file has as many columns as its widest record among the header row and the sample
after it (the next 1,000 records or 64 KiB of text, whichever ends first); trailing blank cells
do not count, so Excel's ``a,b,,`` makes two columns. Columns beyond the header are named
"Column N". A later record that is wider still keeps its extra cells joined, with the file's
delimiter, into the last column (an unquoted delimiter inside the last field is the usual cause)
and is counted in ``overflow_rows`` so that the import can warn; no text is dropped, only the
spaces right after a delimiter, which the parser skips so that ``a, "b, c"`` reads as two cells. A
spreadsheet has the width of its used range, so no row is wider than its header.

Delimiter of text files: the one a first line such as ``sep=;`` names (Excel's convention; that
line is skipped), else the one that best splits the first 64 KiB (see ``_sniff_delimiter``).

Encoding of text files: a byte order mark decides; else UTF-8 when the first 64 KiB decode as
UTF-8; else Windows-1252 when those bytes read as Western text in it (every byte defined and
accented letters mostly single, as in "Müller;Genève"); else what charset-normalizer finds; else
Windows-1252. Bytes the chosen encoding cannot decode are read as U+FFFD and counted in
``replaced_bytes``.
"""

from __future__ import annotations

import codecs
import contextvars
import csv
import io
import math
import re
import zipfile
from collections.abc import Generator, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path, PurePath
from typing import NamedTuple, Protocol, TypeAlias

import charset_normalizer
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, PasswordError

from outreach.errors import ValidationFailed

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
SPREADSHEET_EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods"}
SUPPORTED_FORMATS = "CSV, TSV, TXT, XLSX, XLSM, XLS or ODS"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SAMPLE_BYTES = 64 * 1024
_SAMPLE_RECORDS = 1_000
_RECORDS_PER_READ = 256
_DELIMITERS = (",", ";", "\t", "|")
_MAX_CELL_CHARS = 16 * 1024 * 1024
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{3,}")
_SEPARATOR_HINT = re.compile(r"sep=([,;\t|])(?:\r\n|\r|\n|\Z)")

# The csv module refuses cells over 128 KiB by default; notes and pasted e-mail signatures in CRM
# exports are bigger. The limit is process-wide, so it is only ever raised.
csv.field_size_limit(max(csv.field_size_limit(), _MAX_CELL_CHARS))

_Cell: TypeAlias = int | float | str | bool | time | date | datetime | timedelta
_Records: TypeAlias = Generator[tuple[int, list[str]], None, None]


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
        raise _no_header_row(file_name)
    table: _TextTable | _SheetTable
    if kind == "csv":
        table = _TextTable(path, file_name)
    else:
        table = _SheetTable(path, file_name, kind, sheet)
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


def _no_header_row(file_name: str) -> ValidationFailed:
    return ValidationFailed(f"{file_name} has no header row", file_name=file_name)


def _clean(value: str) -> str:
    """A value as stored: without NUL characters and surrounding whitespace."""
    return value.replace("\x00", "").strip()


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(_clean(cell) for cell in cells)


def _filled_width(cells: Sequence[str]) -> int:
    """The record's width without its trailing blank cells."""
    for width in range(len(cells), 0, -1):
        if _clean(cells[width - 1]):
            return width
    return 0


def _clean_headers(cells: Sequence[str], width: int) -> list[str]:
    """Unique, non-blank names for ``width`` columns (rules in the module docstring)."""
    names: list[str] = []
    taken: set[str] = set()
    for position in range(1, width + 1):
        raw = cells[position - 1] if position <= len(cells) else ""
        base = _clean(raw.replace("\ufeff", "")) or f"Column {position}"
        name, copy = base, 1
        while name.casefold() in taken:
            copy += 1
            name = f"{base} ({copy})"
        taken.add(name.casefold())
        names.append(name)
    return names


# --- text files -------------------------------------------------------------------------------


class _ReplacementTally:
    """Undecodable bytes met by one pass over a text file."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_current_tally: contextvars.ContextVar[_ReplacementTally | None] = contextvars.ContextVar(
    "outreach_readers_tally", default=None
)
_REPLACE_AND_COUNT = "outreach.readers.replace_and_count"


def _replace_and_count(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: "replace" for decoding, tallied for the pass that is decoding.

    Codec error handlers are registered process-wide by name, so the tally to add to travels in
    a context variable that each pass sets around its own reads.
    """
    if not isinstance(error, UnicodeDecodeError):
        raise error
    tally = _current_tally.get()
    if tally is not None:
        tally.count += error.end - error.start
    return "\ufffd", error.end


codecs.register_error(_REPLACE_AND_COUNT, _replace_and_count)


class _TextTable:
    """A CSV/TSV/TXT file, decoded and parsed afresh on each pass so that memory stays flat."""

    def __init__(self, path: Path, file_name: str) -> None:
        self.file_name = file_name
        self.kind = "csv"
        self.replaced_bytes = 0
        self.overflow_rows = 0
        self._path = path
        self._passes: list[Generator[SourceRow, None, None]] = []
        sample, complete = _read_sample(path)
        self._encoding = _detect_encoding(sample, complete)
        prefer_tab = PurePath(file_name).suffix.lower() == ".tsv"
        text = _sample_text(sample, self._encoding, complete)
        # Excel writes and honours a first line "sep=;" that names the delimiter; it is no data.
        hint = _SEPARATOR_HINT.match(text)
        self._hint_lines = 1 if hint else 0
        self._delimiter = hint.group(1) if hint else _sniff_delimiter(text, prefer_tab)
        self.encoding: str | None = self._encoding
        self.delimiter: str | None = self._delimiter
        self._header_line, header, self._width = self._read_header()
        self.headers = _clean_headers(header, self._width)

    def sheet_names(self) -> list[str]:
        return []

    def rows(self) -> Iterator[SourceRow]:
        rows = self._rows()
        self._passes.append(rows)
        return rows

    def count_rows(self) -> int:
        with closing(self._records()) as records:
            return sum(1 for line, cells in records if self._is_data(line, cells))

    def close(self) -> None:
        """Close the files of passes left unfinished."""
        for rows in self._passes:
            rows.close()
        self._passes.clear()

    def _rows(self) -> Generator[SourceRow, None, None]:
        header_line = self._header_line
        with closing(self._records()) as records:
            for line, cells in records:
                # Each cell is cleaned once, and the cleaned values tell whether the record is
                # blank: this loop runs once per row of the file.
                values = [_clean(cell) for cell in cells]
                if line > header_line and any(values):
                    yield SourceRow(line, self._fit(cells, values))

    def _is_data(self, line: int, cells: list[str]) -> bool:
        return line > self._header_line and not _is_blank(cells)

    def _fit(self, cells: list[str], values: list[str]) -> list[str]:
        """One value per header from the record's cells and their cleaned ``values``: short
        records padded, overflow joined into the last column."""
        width = self._width
        while len(values) > width and not values[-1]:
            values.pop()
        if len(values) > width:
            self.overflow_rows += 1
            overflow = self._delimiter.join(cells[width - 1 : len(values)])
            values[width - 1 :] = [_clean(overflow)]
        values.extend([""] * (width - len(values)))
        return values

    def _read_header(self) -> tuple[int, list[str], int]:
        """The first non-blank record, its line, and the column count over the sample after it."""
        with closing(self._records()) as records:
            for line, cells in records:
                if line > self._hint_lines and not _is_blank(cells):
                    return line, cells, _sample_width(cells, records)
        raise _no_header_row(self.file_name)

    def _records(self) -> _Records:
        """Every record (blank lines included) with the physical line it starts on."""
        tally = _ReplacementTally()
        with (
            self._path.open("rb") as raw,
            # newline="" hands line endings to the csv module untouched, so quoted fields keep
            # their embedded newlines, and CRLF, LF and lone CR each end one physical line.
            io.TextIOWrapper(raw, self._encoding, _REPLACE_AND_COUNT, newline="") as text,
        ):
            reader = csv.reader(text, delimiter=self._delimiter, skipinitialspace=True)
            line = 1
            while True:
                records, line, failure = self._next_records(reader, tally, line)
                yield from records
                if failure is not None:
                    raise failure
                if len(records) < _RECORDS_PER_READ:
                    return

    def _next_records(
        self, reader: Iterator[list[str]], tally: _ReplacementTally, line: int
    ) -> tuple[list[tuple[int, list[str]]], int, ValidationFailed | None]:
        """The next records (fewer than _RECORDS_PER_READ only at the end of the file or at a
        record that cannot be read) with their lines, the line after them, and the error that
        stopped them, to be raised once the records before it are handed out.

        Records are read in blocks because the tally's context variable is set around each
        read, and setting it once per record cost a tenth of an import.
        """
        records: list[tuple[int, list[str]]] = []
        token = _current_tally.set(tally)
        try:
            for cells in islice(reader, _RECORDS_PER_READ):
                records.append((line, cells))
                line = reader.line_num + 1  # type: ignore[attr-defined]
        except csv.Error as exc:
            failure = ValidationFailed(
                f"{self.file_name}: line {line} cannot be read: {exc}",
                file_name=self.file_name,
                line=line,
            )
            failure.__cause__ = exc
            return records, line, failure
        finally:
            _current_tally.reset(token)
            self.replaced_bytes = max(self.replaced_bytes, tally.count)
        return records, line, None


def _sample_width(header: list[str], records: Iterator[tuple[int, list[str]]]) -> int:
    """The widest filled record among the header and the sample of records after it."""
    width, budget = _filled_width(header), _SAMPLE_BYTES
    for _, cells in islice(records, _SAMPLE_RECORDS):
        width = max(width, _filled_width(cells))
        budget -= sum(map(len, cells))
        if budget < 0:
            break
    return width


def _read_sample(path: Path) -> tuple[bytes, bool]:
    """The first 64 KiB of the file, and whether that is the whole file."""
    with path.open("rb") as content:
        sample = content.read(_SAMPLE_BYTES + 1)
    return sample[:_SAMPLE_BYTES], len(sample) <= _SAMPLE_BYTES


def _detect_encoding(sample: bytes, complete: bool) -> str:
    """The codec to read the whole file with (order of the checks in the module docstring)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _is_utf8(sample, complete):
        return "utf-8"
    if _looks_like_windows_1252(sample):
        return "cp1252"
    match = charset_normalizer.from_bytes(sample).best()
    return codecs.lookup(match.encoding).name if match else "cp1252"


def _is_utf8(sample: bytes, complete: bool) -> bool:
    # The incremental decoder keeps a character cut at the end of the sample for later
    # instead of calling it invalid.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_windows_1252(sample: bytes) -> bool:
    """Whether the bytes read as Western text in Windows-1252.

    charset-normalizer alone is unreliable on short Western samples (it calls
    "Müller;Genève" Central European or Cyrillic), and Excel on Windows writes Windows-1252. Text
    in Cyrillic or Greek code pages decodes here too, but as runs of accented letters, which
    Western words rarely have.
    """
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        return False
    in_runs = sum(len(run) for run in _NON_ASCII_RUN.findall(text))
    return in_runs * 4 <= len(_NON_ASCII.findall(text))


def _sample_text(sample: bytes, encoding: str, complete: bool) -> str:
    """The sample decoded, cut after its last line break when the file goes on."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(sample, final=complete)
    if complete:
        return text
    cut = max(text.rfind("\n"), text.rfind("\r"))
    return text[: cut + 1] if cut >= 0 else text


def _sniff_delimiter(text: str, prefer_tab: bool) -> str:
    """The candidate that splits the sample's first record in two or more columns and gives
    the most records of that width.

    The first record (the header, in practice) is the reference because data may hold any
    character: a multi-line note of "x; y" lines would otherwise look like a consistent
    semicolon file. Ties go to the earlier candidate (tab first for .tsv files, else comma);
    when no candidate splits the header, as in a list of bare e-mail addresses, the first one
    is used.
    """
    candidates = ("\t", ",", ";", "|") if prefer_tab else _DELIMITERS
    best, best_score = candidates[0], (0.0, 0)
    for delimiter in candidates:
        score = _split_score(text, delimiter)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _split_score(text: str, delimiter: str) -> tuple[float, int]:
    """(share of records as wide as the first, that width); (0, 0) if the first is one column.

    Parsing is strict here: a delimiter that breaks well-quoted fields ("a";"b,c" read with
    commas) makes records malformed, and those count against it.
    """
    source = io.StringIO(text, newline="")
    reader = csv.reader(source, delimiter=delimiter, strict=True, skipinitialspace=True)
    widths: list[int] = []
    malformed = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            malformed += 1
            continue
        if not _is_blank(cells):
            widths.append(len(cells))
    if not widths or widths[0] < 2:
        return 0.0, 0
    return widths.count(widths[0]) / (len(widths) + malformed), widths[0]


# --- spreadsheets -----------------------------------------------------------------------------


class _SheetTable:
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
        self.headers = _clean_headers(header, len(header))

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
        raise _no_header_row(self.file_name)


def _select_sheet(
    workbook: CalamineWorkbook, sheet: str | int | None, file_name: str
) -> CalamineSheet:
    names = list(workbook.sheet_names)
    if not names:
        raise _no_header_row(file_name)
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
            return _clean(cell)
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
    return _clean(str(cell))


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
