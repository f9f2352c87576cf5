"""The worker loop: run every job, wait until something is due (at most the interval), repeat;
stop between passes when asked."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from outreach.container import Container
from outreach.schema import ensure_current
from outreach.worker.jobs import APART, JOBS, REAL_CLOCK_ONLY, Job, JobReport

log = logging.getLogger("outreach.worker")


def run_once(
    container: Container, *, pretending: bool = False, jobs: Sequence[Job] = JOBS
) -> list[JobReport]:
    """One pass over `jobs` (every job by default). A failing job is logged and the others
    still run. `pretending` (the clock is set to another time) skips the jobs that must follow
    the real clock."""
    reports = []
    for job in jobs:
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
    container: Container,
    stop: threading.Event,
    *,
    pretending: bool = False,
    wait: Callable[[float], object] | None = None,
    wait_apart: Callable[[float], object] | None = None,
) -> None:
    """Passes until `stop` is set; a pass in flight always finishes. Between passes the loop
    waits as `wait_after` says, with `wait` (by default on `stop`, so that SIGTERM ends the wait
    at once; a test passes one that moves its clock instead). The APART jobs (backups) run in a
    thread of their own meanwhile, waiting the interval with `wait_apart` (the same default)
    between runs, and the loop returns once their run in flight has finished too."""
    ensure_current(container.engine)
    # A predecessor on this host (or any worker gone) left sends in doubt: say so at once.
    container.settle_lapsed()
    apart = threading.Thread(
        target=_run_apart, args=(container, stop, wait_apart or stop.wait), name="worker-apart"
    )
    if not pretending:  # every job apart follows the real clock
        apart.start()
    try:
        _passes(container, stop, pretending, wait or stop.wait)
    finally:
        stop.set()
        if apart.is_alive():
            apart.join()


def _passes(
    container: Container, stop: threading.Event, pretending: bool, pause: Callable[[float], object]
) -> None:
    in_pass = [job for job in JOBS if job not in APART]
    interval = container.settings.worker_interval_seconds
    while not stop.is_set():
        reports = run_once(container, pretending=pretending, jobs=in_pass)
        busy = any(report.changed for report in reports)
        next_due = min((r.next_due for r in reports if r.next_due is not None), default=None)
        seconds = wait_after(container.clock.now(), next_due, interval, busy=busy)
        if seconds > 0:
            pause(seconds)


def _run_apart(
    container: Container, stop: threading.Event, pause: Callable[[float], object]
) -> None:
    interval = container.settings.worker_interval_seconds
    while not stop.is_set():
        run_once(container, jobs=APART)
        pause(interval)


def wait_after(
    now: datetime, next_due: datetime | None, interval_seconds: float, *, busy: bool
) -> float:
    """Seconds to wait after a pass at `now`: none after a pass that moved something (there may
    be more), else until the next due moment a job named (a campaign's spacing ends, a window
    opens, a retry is due), never longer than the interval (what no job foresees, such as a
    reply or a new upload, waits for it) and never less than nothing."""
    if busy:
        return 0.0
    if next_due is None:
        return interval_seconds
    return min(max((next_due - now).total_seconds(), 0.0), interval_seconds)
