"""Draft batches: asking for drafts for a list or an upload, following their progress, pausing,
resuming and cancelling them. Workers write them (drafts/writing.py).

A batch is planned in full when it is made: one job row per contact and draft type, written
before any call to a model. Planning decides what not to write, and says why on the job:

* a contact whose address is suppressed is skipped;
* so is one a one-off draft would reach while we are writing to them already (a running
  campaign, or a recent email for a first email): `held` says who and why (delivery decides,
  which sits above drafts: the entry point hands its rule in);
* a draft a person approved (or that was scheduled or sent), or edited, is never written
  again, whatever is asked;
* a draft still waiting for review is kept unless `rewrite_unreviewed` asks to write it again
  (in place: the same row gets the new text, so the queue does not fill with duplicates);
* a rejected draft does not count: a new one is written.

Re-running the same request is therefore cheap and harmless: only what is missing is written.

Services flush; the entry point commits.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.campaigns.states import DraftType
from outreach.contacts import queries as contact_queries
from outreach.contacts.addresses import dedupe_key, domain_of
from outreach.contacts.models import ContactList, UploadBatch
from outreach.db import get_or_not_found
from outreach.drafts import queries
from outreach.drafts.models import DraftBatch, DraftJob, EmailDraft, EmailStatus, EmailTemplate
from outreach.drafts.pricing import Usage, dollars
from outreach.drafts.states import BATCHES, JOBS, BatchStatus, JobStatus
from outreach.drafts.writers.template import MODEL as TEMPLATE_MODEL
from outreach.errors import ValidationFailed
from outreach.states import transition, transition_many
from outreach.words import counted

PLAN_SLICE = 2000
TYPE_ORDER = (DraftType.first_outreach, DraftType.second_followup, DraftType.final_followup)
SENT_OR_APPROVED = frozenset({EmailStatus.approved, EmailStatus.scheduled, EmailStatus.sent})

SKIP_SUPPRESSED = "the address is suppressed"
SKIP_APPROVED = "a person approved this draft already"
SKIP_SCHEDULED = "this draft is scheduled to go already"
SKIP_SENT = "an email of this kind went to this contact already (a campaign's or a one-off)"
SKIP_EDITED = "a person edited this draft"
SKIP_WAITING = "a draft waits for review already (ask to rewrite unreviewed drafts)"
SKIP_HELD = "they would get a second first email: {why}"

Held = Callable[[Sequence[uuid.UUID], DraftType], Mapping[uuid.UUID, str]]
"""Which of these contacts a one-off draft of this type must not be written for, and why."""


@dataclass(frozen=True)
class Instructions:
    """Which template writes which draft type."""

    templates: Mapping[DraftType, uuid.UUID]

    @property
    def types(self) -> list[DraftType]:
        return [kind for kind in TYPE_ORDER if kind in self.templates]


def instructions(types: Sequence[DraftType], template_id: uuid.UUID) -> Instructions:
    """One template for every type asked for (each type is asked for differently)."""
    if not types:
        raise ValidationFailed("Choose at least one draft type.", field="types")
    return Instructions(dict.fromkeys(types, template_id))


def get(session: Session, batch_id: uuid.UUID) -> DraftBatch:
    return get_or_not_found(session, DraftBatch, batch_id, "draft batch")


def resolve(session: Session, text: str) -> uuid.UUID:
    """A batch's id from its full text or a unique beginning, as drafts' ids are taken."""
    return queries.id_from_start(session, DraftBatch, text, "draft batch")


def for_list(
    session: Session,
    list_id: uuid.UUID,
    asked: Instructions,
    now: datetime,
    *,
    held: Held,
    rewrite_unreviewed: bool = False,
) -> DraftBatch:
    """A batch writing the asked draft types for every member of a list."""
    audience = get_or_not_found(session, ContactList, list_id, "list", field="list_id")
    batch = _new_batch(session, f"List {audience.name}", "list", asked, now, list_id=list_id)
    _plan(session, batch, asked, held, rewrite_unreviewed, list_id=list_id)
    return batch


def for_upload(
    session: Session,
    upload_batch_id: uuid.UUID,
    asked: Instructions,
    now: datetime,
    *,
    held: Held,
    rewrite_unreviewed: bool = False,
) -> DraftBatch:
    """A batch writing the asked draft types for every contact an upload imported."""
    upload = get_or_not_found(
        session, UploadBatch, upload_batch_id, "upload", field="upload_batch_id"
    )
    batch = _new_batch(
        session,
        f"Upload {upload.file_name}",
        "upload",
        asked,
        now,
        upload_batch_id=upload_batch_id,
    )
    _plan(session, batch, asked, held, rewrite_unreviewed, upload_batch_id=upload_batch_id)
    return batch


def _new_batch(
    session: Session,
    label: str,
    source: str,
    asked: Instructions,
    now: datetime,
    **target: uuid.UUID,
) -> DraftBatch:
    for template_id in set(asked.templates.values()):
        get_or_not_found(session, EmailTemplate, template_id, "template", field="template_id")
    types = asked.types
    if not types:
        raise ValidationFailed("Choose at least one draft type.", field="types")
    first_template = asked.templates[types[0]]
    batch = DraftBatch(
        label=f"{label}: {', '.join(kind.value for kind in types)}",
        source=source,
        template_id=first_template,
        draft_types=[kind.value for kind in types],
        status=BatchStatus.queued.value,
        created_at=now,
        **target,
    )
    session.add(batch)
    session.flush()
    return batch


def _plan(
    session: Session,
    batch: DraftBatch,
    asked: Instructions,
    held: Held,
    rewrite_unreviewed: bool,
    *,
    list_id: uuid.UUID | None = None,
    upload_batch_id: uuid.UUID | None = None,
) -> None:
    types = asked.types
    after: uuid.UUID | None = None
    while people := queries.contacts_after(
        session, after, PLAN_SLICE, list_id=list_id, upload_batch_id=upload_batch_id
    ):
        after = people[-1][0]
        suppressed = _suppressed(session, people)
        existing = _strongest(queries.existing_drafts(session, [p[0] for p in people], types))
        holding = {kind: held([p[0] for p in people], kind) for kind in types}
        rows: list[dict[str, Any]] = []
        for contact_id, _ in people:
            for position, kind in enumerate(types, start=1):
                row: dict[str, Any] = {
                    "id": uuid.uuid4(),
                    "batch_id": batch.id,
                    "contact_id": contact_id,
                    "draft_type": kind,
                    "position": position,
                    "template_id": asked.templates[kind],
                    "status": JobStatus.queued.value,
                    "next_attempt_at": batch.created_at,
                    "created_at": batch.created_at,
                }
                draft = existing.get((contact_id, kind))
                why = SKIP_SUPPRESSED if contact_id in suppressed else _keep_reason(draft)
                if not why and contact_id in holding[kind]:
                    why = SKIP_HELD.format(why=holding[kind][contact_id])
                if why == SKIP_WAITING and rewrite_unreviewed and draft is not None:
                    row["draft_id"] = draft.id
                elif why:
                    row.update(
                        status=JobStatus.skipped.value,
                        error=why,
                        draft_id=draft.id if draft else None,
                        finished_at=batch.created_at,
                    )
                rows.append(row)
        queries.insert_jobs(session, rows)
    session.flush()
    queries.finish_done_batches(session, [batch.id], batch.created_at)


def _suppressed(session: Session, people: Sequence[tuple[uuid.UUID, str]]) -> set[uuid.UUID]:
    keys = {contact_id: dedupe_key(email) for contact_id, email in people}
    domains = {contact_id: domain_of(email) for contact_id, email in people}
    emails, whole = contact_queries.suppressed_among(session, keys.values(), domains.values())
    return {cid for cid in keys if keys[cid] in emails or domains[cid] in whole}


def _rank(draft: EmailDraft) -> int:
    if draft.status in SENT_OR_APPROVED:
        return 3
    if draft.is_edited and draft.rejected_at is None:
        return 2
    if draft.status == EmailStatus.draft:
        return 1
    return 0


def _strongest(drafts: Sequence[EmailDraft]) -> dict[tuple[uuid.UUID, DraftType], EmailDraft]:
    """Per contact and type, the draft that most forbids writing again."""
    found: dict[tuple[uuid.UUID, DraftType], EmailDraft] = {}
    for draft in drafts:
        key = (draft.contact_id, DraftType(draft.draft_type))
        if key not in found or _rank(draft) > _rank(found[key]):
            found[key] = draft
    return found


def _keep_reason(draft: EmailDraft | None) -> str | None:
    """Why an existing draft is not written again, or None when a new one may be written."""
    if draft is None:
        return None
    if draft.status == EmailStatus.sent:
        return SKIP_SENT
    if draft.status == EmailStatus.scheduled:
        return SKIP_SCHEDULED
    return {3: SKIP_APPROVED, 2: SKIP_EDITED, 1: SKIP_WAITING}.get(_rank(draft))


# Progress ------------------------------------------------------------------------------------


@dataclass
class Progress:
    batch: DraftBatch
    counts: Counter[str] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    cost_micros: int | None = None
    unpriced: int = 0
    models: tuple[str, ...] = ()
    """Who wrote the batch's drafts (EmailDraft.model)."""

    @property
    def written_by(self) -> str | None:
        """The writers of the drafts written so far, for people."""
        return ", ".join(writer_name(model) for model in self.models) or None

    @property
    def writer_warning(self) -> str | None:
        """Why an AI-written step's drafts need reading: the template drafter wrote them."""
        if self.batch.source != "campaign" or TEMPLATE_MODEL not in self.models:
            return None
        return (
            "No AI wrote these AI-written steps' drafts (ANTHROPIC_API_KEY was not set): the "
            "template drafter filled in each step's brief and made it the email itself. Read "
            "them before they go, or set the key and write them again."
        )

    @property
    def ai_wrote(self) -> bool:
        """Whether an AI wrote any of its drafts: only then do tokens and a cost mean anything."""
        return any(by_ai(model) for model in self.models)

    @property
    def words(self) -> str:
        """Where the batch stands, for people: "2 written, 25 to go (0 skipped)", and how many
        failed when any did."""
        counts = self.counts
        to_go = counts[JobStatus.queued.value] + counts[JobStatus.writing.value]
        written, skipped = counts[JobStatus.written.value], counts[JobStatus.skipped.value]
        failed = counts[JobStatus.failed.value]
        text = f"{written} written, {to_go} to go ({skipped} skipped)"
        return f"{text}, {failed} failed" if failed else text

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Jobs that will not be tried again without being asked: written, failed, skipped,
        cancelled."""
        return (
            self.total - self.counts[JobStatus.queued.value] - self.counts[JobStatus.writing.value]
        )

    @property
    def finished(self) -> bool:
        return self.batch.status in (BatchStatus.completed, BatchStatus.cancelled)

    @property
    def cost(self) -> str:
        """The estimated cost for people, saying when part of it is unknown."""
        known = self.cost_micros is not None or not self.unpriced
        text = dollars(self.cost_micros or 0) if known else ""
        if self.unpriced:
            unknown = f"{counted(self.unpriced, 'draft')} of a model without a known price"
            return f"{text} + {unknown}" if text else f"unknown ({unknown})"
        return text

    def summary(self) -> str:
        counts = ", ".join(
            f"{self.counts[status.value]} {status.value}"
            for status in JobStatus
            if self.counts[status.value]
        )
        return f"{self.batch.status}: {counts or 'nothing to write'}"


def progress(session: Session, batch_id: uuid.UUID) -> Progress:
    found = get(session, batch_id)
    session.refresh(found)
    return progress_of(session, [found])[0]


def progress_of(session: Session, found: Sequence[DraftBatch]) -> list[Progress]:
    """Each batch's progress, reading the jobs of all of them once (a page of batches)."""
    tallies = queries.job_tallies(session, [batch.id for batch in found])
    return [progress_from(batch, tallies.get(batch.id, [])) for batch in found]


