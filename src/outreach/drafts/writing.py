"""Writing drafts: take queued jobs, call the writer with no transaction open, record each
outcome. The same three steps as sending (convention 3):

1. claim — up to `concurrency` jobs at a time (queued → writing) in one short transaction
   (drafts/queries.claim_jobs: FOR UPDATE SKIP LOCKED on PostgreSQL);
2. write — `DraftWriter.write` on a thread of its own, at most `concurrency` at once, no
   database;
3. record — on the calling thread, one short transaction per job: the draft stored (a new
   email_drafts row, or the same row rewritten in place when a person asked), the job written
   with its tokens and estimated cost; or the job back in the queue for later; or failed with
   its reason.

What the writer's errors do (writers/base.py):

* `WriterBusy` (429, 529, timeouts, dropped connections): the job waits `retry_after` seconds
  when the provider said, else an exponential backoff (RETRY_POLICY), and nothing more is
  claimed during that wait; after the policy's last try it fails with the last reason.
* `WriterStopped` (a spend limit such as enforced_spend_limit_reached, a refused key): never
  retried. The job goes back to the queue without counting the attempt, and its batch pauses
  with the reason until a person resumes it.
* `DraftRefused`, or any other error: this job fails with the reason and the batch goes on.

Every call also has an overall deadline (`deadline_seconds`): the SDK's timeout bounds each
read, not a server that trickles its answer. Past the deadline the job is treated as busy and
tried again later; the thread is left to finish on its own (it cannot be killed) and its
answer is thrown away.

A crash leaves jobs `writing`; any worker puts them back in the queue once they are older than
the policy's lease. That is safe: a draft is stored only when its job is recorded, and the record
checks that the job is still this worker's.

One module over 500 lines on purpose: the three steps share the state of a pass (the calls in
flight, the hold a busy writer asks for, the deadline, the batch paused by a spend limit), and
split apart they would hand that state back and forth.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from outreach.campaigns.models import Campaign, CampaignSequence
from outreach.campaigns.states import DraftType
from outreach.clock import Clock
from outreach.contacts.models import Contact
from outreach.drafts import queries
from outreach.drafts.batches import TYPE_ORDER
from outreach.drafts.models import DraftBatch, DraftJob, EmailDraft, EmailStatus, EmailTemplate
from outreach.drafts.pricing import Usage, cost_micros
from outreach.drafts.states import BATCHES, DRAFTS, JOBS, BatchStatus, JobStatus
from outreach.drafts.writers.base import (
    ContactContext,
    DraftRefused,
    DraftRequest,
    DraftWriter,
    EarlierDraft,
    TemplateText,
    WriterBusy,
    WriterStopped,
    WrittenDraft,
    draft_request,
)
from outreach.errors import InvalidTransition
from outreach.retry import RetryPolicy
from outreach.runner import Runner
from outreach.states import transition

log = logging.getLogger("outreach.drafts")

RETRY_POLICY = RetryPolicy(
    lease=timedelta(minutes=30),
    first_delay_seconds=5,
    longest_delay_seconds=600,
    max_attempts=6,
    jitter=0.2,
    longest_retry_after_seconds=3600,
)
"""A busy writer's job waits what the provider asked (at most an hour), else 5 s doubling per
try up to 10 minutes, plus up to a fifth so that jobs refused together do not return together;
it fails after its 6th try. A job `writing` for longer than the lease lost its worker."""
POLL_SECONDS = 0.2


@dataclass
class WritingReport:
    """What one run did, for the worker's report and the CLI."""

    written: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    batches: set[uuid.UUID] = field(default_factory=set)

    @property
    def changed(self) -> int:
        return len(self.written) + len(self.failed) + len(self.skipped) + len(self.paused)


@dataclass
class _Call:
    job_id: uuid.UUID
    batch_id: uuid.UUID
    label: str
    started: float | None = None


Outcome = WrittenDraft | Exception


def _start(
    call: _Call, writer: DraftWriter, request: DraftRequest, clock: Callable[[], float]
) -> Future[WrittenDraft]:
    """Calls the writer on a thread of its own. Not a pool: a call past its deadline is given
    up but cannot be stopped, and it must not hold the place of a new call (the caller bounds
    the calls in flight). A daemon thread, so a call hanging at exit does not keep the process
    alive."""
    future: Future[WrittenDraft] = Future()
    future.set_running_or_notify_cancel()

    def run() -> None:
        call.started = clock()
        try:
            future.set_result(writer.write(request))
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, name=f"draft-{call.job_id}", daemon=True).start()
    return future


