"""Import speed and memory: our import of N contacts beside a bare bulk load of the same file.

    .venv/bin/python bench/import_contacts.py [--rows 100000] [--backend sqlite|postgresql|both]

The file has 8 columns, 2% duplicate addresses and 1% invalid ones. For each backend it prints
our rows/s (the whole import as `outreach contacts import` runs it: reading, checking,
deduplicating, storing, reporting), the baseline's rows/s measured in the same run, the ratio,
and the peak RSS of the process that imported.

Baselines: on PostgreSQL, COPY of the file (FORMAT csv) into a bare table of text columns with
a btree index on email (not unique: the planted duplicates would abort a COPY into a unique
index); on SQLite, csv.reader + executemany INSERT OR IGNORE into a bare table with a unique
index on email.

Ceiling, also in the same run: the file's valid, distinct contacts, prepared beforehand exactly
as an import stores them (time-ordered ids, name, company, raw_data as JSON), loaded into the
migrated contacts table by the fastest statement each backend has (SQLite executemany INSERT,
PostgreSQL COPY of the encoded bytes) with nothing checked and nothing deduplicated. Its rows/s
count the file's rows, like ours and the baseline's: no import into the seed's contacts table
(its four indexes, its JSON column) can run faster, so its ratio bounds ours.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sqlite3
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

from outreach.clock import SystemClock
from outreach.contacts import importing
from outreach.db import create_engine, session_factory, time_ordered_uuid_texts
from outreach.runner import Runner
from outreach.schema import upgrade

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
HEADERS = ["Email", "First Name", "Last Name", "Company", "Title", "City", "Phone", "Website"]
FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie"]
TITLES = ["CEO", "CTO", "Head of Sales", "VP Marketing", "Founder", "Engineer"]
CITIES = ["London", "Berlin", "Paris", "Lisbon", "Austin", "Toronto", "Sydney"]


def write_file(path: Path, rows: int) -> None:
    chooser = random.Random(7)
    addresses: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target)
        writer.writerow(HEADERS)
        for n in range(rows):
            first, last = chooser.choice(FIRST), chooser.choice(LAST)
            roll = chooser.random()
            if roll < 0.02 and addresses:
                email = chooser.choice(addresses)
            elif roll < 0.03:
                email = f"{first}.{last}.{n}-at-nowhere"
            else:
                email = f"{first}.{last}.{n}@company{n % 5000}.example".lower()
                addresses.append(email)
            company = f"Company {n % 5000}"
            writer.writerow(
                [
                    email,
                    first,
                    last,
                    company,
                    chooser.choice(TITLES),
                    chooser.choice(CITIES),
                    f"+44 20 {n:08d}",
                    f"https://company{n % 5000}.example",
                ]
            )


def fresh_database(backend: str, folder: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'bench-{uuid.uuid4().hex}.db'}", None
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.rsplit("/", 1)[0] + "/" + name, name


def drop_database(name: str | None) -> None:
    if name:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ours(url: str, path: Path) -> dict[str, float]:
    """Runs in a child process, so that its peak RSS is the import's alone."""
    engine = create_engine(url)
    upgrade(engine)
    clock = SystemClock()
    sessions = session_factory(engine)
    with sessions() as session:
        started = time.perf_counter()
        batch, _ = importing.create_upload(
            session, path=path, file_name=path.name, sheet=None, now=clock.now()
        )
        importing.confirm(session, batch.id)
        importing.claim(session, clock.now(), batch.id)
        session.commit()
    with Runner(sessions) as runner:
        report = importing.run(runner, batch.id, clock)
    seconds = time.perf_counter() - started
    engine.dispose()
    counts = {outcome.value: count for outcome, count in report.counts.items()}
    return {"seconds": seconds, "rows": report.processed, **counts}