def progress_from(batch: DraftBatch, tallies: Sequence[queries.JobTally]) -> Progress:
    """A batch's progress from its jobs' tallies by status and writer."""
    counts: Counter[str] = Counter()
    usage = Usage()
    for tally in tallies:
        counts[tally.status] += tally.jobs
        usage += tally.usage
    costs = [tally.cost_micros for tally in tallies if tally.cost_micros is not None]
    return Progress(
        batch=batch,
        counts=counts,
        usage=usage,
        cost_micros=sum(costs) if costs else None,
        unpriced=sum(tally.unpriced for tally in tallies),
        models=tuple(sorted({tally.writer for tally in tallies if tally.writer})),
    )


def by_ai(model: str | None) -> bool:
    """Whether a draft's writer (EmailDraft.model) is an AI: neither a person nor the template
    drafter."""
    return bool(model) and model != TEMPLATE_MODEL


def writer_name(model: str) -> str:
    """A draft writer as people know it: "the template drafter (no AI)" or the model's name."""
    return "the template drafter (no AI)" if model == TEMPLATE_MODEL else model


# A person steering a batch ---------------------------------------------------------------------


def resume(session: Session, batch_id: uuid.UUID) -> None:
    """A paused batch (after a spend limit was raised, say) goes on where it stopped."""
    transition(session, DraftBatch, batch_id, BatchStatus.queued, BATCHES, pause_reason=None)


