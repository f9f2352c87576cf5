"""One drafting pass: plan the drafts campaigns need ahead, then write what is queued.

What the worker runs on every pass and `outreach drafts generate --now` runs for one batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from outreach.clock import Clock
from outreach.drafts import campaign_steps
from outreach.drafts.writers.base import DraftWriter
from outreach.drafts.writing import WritingReport, write_pending
from outreach.runner import Runner

PASS_SECONDS = 120.0
"""A pass stops taking new drafts after this long, so that sending and the other jobs get
their turn; the next pass goes on at once."""


def drafting_pass(
    sessions: sessionmaker[Session],
    writer_for: Callable[[], DraftWriter],
    clock: Clock,
    *,
    concurrency: int,
    deadline_seconds: float,
    worker: str,
    batch_id: uuid.UUID | None = None,
    budget_seconds: float | None = PASS_SECONDS,
    linger: bool = False,
) -> WritingReport:
    """Queues the drafts of AI-written campaign steps for new enrollments, then writes queued
    drafts (of one batch, or of all) with a writer from `writer_for`, closed at the end."""
    if batch_id is None:
        with Runner(sessions) as runner:
            runner.step(lambda session: campaign_steps.plan_all(session, clock.now()))
    writer = writer_for()
    try:
        return write_pending(
            sessions,
            writer,
            clock,
            concurrency=concurrency,
            deadline_seconds=deadline_seconds,
            worker=worker,
            batch_id=batch_id,
            budget_seconds=budget_seconds,
            linger=linger,
        )
    finally:
        close = getattr(writer, "close", None)
        if callable(close):
            close()
