"""Reading an export's files through before their rows are trusted: each file's checksum and
row count against the manifest, every line's JSON, and the columns its table has.

Standard library only (and outreach's own errors and words), over paths and names rather than
tables, so that a process of its own starts it at once (`main`)."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from outreach.errors import ValidationFailed
from outreach.words import counted


class ExportDamaged(ValidationFailed):
    """The export cannot be trusted: a file is missing, cut short, altered or not ours."""


def records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) from a JSON Lines file, or from the seed's json_agg array."""
    if path.suffix == ".json":
        rows = json.loads(path.read_text(encoding="utf-8")) or []
        yield from enumerate(rows, start=1)
        return
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            yield number, json.loads(text)


def check_file(
    path: Path, table: str, known: Sequence[str], rows: int | None, sha256: str | None
) -> tuple[str, ...]:
    """Reads the whole file: checksum, row count, JSON, and columns the table has (`known`, in
    the table's order). Returns the columns its rows have, in that order."""
    if not path.exists():
        raise ExportDamaged(f"{path} is missing.")
    try:
        return _read_through(path, table, known, rows, sha256)
    except OSError as error:  # a folder in the file's place, a file this user may not read
        raise ExportDamaged(f"{path} cannot be read: {error.strerror}.") from error


def _read_through(
    path: Path, table: str, known: Sequence[str], rows: int | None, sha256: str | None
) -> tuple[str, ...]:
    if sha256 is not None:
        digest = hashlib.sha256()
        with path.open("rb") as data:
            while block := data.read(1 << 20):
                digest.update(block)
        if digest.hexdigest() != sha256:
            raise ExportDamaged(
                f"{path}: its checksum does not match the manifest: altered or cut short."
            )
    columns = set(known)
    found: tuple[str, ...] = ()
    count = 0
    try:
        for number, row in records(path):
            count = number
            if not isinstance(row, dict):
                raise ExportDamaged(f"{path}, line {number}: not a row (a JSON object).")
            extra = sorted(set(row) - columns)
            if extra:
                raise ExportDamaged(
                    f"{path}, line {number}: {table} has no column {', '.join(extra)}."
                )
            if not found:
                found = tuple(name for name in known if name in row)
            elif set(row) != set(found):
                raise ExportDamaged(f"{path}, line {number}: its columns differ from line 1's.")
    except ValueError as error:
        raise ExportDamaged(f"{path}, line {count + 1}: not valid JSON ({error}).") from error
    if rows is not None and count != rows:
        raise ExportDamaged(
            f"{path}: {counted(count, 'row')}, the manifest says {rows}: cut short?"
        )
    return found


REFUSED = 3
"""The exit status of `python -m outreach.portability.checking` when it refused a file."""


def main() -> None:
    """`python -m outreach.portability.checking FILES`: check_file() over each [path, table,
    known, rows, sha256] of the JSON list FILES, in turn; what a process of its own runs beside
    an import's writing (restoring.restore). A refusal's message goes to standard output, with
    the exit status REFUSED."""
    try:
        for path, table, known, rows, sha256 in json.loads(sys.argv[1]):
            check_file(Path(path), table, known, rows, sha256)
    except ExportDamaged as refused:
        sys.stdout.buffer.write(refused.message.encode())
        sys.exit(REFUSED)


if __name__ == "__main__":
    main()
