"""Drafts, draft batches and draft jobs as state machines.

A draft, on the seed's email_status enum: draft → approved (a person said yes) → scheduled (a
send is waiting for it) → sent | failed; a cancelled schedule brings it back to approved. Also:

* draft | approved → failed: a person rejected it (`rejected_at` says so; a send that failed
  leaves it empty), and failed → draft when a rejected draft is written again;
* draft → scheduled: a campaign that does not require approval sends its AI-written draft as
  written (no approval is recorded, so the seed's approval counter counts only people).

A batch: queued (work waits for a worker) → running → completed (no job left to write);
queued | running → paused (the writer stopped: a spend limit, a refused key; the reason is
kept) → queued when resumed; completed → queued when jobs are added (a rewrite, a new
enrollment); anything unfinished → cancelled.

A job: queued → writing (claimed by one worker) → written | failed | queued (try again later);
queued → skipped (there is already a draft a person approved or edited) | cancelled; written,
failed, skipped or cancelled → queued to write it again.
"""

from __future__ import annotations

from enum import StrEnum

from outreach.drafts.models import EmailStatus
from outreach.states import Lifecycle

DRAFTS = Lifecycle[EmailStatus](
    noun="draft",
    moves={
        EmailStatus.draft: frozenset({EmailStatus.failed}),
        EmailStatus.approved: frozenset({EmailStatus.draft, EmailStatus.scheduled}),
        EmailStatus.scheduled: frozenset({EmailStatus.approved, EmailStatus.draft}),
        EmailStatus.sent: frozenset({EmailStatus.scheduled}),
        EmailStatus.failed: frozenset(
            {EmailStatus.scheduled, EmailStatus.draft, EmailStatus.approved}
        ),
    },
)


class BatchStatus(StrEnum):
    queued = "queued"
    running = "running"
    paused = "paused"
    completed = "completed"
    cancelled = "cancelled"


ACTIVE_BATCHES = frozenset({BatchStatus.queued, BatchStatus.running})
"""Batches whose jobs a worker may take."""

BATCHES = Lifecycle[BatchStatus](
    noun="draft batch",
    moves={
        BatchStatus.queued: frozenset(
            {BatchStatus.paused, BatchStatus.completed, BatchStatus.cancelled}
        ),
        BatchStatus.running: frozenset({BatchStatus.queued}),
        BatchStatus.paused: frozenset({BatchStatus.queued, BatchStatus.running}),
        BatchStatus.completed: frozenset({BatchStatus.queued, BatchStatus.running}),
        BatchStatus.cancelled: frozenset(
            {BatchStatus.queued, BatchStatus.running, BatchStatus.paused}
        ),
    },
)


class JobStatus(StrEnum):
    queued = "queued"
    writing = "writing"
    written = "written"
    failed = "failed"
    skipped = "skipped"
    cancelled = "cancelled"


UNFINISHED_JOBS = frozenset({JobStatus.queued, JobStatus.writing})

JOBS = Lifecycle[JobStatus](
    noun="draft job",
    moves={
        JobStatus.writing: frozenset({JobStatus.queued}),
        JobStatus.written: frozenset({JobStatus.writing}),
        JobStatus.failed: frozenset({JobStatus.writing, JobStatus.queued}),
        JobStatus.queued: frozenset(
            {
                JobStatus.writing,
                JobStatus.written,
                JobStatus.failed,
                JobStatus.skipped,
                JobStatus.cancelled,
            }
        ),
        JobStatus.skipped: frozenset({JobStatus.queued, JobStatus.writing}),
        JobStatus.cancelled: frozenset({JobStatus.queued}),
    },
)
