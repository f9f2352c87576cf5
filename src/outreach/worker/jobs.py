"""Jobs the worker runs on every pass. Each takes the container and returns a report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from outreach.access import service as access
from outreach.container import Container
from outreach.db import transaction


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


Job = Callable[[Container], JobReport]
JOBS: tuple[Job, ...] = (prune_access,)
