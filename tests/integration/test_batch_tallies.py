"""A draft batch's progress (the batches page, /api/v1/draft-batches) comes from the tallies
migration 0036's triggers keep, and says what its jobs say: after jobs are written, fail, are
tried again or cancelled, are deleted with their batch, their contact or their draft, are
written by plain SQL in any order, and when two workers write the same batch at once."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.campaigns.states import DraftType
from outreach.contacts.models import Contact
from outreach.delivery import contacted
from outreach.drafts import batches, queries
from outreach.drafts.models import DraftBatch, DraftBatchTally, DraftJob, EmailDraft
from outreach.drafts.pricing import Usage
from outreach.drafts.states import JobStatus
from outreach.drafts.writing import write_pending
from tests.drafts_setup import BRIEF, RECENT, NoJitter, claude_container, people, template
from tests.plain_sql import contact
from tests.sample_data import container_on


def from_jobs(session: Session, batch_id: uuid.UUID) -> tuple[object, ...]:
    """A batch's progress as a read of every one of its jobs gives it."""
    session.expire_all()
    jobs = session.scalars(sa.select(DraftJob).where(DraftJob.batch_id == batch_id)).all()
    costs = [job.cost_micros for job in jobs if job.cost_micros is not None]
    return (
        dict(Counter(job.status for job in jobs)),
        sum(
            (
                Usage(j.input_tokens, j.output_tokens, j.cache_read_tokens, j.cache_write_tokens)
                for j in jobs
            ),
            Usage(),
        ),
        sum(costs) if costs else None,
        sum(1 for j in jobs if j.cost_micros is None and j.input_tokens + j.output_tokens > 0),
        tuple(sorted({j.model for j in jobs if j.model and j.draft_id})),
    )


def shown(session: Session, batch_id: uuid.UUID) -> tuple[object, ...]:
    """A batch's progress as the page and the API show it."""
    [found] = batches.progress_of(session, [session.get_one(DraftBatch, batch_id)])
    return (+found.counts, found.usage, found.cost_micros, found.unpriced, found.models)


def kept_and_scanned(connection: sa.Connection) -> tuple[set[tuple[object, ...]], ...]:
    """Every kept tally (a key's rows summed) and every tally a full scan of the jobs counts."""
    tally = DraftBatchTally
    kept = sa.select(
        tally.batch_id,
        tally.status,
        tally.model,
        *(sa.func.sum(getattr(tally, name)) for name in queries.TALLIED),
    ).group_by(tally.batch_id, tally.status, tally.model)
    return tuple(
        {
            (row[0], row[1], row[2], *(int(value) for value in row[3:]))
            for row in connection.execute(statement)
            if row[3]
        }
        for statement in (kept, queries.scanned_batch_tallies())
    )


def assert_kept_as_scanned(connection: sa.Connection) -> None:
    kept, scanned = kept_and_scanned(connection)
    assert kept == scanned


def list_batch(session: Session, clock, audience, content: str) -> DraftBatch:  # type: ignore[no-untyped-def]
    first = template(session, clock, content, name=f"Template {uuid.uuid4().hex[:6]}")
    batch = batches.for_list(
        session,
        audience.id,
        batches.instructions([DraftType.first_outreach], first.id),
        clock.now(),
        held=contacted.holds(session, clock.now(), RECENT),
    )
    session.commit()
    return batch


def run(container) -> object:  # type: ignore[no-untyped-def]
    writer = container.draft_writer()
    return write_pending(
        container.sessions,
        writer,
        container.clock,
        concurrency=1,
        deadline_seconds=container.settings.draft_deadline_seconds,
        worker="test-worker",
        rng=NoJitter(),
    )


