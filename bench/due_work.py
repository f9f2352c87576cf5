"""Due work at scale: the next 500 due enrollments out of 1,000,000 against out of 10,000.

    .venv/bin/python bench/due_work.py [--large 1000000] [--small 10000] [--backend sqlite|postgresql|both]

About half the enrollments are due, the rest wait for later or have ended, across two campaigns.
The query is the worker's own (campaigns.queries.due_enrollments); the figure is the median of
30 runs. An index serving it keeps the ratio near 1; a scan would grow it with the table.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from volume import database, drop_pg_database

from outreach.campaigns import queries
from outreach.db import SQLITE_TIMESTAMP_FORMAT, create_engine, session_factory
from outreach.schema import upgrade

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CAMPAIGNS = 2


def rows(count: int, campaigns: list[str], batch: str):  # type: ignore[no-untyped-def]
    chance = random.Random(count)
    for n in range(count):
        contact = str(uuid.uuid4())
        roll = chance.random()
        status = "completed" if roll < 0.1 else ("in_progress" if roll < 0.55 else "pending")
        offset = timedelta(minutes=chance.randint(-5000, 5000))
        yield (
            (contact, batch, f"p{n}@example.com"),
            (
                str(uuid.uuid4()),
                campaigns[n % CAMPAIGNS],
                contact,
                status,
                None if status == "completed" else NOW + offset,
            ),
        )


def fill(url: str, count: int) -> None:
    engine = create_engine(url)
    upgrade(engine)
    campaigns = [str(uuid.uuid4()) for _ in range(CAMPAIGNS)]
    batch = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO upload_batches (id, file_name) VALUES (:id, 'bench')"),
            {"id": batch},
        )
        for campaign in campaigns:
            connection.execute(
                sa.text("INSERT INTO campaigns (id, name, status) VALUES (:id, :name, 'active')"),
                {"id": campaign, "name": f"campaign {campaign}"},
            )
        pairs = list(rows(count, campaigns, batch))
        driver = connection.connection.driver_connection
        if url.startswith("sqlite"):
            cursor = driver.cursor()
            cursor.executemany(
                "INSERT INTO contacts (id, upload_batch_id, raw_data, email) VALUES (?, ?, '{}', ?)",
                [p[0] for p in pairs],
            )
            cursor.executemany(
                "INSERT INTO campaign_contacts (id, campaign_id, contact_id, status, next_send_at) VALUES (?, ?, ?, ?, ?)",
                [
                    (*p[1][:4], p[1][4].strftime(SQLITE_TIMESTAMP_FORMAT) if p[1][4] else None)
                    for p in pairs
                ],
            )
            cursor.execute("ANALYZE")
        else:
            with driver.cursor() as cursor:
                with cursor.copy(
                    "COPY contacts (id, upload_batch_id, email, raw_data) FROM STDIN"
                ) as copy:
                    for p in pairs:
                        copy.write_row((*p[0], "{}"))
                with cursor.copy(
                    "COPY campaign_contacts (id, campaign_id, contact_id, status, next_send_at) FROM STDIN"
                ) as copy:
                    for p in pairs:
                        copy.write_row(p[1])
    with engine.connect() as connection:
        if not url.startswith("sqlite"):
            connection.execute(sa.text("ANALYZE"))
            connection.commit()
    engine.dispose()


def median_seconds(url: str) -> float:
    engine = create_engine(url)
    with session_factory(engine)() as session:
        campaign = session.scalar(sa.text("SELECT id FROM campaigns LIMIT 1"))
        campaign_id = uuid.UUID(str(campaign))
        times = []
        for _ in range(30):
            started = time.perf_counter()
            found = queries.due_enrollments(session, campaign_id, NOW, 500)
            times.append(time.perf_counter() - started)
            session.expunge_all()
        assert len(found) == 500
    engine.dispose()
    return statistics.median(times)


def measure(backend: str, count: int, folder: Path) -> float:
    url, name = database(backend, folder, "due")
    try:
        fill(url, count)
        return median_seconds(url)
    finally:
        drop_pg_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for backend in ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]:
            small = measure(backend, options.small, Path(scratch))
            large = measure(backend, options.large, Path(scratch))
            print(f"{backend}: next 500 due of {options.small:,}: {small * 1000:.2f} ms")
            print(f"{backend}: next 500 due of {options.large:,}: {large * 1000:.2f} ms")
            print(f"ratio due_work_{backend}: {large / small:.2f}")


if __name__ == "__main__":
    main()
