"""Draft batches as rows in states, written by workers: planning, claims, retries, pauses,
failures, deadlines, cost, on both backends. Claude is the fake Anthropic API on loopback."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.analytics.models import EmailAnalytics
from outreach.campaigns.states import DraftType
from outreach.contacts import suppressions
from outreach.delivery import contacted
from outreach.drafts import batches, queries, review
from outreach.drafts.models import DraftJob, EmailDraft, EmailStatus
from outreach.drafts.pricing import Usage, cost_micros
from outreach.drafts.states import BatchStatus, JobStatus
from outreach.drafts.writers.base import DraftRequest, WrittenDraft
from outreach.drafts.writers.template import TemplateWriter
from outreach.drafts.writing import RETRY_POLICY, write_pending
from outreach.worker.jobs import JOBS, write_drafts
from tests.drafts_setup import (
    BRIEF,
    FIRST_EMAIL,
    FOLLOW_UP,
    RECENT,
    NoJitter,
    claude_container,
    contact,
    people,
    template,
)
from tests.sample_data import container_on

BOTH = [DraftType.first_outreach, DraftType.second_followup]


def run(container, **options) -> object:
    """One writing run as the worker does it, retries at exactly the time asked."""
    writer = container.draft_writer()
    try:
        return write_pending(
            container.sessions,
            writer,
            container.clock,
            concurrency=container.settings.draft_concurrency,
            deadline_seconds=options.pop("deadline", container.settings.draft_deadline_seconds),
            worker="test-worker",
            rng=NoJitter(),
            **options,
        )
    finally:
        getattr(writer, "close", lambda: None)()


def jobs(session: Session, batch_id) -> list[DraftJob]:
    session.expire_all()
    return list(
        session.scalars(
            sa.select(DraftJob).where(DraftJob.batch_id == batch_id).order_by(DraftJob.position)
        )
    )


def drafts_of(session: Session, email: str) -> list[EmailDraft]:
    session.expire_all()
    found = contact(session, email)
    return list(
        session.scalars(
            sa.select(EmailDraft)
            .where(EmailDraft.contact_id == found.id)
            .order_by(EmailDraft.draft_type)
        )
    )


def created_today(session: Session) -> int:
    session.expire_all()
    row = session.scalar(sa.select(EmailAnalytics.total_drafts_created))
    return row or 0


@pytest.fixture
def audience(session, clock, tmp_path):
    return people(session, clock, tmp_path)


@pytest.fixture
def claude(fake_anthropic, tmp_path, engine, connection, clock):
    return claude_container(tmp_path / "claude", fake_anthropic, engine, connection, clock)


def list_batch(session, clock, audience, types=(DraftType.first_outreach,), content=None):
    name = f"Template {uuid.uuid4().hex[:6]}"
    first = template(session, clock, content or FIRST_EMAIL, name=name)
    asked = batches.instructions(list(types), first.id)
    if DraftType.second_followup in types:
        follow = template(session, clock, FOLLOW_UP, name=f"{name} follow-up")
        asked = batches.Instructions(
            {DraftType.first_outreach: first.id, DraftType.second_followup: follow.id}
        )
    batch = batches.for_list(
        session, audience.id, asked, clock.now(), held=contacted.holds(session, clock.now(), RECENT)
    )
    session.commit()
    return batch


# Planning and writing ---------------------------------------------------------------------------


def test_a_batch_writes_one_draft_per_contact_and_type_and_the_seed_counts_them(
    session, container, clock, audience
):
    batch = list_batch(session, clock, audience, BOTH)
    before = created_today(session)

    report = run(container)

    assert len(report.written) == 6
    ada = drafts_of(session, "ada@analytical.example")
    first = next(d for d in ada if d.draft_type == DraftType.first_outreach)
    follow = next(d for d in ada if d.draft_type == DraftType.second_followup)
    assert first.subject == "Routes for Analytical Engines"
    assert "How are the roads in London" in first.body
    # The follow-up waited for the first email of its contact, and answers its thread.
    assert follow.subject == "Re: Routes for Analytical Engines"
    assert follow.body == "Hi Ada, just checking you saw my note about London."
    assert {d.status for d in ada} == {EmailStatus.draft}
    assert first.model == "template"
    assert created_today(session) == before + 6
    progress = batches.progress(session, batch.id)
    assert progress.batch.status == BatchStatus.completed
    assert progress.counts[JobStatus.written.value] == 6
    assert progress.done == progress.total == 6
    assert progress.cost == "$0.00"


def test_running_again_never_rewrites_an_approved_or_an_edited_draft(
    session, container, clock, audience
):
    list_batch(session, clock, audience)
    run(container)
    ada = drafts_of(session, "ada@analytical.example")[0]
    alan = drafts_of(session, "alan@bletchley.example")[0]
    grace = drafts_of(session, "grace@navy.example")[0]
    review.approve(session, ada.id, clock.now())
    review.edit(session, alan.id, alan.subject, alan.body + "\n\nP.S. Bletchley!", clock.now())
    session.commit()

    again = list_batch(session, clock, audience, content="Subject: New\nHi {{ first_name }}.")
    reasons = {contact_email(session, j): j.error for j in jobs(session, again.id)}
    assert reasons == {
        "ada@analytical.example": batches.SKIP_APPROVED,
        "alan@bletchley.example": batches.SKIP_EDITED,
        "grace@navy.example": batches.SKIP_WAITING,
    }
    assert batches.progress(session, again.id).batch.status == BatchStatus.completed

    rewrite = batches.for_list(
        session,
        audience.id,
        batches.instructions(
            [DraftType.first_outreach],
            template(session, clock, "Subject: New\nHi {{ first_name }}.", "New").id,
        ),
        clock.now(),
        rewrite_unreviewed=True,
        held=contacted.holds(session, clock.now(), RECENT),
    )
    session.commit()
    run(container)

    statuses = {contact_email(session, j): j.status for j in jobs(session, rewrite.id)}
    assert statuses == {
        "ada@analytical.example": JobStatus.skipped,
        "alan@bletchley.example": JobStatus.skipped,
        "grace@navy.example": JobStatus.written,
    }
    rewritten = drafts_of(session, "grace@navy.example")
    assert [d.id for d in rewritten] == [grace.id]
    assert (rewritten[0].subject, rewritten[0].body) == ("New", "Hi Grace.")
    assert drafts_of(session, "ada@analytical.example")[0].subject == ada.subject
    assert drafts_of(session, "alan@bletchley.example")[0].edited_body.endswith("Bletchley!")


def contact_email(session: Session, job: DraftJob) -> str:
    from outreach.contacts.models import Contact

    found = session.get(Contact, job.contact_id)
    assert found is not None
    return found.email


def test_running_again_says_which_drafts_are_scheduled_or_sent_already(
    session, container, clock, audience
):
    list_batch(session, clock, audience)
    run(container)
    ada = drafts_of(session, "ada@analytical.example")[0]
    alan = drafts_of(session, "alan@bletchley.example")[0]
    for draft in (ada, alan):
        queries.move(session, draft.id, EmailStatus.scheduled)
    queries.move(session, alan.id, EmailStatus.sent)
    session.commit()

    again = list_batch(session, clock, audience, content="Subject: New\nHi {{ first_name }}.")
    reasons = {contact_email(session, j): j.error for j in jobs(session, again.id)}
    assert reasons["ada@analytical.example"] == "this draft is scheduled to go already"
    assert reasons["alan@bletchley.example"] == (
        "an email of this kind went to this contact already (a campaign's or a one-off)"
    )


def test_a_suppressed_contact_gets_no_draft(session, container, clock, audience):
    suppressions.add(
        session, "navy.example", suppressions.Reason.manual, "not a customer", clock.now()
    )
    batch = list_batch(session, clock, audience)

    run(container)

    assert not drafts_of(session, "grace@navy.example")
    skipped = [j for j in jobs(session, batch.id) if j.status == JobStatus.skipped]
    assert [j.error for j in skipped] == [batches.SKIP_SUPPRESSED]


def test_a_contact_whose_template_cannot_be_filled_fails_and_the_batch_goes_on(
    session, container, clock, tmp_path
):
    audience = people(
        session,
        clock,
        tmp_path,
        "email,name,company\nada@analytical.example,Ada Lovelace,Analytical Engines\n"
        "nobody@nowhere.example,,\n",
    )
    batch = list_batch(session, clock, audience, content="Subject: Hi\nHello {{ company }}.")

    report = run(container)

    assert len(report.written) == 1
    assert len(report.failed) == 1
    assert "nobody@nowhere.example" in report.failed[0]
    failed = [j for j in jobs(session, batch.id) if j.status == JobStatus.failed]
    assert "company" in (failed[0].error or "")
    assert not drafts_of(session, "nobody@nowhere.example")
    assert batches.progress(session, batch.id).batch.status == BatchStatus.completed


# Claude: retries, pauses, refusals, deadlines, cost --------------------------------------------


def test_a_rate_limited_draft_waits_as_long_as_the_api_asked_then_is_written(
    session, claude, clock, audience, fake_anthropic
):
    batch = list_batch(session, clock, audience, content=BRIEF)
    fake_anthropic.rate_limit_next(retry_after="7")

    report = run(claude)

    assert len(report.written) == 2
    assert len(report.retrying) == 1
    waiting = [j for j in jobs(session, batch.id) if j.status == JobStatus.queued]
    assert len(waiting) == 1
    assert waiting[0].next_attempt_at == clock.now() + timedelta(seconds=7)
    assert "rate_limit_error" in (waiting[0].error or "")
    assert batches.progress(session, batch.id).batch.status == BatchStatus.running

    assert not run(claude).written  # not yet: 7 s have not passed
    clock.advance(timedelta(seconds=7))
    assert len(run(claude).written) == 1
    assert len(fake_anthropic.requests) == 4
    assert batches.progress(session, batch.id).batch.status == BatchStatus.completed


def test_an_overloaded_api_is_tried_again_after_a_backoff(
    session, claude, clock, audience, fake_anthropic
):
    batch = list_batch(session, clock, audience, content=BRIEF)
    fake_anthropic.overload_next()

    run(claude)

    waiting = [j for j in jobs(session, batch.id) if j.status == JobStatus.queued]
    assert len(waiting) == 1
    assert waiting[0].attempts == 1
    assert waiting[0].next_attempt_at == clock.now() + timedelta(seconds=5)
    assert "overloaded" in (waiting[0].error or "")


def test_a_draft_busy_at_every_try_fails_after_the_last(
    session, claude, clock, audience, fake_anthropic
):
    MAX_ATTEMPTS = RETRY_POLICY.max_attempts
    assert MAX_ATTEMPTS is not None
    batch = list_batch(session, clock, audience, content=BRIEF)
    ada = contact(session, "ada@analytical.example")
    session.execute(
        sa.update(DraftJob)
        .where(DraftJob.batch_id == batch.id, DraftJob.contact_id != ada.id)
        .values(status=JobStatus.skipped.value)
    )
    session.commit()
    for _ in range(MAX_ATTEMPTS):
        fake_anthropic.overload_next()
        run(claude)
        clock.advance(timedelta(hours=1))

    [job] = [j for j in jobs(session, batch.id) if j.contact_id == ada.id]
    assert job.status == JobStatus.failed
    assert job.error.startswith(f"gave up after {MAX_ATTEMPTS} tries")
    assert batches.progress(session, batch.id).batch.status == BatchStatus.completed


def test_a_spend_limit_pauses_the_batch_with_its_reason_and_is_never_retried(
    session, fake_anthropic, tmp_path, engine, connection, clock, audience
):
    one_at_a_time = claude_container(
        tmp_path / "c", fake_anthropic, engine, connection, clock, OUTREACH_DRAFT_CONCURRENCY=1
    )
    batch = list_batch(session, clock, audience, content=BRIEF)
    fake_anthropic.spend_limit_next()

    report = run(one_at_a_time)

    assert report.written == []
    assert len(report.paused) == 1
    progress = batches.progress(session, batch.id)
    assert progress.batch.status == BatchStatus.paused
    assert "enforced_spend_limit_reached" in (progress.batch.pause_reason or "")
    assert all(j.status == JobStatus.queued and j.attempts == 0 for j in jobs(session, batch.id))
    assert len(fake_anthropic.requests) == 1

    clock.advance(timedelta(days=1))
    assert run(one_at_a_time).written == []  # paused: nothing is tried
    assert len(fake_anthropic.requests) == 1

    batches.resume(session, batch.id)
    session.commit()
    assert len(run(one_at_a_time).written) == 3
    assert batches.progress(session, batch.id).batch.status == BatchStatus.completed


def test_an_answer_without_an_email_fails_that_contact_and_the_batch_goes_on(
    session, fake_anthropic, tmp_path, engine, connection, clock, audience
):
    one_at_a_time = claude_container(
        tmp_path / "c", fake_anthropic, engine, connection, clock, OUTREACH_DRAFT_CONCURRENCY=1
    )
    batch = list_batch(session, clock, audience, content=BRIEF)
    fake_anthropic.answer_next_with_content([{"type": "text", "text": "Sure!"}], "end_turn")

    report = run(one_at_a_time)

    assert len(report.written) == 2
    assert len(report.failed) == 1
    [failed] = [j for j in jobs(session, batch.id) if j.status == JobStatus.failed]
    assert "no write_email call" in (failed.error or "")
    assert failed.input_tokens == 0
    assert batches.progress(session, batch.id).batch.status == BatchStatus.completed


def test_a_call_past_its_overall_deadline_is_tried_again_later(
    session, fake_anthropic, tmp_path, engine, connection, clock, audience
):
    one_at_a_time = claude_container(
        tmp_path / "c", fake_anthropic, engine, connection, clock, OUTREACH_DRAFT_CONCURRENCY=1
    )
    batch = list_batch(session, clock, audience, content=BRIEF)
    fake_anthropic.delay_next(3)

    started = time.monotonic()
    report = run(one_at_a_time, deadline=0.5)

    assert time.monotonic() - started < 2.5
    assert len(report.retrying) == 1
    assert "overall deadline" in report.retrying[0]
    waiting = [j for j in jobs(session, batch.id) if j.status == JobStatus.queued]
    assert len(waiting) == 1


def test_tokens_and_the_estimated_cost_are_kept_per_draft_and_per_batch(
    session, claude, clock, audience, fake_anthropic
):
    batch = list_batch(session, clock, audience, content=BRIEF)

    run(claude)

    written = jobs(session, batch.id)
    assert all(j.status == JobStatus.written for j in written)
    for job in written:
        usage = Usage(
            job.input_tokens, job.output_tokens, job.cache_read_tokens, job.cache_write_tokens
        )
        assert job.input_tokens > 0
        assert job.output_tokens > 0
        assert job.cost_micros == cost_micros("claude-sonnet-5-5", usage)
        draft = session.get(EmailDraft, job.draft_id)
        assert draft.input_tokens == job.input_tokens
        assert draft.model == "claude-sonnet-5-5"
        assert review.review_of(session, draft).cost_micros == job.cost_micros
    progress = batches.progress(session, batch.id)
    assert progress.usage.input_tokens == sum(j.input_tokens for j in written)
    assert progress.cost_micros == sum(j.cost_micros or 0 for j in written)
    assert progress.cost.startswith("$")


# Concurrency and claims --------------------------------------------------------------------------


class CountingWriter:
    """A writer that takes a while and counts how many calls run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.calls = 0

    def write(self, request: DraftRequest) -> WrittenDraft:
        with self.lock:
            self.now += 1
            self.calls += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        with self.lock:
            self.now -= 1
        return TemplateWriter().write(request)


