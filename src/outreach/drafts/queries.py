"""SQL for email drafts."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.campaigns.models import CampaignSequence
from outreach.campaigns.states import DraftType
from outreach.contacts.models import Contact, ContactListMember
from outreach.db import Base, keyset_scalars
from outreach.drafts.models import DraftBatch, DraftBatchTally, DraftJob, EmailDraft, EmailStatus
from outreach.drafts.pricing import Usage
from outreach.drafts.states import (
    ACTIVE_BATCHES,
    BATCHES,
    DRAFTS,
    JOBS,
    UNFINISHED_JOBS,
    BatchStatus,
    JobStatus,
)
from outreach.errors import NotFound, ValidationFailed
from outreach.states import transition, transition_each, transition_many
from outreach.words import changed_counts

ACTIVE_VALUES = tuple(status.value for status in ACTIVE_BATCHES)
UNFINISHED_VALUES = tuple(status.value for status in UNFINISHED_JOBS)


def scheduled_draft(
    *,
    contact_id: uuid.UUID,
    draft_type: DraftType,
    subject: str,
    body: str,
    at: datetime,
) -> dict[str, Any]:
    """The row of a draft a campaign step wrote, for add_drafts: approved with the step's
    template by its author and scheduled at once. Inserted in that state, so the seed's approval
    counter is not touched: that counts people approving drafts one by one."""
    return {
        "id": uuid.uuid4(),
        "contact_id": contact_id,
        "draft_type": draft_type,
        "subject": subject,
        "body": body,
        "status": EmailStatus.scheduled,
        "approved_at": at,
        "created_at": at,
        "updated_at": at,
    }


def add_drafts(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Inserts these rows (each with its id) in one executemany, on the table: the ORM's bulk
    machinery costs more than the statement."""
    if rows:
        session.execute(sa.insert(Base.metadata.tables[EmailDraft.__tablename__]), list(rows))


def move(session: Session, draft_id: uuid.UUID, target: EmailStatus, **values: Any) -> None:
    """The draft's status changes, if its current status allows (drafts/states.py)."""
    transition(session, EmailDraft, draft_id, target, DRAFTS, **values)


def move_all(session: Session, draft_ids: Collection[uuid.UUID], target: EmailStatus) -> None:
    """Each of these drafts changes status, in one statement; InvalidTransition when one's
    status does not allow it."""
    moved = transition_each(session, EmailDraft, set(draft_ids), target, DRAFTS)
    for draft_id in set(draft_ids) - moved:
        move(session, draft_id, target)  # refused: transition() says why, in the usual words


def by_id(session: Session, draft_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, EmailDraft]:
    if not draft_ids:
        return {}
    found = session.scalars(sa.select(EmailDraft).where(EmailDraft.id.in_(list(draft_ids))))
    return {draft.id: draft for draft in found}


def id_from_start(session: Session, table: Any, text: str, noun: str) -> uuid.UUID:
    """A row's id from its full text or a unique beginning of 4 characters or more (as the CLI
    shows ids: their first 8)."""
    cleaned = text.strip().lower()
    try:
        return uuid.UUID(cleaned)
    except ValueError:
        pass
    if len(cleaned) < 4 or not all(c in "0123456789abcdef-" for c in cleaned):
        raise ValidationFailed(f"{text!r} is not a {noun} id.")
    found: list[uuid.UUID] = list(
        session.scalars(
            sa.select(table.id).where(sa.cast(table.id, sa.Text).startswith(cleaned)).limit(2)
        )
    )
    if not found:
        raise NotFound(f"There is no {noun} {text}.", id=text)
    if len(found) > 1:
        raise ValidationFailed(f"More than one {noun} starts with {text}: give more of the id.")
    return found[0]


