"""Categorizing replies with Claude: how many replies an hour the worker categorizes when every
answer of the model takes a second, beside the issue's goal of 1,000 an hour.

    .venv/bin/python bench/categorize.py [--replies 80] [--latency 1.0] [--concurrency 4] [--backend sqlite|postgresql|both]

The database holds `replies` human replies waiting for their category (bench/inbox.py's
conversations, two replies each, queued as reading a mailbox queues them). The fake Anthropic
Messages API (tests/fakes/anthropic_server.py, in a process of its own) answers every request
after `latency` seconds with a category. The worker's categorize_replies job runs as each
worker pass runs it (claim up to 50, ask Claude with no transaction open, `concurrency` calls
at once, record each verdict and what it does: lead status, events, the campaign's action)
until none is left. The figure is replies categorized per hour; the ceiling is the goal
(1,000 an hour), `ratio categorize_<backend>` is goal / achieved (below 1 meets it). Also said:
the longest pass, which is how long one pass holds the sending behind it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox import PG_URL, database, fill
from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.container import build_container
from outreach.db import transaction
from outreach.inbox import categories
from outreach.inbox.models import InboxMessage, ReplyCategorizing
from outreach.worker.jobs import categorize_replies
from tests.fakes.anthropic_server import API_KEY, serving_apart

GOAL_PER_HOUR = 1_000
MODEL = "claude-haiku-4-5"


def settings(url: str, folder: Path, base_url: str, concurrency: int) -> Settings:
    return Settings(
        _env_file=None,
        DATABASE_URL=url,
        OUTREACH_DATA_DIR=folder,  # type: ignore[call-arg]
        OUTREACH_SECRET_KEY="bench-" + "k7Q2xL9pR4mZ8vN3wB6tY1cD5",
        ANTHROPIC_API_KEY=API_KEY,
        ANTHROPIC_BASE_URL=base_url,
        OUTREACH_CATEGORY_MODEL=MODEL,
        OUTREACH_CATEGORY_CONCURRENCY=concurrency,
    )


def queue_every_reply(sessions: sessionmaker[Session]) -> int:
    """Every reply waits for its category, as reading it from a mailbox leaves it."""
    with transaction(sessions) as session:
        replies = session.scalars(
            sa.select(InboxMessage).where(InboxMessage.kind.in_(categories.CATEGORIZED_KINDS))
        ).all()
        for reply in replies:
            categories.queue(session, reply)
        return len(replies)


def measure(
    backend: str, replies: int, concurrency: int, base_url: str, folder: Path
) -> tuple[int, float, float]:
    """(replies categorized by the model, seconds, longest pass in seconds)."""
    url, name = database(backend, folder)
    try:
        fill(url, replies // 2)
        container = build_container(settings(url, folder, base_url, concurrency), SystemClock())
        waiting = queue_every_reply(container.sessions)
        # A worker imports the SDK (seconds) once in its life, not in every pass.
        container.reply_categorizer().close()
        passes = []
        while True:
            started = time.perf_counter()
            report = categorize_replies(container)
            passes.append(time.perf_counter() - started)
            if not report.changed:
                break
        elapsed = sum(passes)
        with transaction(container.sessions) as session:
            by_model = session.scalar(
                sa.select(sa.func.count())
                .select_from(ReplyCategorizing)
                .where(ReplyCategorizing.status == "done", ReplyCategorizing.model == MODEL)
            )
        container.close()
        if by_model != waiting:
            raise SystemExit(f"{backend}: only {by_model} of {waiting} replies were categorized")
        return by_model, elapsed, max(passes)
    finally:
        if name:
            with psycopg.connect(PG_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=80)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=4, help="calls at once")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    options = parser.parse_args()
    backends = ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]
    with tempfile.TemporaryDirectory() as scratch, serving_apart(options.latency) as base_url:
        print(
            f"{options.replies} replies, Claude answering after {options.latency:g} s, "
            f"{options.concurrency} at once; ceiling: the goal, {GOAL_PER_HOUR:,} replies an hour"
        )
        ratios = []
        for backend in backends:
            done, elapsed, longest = measure(
                backend, options.replies, options.concurrency, base_url, Path(scratch)
            )
            per_hour = done / elapsed * 3600
            print(
                f"{backend}: {done} replies categorized by {MODEL} in {elapsed:.1f} s: "
                f"{per_hour:,.0f} replies an hour; the longest pass took {longest:.1f} s"
            )
            ratios.append(GOAL_PER_HOUR / per_hour)
            print(f"ratio categorize_{backend}: {ratios[-1]:.3f}")
        print(f"ratio categorize: {max(ratios):.3f}")


if __name__ == "__main__":
    main()
