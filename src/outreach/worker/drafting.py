"""The worker's drafting pass: drafts', with what the container built."""

from __future__ import annotations

import uuid

from outreach.container import Container
from outreach.drafts import drafting
from outreach.drafts.writing import WritingReport
from outreach.runner import worker_name


def drafting_pass(
    container: Container,
    *,
    batch_id: uuid.UUID | None = None,
    budget_seconds: float | None = drafting.PASS_SECONDS,
    linger: bool = False,
) -> WritingReport:
    """Plans and writes drafts (drafts/drafting.py) with the container's writer."""
    return drafting.drafting_pass(
        container.sessions,
        container.draft_writer,
        container.clock,
        concurrency=container.settings.draft_concurrency,
        deadline_seconds=container.settings.draft_deadline_seconds,
        worker=worker_name(),
        batch_id=batch_id,
        budget_seconds=budget_seconds,
        linger=linger,
    )
