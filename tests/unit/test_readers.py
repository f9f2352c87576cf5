"""Contact files read as their users see them: headers, rows of text, and the line of each row.

The nasty files are built here: text in several encodings and line endings, and spreadsheets
written as the smallest XLSX, ODS and XLS files the formats allow (no writer library needed).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import struct
import tracemalloc
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.contacts.readers import open_table
from outreach.contacts.readers.table import SourceRow, Table
from outreach.errors import ValidationFailed
from tests.hypothesis_profiles import examples

# --- reading ---------------------------------------------------------------------------------


@dataclass
class Read:
    """What a user of a file sees: the table's attributes and every row it yields."""

    table: Table
    rows: list[SourceRow]

    @property
    def values(self) -> list[list[str]]:
        return [row.values for row in self.rows]

    @property
    def lines(self) -> list[int]:
        return [row.line for row in self.rows]


def read(path: Path, **options: Any) -> Read:
    with open_table(path, **options) as table:
        counted = table.count_rows()
        rows = list(table.rows())
    assert counted == len(rows), "count_rows() must agree with rows()"
    return Read(table, rows)


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


# --- spreadsheet builders --------------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    expression: str
    cached: str | float


@dataclass(frozen=True)
class ExcelDate:
    """A serial day number shown with a date format (or a date-time one)."""

    serial: float
    with_time: bool = False


def xlsx(sheets: Mapping[str, Mapping[str, object]]) -> bytes:
    """A minimal XLSX: each sheet maps cell references ("B3") to values."""
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in range(1, len(names) + 1)
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            f'officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
            f'Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}" xmlns:r="{rels}"><sheets>'
            + "".join(
                f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
                for n, name in enumerate(names, start=1)
            )
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{package}">'
            + "".join(
                f'<Relationship Id="rId{n}" Type="{rels}/worksheet" '
                f'Target="worksheets/sheet{n}.xml"/>'
                for n in range(1, len(names) + 1)
            )
            + f'<Relationship Id="rIdStyles" Type="{rels}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        # Style 1 is a date format (14), style 2 a date-time one (22): how Excel marks dates.
        "xl/styles.xml": (
            f'<styleSheet xmlns="{main}"><cellXfs count="3"><xf numFmtId="0"/>'
            '<xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="22" applyNumberFormat="1"/>'
            "</cellXfs></styleSheet>"
        ),
    }
    for n, cells in enumerate(sheets.values(), start=1):
        parts[f"xl/worksheets/sheet{n}.xml"] = _xlsx_sheet(main, cells)
    return _zip(parts)


def _xlsx_sheet(namespace: str, cells: Mapping[str, object]) -> str:
    rows: dict[int, list[str]] = {}
    for reference, value in cells.items():
        number = int(re.sub(r"[A-Z]+", "", reference))
        rows.setdefault(number, []).append(_xlsx_cell(reference, value))
    body = "".join(f'<row r="{n}">{"".join(rows[n])}</row>' for n in sorted(rows))
    return f'<worksheet xmlns="{namespace}"><sheetData>{body}</sheetData></worksheet>'


def _xlsx_cell(reference: str, value: object) -> str:
    match value:
        case Formula(expression, str() as cached):
            return f'<c r="{reference}" t="str"><f>{escape(expression)}</f><v>{cached}</v></c>'
        case Formula(expression, cached):
            return f'<c r="{reference}"><f>{escape(expression)}</f><v>{cached!r}</v></c>'
        case ExcelDate(serial, with_time):
            return f'<c r="{reference}" s="{2 if with_time else 1}"><v>{serial!r}</v></c>'
        case bool():
            return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
        case int() | float():
            return f'<c r="{reference}"><v>{value!r}</v></c>'
    text = escape(str(value))
    return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def ods(sheets: Mapping[str, Sequence[Sequence[object]]]) -> bytes:
    """A minimal OpenDocument spreadsheet: each sheet is a list of rows, None for an empty cell."""
    tables = "".join(
        f'<table:table table:name="{escape(name)}">'
        + "".join(
            "<table:table-row>" + "".join(map(_ods_cell, row)) + "</table:table-row>"
            for row in rows
        )
        + "</table:table>"
        for name, rows in sheets.items()
    )
    office = "urn:oasis:names:tc:opendocument:xmlns"
    content = (
        f'<office:document-content xmlns:office="{office}:office:1.0" '
        f'xmlns:table="{office}:table:1.0" xmlns:text="{office}:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        f'<manifest:manifest xmlns:manifest="{office}:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/'
        'vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path='
        '"content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    return _zip(
        {
            "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
            "META-INF/manifest.xml": manifest,
            "content.xml": content,
        }
    )


