"""The worker loop: run every job, wait, repeat; stop between passes when asked."""

from __future__ import annotations

import logging
import threading

from outreach.container import Container
from outreach.schema import ensure_current
from outreach.worker.jobs import JOBS, REAL_CLOCK_ONLY, JobReport

log = logging.getLogger("outreach.worker")


def run_once(container: Container, *, pretending: bool = False) -> list[JobReport]:
    """One pass over every job. A failing job is logged and the others still run. `pretending`
    (the clock is set to another time) skips the jobs that must follow the real clock."""
    reports = []
    for job in JOBS:
        if pretending and job in REAL_CLOCK_ONLY:
            reports.append(JobReport(job.__name__, f"skipped under --now ({REAL_CLOCK_ONLY[job]})"))
            continue
        try:
            report = job(container)
        except Exception:
            log.exception("worker.job_failed", extra={"job": job.__name__})
            report = JobReport(job.__name__, "failed: see the log")
        level = logging.INFO if report.changed else logging.DEBUG
        log.log(level, "worker.job_done", extra={"job": report.job, "summary": report.summary})
        reports.append(report)
    return reports


def run_until_stopped(
    container: Container, stop: threading.Event, *, pretending: bool = False
) -> None:
    """Passes until `stop` is set; a pass in flight always finishes. After a pass that moved
    something the next starts at once (there may be more), otherwise after the interval."""
    ensure_current(container.engine)
    # A predecessor on this host (or any worker gone) left sends in doubt: say so at once.
    container.settle_lapsed()
    while not stop.is_set():
        busy = any(report.changed for report in run_once(container, pretending=pretending))
        if not busy:
            stop.wait(container.settings.worker_interval_seconds)
