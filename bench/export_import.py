"""Export and import speed: N contacts through our export and import beside pg_dump and psql.

    .venv/bin/python bench/export_import.py [--rows 1000000]

PostgreSQL only: the baseline (pg_dump, psql) exists only there.

Setup, not timed: a fresh database migrated by `upgrade()`, one upload_batches row and N
contacts filled by COPY: realistic values (some non-ASCII names, some NULL title, timezone and
website, enriched_data on 5%), raw_data with the 8 keys of an imported CSV line, time-ordered
ids as our import makes them, then VACUUM ANALYZE so that neither side pays for hint bits.
contacts.upload_batch_id is a NOT NULL foreign key, so both sides move upload_batches (1 row)
with contacts; rows/s counts the N contacts.

Ours, each in its own process so that its peak RSS is its own (timed inside the process):
- export: `exporting.export(engine, folder, now, only=["upload_batches", "contacts"])`: one
  repeatable-read snapshot, JSON Lines, a sha256 per file, the manifest.
- import: `restoring.restore(engine, folder, now)` into a second fresh migrated database. Our
  figure is the whole command: the check (checksum, JSON and columns of every line: first for
  a small export, in a process of its own beside the inserts from 4 MiB), the inserts in one
  transaction, and the verification that reads every row back and compares its fingerprint
  with the manifest. The split is printed too: until the first rows are written, the inserts,
  and the verification and commit.

Baseline, in the same run (timed around the process, so it includes its start-up):
- export: `pg_dump --data-only --table=upload_batches --table=contacts` in plain format (COPY
  text) to a file.
- import: `psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f dump.sql` into a third fresh
  migrated database. Without `--disable-triggers`: contacts has no trigger of its own, only the
  system triggers that check its foreign key, and our import checks it too; both targets have
  the same indexes (primary key, email, upload_batch_id, unique lower(email)).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from volume import CONTACT_COLUMNS, contact_rows, create_pg_database, drop_pg_database, migrated

from outreach.db import create_engine
from outreach.portability import exporting, restoring

TABLES = ["upload_batches", "contacts"]


def fresh_database() -> tuple[str, str]:
    url, name = create_pg_database()
    migrated(url)
    return url, name


def fill(url: str, rows: int) -> None:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    batch = uuid.uuid4()
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO upload_batches (id, file_name, status, created_at) "
            "VALUES (%s, 'contacts.csv', 'completed', %s)",
            (batch, start),
        )
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY contacts ({', '.join(CONTACT_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in contact_rows(rows, [batch], start):
                copy.write_row(row)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE upload_batches, contacts")


def qualify_trigger_tables(url: str) -> None:
    """pg_dump's file empties search_path, and the function of the backup_changes triggers
    (migration 0029) names its table without a schema: psql would stop at the first contact.
    Giving the function its search_path lets the baseline do the same trigger work as ours."""
    with psycopg.connect(url) as connection:
        connection.execute("ALTER FUNCTION log_backup_changes() SET search_path = public")


def contacts_in(url: str) -> int:
    with psycopg.connect(url) as connection:
        found = connection.execute("SELECT count(*) FROM contacts").fetchone()
    return int(found[0]) if found else 0


def child(action: str, url: str, folder: Path) -> dict[str, float]:
    """Runs in a child process, so that its peak RSS is export's or import's alone."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    marks: list[float] = []

    def progress(table: str, count: int) -> None:
        marks.append(time.perf_counter())

    started = time.perf_counter()
    if action == "export":
        manifest = exporting.export(engine, folder, now, progress=progress, only=TABLES)
        seconds = time.perf_counter() - started
        result = {
            "seconds": seconds,
            "rows": next(t.rows for t in manifest.tables if t.table == "contacts"),
        }
    else:
        report = restoring.restore(engine, folder, now, progress=progress)
        seconds = time.perf_counter() - started
        result = {
            "seconds": seconds,
            "rows": report.rows["contacts"],
            "first": marks[0] - started,
            "insert": marks[-1] - marks[0],
            "verify": started + seconds - marks[-1],
        }
    engine.dispose()
    return result


def ours(action: str, url: str, folder: Path) -> tuple[dict[str, float], float]:
    """The child's result and its peak RSS in MiB."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", action, url, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"our {action} failed: {output}")
    return json.loads(output.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def size_mb(path: Path) -> float:
    files = path.iterdir() if path.is_dir() else [path]
    return sum(item.stat().st_size for item in files) / 1e6


def report(phase: str, rows: int, ours_seconds: float, base_seconds: float, base: str) -> None:
    ours_rate, base_rate = rows / ours_seconds, rows / base_seconds
    print(f"{phase}: ours {rows:,} rows in {ours_seconds:.2f} s = {ours_rate:,.0f} rows/s")
    print(f"{phase}: {base} {rows:,} rows in {base_seconds:.2f} s = {base_rate:,.0f} rows/s")
    print(f"ratio {phase}: {ours_rate / base_rate:.2f}")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], Path(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    options = parser.parse_args()
    if options.rows < 1:
        parser.error("--rows must be at least 1")
    names: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder, dump = Path(scratch) / "export", Path(scratch) / "dump.sql"
            source, name = fresh_database()
            names.append(name)
            started = time.perf_counter()
            fill(source, options.rows)
            print(
                f"setup: {options.rows:,} contacts filled in {time.perf_counter() - started:.1f} s"
            )

            exported, export_rss = ours("export", source, folder)
            dump_seconds = timed(
                [
                    "pg_dump",
                    "--data-only",
                    *(f"--table={t}" for t in TABLES),
                    f"--file={dump}",
                    source,
                ]
            )
            print(f"files: our export {size_mb(folder):,.0f} MB, pg_dump {size_mb(dump):,.0f} MB")

            target, name = fresh_database()
            names.append(name)
            restored, restore_rss = ours("restore", target, folder)
            baseline_target, name = fresh_database()
            names.append(name)
            qualify_trigger_tables(baseline_target)
            psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"]
            load_seconds = timed([*psql, "-f", str(dump), "-d", baseline_target])
            landed = (contacts_in(target), contacts_in(baseline_target))
            if landed != (options.rows, options.rows):
                raise SystemExit(f"contacts landed (ours, psql): {landed}, expected {options.rows}")

            report("export", int(exported["rows"]), exported["seconds"], dump_seconds, "pg_dump")
            report("import", int(restored["rows"]), restored["seconds"], load_seconds, "psql")
            print(
                f"import: ours split: until the first rows {restored['first']:.1f} s, insert "
                f"{restored['insert']:.1f} s, verify and commit {restored['verify']:.1f} s"
            )
            print(f"peak RSS: our export {export_rss:,.0f} MiB, our import {restore_rss:,.0f} MiB")
    finally:
        for name in names:
            drop_pg_database(name)


if __name__ == "__main__":
    main()