def _ods_cell(value: object) -> str:
    match value:
        case None:
            return "<table:table-cell/>"
        case bool():
            kind, attribute = "boolean", f'office:boolean-value="{str(value).lower()}"'
        case int() | float():
            kind, attribute = "float", f'office:value="{value!r}"'
        case date():
            kind, attribute = "date", f'office:date-value="{value.isoformat()}"'
        case _:
            kind, attribute = "string", ""
    text = escape(str(value))
    return (
        f'<table:table-cell office:value-type="{kind}" {attribute}>'
        f"<text:p>{text}</text:p></table:table-cell>"
    )


def _zip(parts: Mapping[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def xls(sheets: Mapping[str, Mapping[tuple[int, int], object]]) -> bytes:
    """A minimal Excel 97 (BIFF8) workbook in an OLE2 container; cells keyed by 0-based
    (row, column). Formulas must have a whole-number result (stored as a constant formula)."""
    streams = [_xls_sheet(cells) for cells in sheets.values()]

    def globals_(offsets: list[int]) -> bytes:
        bound_sheets = b"".join(
            _record(
                0x0085,
                struct.pack("<IBBBB", offset, 0, 0, len(name), 1) + name.encode("utf-16-le"),
            )
            for name, offset in zip(sheets, offsets, strict=True)
        )
        # BOF (workbook globals), CODEPAGE 1200 (UTF-16), one BOUNDSHEET per sheet, EOF.
        return (
            _xls_bof(0x0005)
            + _record(0x0042, struct.pack("<H", 1200))
            + bound_sheets
            + _record(0x000A)
        )

    offsets, position = [], len(globals_([0] * len(streams)))
    for stream in streams:
        offsets.append(position)
        position += len(stream)
    return _ole2(globals_(offsets) + b"".join(streams))


def _record(kind: int, body: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _xls_bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))


def _xls_sheet(cells: Mapping[tuple[int, int], object]) -> bytes:
    last_row = max(row for row, _ in cells)
    last_column = max(column for _, column in cells)
    records = [
        _xls_bof(0x0010),
        _record(0x0200, struct.pack("<IIHHH", 0, last_row + 1, 0, last_column + 1, 0)),
    ]
    for (row, column), value in cells.items():
        at = struct.pack("<HHH", row, column, 15)
        match value:
            case bool():
                records.append(_record(0x0205, at + struct.pack("<BB", int(value), 0)))
            case int() | float():
                records.append(_record(0x0203, at + struct.pack("<d", value)))
            case Formula(_, cached):
                tokens = struct.pack("<BH", 0x1E, int(cached))  # ptgInt: the formula "=cached"
                body = at + struct.pack("<dHIH", float(cached), 0, 0, len(tokens)) + tokens
                records.append(_record(0x0006, body))
            case _:
                text = str(value)
                label = struct.pack("<HB", len(text), 1) + text.encode("utf-16-le")
                records.append(_record(0x0204, at + label))
    return b"".join(records) + _record(0x000A)


def _ole2(workbook: bytes) -> bytes:
    """An OLE2 compound file holding one "Workbook" stream (padded past the 4 KiB cut-off so it
    lives in ordinary 512-byte sectors: sector 0 holds the FAT, 1 the directory)."""
    end, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    stream = workbook.ljust(max(4096, -(-len(workbook) // 512) * 512), b"\0")
    sectors = len(stream) // 512
    fat = [fat_sector, end, *range(3, 2 + sectors), end]
    fat += [free] * (128 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH6x", 0x3E, 3, 0xFFFE, 9, 6)
        + struct.pack("<9I", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        fields = struct.pack("<HBBIII", len(raw), kind, 1, no_stream, no_stream, child)
        return (
            raw.ljust(64, b"\0") + fields + bytes(16) + struct.pack("<IQQIQ", 0, 0, 0, start, size)
        )

    unused = bytes(64) + struct.pack("<HBBIII", 0, 0, 0, no_stream, no_stream, no_stream)
    unused += bytes(128 - len(unused))
    directory = entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, no_stream, 2, len(stream))
    return header + struct.pack("<128I", *fat) + directory + unused * 2 + stream


# --- text files ------------------------------------------------------------------------------


def test_a_semicolon_file_from_excel_is_read_with_its_accents(tmp_path: Path) -> None:
    content = (
        "Name;E-Mail;Stadt;Umsatz\r\n"
        "Jürgen Müller;juergen@example.de;Köln;1,5 €\r\n"
        "René Süß;rene@example.fr;Genève;2,25 €\r\n"
    )
    result = read(write(tmp_path, "kontakte.csv", content, "cp1252"))

    assert result.table.encoding == "cp1252"
    assert result.table.delimiter == ";"
    assert result.table.headers == ["Name", "E-Mail", "Stadt", "Umsatz"]
    assert result.values == [
        ["Jürgen Müller", "juergen@example.de", "Köln", "1,5 €"],
        ["René Süß", "rene@example.fr", "Genève", "2,25 €"],
    ]
    assert result.lines == [2, 3]


def test_a_utf8_byte_order_mark_does_not_stick_to_the_first_header(tmp_path: Path) -> None:
    result = read(write(tmp_path, "export.csv", "\ufeffEmail,Name\nzoe@example.com,Zoë\n"))

    assert result.table.encoding == "utf-8-sig"
    assert result.table.headers == ["Email", "Name"]
    assert result.values == [["zoe@example.com", "Zoë"]]


@pytest.mark.parametrize(
    ("bom", "codec"),
    [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_utf16_files_in_either_byte_order_are_read(tmp_path: Path, bom: bytes, codec: str) -> None:
    text = "Email\tName\r\nzoe@example.com\tZoë 😀\r\nli@example.cn\t李雷\r\n"
    result = read(write(tmp_path, "unicode.txt", bom + text.encode(codec)))

    assert result.table.encoding == "utf-16"
    assert result.table.delimiter == "\t"
    assert result.table.headers == ["Email", "Name"]
    assert result.values == [["zoe@example.com", "Zoë 😀"], ["li@example.cn", "李雷"]]
    assert result.lines == [2, 3]


def test_crlf_lf_and_lone_cr_line_endings_each_end_a_line(tmp_path: Path) -> None:
    content = "Email,Name\r\na@example.com,Ada\rb@example.com,Bob\nc@example.com,Cy\r\n"
    result = read(write(tmp_path, "mixed.csv", content))

    assert result.values == [
        ["a@example.com", "Ada"],
        ["b@example.com", "Bob"],
        ["c@example.com", "Cy"],
    ]
    assert result.lines == [2, 3, 4]


@pytest.mark.parametrize(
    ("delimiter", "name"), [("\t", "leads.txt"), ("|", "leads.csv"), (";", "leads.txt")]
)
def test_tab_pipe_and_semicolon_files_are_recognised_despite_commas_in_the_text(
    tmp_path: Path, delimiter: str, name: str
) -> None:
    lines = [
        ["Email", "Company", "City"],
        ["ada@example.com", "Acme, Inc", "London, UK"],
        ["bob@example.com", "Initech", "Austin, TX"],
    ]
    result = read(write(tmp_path, name, "\n".join(delimiter.join(line) for line in lines)))

    assert result.table.delimiter == delimiter
    assert result.table.headers == lines[0]
    assert result.values == lines[1:]


def test_a_comma_file_whose_notes_contain_semicolons_is_still_comma_separated(
    tmp_path: Path,
) -> None:
    content = "Email,Notes\na@example.com,likes cats; dogs\nb@example.com,one; two; three\n"
    result = read(write(tmp_path, "notes.csv", content))

    assert result.table.delimiter == ","
    assert result.values == [
        ["a@example.com", "likes cats; dogs"],
        ["b@example.com", "one; two; three"],
    ]


def test_a_fully_quoted_semicolon_file_with_commas_inside_quotes_is_semicolon_separated(
    tmp_path: Path,
) -> None:
    content = '"Email";"Company"\n"a@example.com";"Acme, Inc"\n"b@example.com";"Beta, Ltd"\n'
    result = read(write(tmp_path, "quoted.csv", content))

    assert result.table.delimiter == ";"
    assert result.values == [["a@example.com", "Acme, Inc"], ["b@example.com", "Beta, Ltd"]]


def test_an_excel_sep_line_names_the_delimiter_and_is_not_the_header(tmp_path: Path) -> None:
    content = "sep=;\r\nEmail;Notes\r\nada@example.com;likes, commas, a lot\r\n"
    result = read(write(tmp_path, "excel.csv", content, "cp1252"))

    assert result.table.delimiter == ";"
    assert result.table.headers == ["Email", "Notes"]
    assert result.values == [["ada@example.com", "likes, commas, a lot"]]
    assert result.lines == [3]


def test_a_list_of_bare_addresses_is_one_column(tmp_path: Path) -> None:
    result = read(write(tmp_path, "emails.csv", "ada@example.com\nbob@example.com\n"))

    assert result.table.delimiter == ","
    assert result.table.headers == ["ada@example.com"]
    assert result.values == [["bob@example.com"]]


def test_a_tsv_file_is_tab_separated_even_with_a_single_column(tmp_path: Path) -> None:
    result = read(write(tmp_path, "emails.tsv", "Email\nada@example.com\n"))

    assert result.table.delimiter == "\t"
    assert result.values == [["ada@example.com"]]


def test_blank_and_repeated_headers_get_names_a_user_can_tell_apart(tmp_path: Path) -> None:
    content = "Email,,email,Name,Email, \na@example.com,x,b@example.com,Ada,c@example.com,y\n"
    result = read(write(tmp_path, "headers.csv", content))

    assert result.table.headers == [
        "Email",
        "Column 2",
        "email (2)",
        "Name",
        "Email (3)",
        "Column 6",
    ]
    assert result.values == [["a@example.com", "x", "b@example.com", "Ada", "c@example.com", "y"]]


def test_empty_rows_are_skipped_and_not_counted_but_their_lines_are(tmp_path: Path) -> None:
    content = 'Email,Name\n\na@example.com,Ada\n,\n  ,  \n"",""\nb@example.com,Bob\n\n'
    result = read(write(tmp_path, "gaps.csv", content))

    assert result.values == [["a@example.com", "Ada"], ["b@example.com", "Bob"]]
    assert result.lines == [3, 7]


def test_blank_lines_before_the_header_are_skipped_but_counted(tmp_path: Path) -> None:
    result = read(write(tmp_path, "late.csv", "\n\r\n   \nEmail\nada@example.com\n"))

    assert result.table.headers == ["Email"]
    assert result.lines == [5]


@pytest.mark.parametrize("size", [10_000, 1024 * 1024])
def test_very_long_cells_are_read_whole(tmp_path: Path, size: int) -> None:
    note = ("Lorem ipsum, dolor; sit\namet. " * (size // 30 + 1))[:size]
    stream = io.StringIO(newline="")
    csv.writer(stream).writerows([["Email", "Notes", "Name"], ["a@x.com", note, "Ada"]])
    stream.write("b@example.com,short,Bob\r\n")
    result = read(write(tmp_path, "long.csv", stream.getvalue()))

    assert result.values[0] == ["a@x.com", note.strip(), "Ada"]
    assert result.lines == [2, 2 + note.count("\n") + 1]


def test_quoted_fields_keep_their_delimiters_and_newlines_and_later_lines_stay_true(
    tmp_path: Path,
) -> None:
    content = (
        "Email,Notes,Company\r\n"
        'a@example.com,"Met at the fair,\r\nwants a demo",Acme\r\n'
        'b@example.com,"one\ntwo\rthree","Acme, ""The Best"" Inc"\r\n'
        "c@example.com,plain,Beta\r\n"
    )
    result = read(write(tmp_path, "quoted.csv", content))

    assert result.values == [
        ["a@example.com", "Met at the fair,\r\nwants a demo", "Acme"],
        ["b@example.com", "one\ntwo\rthree", 'Acme, "The Best" Inc'],
        ["c@example.com", "plain", "Beta"],
    ]
    assert result.lines == [2, 4, 7]


def test_invalid_utf8_late_in_a_utf8_file_is_replaced_and_counted(tmp_path: Path) -> None:
    good = "".join(f"p{n}@example.com,Zoë Ærø\n" for n in range(4000)).encode()
    assert len(good) > 64 * 1024  # the bad bytes lie beyond the sample that picks the encoding
    content = b"Email,Name\n" + good + b"late@example.com,Ren\xe9 \xff\xfeM\n"
    result = read(write(tmp_path, "late.csv", content))

    assert result.table.encoding == "utf-8"
    assert result.values[0] == ["p0@example.com", "Zoë Ærø"]
    assert result.values[-1] == ["late@example.com", "Ren\ufffd \ufffd\ufffdM"]
    assert result.table.replaced_bytes == 3


def test_a_cyrillic_windows_1251_file_is_read_in_its_detected_code_page(tmp_path: Path) -> None:
    people = [("Иван Петров", "Москва"), ("Пётр Смирнов", "Санкт-Петербург")] * 5
    content = "Имя,Город\n" + "".join(f"{name},{city}\n" for name, city in people)
    result = read(write(tmp_path, "contacts.csv", content, "cp1251"))

    assert result.table.encoding == "cp1251"
    assert result.table.headers == ["Имя", "Город"]
    assert result.values[:2] == [["Иван Петров", "Москва"], ["Пётр Смирнов", "Санкт-Петербург"]]


def test_values_are_stripped_and_lose_nul_characters(tmp_path: Path) -> None:
    content = " Email\x00 ,\tName \n  ada@example.com\x00 ,\x00Ada\x00 Lovelace \n"
    result = read(write(tmp_path, "nul.csv", content))

    assert result.table.headers == ["Email", "Name"]
    assert result.values == [["ada@example.com", "Ada Lovelace"]]


def test_short_rows_are_padded_and_cells_beyond_the_header_get_column_names(
    tmp_path: Path,
) -> None:
    content = "Email,Name\na@example.com\nb@example.com,Bob,VIP,2024\n"
    result = read(write(tmp_path, "ragged.csv", content))

    assert result.table.headers == ["Email", "Name", "Column 3", "Column 4"]
    assert result.values == [
        ["a@example.com", "", "", ""],
        ["b@example.com", "Bob", "VIP", "2024"],
    ]
    assert result.table.overflow_rows == 0


def test_trailing_empty_cells_from_excel_do_not_become_columns(tmp_path: Path) -> None:
    result = read(write(tmp_path, "excel.csv", "Email,Name,,\na@example.com,Ada,,\n"))

    assert result.table.headers == ["Email", "Name"]
    assert result.values == [["a@example.com", "Ada"]]


def test_a_row_wider_than_the_sample_keeps_its_extra_cells_in_the_last_column(
    tmp_path: Path,
) -> None:
    # Spaces after a delimiter are not part of a cell, so the joined text loses them.
    rows = "".join(f"p{n}@example.com,Acme\n" for n in range(1500))
    late = "late@example.com,Acme, Inc,Berlin\nlast@example.com,Beta,,\n"
    result = read(write(tmp_path, "wide.csv", "Email,Company\n" + rows + late))

    assert result.table.headers == ["Email", "Company"]
    assert result.values[-2:] == [
        ["late@example.com", "Acme,Inc,Berlin"],
        ["last@example.com", "Beta"],
    ]
    assert result.table.overflow_rows == 1


def test_an_unclosed_quote_keeps_the_rest_of_the_file_in_one_cell(tmp_path: Path) -> None:
    content = 'Email,Name\na@example.com,"Ada\nb@example.com,Bob\n'
    result = read(write(tmp_path, "stray.csv", content))

    assert result.values == [["a@example.com", "Ada\nb@example.com,Bob"]]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.csv", b""),
        ("blank.csv", b"\n\r\n  \n"),
        ("commas.csv", b" , ,\n,\n"),
        ("bom.csv", codecs.BOM_UTF8),
        ("empty.xlsx", b""),
    ],
)
def test_a_file_without_a_header_row_is_refused(tmp_path: Path, name: str, content: bytes) -> None:
    with pytest.raises(ValidationFailed, match=re.escape(f"{name} has no header row")):
        read(write(tmp_path, name, content))


def test_a_file_of_an_unsupported_type_is_refused_naming_the_formats_we_read(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "contacts.pdf", b"%PDF-1.7")

    with pytest.raises(ValidationFailed) as refused:
        read(path)

    assert "contacts.pdf" in refused.value.message
    for supported in ("CSV", "TSV", "XLSX", "XLS", "ODS"):
        assert supported in refused.value.message


def test_the_uploaded_name_decides_the_format_not_the_stored_one(tmp_path: Path) -> None:
    path = write(tmp_path, "3f2a9c.bin", "Email\nada@example.com\n")

    assert read(path, file_name="leads.csv").values == [["ada@example.com"]]
    with pytest.raises(ValidationFailed, match=r"leads\.pdf"):
        read(path, file_name="leads.pdf")


def test_leaving_the_block_ends_an_unfinished_pass(tmp_path: Path) -> None:
    path = write(tmp_path, "many.csv", "Email\n" + "a@example.com\n" * 100)
    with open_table(path) as table:
        rows = table.rows()
        next(rows)

    assert list(rows) == []


# --- spreadsheets ----------------------------------------------------------------------------


def test_an_xlsx_with_blank_leading_rows_reads_from_its_header_with_excel_row_numbers(
    tmp_path: Path,
) -> None:
    workbook = xlsx(
        {
            "Contacts": {
                "B3": "Email",
                "C3": " Name ",
                "D3": "Greeting",
                "B4": "ada@example.com",
                "C4": "Ada",
                "D4": Formula('"Hi "&C4', "Hi Ada"),
                "B5": "   ",
                "B6": "bob@example.com",
                "D6": Formula("1+1", 2.0),
            }
        }
    )
    result = read(write(tmp_path, "contacts.xlsx", workbook))

    assert result.table.kind == "xlsx"
    assert result.table.encoding is None
    assert result.table.delimiter is None
    assert result.table.headers == ["Email", "Name", "Greeting"]
    assert result.values == [["ada@example.com", "Ada", "Hi Ada"], ["bob@example.com", "", "2"]]
    assert result.lines == [4, 6]


def test_spreadsheet_cells_read_as_the_text_a_user_sees(tmp_path: Path) -> None:
    shown = {
        "A": (1.0, "1"),
        "B": (0.5, "0.5"),
        "C": (0.1 + 0.2, "0.3"),
        "D": (1e-05, "0.00001"),
        "E": (4915112345678.0, "4915112345678"),
        "F": (-42, "-42"),
        "G": (True, "TRUE"),
        "H": (False, "FALSE"),
        "I": (ExcelDate(45000), "2023-03-15"),
        "J": (ExcelDate(45000.5, with_time=True), "2023-03-15T12:00:00"),
        "K": (ExcelDate(45000, with_time=True), "2023-03-15"),
        "L": ("  padded\x00 ", "padded"),
    }
    cells: dict[str, object] = {f"{column}1": f"Field {column}" for column in shown}
    cells.update({f"{column}2": stored for column, (stored, _) in shown.items()})
    result = read(write(tmp_path, "types.xlsx", xlsx({"Sheet1": cells})))

    assert result.values == [[text for _, text in shown.values()]]


@pytest.mark.parametrize("sheet", ["Leads", 1])
def test_a_sheet_is_chosen_by_name_or_by_position(tmp_path: Path, sheet: str | int) -> None:
    workbook = xlsx(
        {
            "People": {"A1": "Email", "A2": "ada@example.com"},
            "Leads": {"A1": "Work email", "B1": "Company", "A2": "bob@example.com", "B2": "Acme"},
        }
    )
    path = write(tmp_path, "book.xlsx", workbook)

    result = read(path, sheet=sheet)

    assert result.table.sheet_names() == ["People", "Leads"]
    assert result.table.headers == ["Work email", "Company"]
    assert result.values == [["bob@example.com", "Acme"]]
    assert read(path).table.headers == ["Email"]


@pytest.mark.parametrize("sheet", ["Nope", 2, -1])
def test_an_unknown_sheet_is_refused_listing_the_sheets_there_are(
    tmp_path: Path, sheet: str | int
) -> None:
    workbook = xlsx({"People": {"A1": "Email"}, "Leads": {"A1": "Email"}})
    path = write(tmp_path, "book.xlsx", workbook)

    with pytest.raises(ValidationFailed) as refused:
        read(path, sheet=sheet)

    assert refused.value.message.startswith("book.xlsx has no sheet")
    assert '"People", "Leads"' in refused.value.message


def test_a_renamed_xlsx_with_a_csv_extension_is_read_as_a_spreadsheet(tmp_path: Path) -> None:
    workbook = xlsx({"Sheet1": {"A1": "Email", "A2": "ada@example.com"}})
    result = read(write(tmp_path, "contacts.csv", workbook))

    assert result.table.kind == "xlsx"
    assert result.values == [["ada@example.com"]]


def test_an_ods_file_from_libreoffice_is_read(tmp_path: Path) -> None:
    document = ods(
        {
            "Kontakte": [
                [None],
                ["E-Mail", "Name", "Punkte", "Aktiv", "Seit"],
                ["jo@example.de", "Jürgen", 3.0, True, date(2024, 5, 6)],
                [None, None],
                ["an@example.de", "Anna", 2.5, False, datetime(2024, 5, 6, 10, 20)],
            ]
        }
    )
    result = read(write(tmp_path, "kontakte.ods", document))

    assert result.table.kind == "ods"
    assert result.table.sheet_names() == ["Kontakte"]
    assert result.table.headers == ["E-Mail", "Name", "Punkte", "Aktiv", "Seit"]
    assert result.values == [
        ["jo@example.de", "Jürgen", "3", "TRUE", "2024-05-06"],
        ["an@example.de", "Anna", "2.5", "FALSE", "2024-05-06T10:20:00"],
    ]
    assert result.lines == [3, 5]


def test_an_xls_file_from_old_excel_is_read_with_its_formula_results(tmp_path: Path) -> None:
    workbook = xls(
        {
            "Leads": {
                (1, 0): "Email",
                (1, 1): "Score",
                (1, 2): "Opt-in",
                (1, 3): "Total",
                (2, 0): "zoë@example.com",
                (2, 1): 42.0,
                (2, 2): True,
                (2, 3): Formula("=7", 7),
                (4, 1): 0.5,
            },
            "Second": {(0, 0): "Other"},
        }
    )
    result = read(write(tmp_path, "leads.xls", workbook))

    assert result.table.kind == "xls"
    assert result.table.sheet_names() == ["Leads", "Second"]
    assert result.table.headers == ["Email", "Score", "Opt-in", "Total"]
    assert result.values == [["zoë@example.com", "42", "TRUE", "7"], ["", "0.5", "", ""]]
    assert result.lines == [3, 5]


def test_an_xls_renamed_to_txt_is_read_as_a_spreadsheet(tmp_path: Path) -> None:
    workbook = xls({"Sheet1": {(0, 0): "Email", (1, 0): "ada@example.com"}})
    result = read(write(tmp_path, "export.txt", workbook))

    assert result.table.kind == "xls"
    assert result.values == [["ada@example.com"]]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cut.xlsx", xlsx({"Sheet1": {"A1": "Email"}})[:-60]),
        ("junk.xlsx", b"PK\x03\x04" + b"\x00garbage" * 50),
        ("text.xlsx", b"Email,Name\nada@example.com,Ada\n"),
        ("junk.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x07" * 3000),
    ],
)
def test_a_damaged_spreadsheet_is_refused_with_its_name(
    tmp_path: Path, name: str, content: bytes
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        read(write(tmp_path, name, content))

    assert refused.value.message.startswith(f"{name} could not be read as a spreadsheet")


def test_a_sheet_without_any_cells_has_no_header_row(tmp_path: Path) -> None:
    path = write(tmp_path, "blank.xlsx", xlsx({"Sheet1": {}}))

    with pytest.raises(ValidationFailed, match=r"blank\.xlsx has no header row"):
        read(path)


# --- properties ------------------------------------------------------------------------------

DELIMITERS = (",", ";", "\t", "|")
SPECIAL = ('"', "'", ",", ";", "\t", "|", "\n", "\r", " ", "\x00", "\u00a0", "é", "€", "😀")
# Windows-1252 cells: ASCII, and accented letters each followed by an ASCII character, as in
# Western words; runs of accented letters are what tells other code pages apart, so a cp1252 file
# without them would not be recognised (see the readers module docstring).
CP1252_TOKENS = (
    *SPECIAL[:-4],
    *"abcXYZ019@.-",
    *(accent + plain for accent in "éüßÆø€“”" for plain in "a 1"),
)


@dataclass(frozen=True)
class CsvFile:
    encoding: str
    delimiter: str
    quoting: Literal[0, 1, 2, 3]  # a csv.QUOTE_* constant
    header: list[str]
    rows: list[list[str]]

    def content(self) -> bytes:
        stream = io.StringIO(newline="")
        writer = csv.writer(stream, delimiter=self.delimiter, quoting=self.quoting)
        writer.writerows([self.header, *self.rows])
        return stream.getvalue().encode(self.encoding)


def clean(value: str) -> str:
    return value.replace("\x00", "").strip()


@st.composite
def csv_files(draw: st.DrawFn) -> CsvFile:
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    delimiter = draw(st.sampled_from(DELIMITERS))
    quoting: Literal[0, 1] = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    if encoding == "cp1252":
        cells = st.lists(st.sampled_from(CP1252_TOKENS), max_size=6).map("".join)
    else:
        characters = st.characters(codec="utf-8", exclude_characters="\ufeff")
        cells = st.text(st.one_of(st.sampled_from(SPECIAL), characters), max_size=8)
    if quoting == csv.QUOTE_MINIMAL:
        # Unquoted, another delimiter in the text makes the file ambiguous for anyone.
        others = {ord(other): None for other in DELIMITERS if other != delimiter}
        cells = cells.map(lambda cell: cell.translate(others))
    width = draw(st.integers(min_value=1, max_value=5))
    record = st.lists(cells, min_size=width, max_size=width)
    # A first line "sep=;" is Excel's delimiter hint, not a header.
    header = draw(
        record.filter(lambda names: any(map(clean, names)) and not names[0].startswith("sep="))
    )
    rows = draw(st.lists(record, max_size=8))
    return CsvFile(encoding, delimiter, quoting, header, rows)


def expected_headers(cells: list[str]) -> list[str]:
    names: list[str] = []
    for position, cell in enumerate(cells, start=1):
        base = clean(cell) or f"Column {position}"
        name, copy = base, 1
        while name.casefold() in {taken.casefold() for taken in names}:
            copy += 1
            name = f"{base} ({copy})"
        names.append(name)
    return names


def expected_rows(written: CsvFile, width: int) -> Iterator[tuple[int, list[str]]]:
    line = 1
    for index, record in enumerate([written.header, *written.rows]):
        if index > 0 and any(map(clean, record)):
            yield line, [clean(cell) for cell in record[:width]]
        line += 1 + sum(len(re.findall(r"\r\n|\r|\n", cell)) for cell in record)


def filled_width(record: list[str]) -> int:
    return max((n for n, cell in enumerate(record, start=1) if clean(cell)), default=0)


@pytest.fixture(scope="module")
def roundtrip_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("roundtrip")


@settings(max_examples=examples(in_ci=200), deadline=None)
@given(written=csv_files())
def test_any_table_written_by_csv_writer_reads_back_as_written(
    roundtrip_folder: Path, written: CsvFile
) -> None:
    content = written.content()
    result = read(write(roundtrip_folder, "roundtrip.csv", content))

    width = max(map(filled_width, [written.header, *written.rows]))
    ascii_only = written.encoding == "cp1252" and content.isascii()
    assert result.table.encoding == ("utf-8" if ascii_only else written.encoding)
    assert result.table.headers == expected_headers(written.header[:width])
    assert [(row.line, row.values) for row in result.rows] == list(expected_rows(written, width))
    assert result.table.replaced_bytes == 0
    assert result.table.overflow_rows == 0


def test_reading_a_large_csv_keeps_memory_flat(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Email", "First name", "Company", "Notes"])
        for n in range(200_000):
            notes = "met at the fair\nwants a demo" if n % 10 == 0 else ""
            writer.writerow([f"person{n}@example.com", "Zoë", "Acme, Inc", notes])

    tracemalloc.start()
    try:
        with open_table(path) as table:
            counted = table.count_rows()
            seen, last = 0, None
            for row in table.rows():
                seen, last = seen + 1, row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert counted == seen == 200_000
    assert last is not None
    assert last.line == 1 + 200_000 + 20_000  # header, rows, and 20,000 embedded newlines
    assert peak < 2 * 1024 * 1024


def test_rows_before_a_record_that_cannot_be_read_are_handed_out_then_its_line_is_named(
    tmp_path: Path,
):
    # More rows than the width sample reads, and several blocks of records before the bad one.
    good = "".join(f"p{n}@example.com,P{n}\n" for n in range(1100))
    too_long = "x" * (csv.field_size_limit() + 1)
    path = write(tmp_path, "long.csv", f"email,name\n{good}bad@example.com,{too_long}\n")
    seen: list[SourceRow] = []
    with open_table(path) as table, pytest.raises(ValidationFailed) as failure:
        seen.extend(table.rows())
    assert [row.line for row in seen] == list(range(2, 1102))
    assert "long.csv: line 1102 cannot be read" in failure.value.message


def test_records_spanning_lines_keep_their_first_line_across_blocks_of_records(tmp_path: Path):
    rows = "".join(f'p{n}@example.com,"note\non two lines"\n' for n in range(600))
    read_back = read(write(tmp_path, "notes.csv", "email,note\n" + rows))
    assert read_back.lines == list(range(2, 1202, 2))
    assert read_back.values[-1] == ["p599@example.com", "note\non two lines"]
