"""Where our export's floor is: the parts of `outreach db export` on PostgreSQL beside pg_dump.

    .venv/bin/python bench/export_floor.py [--rows 1000000]

The same database as bench/export_import.py (one upload batch, N contacts by COPY, VACUUM
ANALYZE). Each figure is the best of three, taken in turns so that a loaded machine weighs on
all of them alike; each reads the contacts table only:
- pg_dump: `pg_dump --data-only --table=contacts` to a file, as the baseline of export_import.
- plain COPY: `COPY (SELECT * FROM contacts ORDER BY id) TO STDOUT` read by psycopg, nothing
  done with the rows: what moving the rows into Python costs before any work on them.
- our lines: the COPY of our export (PostgreSQL writes each line, tables.line_sql) read by
  psycopg, nothing done with them: the floor of this design, whatever Python does.
- our lines without documents: the same without raw_data and enriched_data (their share).
- our export: loading.canonical_lines, the lines as the export writes them (without the file
  and its sha256).
- our whole export: exporting.export of contacts, read on exporting.JOBS connections in one
  snapshot, the file and its sha256 included.

`ratio` lines are pg_dump's time over each: what export_import's ratio would be if our export
cost only that.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from export_import import fill, fresh_database
from volume import drop_pg_database

from outreach.db import create_engine
from outreach.portability import exporting
from outreach.portability.loading import canonical_lines
from outreach.portability.tables import export_order, line_sql

COPY_OPTIONS = "WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    options = parser.parse_args()
    url, name = fresh_database()
    try:
        fill(url, options.rows)
        measure(url, options.rows)
    finally:
        drop_pg_database(name)


def measure(url: str, rows: int) -> None:
    engine = create_engine(url)
    contacts = next(table for table in export_order() if table.name == "contacts")
    columns = list(contacts.columns.keys())
    with engine.connect() as connection, tempfile.TemporaryDirectory() as scratch:
        driver = connection.connection.driver_connection
        assert driver is not None
        plain_columns = [name for name in columns if name not in ("raw_data", "enriched_data")]

        def drained(statement: sql.Composable) -> Callable[[], None]:
            def run() -> None:
                with driver.cursor() as cursor, cursor.copy(statement) as copy:
                    for _ in copy:
                        pass

            return run

        def ours(names: list[str]) -> sql.Composable:
            return sql.SQL("COPY (SELECT {} FROM contacts ORDER BY id) TO STDOUT {}").format(
                sql.SQL(line_sql(contacts, names)), sql.SQL(COPY_OPTIONS)
            )

        def export() -> None:
            for _ in canonical_lines(connection, contacts, columns):
                pass

        def whole_export() -> None:
            folder = Path(scratch) / "export"
            exporting.export(engine, folder, datetime.now(UTC), only=["contacts"])
            shutil.rmtree(folder)

        dump = [
            "pg_dump", "--data-only", "--table=contacts", f"--file={Path(scratch) / 'd.sql'}", url
        ]  # fmt: skip
        parts: dict[str, Callable[[], None]] = {
            "pg_dump": lambda: subprocess.run(dump, check=True),
            "plain COPY": drained(sql.SQL("COPY (SELECT * FROM contacts ORDER BY id) TO STDOUT")),
            "our lines": drained(ours(columns)),
            "our lines without documents": drained(ours(plain_columns)),
            "our export": export,
            "our whole export": whole_export,
        }
        best = {name: float("inf") for name in parts}
        for _ in range(3):
            for name, part in parts.items():
                started = time.perf_counter()
                part()
                best[name] = min(best[name], time.perf_counter() - started)
    engine.dispose()
    for name, seconds in best.items():
        print(f"{name}: {rows:,} contacts in {seconds:.2f} s = {rows / seconds:,.0f} rows/s")
    for name in ("plain COPY", "our lines", "our export", "our whole export"):
        print(f"ratio pg_dump over {name}: {best['pg_dump'] / best[name]:.2f}")


if __name__ == "__main__":
    main()
