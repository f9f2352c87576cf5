"""Jobs the worker runs on every pass. Each takes the container and returns a report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from outreach.access import service as access
from outreach.analytics import recipients
from outreach.analytics import senders as sender_weeks
from outreach.contacts import importing
from outreach.container import Container
from outreach.db import transaction
from outreach.delivery.dispatch import PassReport
from outreach.events import retention
from outreach.inbox.polling import poll_lines, poll_summary
from outreach.portability import backups, partitioning
from outreach.senders import health

log = logging.getLogger("outreach.worker")


@dataclass(frozen=True)
class JobReport:
    job: str
    summary: str
    changed: int = 0
    """How many rows the job moved: a pass that changed nothing is not worth an INFO line."""
    lines: tuple[str, ...] = ()
    """Details for a person watching one pass (`outreach worker --once`)."""
    next_due: datetime | None = None
    """The earliest moment the job has something to do again, when it knows one: the loop
    wakes then rather than after its whole interval."""


def prune_access(container: Container) -> JobReport:
    """Forget expired sign-in sessions and old sign-in attempts."""
    with transaction(container.sessions) as session:
        report = access.prune(session, container.clock.now())
    removed = f"{report.sessions_removed} expired sessions, {report.attempts_removed} old attempts"
    changed = report.sessions_removed + report.attempts_removed
    return JobReport("prune_access", f"removed {removed}", changed)


def import_uploads(container: Container) -> JobReport:
    """Imports every confirmed upload, each chunk its own step (contacts/importing.py)."""
    imported = importing.import_confirmed(container.sessions, container.clock)
    rows = sum(report.processed for report in imported)
    return JobReport("import_uploads", f"{len(imported)} uploads, {rows} rows", len(imported))


def take_backups(container: Container) -> JobReport:
    """Takes the backups the schedule says are due and rotates old ones, when enabled."""
    if not container.settings.backups_enabled:
        return JobReport("take_backups", "off (OUTREACH_BACKUPS)")
    report = backups.run_schedule(
        container.engine, container.settings.backup_dir, container.clock.now()
    )
    for problem in report.failed:
        log.error("backup.damaged", extra={"problem": problem})
    lines = [f"wrote {backup.path.name}" for backup in report.taken]
    lines += [f"deleted {path.name}" for path in report.removed]
    lines += [f"damaged: {problem}" for problem in report.failed]
    summary = (
        f"{len(report.taken)} taken, {len(report.failed)} damaged, {len(report.removed)} deleted"
    )
    if report.busy:
        summary = "another worker is taking backups"
    changed = len(report.taken) + len(report.failed) + len(report.removed)
    return JobReport("take_backups", summary, changed, tuple(lines))


def partition_ahead(container: Container) -> JobReport:
    """Creates the coming months' sent_emails partitions before their first send, so rows do
    not pile up in the default partition; nothing on SQLite or while sent_emails is not
    partitioned. When nothing is missing it costs two catalog queries and takes no lock."""
    if not partitioning.is_partitioned(container.engine):
        return JobReport("partition_ahead", "sent_emails is not partitioned")
    report = partitioning.ensure_partitions(container.engine, container.clock.now())
    lines = [f"created {name}" for name in report.partitions_created]
    if report.rows_moved:
        lines.append(f"moved {report.rows_moved} rows out of {partitioning.DEFAULT_PARTITION}")
    summary = f"{len(report.partitions_created)} partitions created"
    return JobReport("partition_ahead", summary, len(report.partitions_created), tuple(lines))


def write_drafts(container: Container) -> JobReport:
    """Queues the drafts AI-written campaign steps need, then writes queued drafts, a bounded
    time per pass (drafts/drafting.py)."""
    report = container.drafting_pass()
    lines = [f"wrote {label}" for label in report.written]
    lines += [f"retrying {text}" for text in report.retrying]
    lines += [f"failed {text}" for text in report.failed]
    lines += [f"skipped {text}" for text in report.skipped]
    lines += [f"paused {text}" for text in report.paused]
    summary = (
        f"{len(report.written)} written, {len(report.retrying)} retrying, "
        f"{len(report.failed)} failed, {len(report.paused)} batches paused"
    )
    return JobReport("write_drafts", summary, report.changed, tuple(lines))


def poll_inboxes(container: Container) -> JobReport:
    """Reads every sender account's mailbox that is due (inbox/polling.py): replies stop
    sequences before the next send, bounces and removal requests suppress."""
    report = container.poll_mailboxes()
    changed = sum(report.total.acted.values())
    return JobReport("poll_inboxes", poll_summary(report), changed, tuple(poll_lines(report)))


def categorize_replies(container: Container) -> JobReport:
    """Categorizes the replies read since the last pass (inbox/categories.py), before the
    sending pass: a reply that asks not to be contacted suppresses its address first."""
    report = container.categorizing_pass()
    lines = tuple(report.categorized) + tuple(f"busy: {reason}" for reason in report.busy)
    summary = f"{len(report.categorized)} categorized, {len(report.busy)} to try again"
    return JobReport("categorize_replies", summary, report.changed, lines)


def send_campaigns(container: Container) -> JobReport:
    """Sends every campaign step that may go now, and says why the rest waits."""
    return sending_report(container.sending_pass())


def check_senders(container: Container) -> JobReport:
    """Pauses sender accounts whose hard bounces passed the allowed rate (senders/health.py),
    after the pass's sends and bounces are recorded."""
    settings = container.settings
    policy = health.BouncePolicy(settings.bounce_pause_rate, settings.bounce_pause_min_sends)
    with transaction(container.sessions) as session:
        now = container.clock.now()
        paused = health.pause_bouncing(session, sender_weeks.bouncing(session, now), now, policy)
    return JobReport("check_senders", f"{len(paused)} paused", len(paused), tuple(paused))


