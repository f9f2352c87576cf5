"""CSV, TSV and TXT contact files, decoded and parsed afresh on each pass so that memory stays
flat.

Width. A text file has as many columns as its widest record among the header row and the sample
after it (the next 1,000 records or 64 KiB of text, whichever ends first); trailing blank cells
do not count, so Excel's ``a,b,,`` makes two columns. Columns beyond the header are named
"Column N". A later record that is wider still keeps its extra cells joined, with the file's
delimiter, into the last column (an unquoted delimiter inside the last field is the usual cause)
and is counted in ``overflow_rows`` so that the import can warn; no text is dropped, only the
spaces right after a delimiter, which the parser skips so that ``a, "b, c"`` reads as two cells.

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
import re
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from itertools import islice
from pathlib import Path, PurePath
from typing import TypeAlias

import charset_normalizer

from outreach.contacts.readers.table import SourceRow, clean, clean_headers, no_header_row
from outreach.errors import ValidationFailed

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


_Records: TypeAlias = Generator[tuple[int, list[str]], None, None]


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(clean(cell) for cell in cells)


def _filled_width(cells: Sequence[str]) -> int:
    """The record's width without its trailing blank cells."""
    for width in range(len(cells), 0, -1):
        if clean(cells[width - 1]):
            return width
    return 0


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


class TextTable:
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
        self.headers = clean_headers(header, self._width)

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
                values = [clean(cell) for cell in cells]
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
            values[width - 1 :] = [clean(overflow)]
        values.extend([""] * (width - len(values)))
        return values

    def _read_header(self) -> tuple[int, list[str], int]:
        """The first non-blank record, its line, and the column count over the sample after it."""
        with closing(self._records()) as records:
            for line, cells in records:
                if line > self._hint_lines and not _is_blank(cells):
                    return line, cells, _sample_width(cells, records)
        raise no_header_row(self.file_name)

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