def test_a_batch_shows_what_its_jobs_say_as_they_are_written_fail_retry_and_cancel(
    session, connection, engine, clock, tmp_path, fake_anthropic
):
    claude = claude_container(tmp_path / "claude", fake_anthropic, engine, connection, clock)
    audience = people(session, clock, tmp_path)
    batch = list_batch(session, clock, audience, BRIEF)
    cancelled = list_batch(session, clock, audience, BRIEF)
    assert shown(session, batch.id) == from_jobs(session, batch.id)
    assert shown(session, batch.id)[0] == {"queued": 3}

    batches.cancel(session, cancelled.id, clock.now())
    session.commit()
    assert shown(session, cancelled.id) == from_jobs(session, cancelled.id)
    assert shown(session, cancelled.id)[0] == {"cancelled": 3}

    fake_anthropic.answer_next_with_content([{"type": "text", "text": "Sure!"}], "end_turn")
    run(claude)
    written = shown(session, batch.id)
    assert written == from_jobs(session, batch.id)
    assert written[0] == {"written": 2, "failed": 1}
    assert written[2]
    assert written[4] == ("claude-sonnet-5-5",)

    batches.retry_failed(session, batch.id, clock.now())
    session.commit()
    assert shown(session, batch.id)[0] == {"written": 2, "queued": 1}
    run(claude)
    assert shown(session, batch.id) == from_jobs(session, batch.id)
    assert shown(session, batch.id)[0] == {"written": 3}
    assert_kept_as_scanned(connection)


def test_jobs_deleted_with_their_contact_draft_or_batch_leave_the_tallies(
    session, connection, container, clock, tmp_path
):
    audience = people(session, clock, tmp_path)
    batch = list_batch(session, clock, audience, "Subject: Hi\nHello {{ first_name }}.")
    run(container)
    assert shown(session, batch.id)[0] == {"written": 3}
    assert shown(session, batch.id)[4] == ("template",)

    job_of_one, job_of_another, _ = session.scalars(
        sa.select(DraftJob).where(DraftJob.batch_id == batch.id)
    ).all()
    session.execute(sa.delete(Contact).where(Contact.id == job_of_one.contact_id))
    assert shown(session, batch.id)[0] == {"written": 2}
    session.execute(sa.delete(EmailDraft).where(EmailDraft.id == job_of_another.draft_id))
    assert shown(session, batch.id) == from_jobs(session, batch.id)
    assert_kept_as_scanned(connection)

    session.execute(sa.delete(DraftBatch).where(DraftBatch.id == batch.id))
    left = sa.select(sa.func.count()).where(DraftBatchTally.batch_id == batch.id)
    assert session.scalar(left) == 0
    assert_kept_as_scanned(connection)


STATUSES = st.sampled_from([status.value for status in JobStatus])
MODELS = st.sampled_from([None, "", "template", "claude-sonnet-5-5", "claude-haiku-5"])
COSTS = st.one_of(st.none(), st.integers(0, 5000))
JOB = st.fixed_dictionaries(
    {
        "status": STATUSES,
        "model": MODELS,
        "input_tokens": st.integers(0, 900),
        "output_tokens": st.integers(0, 900),
        "cache_read_tokens": st.integers(0, 50),
        "cost_micros": COSTS,
        "draft": st.integers(-1, 2),
    }
)
CHANGE = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 1), st.lists(st.tuples(st.integers(0, 2), JOB))),
    st.tuples(st.just("update"), st.integers(0, 30), JOB),
    st.tuples(st.just("update_batch"), st.integers(0, 1), STATUSES),
    st.tuples(st.just("delete"), st.integers(0, 30)),
    st.tuples(st.just("delete_contact"), st.integers(0, 2)),
    st.tuples(st.just("delete_draft"), st.integers(0, 2)),
    st.tuples(st.just("delete_batch"), st.integers(0, 1)),
)