def test_no_more_drafts_are_written_at_once_than_the_setting_allows(
    session, container, clock, tmp_path
):
    rows = "".join(f"p{n}@example.com,Person {n},Co {n},Town\n" for n in range(12))
    audience = people(session, clock, tmp_path, "email,name,company,City\n" + rows)
    list_batch(session, clock, audience)
    writer = CountingWriter()

    report = write_pending(
        container.sessions,
        writer,
        clock,
        concurrency=3,
        deadline_seconds=30,
        worker="test-worker",
    )

    assert len(report.written) == 12
    assert writer.calls == 12
    assert writer.most == 3


@pytest.fixture
def own_database(backend, databases, tmp_path) -> Iterator[object]:
    container = container_on(databases.fresh_url(backend), tmp_path / "own")
    yield container
    container.close()


def test_two_workers_take_different_jobs(own_database, tmp_path):
    container = own_database
    now = container.clock.now()
    with container.sessions() as session:
        audience = people(
            session,
            container.clock,
            tmp_path,
            "email,name,company,City\n"
            + "".join(f"p{n}@example.com,P {n},Co,Town\n" for n in range(6)),
        )
        list_batch(session, container.clock, audience)
    first, second = container.sessions(), container.sessions()
    try:
        mine = queries.claim_jobs(first, now, 4, "worker-a")
        if container.engine.dialect.name == "sqlite":
            first.commit()  # one writer at a time: the other waits for the lock, then claims
        theirs = queries.claim_jobs(second, now, 4, "worker-b")
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
    assert len(mine) == 4
    assert len(theirs) == 2
    assert not {j.id for j in mine} & {j.id for j in theirs}