def resolve_recipient_domains(container: Container) -> JobReport:
    """Resolves the MX records of recipient domains first written to since the last pass, for
    the analytics by recipient provider (analytics/recipients.py): DNS is asked with no
    transaction open."""
    if not container.settings.recipient_providers:
        return JobReport("resolve_recipient_domains", "off (OUTREACH_RECIPIENT_PROVIDERS)")
    with transaction(container.sessions) as session:
        domains = recipients.unresolved(session)
    if not domains:
        return JobReport("resolve_recipient_domains", "0 resolved")
    resolved = recipients.resolve(container.resolver(), domains)
    with transaction(container.sessions) as session:
        recipients.record(session, resolved, container.clock.now())
    summary = f"{len(resolved.providers)} resolved, {len(resolved.failed)} to try again"
    return JobReport(
        "resolve_recipient_domains", summary, len(resolved.providers), tuple(resolved.lines())
    )


def deliver_webhooks(container: Container) -> JobReport:
    """Numbers the committed events and POSTs the webhooks that are due, within a time budget
    of its own, after the pass's sends (events/delivering.py)."""
    report = container.webhook_pass()
    return JobReport("deliver_webhooks", report.summary(), report.changed, tuple(report.lines()))


FORGET_BATCHES = 20
"""Batches of old events one pass deletes at most: the rest wait for the next pass."""


def forget_events(container: Container) -> JobReport:
    """Deletes events older than OUTREACH_EVENTS_KEEP_DAYS whose webhook deliveries are finished,
    with those deliveries, a small batch per transaction (events/retention.py)."""
    now = container.clock.now()
    before = now - timedelta(days=container.settings.events_keep_days)
    removed = 0
    for _ in range(FORGET_BATCHES):
        with transaction(container.sessions) as session:
            deleted = retention.forget_before(session, before, now)
        removed += deleted
        if deleted < retention.BATCH:
            break
    return JobReport("forget_events", f"{removed} old events deleted", removed)


def sending_report(report: PassReport, job: str = "send_campaigns") -> JobReport:
    return JobReport(job, report.summary(), report.changed, tuple(report.lines()), report.next_due)


Job = Callable[[Container], JobReport]
JOBS: tuple[Job, ...] = (
    import_uploads,
    write_drafts,
    poll_inboxes,
    categorize_replies,
    send_campaigns,
    check_senders,
    deliver_webhooks,
    resolve_recipient_domains,
    prune_access,
    forget_events,
    take_backups,
    partition_ahead,
)

REAL_CLOCK_ONLY: dict[Job, str] = {
    poll_inboxes: "mailboxes are read by the real clock; `outreach inbox poll` reads them now",
    prune_access: "sign-ins expire by the real clock",
    forget_events: "events are kept for days of the real clock",
    take_backups: "backups follow the real clock",
    deliver_webhooks: "webhooks are signed with the real time, which receivers check",
}
"""Jobs a pass at a pretended time (`outreach worker --now`) skips, and why: run then, they
would delete real backups and sign-ins, or hold their next real run off until that time."""

APART: tuple[Job, ...] = (take_backups,)
"""Jobs the running worker does in a thread of their own beside its passes (`--once` still does
them in its one pass): a full backup at ten times the seed's volume takes minutes, and sending,
replies and imports must not wait for it."""