class Jobs:
    """Two batches, three contacts with a draft each (the nth contact's the nth draft), and jobs
    written by plain SQL; what is deleted becomes None."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.contacts = [uuid.UUID(contact(connection, f"p{n}@example.com")) for n in range(3)]
        self.drafts = [
            connection.scalar(
                sa.insert(EmailDraft)
                .values(
                    contact_id=person,
                    draft_type=DraftType.first_outreach,
                    subject="Hi",
                    body="Hello",
                )
                .returning(EmailDraft.id)
            )
            for person in self.contacts
        ]
        self.batches = [
            connection.scalar(
                sa.insert(DraftBatch)
                .values(label=f"Batch {n}", source="list", draft_types=["first_outreach"])
                .returning(DraftBatch.id)
            )
            for n in range(2)
        ]

    def values(self, job: dict[str, object]) -> dict[str, object]:
        draft = int(job["draft"])  # type: ignore[call-overload]
        return {
            **{key: value for key, value in job.items() if key != "draft"},
            "draft_id": self.drafts[draft] if draft >= 0 else None,
        }

    def job(self, which: int) -> uuid.UUID | None:
        ids = self.connection.scalars(sa.select(DraftJob.id).order_by(DraftJob.id)).all()
        return ids[which % len(ids)] if ids else None

    def play(self, change: tuple[object, ...]) -> None:
        connection = self.connection
        match change:
            case ("insert", batch, jobs):
                rows = [
                    {
                        "batch_id": self.batches[batch],  # type: ignore[index]
                        "contact_id": self.contacts[person],
                        "draft_type": DraftType.first_outreach,
                        **self.values(job),
                    }
                    for person, job in jobs  # type: ignore[attr-defined]
                    if self.contacts[person] is not None
                ]
                dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
                if rows and self.batches[batch] is not None:  # type: ignore[index]
                    # One statement for all: PostgreSQL's triggers see them together.
                    connection.execute(
                        dialect.insert(DraftJob).values(rows).on_conflict_do_nothing()
                    )
            case ("update", which, job):
                found = self.job(which)  # type: ignore[arg-type]
                if found:
                    connection.execute(
                        sa.update(DraftJob).where(DraftJob.id == found).values(**self.values(job))  # type: ignore[arg-type]
                    )
            case ("update_batch", batch, status):
                connection.execute(
                    sa.update(DraftJob)
                    .where(DraftJob.batch_id == self.batches[batch])  # type: ignore[index]
                    .values(status=status, error="moved")
                )
            case ("delete", which):
                found = self.job(which)  # type: ignore[arg-type]
                connection.execute(sa.delete(DraftJob).where(DraftJob.id == found))
            case ("delete_contact", person):
                connection.execute(
                    sa.delete(Contact).where(Contact.id == self.contacts[person])  # type: ignore[index]
                )
                # Their draft goes with them (the seed's cascade).
                self.contacts[person] = self.drafts[person] = None  # type: ignore[index, call-overload]
            case ("delete_draft", draft):
                connection.execute(
                    sa.delete(EmailDraft).where(EmailDraft.id == self.drafts[draft])  # type: ignore[index]
                )
                self.drafts[draft] = None  # type: ignore[index, call-overload]
            case ("delete_batch", batch):
                connection.execute(
                    sa.delete(DraftBatch).where(DraftBatch.id == self.batches[batch])  # type: ignore[index]
                )
                self.batches[batch] = None  # type: ignore[index, call-overload]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(changes=st.lists(CHANGE, max_size=20))
def test_the_tallies_equal_a_full_scan_after_any_changes_to_the_jobs(session, changes):
    with session.begin_nested() as example:
        jobs = Jobs(session.connection())
        for change in changes:
            jobs.play(change)
        assert_kept_as_scanned(session.connection())
        example.rollback()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite: one writer
def test_two_workers_writing_one_batch_at_once_neither_waits_and_both_are_counted(
    backend, databases, tmp_path
):
    container = container_on(databases.fresh_url(backend), tmp_path / "own")
    with container.engine.begin() as connection:
        jobs = Jobs(connection)
        jobs.play(("insert", 0, [(n, {**EMPTY_JOB}) for n in range(3)]))
    first, second = container.engine.connect(), container.engine.connect()
    try:
        ids = first.scalars(sa.select(DraftJob.id).order_by(DraftJob.id)).all()
        for worker, job in ((first, ids[0]), (second, ids[1])):
            worker.execute(sa.text("SET lock_timeout = '2s'"))  # waiting would fail the test
            worker.execute(sa.update(DraftJob).where(DraftJob.id == job).values(status="writing"))
        second.commit()
        first.commit()
        assert_kept_as_scanned(first)
        rows = sa.select(sa.func.count()).where(DraftBatchTally.status == "writing")
        assert first.scalar(rows) == 2  # each its own row: the other held the key's
        first.execute(sa.update(DraftJob).where(DraftJob.id == ids[2]).values(status="writing"))
        first.commit()
        assert first.scalar(rows) == 1  # the next writer folded them together
        assert_kept_as_scanned(first)
    finally:
        first.close()
        second.close()
        container.close()


EMPTY_JOB = {
    "status": "queued",
    "model": None,
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cost_micros": None,
    "draft": -1,
}