def write_pending(
    sessions: sessionmaker[Session],
    writer: DraftWriter,
    clock: Clock,
    *,
    concurrency: int,
    deadline_seconds: float,
    worker: str,
    batch_id: uuid.UUID | None = None,
    budget_seconds: float | None = None,
    linger: bool = False,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> WritingReport:
    """Writes queued jobs (of one batch, or of every active batch) until none may be tried now,
    with at most `concurrency` calls in flight.

    `budget_seconds` stops claiming new jobs after that long (the ones in flight finish), so a
    worker pass leaves time for sending. With `linger`, jobs waiting for a retry are waited for
    within the budget instead of being left to the next pass (the CLI writing a batch itself);
    it needs a clock that moves."""
    run = _Run(
        writer=writer,
        clock=clock,
        concurrency=concurrency,
        deadline=deadline_seconds,
        worker=worker,
        batch_id=batch_id,
        monotonic=monotonic,
        rng=rng or random.Random(),  # noqa: S311 (jitter, not secrets)
    )
    stop_claiming = monotonic() + budget_seconds if budget_seconds is not None else None
    with Runner(sessions) as runner:
        runner.step(
            lambda session: queries.requeue_stale(session, RETRY_POLICY.stale_before(clock.now()))
        )
        while True:
            claiming = stop_claiming is None or monotonic() < stop_claiming
            if claiming:
                run.fill(runner)
            run.launch()
            if not run.running and not run.ready:
                pause = runner.read(
                    partial(
                        _idle_wait,
                        batch_id=batch_id,
                        clock=clock,
                        hold_until=run.hold_until,
                        monotonic=monotonic,
                    )
                )
                if not (linger and claiming and pause is not None):
                    break
                if stop_claiming is not None:
                    pause = min(pause, max(stop_claiming - monotonic(), 0.0))
                sleep(max(pause, POLL_SECONDS))
                continue
            if not run.running:
                sleep(max(min(run.hold_until - monotonic(), POLL_SECONDS), 0.01))
                continue
            run.collect(runner)
        batches = run.report.batches
        runner.step(lambda session: queries.finish_done_batches(session, batches, clock.now()))
    return run.report


@dataclass
class _Run:
    """One writing run's state: the calls in flight, the jobs claimed and ready to start (so
    that a freed place is taken without waiting for the database), and what happened."""

    writer: DraftWriter
    clock: Clock
    concurrency: int
    deadline: float
    worker: str
    batch_id: uuid.UUID | None
    monotonic: Callable[[], float]
    rng: random.Random
    report: WritingReport = field(default_factory=WritingReport)
    running: dict[Future[WrittenDraft], _Call] = field(default_factory=dict)
    ready: deque[tuple[_Call, DraftRequest]] = field(default_factory=deque)
    hold_until: float = 0.0
    """Nothing new starts before this (monotonic) time: the provider asked to wait."""

    def fill(self, runner: Runner) -> None:
        """Claims jobs for the ready queue once it is half empty, up to `concurrency` ready:
        claims come in batches, one short step each, which also reads what each job needs."""
        if len(self.ready) > self.concurrency // 2 or self.monotonic() < self.hold_until:
            return
        claimed = runner.step(partial(self._claim, self.concurrency - len(self.ready)))
        for call, request in claimed:
            if isinstance(request, DraftRefused):
                self.record(runner, call, request)
            else:
                self.ready.append((call, request))

    def _claim(
        self, want: int, session: Session
    ) -> list[tuple[_Call, DraftRequest | DraftRefused]]:
        jobs = queries.claim_jobs(session, self.clock.now(), want, self.worker, self.batch_id)
        claimed: list[tuple[_Call, DraftRequest | DraftRefused]] = []
        for job in jobs:
            self.report.batches.add(job.batch_id)
            call = _Call(job.id, job.batch_id, _label(session, job))
            try:
                claimed.append((call, _request(session, job)))
            except DraftRefused as refused:
                claimed.append((call, refused))
        return claimed

    def launch(self) -> None:
        """Starts ready calls in every free place (unless the provider asked to wait)."""
        while (
            self.ready
            and len(self.running) < self.concurrency
            and self.monotonic() >= self.hold_until
        ):
            call, request = self.ready.popleft()
            self.running[_start(call, self.writer, request, self.monotonic)] = call

    def collect(self, runner: Runner) -> None:
        """Waits for the next answers (or a deadline, or the end of a provider's wait),
        starts new calls in the freed places, then records what came back."""
        now = self.monotonic()
        timeout = _timeout(self.running.values(), self.deadline, now)
        if now < self.hold_until:
            timeout = min(timeout or POLL_SECONDS, max(self.hold_until - now, 0.01))
        finished, _ = wait(self.running, timeout=timeout, return_when=FIRST_COMPLETED)
        done: list[tuple[_Call, Outcome]] = []
        for future in finished:
            call = self.running.pop(future)
            error = future.exception()
            done.append((call, error if isinstance(error, Exception) else future.result()))
        for future, call in list(self.running.items()):
            if call.started is not None and self.monotonic() - call.started > self.deadline:
                del self.running[future]
                late = WriterBusy(
                    f"no complete answer within {self.deadline:g} s (the draft's overall deadline)"
                )
                done.append((call, late))
        self.launch()
        for call, outcome in done:
            paused = len(self.report.paused)
            busy = self.record(runner, call, outcome)
            if busy is not None and busy.retry_after:
                self.hold_until = max(self.hold_until, self.monotonic() + busy.retry_after)
            if len(self.report.paused) > paused:
                self.release(runner, call.batch_id)
            self.launch()

    def release(self, runner: Runner, batch_id: uuid.UUID) -> None:
        """A paused batch's jobs claimed but not started go back to the queue untried."""
        kept = [(call, request) for call, request in self.ready if call.batch_id != batch_id]
        freed = [call.job_id for call, _ in self.ready if call.batch_id == batch_id]
        self.ready = deque(kept)
        runner.step(lambda session: queries.release(session, freed, self.worker))

    def record(self, runner: Runner, call: _Call, outcome: Outcome) -> WriterBusy | None:
        """Records one job's outcome in a step of its own; nothing when the job is no longer
        this worker's (given up as stale, or moved meanwhile)."""
        record = partial(
            _record,
            job_id=call.job_id,
            label=call.label,
            outcome=outcome,
            now=self.clock.now(),
            worker=self.worker,
            report=self.report,
            jitter=self.rng.random(),
        )
        try:
            return runner.step(record)
        except InvalidTransition:
            return None


def _idle_wait(
    session: Session,
    *,
    batch_id: uuid.UUID | None,
    clock: Clock,
    hold_until: float,
    monotonic: Callable[[], float],
) -> float | None:
    """Seconds until a queued job may be tried (or the provider's wait ends), or None when
    nothing is waiting."""
    due = queries.next_attempt(session, batch_id)
    if due is None:
        return None
    return max((due - clock.now()).total_seconds(), hold_until - monotonic(), 0.0)


def _timeout(calls: Any, deadline: float, now: float) -> float | None:
    """How long to wait for the next answer before checking deadlines again."""
    ends = [call.started + deadline - now for call in calls if call.started is not None]
    if any(call.started is None for call in calls):
        ends.append(POLL_SECONDS)
    return max(min(ends), 0.0) + 0.001 if ends else None


# Building a request ----------------------------------------------------------------------------


def _label(session: Session, job: DraftJob) -> str:
    contact = session.get(Contact, job.contact_id)
    return f"{contact.email if contact else job.contact_id}: {DraftType(job.draft_type).value}"


def instructions_of(session: Session, job: DraftJob) -> TemplateText:
    """The template a job is written from: its email_templates row, or its campaign step (the
    step's subject as the "Subject:" line, its text as the brief)."""
    step = session.get(CampaignSequence, job.campaign_step_id) if job.campaign_step_id else None
    campaign = session.get(Campaign, step.campaign_id) if step else None
    template = session.get(EmailTemplate, job.template_id) if job.template_id else None
    return instructions_from(job, step, campaign, template)


def instructions_from(
    job: DraftJob,
    step: CampaignSequence | None,
    campaign: Campaign | None,
    template: EmailTemplate | None,
) -> TemplateText:
    """instructions_of from the job's rows already read (None: there is no such row), so that a
    page of drafts reads its steps, campaigns and templates once."""
    if job.campaign_step_id is not None:
        if step is None:
            raise DraftRefused("The campaign step this draft was for was removed.")
        subject = step.subject_template.strip()
        content = f"Subject: {subject}\n{step.body_template}" if subject else step.body_template
        name = f"{campaign.name if campaign else 'campaign'}, step {step.sequence_order}"
        return TemplateText(id=step.id, name=name, content=content)
    if template is None:
        raise DraftRefused("The template this draft was to be written from was deleted.")
    return TemplateText.of(template)


def types_before(kind: DraftType) -> tuple[DraftType, ...]:
    """The draft types a follow-up of this type builds on."""
    return TYPE_ORDER[: TYPE_ORDER.index(kind)]


def earlier_of(
    session: Session, contact_id: uuid.UUID, kind: DraftType
) -> tuple[EarlierDraft, ...]:
    """The drafts a follow-up builds on: for each type before it, the contact's newest draft
    of that type that was not rejected, as it will be sent (edits included)."""
    return earlier_from(queries.earlier_drafts(session, [contact_id], types_before(kind)), kind)


def earlier_from(newest_first: Iterable[EmailDraft], kind: DraftType) -> tuple[EarlierDraft, ...]:
    """earlier_of from the contact's drafts not rejected, newest first, of any types."""
    before = types_before(kind)
    newest: dict[str, EmailDraft] = {}
    for draft in newest_first:
        if DraftType(draft.draft_type) in before:
            newest.setdefault(DraftType(draft.draft_type).value, draft)
    return tuple(
        EarlierDraft(kind, newest[kind.value].outgoing_subject, newest[kind.value].outgoing_body)
        for kind in before
        if kind.value in newest
    )


def _request(session: Session, job: DraftJob) -> DraftRequest:
    contact = session.get(Contact, job.contact_id)
    if contact is None:
        raise DraftRefused("The contact was deleted.")
    kind = DraftType(job.draft_type)
    return draft_request(
        kind,
        instructions_of(session, job),
        ContactContext.of(contact),
        earlier_of(session, contact.id, kind),
        job.reviewer_note,
    )


# Recording -------------------------------------------------------------------------------------


def _record(
    session: Session,
    job_id: uuid.UUID,
    label: str,
    outcome: Outcome,
    now: datetime,
    worker: str,
    report: WritingReport,
    jitter: float = 0.0,
) -> WriterBusy | None:
    """Writes what happened to one claimed job; returns the busy error when the job waits.
    Nothing is recorded when the job is no longer this worker's (it was given up as stale);
    InvalidTransition when it moved meanwhile."""
    job = session.get(DraftJob, job_id, populate_existing=True)
    if job is None or job.status != JobStatus.writing or job.claimed_by != worker:
        return None
    mine = (DraftJob.claimed_by == worker,)
    if isinstance(outcome, WrittenDraft):
        _record_written(session, job, outcome, now, mine, label, report)
        return None
    if isinstance(outcome, WriterStopped):
        _record_stopped(session, job, outcome, now, mine, report)
        return None
    if isinstance(outcome, WriterBusy) and not RETRY_POLICY.gives_up(job.attempts):
        delay = RETRY_POLICY.delay_seconds(job.attempts, outcome.retry_after, jitter)
        transition(
            session,
            DraftJob,
            job.id,
            JobStatus.queued,
            JOBS,
            where=mine,
            next_attempt_at=now + timedelta(seconds=delay),
            error=outcome.reason,
        )
        report.retrying.append(f"{label}: {outcome.reason} (next try in {delay:.0f} s)")
        log.info("drafts.retry_scheduled", extra={"job_id": str(job.id), "seconds": delay})
        return outcome
    reason = _reason(outcome)
    if isinstance(outcome, WriterBusy):
        reason = f"gave up after {job.attempts} tries: {reason}"
    _record_failed(session, job, reason, now, mine)
    report.failed.append(f"{label}: {reason}")
    log.info("drafts.failed", extra={"job_id": str(job.id), "reason": reason})
    return None


def _reason(error: Exception) -> str:
    if isinstance(error, DraftRefused | WriterBusy):
        return error.reason
    log.error("drafts.writer_crashed", exc_info=error)
    return f"the writer failed: {type(error).__name__}: {error}"[:2000]


def _record_written(
    session: Session,
    job: DraftJob,
    written: WrittenDraft,
    now: datetime,
    mine: tuple[sa.ColumnElement[bool], ...],
    label: str,
    report: WritingReport,
) -> None:
    usage = Usage(
        written.input_tokens or 0,
        written.output_tokens or 0,
        written.cache_read_tokens or 0,
        written.cache_write_tokens or 0,
    )
    cost = cost_micros(written.model, usage)
    spent: dict[str, Any] = {
        "model": written.model,
        "input_tokens": DraftJob.input_tokens + usage.input_tokens,
        "output_tokens": DraftJob.output_tokens + usage.output_tokens,
        "cache_read_tokens": DraftJob.cache_read_tokens + usage.cache_read_tokens,
        "cache_write_tokens": DraftJob.cache_write_tokens + usage.cache_write_tokens,
        "finished_at": now,
    }
    if cost is not None:
        spent["cost_micros"] = sa.func.coalesce(DraftJob.cost_micros, 0) + cost
    draft_id = _store(session, job, written, now)
    if draft_id is None:
        transition(
            session,
            DraftJob,
            job.id,
            JobStatus.skipped,
            JOBS,
            where=mine,
            error="a person approved or scheduled the draft while it was being rewritten",
            **spent,
        )
        report.skipped.append(f"{label}: approved meanwhile, kept as approved")
        return
    transition(
        session,
        DraftJob,
        job.id,
        JobStatus.written,
        JOBS,
        where=mine,
        draft_id=draft_id,
        error=None,
        **spent,
    )
    report.written.append(label)
    log.info("drafts.written", extra={"job_id": str(job.id), "draft_id": str(draft_id)})


def _store(
    session: Session, job: DraftJob, written: WrittenDraft, now: datetime
) -> uuid.UUID | None:
    """The draft row with the new text: a new row, or the job's draft rewritten in place when
    it still waits for review (a rewrite a person asked for also replaces their edits and
    brings a rejected draft back). None when the draft was approved meanwhile."""
    text: dict[str, Any] = {
        "subject": written.subject,
        "body": written.body,
        "writer_error": None,
        "updated_at": now,
        **written.provenance(),
    }
    existing = session.get(EmailDraft, job.draft_id) if job.draft_id else None
    if existing is None:
        draft = queries.add_written(
            session,
            contact_id=job.contact_id,
            draft_type=DraftType(job.draft_type),
            subject=written.subject,
            body=written.body,
            at=now,
            provenance=written.provenance(),
        )
        return draft.id
    asked_by_person = job.reviewer_note is not None
    if asked_by_person:
        text.update(edited_subject=None, edited_body=None)
    if asked_by_person and existing.status == EmailStatus.failed and existing.rejected_at:
        transition(
            session,
            EmailDraft,
            existing.id,
            EmailStatus.draft,
            DRAFTS,
            where=(EmailDraft.rejected_at.is_not(None),),
            rejected_at=None,
            rejected_reason=None,
            **text,
        )
        return existing.id
    conditions = [EmailDraft.id == existing.id, EmailDraft.status == EmailStatus.draft.value]
    if not asked_by_person:
        conditions += [EmailDraft.edited_subject.is_(None), EmailDraft.edited_body.is_(None)]
    updated = session.execute(
        sa.update(EmailDraft)
        .where(*conditions)
        .values(**text)
        .execution_options(synchronize_session=False)
    )
    if not updated.rowcount:  # type: ignore[attr-defined]
        return None
    session.expire(existing)
    return existing.id


def _record_failed(
    session: Session,
    job: DraftJob,
    reason: str,
    now: datetime,
    mine: tuple[sa.ColumnElement[bool], ...],
) -> None:
    transition(
        session, DraftJob, job.id, JobStatus.failed, JOBS, where=mine, error=reason, finished_at=now
    )
    if job.draft_id is not None:
        # A rewrite that failed leaves the text as it was, saying why it was not rewritten.
        session.execute(
            sa.update(EmailDraft)
            .where(EmailDraft.id == job.draft_id)
            .values(writer_error=reason)
            .execution_options(synchronize_session=False)
        )


def _record_stopped(
    session: Session,
    job: DraftJob,
    stopped: WriterStopped,
    now: datetime,
    mine: tuple[sa.ColumnElement[bool], ...],
    report: WritingReport,
) -> None:
    transition(
        session,
        DraftJob,
        job.id,
        JobStatus.queued,
        JOBS,
        where=mine,
        attempts=DraftJob.attempts - 1,
        next_attempt_at=now,
        error=stopped.reason,
    )
    batch = session.get(DraftBatch, job.batch_id)
    try:
        transition(
            session,
            DraftBatch,
            job.batch_id,
            BatchStatus.paused,
            BATCHES,
            where=(DraftBatch.status != BatchStatus.paused.value,),
            pause_reason=stopped.reason,
        )
    except InvalidTransition:
        return
    report.paused.append(f"{batch.label if batch else job.batch_id}: {stopped.reason}")
    log.warning(
        "drafts.batch_paused", extra={"batch_id": str(job.batch_id), "reason": stopped.reason}
    )