def baseline(backend: str, url: str, path: Path) -> float:
    if backend == "sqlite":
        connection = sqlite3.connect(url.removeprefix("sqlite:///") + ".baseline")
        connection.execute(f"CREATE TABLE bare ({', '.join(f'c{i} TEXT' for i in range(8))})")
        connection.execute("CREATE UNIQUE INDEX bare_email ON bare (c0)")
        started = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as source:
            rows = csv.reader(source)
            next(rows)
            connection.executemany(
                "INSERT OR IGNORE INTO bare VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
        connection.commit()
        return time.perf_counter() - started
    with psycopg.connect(url) as server:
        server.execute(f"CREATE TABLE bare ({', '.join(f'c{i} text' for i in range(8))})")
        server.execute("CREATE INDEX bare_email ON bare (c0)")
        server.commit()
        started = time.perf_counter()
        with (
            server.cursor() as cursor,
            cursor.copy("COPY bare FROM STDIN (FORMAT csv, HEADER)") as copy,
            path.open("rb") as source,
        ):
            while block := source.read(1 << 20):
                copy.write(block)
        server.commit()
        return time.perf_counter() - started


def prepared_contacts(path: Path, batch_id: str) -> list[tuple[str, ...]]:
    """The file's valid, distinct contacts as the contacts table stores them (columns of
    CEILING_COLUMNS), built before the clock starts."""
    with path.open(newline="", encoding="utf-8") as source:
        records = csv.reader(source)
        headers = next(records)
        distinct = {
            record[0]: record for record in records if "@" in record[0]
        }  # the file's invalid addresses have no @
    ids = time_ordered_uuid_texts(datetime.now(UTC), len(distinct))
    return [
        (
            contact_id,
            batch_id,
            email,
            f"{record[1]} {record[2]}",
            record[3],
            json.dumps(dict(zip(headers, record, strict=True))),
        )
        for contact_id, (email, record) in zip(ids, distinct.items(), strict=True)
    ]


CEILING_COLUMNS = "id, upload_batch_id, email, name, company, raw_data"


def ceiling(backend: str, path: Path, folder: Path) -> float:
    """Seconds to store the prepared contacts into a fresh, migrated database's contacts table."""
    url, name = fresh_database(backend, folder)
    try:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        batch_id = str(uuid.uuid4())
        rows = prepared_contacts(path, batch_id)
        if backend == "sqlite":
            connection = sqlite3.connect(url.removeprefix("sqlite:///"))
            connection.execute(
                "INSERT INTO upload_batches (id, file_name, created_at) VALUES (?, ?, ?)",
                (batch_id, path.name, "2026-01-01 00:00:00.000000"),
            )
            connection.commit()
            started = time.perf_counter()
            connection.executemany(
                f"INSERT INTO contacts ({CEILING_COLUMNS}, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, '2026-01-01 00:00:00.000000')",
                rows,
            )
            connection.commit()
            seconds = time.perf_counter() - started
            connection.close()
            return seconds
        encoded = io.StringIO()
        csv.writer(encoded).writerows(rows)
        data = encoded.getvalue().encode()
        with psycopg.connect(url) as server:
            server.execute(
                "INSERT INTO upload_batches (id, file_name) VALUES (%s, %s)", (batch_id, path.name)
            )
            server.commit()
            started = time.perf_counter()
            with server.cursor().copy(
                f"COPY contacts ({CEILING_COLUMNS}) FROM STDIN (FORMAT csv)"
            ) as copy:
                copy.write(data)
            server.commit()
            return time.perf_counter() - started
    finally:
        drop_database(name)


def measure(backend: str, path: Path, rows: int, folder: Path) -> None:
    url, name = fresh_database(backend, folder)
    try:
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", url, str(path)], stdout=subprocess.PIPE, text=True
        )
        output = child.stdout.read() if child.stdout else ""
        _, status, usage = os.wait4(child.pid, 0)
        if status:
            raise SystemExit(f"the import failed: {output}")
        peak_mib = usage.ru_maxrss / 1024
        result = json.loads(output.strip().splitlines()[-1])
        base_seconds = baseline(backend, url, path)
    finally:
        drop_database(name)
    # In a process of its own: the prepared rows would otherwise raise this process's resident
    # size, which the next backend's importing child would inherit into its peak RSS at fork.
    ceiling_seconds = subprocess.run(
        [sys.executable, __file__, "--ceiling", backend, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    ceiling_rate = rows / float(ceiling_seconds)
    ours_rate, base_rate = result["rows"] / result["seconds"], rows / base_seconds
    label = "copy" if backend == "postgresql" else "executemany"
    outcomes = ", ".join(
        f"{name} {result[name]:,}" for name in ("imported", "duplicate", "invalid")
    )
    print(f"{backend}: import {result['rows']:,} rows in {result['seconds']:.2f} s", end=" ")
    print(f"= {ours_rate:,.0f} rows/s ({outcomes})")
    print(f"{backend}: baseline {label} {rows:,} rows in {base_seconds:.2f} s", end=" ")
    print(f"= {base_rate:,.0f} rows/s")
    print(f"{backend}: ceiling, prepared contacts stored into contacts: {ceiling_rate:,.0f} rows/s")
    print(f"{backend}: peak RSS of the importing process {peak_mib:,.0f} MiB")
    print(f"ratio import_vs_{label}_{backend}: {ours_rate / base_rate:.2f}")
    print(f"ratio ceiling_vs_{label}_{backend}: {ceiling_rate / base_rate:.2f}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(ours(sys.argv[2], Path(sys.argv[3]))))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--ceiling":
        path = Path(sys.argv[3])
        print(ceiling(sys.argv[2], path, path.parent))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        path = folder / "contacts.csv"
        write_file(path, options.rows)
        print(f"file: {options.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")
        backends = ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]
        for backend in backends:
            measure(backend, path, options.rows, folder)


if __name__ == "__main__":
    main()