def pause(session: Session, batch_id: uuid.UUID, reason: str) -> None:
    transition(session, DraftBatch, batch_id, BatchStatus.paused, BATCHES, pause_reason=reason)


def cancel(session: Session, batch_id: uuid.UUID, now: datetime) -> int:
    """Stops a batch: jobs not yet taken are cancelled (a job being written still lands).
    Returns how many jobs were cancelled."""
    transition(session, DraftBatch, batch_id, BatchStatus.cancelled, BATCHES, finished_at=now)
    return transition_many(
        session,
        DraftJob,
        (DraftJob.batch_id == batch_id,),
        JobStatus.cancelled,
        JOBS,
        finished_at=now,
    )


def retry_failed(session: Session, batch_id: uuid.UUID, now: datetime) -> int:
    """The batch's failed jobs are tried again (after fixing a template, say)."""
    found = get(session, batch_id)
    count = transition_many(
        session,
        DraftJob,
        (DraftJob.batch_id == batch_id, DraftJob.status == JobStatus.failed.value),
        JobStatus.queued,
        JOBS,
        attempts=0,
        next_attempt_at=now,
        error=None,
        finished_at=None,
    )
    if count:
        reopen(session, found.id)
    return count


def reopen(session: Session, batch_id: uuid.UUID) -> None:
    """A batch given new work is queued again, unless it is paused (it waits for a person) or
    already queued or running."""
    transition_many(
        session,
        DraftBatch,
        (DraftBatch.id == batch_id, DraftBatch.status != BatchStatus.paused.value),
        BatchStatus.queued,
        BATCHES,
        finished_at=None,
    )
