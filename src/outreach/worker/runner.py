"""The worker loop: run every job, wait, repeat; stop between passes when asked."""

from __future__ import annotations

import logging
import threading

from outreach.container import Container
from outreach.schema import ensure_current
from outreach.worker.jobs import JOBS, JobReport

log = logging.getLogger("outreach.worker")


def run_once(container: Container) -> list[JobReport]:
    """One pass over every job. A failing job is logged and the others still run."""
    reports = []
    for job in JOBS:
        try:
            report = job(container)
        except Exception:
            log.exception("worker.job_failed", extra={"job": job.__name__})
            report = JobReport(job.__name__, "failed: see the log")
        level = logging.INFO if report.changed else logging.DEBUG
        log.log(level, "worker.job_done", extra={"job": report.job, "summary": report.summary})
        reports.append(report)
    return reports


def run_until_stopped(container: Container, stop: threading.Event) -> None:
    """Passes until `stop` is set; a pass in flight always finishes. After a pass that moved
    something the next starts at once (there may be more), otherwise after the interval."""
    ensure_current(container.engine)
    while not stop.is_set():
        busy = any(report.changed for report in run_once(container))
        if not busy:
            stop.wait(container.settings.worker_interval_seconds)
