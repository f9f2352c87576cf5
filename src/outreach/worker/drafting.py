"""One drafting pass: plan the drafts campaigns need ahead, then write what is queued."""

from __future__ import annotations

import uuid

from outreach.container import Container
from outreach.db import transaction
from outreach.drafts import campaign_steps
from outreach.drafts.writing import WritingReport, write_pending
from outreach.runner import worker_name

PASS_SECONDS = 120.0
"""A pass stops taking new drafts after this long, so that sending and the other jobs get
their turn; the next pass goes on at once."""


def drafting_pass(
    container: Container,
    *,
    batch_id: uuid.UUID | None = None,
    budget_seconds: float | None = PASS_SECONDS,
    linger: bool = False,
) -> WritingReport:
    """Queues the drafts of AI-written campaign steps for new enrollments, then writes queued
    drafts (of one batch, or of all) with the container's writer."""
    if batch_id is None:
        with transaction(container.sessions) as session:
            campaign_steps.plan_all(session, container.clock.now())
    writer = container.draft_writer()
    try:
        return write_pending(
            container.sessions,
            writer,
            container.clock,
            concurrency=container.settings.draft_concurrency,
            deadline_seconds=container.settings.draft_deadline_seconds,
            worker=worker_name(),
            batch_id=batch_id,
            budget_seconds=budget_seconds,
            linger=linger,
        )
    finally:
        close = getattr(writer, "close", None)
        if callable(close):
            close()
