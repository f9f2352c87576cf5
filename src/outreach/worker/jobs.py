"""Jobs the worker runs on every pass. Each takes the container and returns a report."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from outreach.access import service as access
from outreach.contacts import importing
from outreach.container import Container
from outreach.db import transaction

log = logging.getLogger("outreach.worker")


@dataclass(frozen=True)
class JobReport:
    job: str
    summary: str
    changed: int = 0
    """How many rows the job moved: a pass that changed nothing is not worth an INFO line."""


def prune_access(container: Container) -> JobReport:
    """Forget expired sign-in sessions and old sign-in attempts."""
    with transaction(container.sessions) as session:
        report = access.prune(session, container.clock.now())
    removed = f"{report.sessions_removed} expired sessions, {report.attempts_removed} old attempts"
    changed = report.sessions_removed + report.attempts_removed
    return JobReport("prune_access", f"removed {removed}", changed)


def import_uploads(container: Container, batch_id: uuid.UUID | None = None) -> JobReport:
    """Imports every confirmed upload (or just this one), each chunk its own transaction."""
    imported = []
    with container.sessions() as session:
        while True:
            claimed = importing.claim(session, container.clock.now(), batch_id)
            session.commit()
            if claimed is None:
                break
            report = importing.run_or_fail(session, claimed, container.clock, Session.commit)
            log.info(
                "contacts.import_finished",
                extra={
                    "batch_id": str(claimed),
                    "status": report.status.value,
                    "error": report.error or "",
                },
            )
            imported.append(report)
            if batch_id is not None:
                break
    rows = sum(report.processed for report in imported)
    return JobReport("import_uploads", f"{len(imported)} uploads, {rows} rows", len(imported))


Job = Callable[[Container], JobReport]
JOBS: tuple[Job, ...] = (import_uploads, prune_access)
