"""A whole worker pass at the seed's volume times `scale`: its database time with nothing due,
and with 500 enrollments due in the biggest campaign.

    .venv/bin/python bench/worker_pass.py [--scale 10] [--passes 5] [--reuse]

The database is bench/pages.py's (bench/volume.py: at 10x, 750,000 enrollments in 500
campaigns, 57 of them running); `--reuse` takes the one `bench/pages.py --keep` left
(outreach_pages_<scale>x), else one is filled. The pass runs on a copy of it (CREATE DATABASE
... TEMPLATE), dropped afterwards, at a fixed time with every waiting enrollment moved after
it: nothing is due. The pass is the running worker's (worker.loop.run_once over the jobs of a
pass, backups being apart), with the container's clock fixed; sender accounts are local
outboxes, so a send costs no network.

Database time is the sum of every statement's time as SQLAlchemy's cursor events see it
(before_cursor_execute to after_cursor_execute: the round trip to the server and the driver's
work, not fetching rows into objects); pg_stat_statements is not loaded on this server.
Printed: the median over `passes` passes of the pass's wall time and database time, the
statements that cost most, then the same with 500 due (`--passes` times, each with 500 more
made due). Goals: nothing due ≤ 100 ms of database time (`ratio worker_pass_idle_db_over_goal`;
on a loaded machine compare it with `ratio worker_pass_idle_db_over_round_trips`, the pass's
database time over as many bare `SELECT 1` round trips measured in the same run),
and with 500 due the checks' share small (`ratio worker_pass_idle_share_of_500_due`: the idle
pass's database time over the pass's with 500 due).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import volume

from outreach.clock import FixedClock
from outreach.container import build_container
from outreach.worker.jobs import APART, JOBS
from outreach.worker.loop import run_once

GOAL_MS = 100.0
AT = datetime(2027, 1, 12, 12, 0, tzinfo=UTC)
"""The pass's time: a Tuesday noon after every fill, inside the campaigns' window."""


class StatementClock:
    """Sums the time of every statement on an engine, and by statement text."""

    def __init__(self, engine: sa.Engine) -> None:
        self.total = 0.0
        self.by_statement: Counter[str] = Counter()
        self.runs: Counter[str] = Counter()
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        spent = time.perf_counter() - conn.info["bench_started"].pop()
        self.total += spent
        self.count += 1
        text = " ".join(statement.split())[:150]
        self.by_statement[text] += spent
        self.runs[text] += 1

    def reset(self) -> None:
        self.total, self.count = 0.0, 0
        self.by_statement.clear()
        self.runs.clear()


def copied(name: str) -> str:
    copy = f"{name}_pass"
    volume.drop_pg_database(copy)
    with psycopg.connect(volume.PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    url = volume.pg_url(copy)
    with psycopg.connect(url, autocommit=True) as connection:
        # Every waiting enrollment after the pass's time: nothing is due.
        connection.execute(
            "UPDATE campaign_contacts SET next_send_at = next_send_at"
            " + (%s - (SELECT min(next_send_at) FROM campaign_contacts)) + interval '1 hour'"
            " WHERE next_send_at IS NOT NULL",
            (AT,),
        )
        connection.execute(
            "UPDATE campaign_settings SET delay_between_emails_seconds = 0, jitter_seconds = 0,"
            " daily_limit = 100000"
        )
        connection.execute("VACUUM ANALYZE campaign_contacts")
    return url


def make_due(url: str, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "UPDATE campaign_contacts SET next_send_at = %s WHERE id IN (SELECT cc.id"
            " FROM campaign_contacts cc JOIN campaigns c ON c.id = cc.campaign_id"
            " WHERE c.name = 'Campaign 000' AND cc.status IN ('pending', 'in_progress')"
            " AND cc.next_send_at > %s ORDER BY cc.id LIMIT %s)",
            (AT - timedelta(minutes=1), AT, count),
        )


def passes(url: str, folder: Path, count: int, due: int) -> tuple[float, float]:
    """Database time of a pass (median, ms), and as many bare round trips as it ran (ms)."""
    container = build_container(volume.settings(url, folder), FixedClock(AT))
    timer = StatementClock(container.engine)
    jobs = [job for job in JOBS if job not in APART]
    run_once(container, jobs=jobs)  # warm: connections, the first of each statement
    walls, totals, statements = [], [], []
    sent = 0
    for _ in range(count):
        if due:
            make_due(url, due)
        timer.reset()
        started = time.perf_counter()
        reports = run_once(container, jobs=jobs)
        walls.append(time.perf_counter() - started)
        totals.append(timer.total)
        statements.append(timer.count)
        sent += sum(r.changed for r in reports if r.job == "send_campaigns")
    label = "nothing due" if not due else f"{due} due"
    wall, db = statistics.median(walls) * 1000, statistics.median(totals) * 1000
    print(
        f"pass with {label}: wall {wall:.0f} ms, database {db:.0f} ms in "
        f"{statistics.median(statements):.0f} statements (median of {count}); "
        f"moved by send_campaigns over the passes: {sent}"
    )
    print("  the statements that cost most in the last pass (ms, times run):")
    for text, spent in timer.by_statement.most_common(6):
        print(f"    {spent * 1000:7.1f} ms {timer.runs[text]:4}x  {text}")
    with container.engine.connect() as connection:
        trips = []
        for _ in range(100):
            started = time.perf_counter()
            connection.exec_driver_sql("SELECT 1").scalar()
            trips.append(time.perf_counter() - started)
    container.close()
    trip = statistics.median(trips) * 1000
    floor = trip * statistics.median(statements)
    print(
        f"  a bare round trip (SELECT 1) in the same run: {trip:.2f} ms; as many as the pass "
        f"ran: {floor:.0f} ms"
    )
    return db, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    options = parser.parse_args()
    name = f"outreach_pages_{options.scale}x"
    print(f"load average {os.getloadavg()[0]:.1f}")
    if not (options.reuse and volume.pg_database_exists(name)):
        volume.drop_pg_database(name)
        url, _ = volume.create_pg_database(name)
        volume.migrated(url)
        print(f"filling PostgreSQL at {options.scale}x")
        volume.fill(url, options.scale, datetime.now(UTC))
    volume.migrated(volume.pg_url(name))
    url = copied(name)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            idle, floor = passes(url, Path(scratch), options.passes, 0)
            busy, _ = passes(url, Path(scratch), options.passes, 500)
    finally:
        volume.drop_pg_database(f"{name}_pass")
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"ratio worker_pass_idle_db_over_goal: {idle / GOAL_MS:.2f}")
    print(f"ratio worker_pass_idle_db_over_round_trips: {idle / floor:.2f}")
    print(f"ratio worker_pass_idle_share_of_500_due: {idle / busy:.2f}")


if __name__ == "__main__":
    main()