def test_a_job_a_crashed_worker_left_is_written_once_by_another(
    session, container, clock, audience
):
    batch = list_batch(session, clock, audience)
    taken = queries.claim_jobs(session, clock.now(), 1, "crashed-worker")
    session.commit()
    assert len(taken) == 1

    assert len(run(container).written) == 2  # the taken one is not stale yet
    clock.advance(RETRY_POLICY.lease + timedelta(minutes=1))
    assert len(run(container).written) == 1

    assert all(j.status == JobStatus.written for j in jobs(session, batch.id))
    assert len(drafts_of(session, contact_email(session, taken[0]))) == 1


def test_the_worker_writes_drafts_before_it_sends(session, container, clock, audience):
    list_batch(session, clock, audience)
    assert JOBS.index(write_drafts) < [job.__name__ for job in JOBS].index("send_campaigns")

    report = write_drafts(container)

    assert report.changed == 3
    assert report.summary.startswith("3 written")


def test_a_batch_for_an_upload_writes_for_the_contacts_it_imported(
    session, container, clock, tmp_path
):
    from tests.contact_files import import_text

    imported = import_text(session, clock, tmp_path, "email,name\nlin@example.com,Lin Example\n")
    session.commit()
    asked = batches.instructions(
        [DraftType.first_outreach],
        template(session, clock, "Subject: Hi\nHello {{ first_name }}.").id,
    )
    batch = batches.for_upload(
        session,
        imported.batch_id,
        asked,
        clock.now(),
        held=contacted.holds(session, clock.now(), RECENT),
    )
    session.commit()

    container.drafting_pass(batch_id=batch.id)

    [draft] = drafts_of(session, "lin@example.com")
    assert draft.body == "Hello Lin."
