"""What migration 0035's trigger costs where campaign steps are queued (PostgreSQL).

    .venv/bin/python bench/queue_triggers.py postgresql+psycopg://.../DATABASE [--rounds 4]

Inserts 500 campaign deliveries in one executemany, as planning does, of the database's first
500 drafts, with the trigger that counts implicit approvals and without it (disabled inside
the transaction), each rolled back: nothing is left in the database. Median of 5 inserts per
round, rounds alternating. Point it at a copy of bench/pages.py's 10x database (`CREATE
DATABASE ... TEMPLATE`): ALTER TABLE waits for every other transaction on deliveries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from outreach.models import Base

TRIGGER = "update_implicit_approvals_deliveries_inserted"
ROWS = 500


Row = tuple[uuid.UUID, uuid.UUID]


def insert_ms(engine: sa.Engine, drafts: list[Row], owner: Row, counted: bool) -> float:
    """Milliseconds of one executemany of a campaign delivery per draft (draft, contact), all
    of the campaign and sender account `owner`, rolled back."""
    campaign, sender = owner
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "campaign_id": campaign,
            "contact_id": contact,
            "draft_id": draft,
            "sender_account_id": sender,
            "message_id": f"<{uuid.uuid4()}@bench.example>",
            "status": "queued",
            "next_attempt_at": now,
        }
        for draft, contact in drafts
    ]
    with engine.connect() as connection, connection.begin() as transaction:
        if not counted:
            connection.execute(sa.text(f"ALTER TABLE deliveries DISABLE TRIGGER {TRIGGER}"))
        started = time.perf_counter()
        connection.execute(sa.insert(Base.metadata.tables["deliveries"]), rows)
        took = (time.perf_counter() - started) * 1000
        transaction.rollback()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rounds", type=int, default=4)
    options = parser.parse_args()
    engine = sa.create_engine(options.url)
    with engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT id, contact_id, approved_at FROM email_drafts LIMIT :n"), {"n": ROWS}
        ).all()
        owner = connection.execute(
            sa.text(
                "SELECT campaign_id, sender_account_id FROM deliveries "
                "WHERE campaign_id IS NOT NULL LIMIT 1"
            )
        ).one()
    drafts = [(row[0], row[1]) for row in found]
    unapproved = sum(1 for row in found if row[2] is None)
    print(f"load average {os.getloadavg()[0]:.1f}; {unapproved} of {ROWS} drafts unapproved")
    medians: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(options.rounds):
        for counted in (False, True):
            times = [insert_ms(engine, drafts, (owner[0], owner[1]), counted) for _ in range(5)]
            medians[counted].append(statistics.median(times))
            print(
                f"  {'with' if counted else 'without'} the trigger: {medians[counted][-1]:.1f} ms"
            )
    without, with_ = (statistics.median(medians[flag]) for flag in (False, True))
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{ROWS} deliveries: {without:.1f} ms without the trigger, {with_:.1f} ms with it")
    print(f"ratio queue_deliveries_with_over_without_trigger: {with_ / without:.2f}")
    engine.dispose()


if __name__ == "__main__":
    main()