def contact_emails(session: Session, draft_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each draft's contact's address, to name drafts to a person."""
    rows = session.execute(
        sa.select(EmailDraft.id, Contact.email)
        .join(Contact, Contact.id == EmailDraft.contact_id)
        .where(EmailDraft.id.in_(list(draft_ids)))
    )
    return {row[0]: row[1] for row in rows}


def get(session: Session, draft_id: uuid.UUID) -> EmailDraft | None:
    return session.get(EmailDraft, draft_id)


def add_written(
    session: Session,
    *,
    contact_id: uuid.UUID,
    draft_type: DraftType,
    subject: str,
    body: str,
    at: datetime,
    provenance: Mapping[str, Any] | None = None,
) -> EmailDraft:
    """A draft a person (or a writer, with its provenance columns) wrote, waiting for
    approval."""
    draft = EmailDraft(
        contact_id=contact_id,
        draft_type=draft_type,
        subject=subject,
        body=body,
        status=EmailStatus.draft,
        created_at=at,
        updated_at=at,
        **(provenance or {}),
    )
    session.add(draft)
    session.flush()
    return draft


def approve(session: Session, draft_id: uuid.UUID, at: datetime) -> None:
    """A person approved the draft (the seed's trigger counts it on the day of `at`)."""
    move(session, draft_id, EmailStatus.approved, approved_at=at)


# Batches and jobs ------------------------------------------------------------------------------


def recent_batches(session: Session, limit: int = 50) -> list[DraftBatch]:
    return list(
        session.scalars(
            sa.select(DraftBatch).order_by(DraftBatch.created_at.desc(), DraftBatch.id).limit(limit)
        )
    )


def batches_page(
    session: Session, after: str | None, limit: int
) -> tuple[list[DraftBatch], str | None]:
    """A page of draft batches, newest first."""
    return keyset_scalars(
        session,
        sa.select(DraftBatch),
        DraftBatch.created_at,
        DraftBatch.id,
        after,
        limit,
        descending=True,
    )


def campaign_batch(session: Session, campaign_id: uuid.UUID) -> DraftBatch | None:
    """The campaign's own batch (unique per campaign), which its AI-written steps add to."""
    return session.scalar(sa.select(DraftBatch).where(DraftBatch.campaign_id == campaign_id))


def insert_jobs(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Plain inserts of a list's or an upload's jobs (the batch is new: nothing to collide)."""
    if rows:
        session.execute(sa.insert(DraftJob), list(rows))


def insert_step_jobs(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Jobs for campaign steps, one per (step, contact) whatever ran before: a row another
    worker inserted meanwhile (uq_draft_jobs_campaign_step_id_contact_id) is left alone."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(DraftJob).on_conflict_do_nothing(), list(rows))


@dataclass(frozen=True)
class JobTally:
    """A batch's jobs of one status and writer: how many, their tokens and estimated cost (None
    when none of them has one), and how many used tokens without a cost estimate."""

    status: str
    writer: str | None
    """The model that wrote their drafts; None when none of them wrote one."""
    jobs: int
    usage: Usage
    cost_micros: int | None
    unpriced: int


TALLIES: sa.Table = DraftBatchTally.__table__  # type: ignore[assignment]
TALLIED = (
    "jobs",
    "drafts",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_micros",
    "priced",
    "unpriced",
)
"""What draft_batch_tallies holds of each (batch, status, model), beside the key."""


def job_tallies(
    session: Session, batch_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[JobTally]]:
    """Each of these batches' jobs by status and writer, for a page of batches: the tallies
    migration 0036's triggers keep as jobs are written, a few rows a batch however many jobs it
    has (grouping the jobs read 300,000 of them for a page at ten times the seed's volume). A
    key's rows are summed: on PostgreSQL writers that meet add rows rather than wait."""
    if not batch_ids:
        return {}
    tally = DraftBatchTally
    rows = session.execute(
        sa.select(
            tally.batch_id,
            tally.status,
            tally.model,
            *(sa.func.sum(getattr(tally, name)) for name in TALLIED),
        )
        .where(tally.batch_id.in_(list(batch_ids)))
        .group_by(tally.batch_id, tally.status, tally.model)
        .having(sa.func.sum(tally.jobs) > 0)
    )
    found: dict[uuid.UUID, list[JobTally]] = {}
    for batch_id, status, model, *sums in rows:
        kept = dict(zip(TALLIED, (int(value) for value in sums), strict=True))
        found.setdefault(batch_id, []).append(
            JobTally(
                status=status,
                writer=(model or None) if kept["drafts"] else None,
                jobs=kept["jobs"],
                usage=Usage(
                    kept["input_tokens"],
                    kept["output_tokens"],
                    kept["cache_read_tokens"],
                    kept["cache_write_tokens"],
                ),
                cost_micros=kept["cost_micros"] if kept["priced"] else None,
                unpriced=kept["unpriced"],
            )
        )
    return found


def scanned_batch_tallies() -> sa.Select[Any]:
    """Every batch's tallies counted from its jobs, as migration 0036's triggers keep them:
    what a rebuild writes, and what the kept tallies must equal. Grouped by columns first
    (PostgreSQL estimates those groups from statistics, an expression's as a group a row), then
    the jobs without a model put with those of an empty one, as the key has it."""
    known = DraftJob.cost_micros.is_not(None)
    used_tokens = (DraftJob.input_tokens + DraftJob.output_tokens) > 0
    by_columns = (
        sa.select(
            DraftJob.batch_id,
            DraftJob.status,
            DraftJob.model,
            sa.func.count().label("jobs"),
            sa.func.count(DraftJob.draft_id).label("drafts"),
            sa.func.sum(DraftJob.input_tokens).label("input_tokens"),
            sa.func.sum(DraftJob.output_tokens).label("output_tokens"),
            sa.func.sum(DraftJob.cache_read_tokens).label("cache_read_tokens"),
            sa.func.sum(DraftJob.cache_write_tokens).label("cache_write_tokens"),
            sa.func.coalesce(sa.func.sum(DraftJob.cost_micros), 0).label("cost_micros"),
            sa.func.count().filter(known).label("priced"),
            sa.func.count().filter(~known, used_tokens).label("unpriced"),
        )
        .group_by(DraftJob.batch_id, DraftJob.status, DraftJob.model)
        .subquery()
    )
    model = sa.func.coalesce(by_columns.c.model, "")
    return sa.select(
        by_columns.c.batch_id,
        by_columns.c.status,
        model.label("model"),
        *(sa.func.sum(by_columns.c[name]).label(name) for name in TALLIED),
    ).group_by(by_columns.c.batch_id, by_columns.c.status, model)


def rebuild_batch_tallies(connection: sa.Connection) -> None:
    """Tallies every batch's jobs again, for writes the triggers did not see (an import, which
    they stand aside for): what an import ends with, as the lists' sizes."""
    connection.execute(sa.delete(TALLIES))
    connection.execute(
        sa.insert(TALLIES).from_select(
            ["batch_id", "status", "model", *TALLIED], scanned_batch_tallies()
        )
    )


@dataclass(frozen=True)
class TallyDifference:
    """A batch's jobs of one status and model whose kept tally is not what its jobs say."""

    label: str
    status: str
    model: str
    kept: Mapping[str, int]
    scanned: Mapping[str, int]

    def describe(self) -> str:
        jobs = f"{self.status} jobs" + (f" by {self.model}" if self.model else "")
        kept, scanned = SimpleNamespace(**self.kept), SimpleNamespace(**self.scanned)
        changed = changed_counts(kept, scanned, TALLIED)
        return f"draft batch {self.label!r}, {jobs}: {changed}"


def batch_tally_differences(connection: sa.Connection) -> list[TallyDifference]:
    """Every (batch, status, model) whose kept tallies, summed over their rows, differ from a
    count of the batch's jobs."""
    kept_rows = sa.select(
        TALLIES.c.batch_id,
        TALLIES.c.status,
        TALLIES.c.model,
        *(sa.func.sum(TALLIES.c[name]).label(name) for name in TALLIED),
    ).group_by(TALLIES.c.batch_id, TALLIES.c.status, TALLIES.c.model)
    kept = _tallies_by_key(connection, kept_rows)
    scanned = _tallies_by_key(connection, scanned_batch_tallies())
    labels = {
        row[0]: row[1] for row in connection.execute(sa.select(DraftBatch.id, DraftBatch.label))
    }
    nothing = dict.fromkeys(TALLIED, 0)
    return [
        TallyDifference(
            labels.get(key[0], str(key[0])),
            key[1],
            key[2],
            kept.get(key, nothing),
            scanned.get(key, nothing),
        )
        for key in sorted(kept.keys() | scanned.keys(), key=lambda k: (str(k[0]), k[1], k[2]))
        if kept.get(key, nothing) != scanned.get(key, nothing)
    ]


def _tallies_by_key(
    connection: sa.Connection, statement: sa.Select[Any]
) -> dict[tuple[uuid.UUID, str, str], dict[str, int]]:
    """(batch, status, model) → its tallies, leaving out keys whose every tally is zero (a
    kept row whose jobs have all moved on stays, at zero, for the next ones)."""
    found = {}
    for row in connection.execute(statement).mappings():
        figures = {name: int(row[name] or 0) for name in TALLIED}
        if any(figures.values()):
            found[(row["batch_id"], row["status"], row["model"])] = figures
    return found


def jobs_of(
    session: Session, batch_id: uuid.UUID, statuses: Sequence[str], limit: int = 200
) -> list[tuple[DraftJob, Contact]]:
    """The batch's first `limit` jobs of these statuses, with their contacts, by address."""
    return jobs_of_batches(session, [batch_id], statuses, limit).get(batch_id, [])


def jobs_of_batches(
    session: Session, batch_ids: Collection[uuid.UUID], statuses: Sequence[str], limit: int
) -> dict[uuid.UUID, list[tuple[DraftJob, Contact]]]:
    """jobs_of for each of these batches, in one statement for a page of batches: each batch's
    jobs are numbered by address and the first `limit` kept."""
    if not batch_ids:
        return {}
    place = (
        sa.func.row_number()
        .over(partition_by=DraftJob.batch_id, order_by=(Contact.email, DraftJob.position))
        .label("place")
    )
    numbered = (
        sa.select(DraftJob.id, place)
        .join(Contact, Contact.id == DraftJob.contact_id)
        .where(DraftJob.batch_id.in_(list(batch_ids)), DraftJob.status.in_(statuses))
        .subquery()
    )
    rows = session.execute(
        sa.select(DraftJob, Contact)
        .join(numbered, numbered.c.id == DraftJob.id)
        .join(Contact, Contact.id == DraftJob.contact_id)
        .where(numbered.c.place <= limit)
        .order_by(DraftJob.batch_id, numbered.c.place)
    )
    found: dict[uuid.UUID, list[tuple[DraftJob, Contact]]] = {}
    for job, contact in rows:
        found.setdefault(job.batch_id, []).append((job, contact))
    return found


def claim_jobs(
    session: Session,
    now: datetime,
    limit: int,
    worker: str,
    batch_id: uuid.UUID | None = None,
) -> list[DraftJob]:
    """Takes up to `limit` queued jobs that may be tried now, of batches a worker may work on,
    for this worker (queued → writing, attempts + 1). A follow-up waits until the jobs before
    it for the same contact in its batch are done, so it can build on their drafts.

    FOR UPDATE SKIP LOCKED on PostgreSQL, so workers sharing the database take different jobs
    without waiting for each other; SQLite has one writer (BEGIN IMMEDIATE) already. The UPDATE
    repeats the preconditions, as every claim does. ix_draft_jobs_status_next_attempt_at
    serves the search."""
    earlier = sa.orm.aliased(DraftJob)
    blocked = sa.select(earlier.id).where(
        earlier.batch_id == DraftJob.batch_id,
        earlier.contact_id == DraftJob.contact_id,
        earlier.position < DraftJob.position,
        earlier.status.in_(UNFINISHED_VALUES),
    )
    active = sa.select(DraftBatch.id).where(DraftBatch.status.in_(ACTIVE_VALUES))
    conditions = [
        DraftJob.status == JobStatus.queued.value,
        DraftJob.next_attempt_at <= now,
        DraftJob.batch_id.in_(active),
        ~blocked.exists(),
    ]
    if batch_id is not None:
        conditions.append(DraftJob.batch_id == batch_id)
    statement = (
        sa.select(DraftJob.id)
        .where(*conditions)
        .order_by(DraftJob.next_attempt_at, DraftJob.position, DraftJob.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=DraftJob)
    chosen = list(session.scalars(statement))
    if not chosen:
        return []
    transition_many(
        session,
        DraftJob,
        (DraftJob.id.in_(chosen), DraftJob.batch_id.in_(active)),
        JobStatus.writing,
        JOBS,
        claimed_at=now,
        claimed_by=worker,
        attempts=DraftJob.attempts + 1,
    )
    taken = list(
        session.scalars(
            sa.select(DraftJob)
            .where(
                DraftJob.id.in_(chosen),
                DraftJob.status == JobStatus.writing.value,
                DraftJob.claimed_by == worker,
            )
            .execution_options(populate_existing=True)
        )
    )
    # The batches these jobs start, skipping one another claimer holds: it starts it too.
    starting = sa.select(DraftBatch.id).where(
        DraftBatch.id.in_({job.batch_id for job in taken}),
        DraftBatch.status == BatchStatus.queued.value,
    )
    if session.get_bind().dialect.name == "postgresql":
        # NO KEY UPDATE: another claimer's jobs add rows to the batch's tallies (migration 0036),
        # whose foreign key shares the batch row; FOR UPDATE would make that claim wait.
        starting = starting.with_for_update(skip_locked=True, key_share=True)
    started = list(session.scalars(starting))
    if started:
        transition_many(
            session,
            DraftBatch,
            (DraftBatch.id.in_(started),),
            BatchStatus.running,
            BATCHES,
            started_at=sa.func.coalesce(DraftBatch.started_at, now),
        )
    return taken


def release(session: Session, job_ids: Sequence[uuid.UUID], worker: str) -> int:
    """Jobs this worker claimed but never started go back to the queue, the try not counted."""
    if not job_ids:
        return 0
    return transition_many(
        session,
        DraftJob,
        (DraftJob.id.in_(job_ids), DraftJob.claimed_by == worker),
        JobStatus.queued,
        JOBS,
        attempts=DraftJob.attempts - 1,
        claimed_by=None,
    )


def requeue_stale(session: Session, before: datetime) -> int:
    """Jobs a worker took before `before` and never finished (it crashed or was killed) may be
    written again: a draft is only stored once its job is recorded, so nothing doubles."""
    return transition_many(
        session,
        DraftJob,
        (DraftJob.status == JobStatus.writing.value, DraftJob.claimed_at < before),
        JobStatus.queued,
        JOBS,
        error="the worker writing it stopped",
    )


def next_attempt(session: Session, batch_id: uuid.UUID | None = None) -> datetime | None:
    """When the earliest queued job of an active batch may be tried."""
    statement = sa.select(sa.func.min(DraftJob.next_attempt_at)).where(
        DraftJob.status == JobStatus.queued.value,
        DraftJob.batch_id.in_(sa.select(DraftBatch.id).where(DraftBatch.status.in_(ACTIVE_VALUES))),
    )
    if batch_id is not None:
        statement = statement.where(DraftJob.batch_id == batch_id)
    found: datetime | None = session.scalar(statement)
    return found


def finish_done_batches(session: Session, batch_ids: Iterable[uuid.UUID], now: datetime) -> int:
    """Batches among these with no job left to write are completed."""
    ids = list(batch_ids)
    if not ids:
        return 0
    unfinished = sa.select(DraftJob.id).where(
        DraftJob.batch_id == DraftBatch.id, DraftJob.status.in_(UNFINISHED_VALUES)
    )
    return transition_many(
        session,
        DraftBatch,
        (DraftBatch.id.in_(ids), ~unfinished.exists()),
        BatchStatus.completed,
        BATCHES,
        finished_at=now,
    )


def existing_drafts(
    session: Session, contact_ids: Sequence[uuid.UUID], types: Sequence[DraftType]
) -> list[EmailDraft]:
    """The drafts these contacts have of these types (idx_email_drafts_contact serves it)."""
    if not contact_ids:
        return []
    return list(
        session.scalars(
            sa.select(EmailDraft).where(
                EmailDraft.contact_id.in_(contact_ids),
                EmailDraft.draft_type.in_([t.value for t in types]),
            )
        )
    )


def contacts_after(
    session: Session,
    after: uuid.UUID | None,
    limit: int,
    *,
    list_id: uuid.UUID | None = None,
    upload_batch_id: uuid.UUID | None = None,
) -> list[tuple[uuid.UUID, str]]:
    """(id, email) of a list's members or an upload's contacts, a slice at a time in id order
    (keyset on the primary key)."""
    statement = sa.select(Contact.id, Contact.email).order_by(Contact.id).limit(limit)
    if list_id is not None:
        statement = statement.join(
            ContactListMember, ContactListMember.contact_id == Contact.id
        ).where(ContactListMember.list_id == list_id)
    if upload_batch_id is not None:
        statement = statement.where(Contact.upload_batch_id == upload_batch_id)
    if after is not None:
        statement = statement.where(Contact.id > after)
    return [(row[0], row[1]) for row in session.execute(statement)]


def job_of_draft(session: Session, draft_id: uuid.UUID) -> DraftJob | None:
    """The job that wrote the draft, the latest if several did."""
    return jobs_of_drafts(session, [draft_id]).get(draft_id)


def jobs_of_drafts(session: Session, draft_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, DraftJob]:
    """The job that wrote each of these drafts, the latest if several did, in one statement for
    a page of drafts (ix_draft_jobs_draft_id)."""
    if not draft_ids:
        return {}
    found: dict[uuid.UUID, DraftJob] = {}
    for job in session.scalars(
        sa.select(DraftJob)
        .where(DraftJob.draft_id.in_(list(draft_ids)))
        .order_by(DraftJob.created_at.desc())
    ):
        if job.draft_id is not None:
            found.setdefault(job.draft_id, job)
    return found


def step_job(session: Session, step_id: uuid.UUID, contact_id: uuid.UUID) -> DraftJob | None:
    """The job writing a campaign step for a contact (unique per step and contact)."""
    return session.scalar(
        sa.select(DraftJob).where(
            DraftJob.campaign_step_id == step_id, DraftJob.contact_id == contact_id
        )
    )


def step_draft_owners(
    session: Session, draft_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(campaign, contact) of each of these drafts written for a campaign step."""
    rows = session.execute(
        sa.select(CampaignSequence.campaign_id, DraftJob.contact_id)
        .join(CampaignSequence, CampaignSequence.id == DraftJob.campaign_step_id)
        .where(DraftJob.draft_id.in_(list(draft_ids)))
    )
    return [(campaign_id, contact_id) for campaign_id, contact_id in rows]


def earlier_drafts(
    session: Session, contact_ids: Collection[uuid.UUID], types: Collection[DraftType]
) -> list[EmailDraft]:
    """These contacts' drafts of these types that were not rejected, newest first (one
    statement for a page of drafts)."""
    if not types or not contact_ids:
        return []
    return list(
        session.scalars(
            sa.select(EmailDraft)
            .where(
                EmailDraft.contact_id.in_(list(contact_ids)),
                EmailDraft.draft_type.in_([t.value for t in types]),
                EmailDraft.rejected_at.is_(None),
            )
            .order_by(EmailDraft.created_at.desc())
        )
    )
