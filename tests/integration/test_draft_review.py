"""Reviewing drafts on both backends: edits beside the original, approval and the seed's
counters, bulk approval, rejection, rewrites with a note, the queue's filters and pages."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from outreach.analytics.models import EmailAnalytics
from outreach.campaigns.states import DraftType
from outreach.delivery import contacted
from outreach.drafts import batches, queries, review
from outreach.drafts.models import EmailDraft, EmailStatus
from outreach.drafts.states import JobStatus
from outreach.errors import Conflict, InvalidTransition, ValidationFailed
from tests.drafts_setup import BRIEF, RECENT, claude_container, contact, people, template
from tests.integration.test_draft_batches import run


def counters(session) -> tuple[int, int]:
    session.expire_all()
    row = session.execute(
        sa.select(EmailAnalytics.total_drafts_created, EmailAnalytics.total_drafts_approved)
    ).first()
    return (row[0] or 0, row[1] or 0) if row else (0, 0)


@pytest.fixture
def written(session, container, clock, tmp_path):
    """Three drafts waiting for review, written from a template for the Pioneers list."""
    audience = people(session, clock, tmp_path)
    batch = batches.for_list(
        session,
        audience.id,
        batches.instructions([DraftType.first_outreach], template(session, clock).id),
        clock.now(),
        held=contacted.holds(session, clock.now(), RECENT),
    )
    session.commit()
    run(container)
    rows, _ = review.page(session, review.DraftFilter(batch_id=batch.id), None, 10)
    return {contact_row.email: draft for draft, contact_row in rows}


def test_approving_a_draft_records_when_and_the_seeds_counter_counts_it_once(
    session, written, clock
):
    created, approved = counters(session)
    assert created >= 3
    ada = written["ada@analytical.example"]

    review.approve(session, ada.id, clock.now())
    session.commit()

    found = review.get(session, ada.id)
    assert found.status == EmailStatus.approved
    assert found.approved_at == clock.now()
    assert counters(session) == (created, approved + 1)
    with pytest.raises(InvalidTransition, match="approved"):
        review.approve(session, ada.id, clock.now())
    session.rollback()
    assert counters(session) == (created, approved + 1)


def test_an_edit_is_kept_beside_the_original_and_is_what_will_be_sent(session, written, clock):
    alan = written["alan@bletchley.example"]
    original = (alan.subject, alan.body)

    review.edit(session, alan.id, alan.subject, alan.body.replace("spring", "autumn"), clock.now())

    found = review.get(session, alan.id)
    assert (found.subject, found.body) == original
    assert found.edited_subject is None  # unchanged: no edit
    assert "autumn" in (found.edited_body or "")
    assert found.outgoing_body == found.edited_body
    seen = review.review_of(session, found)
    assert [(p.op, p.text) for p in seen.body_diff if p.op != "equal"] == [
        ("delete", "spring"),
        ("insert", "autumn"),
    ]
    assert found.status == EmailStatus.draft

    review.approve(session, alan.id, clock.now())
    with pytest.raises(InvalidTransition, match="only a draft waiting for review"):
        review.edit(session, alan.id, "New", "Body", clock.now())


def test_an_empty_body_is_no_edit(session, written, clock):
    with pytest.raises(ValidationFailed, match="body cannot be empty"):
        review.edit(session, written["ada@analytical.example"].id, "Hi", "  ", clock.now())


def test_bulk_approval_approves_the_waiting_drafts_and_says_why_not_the_others(
    session, written, clock
):
    created, approved = counters(session)
    ada, alan, grace = (written[e] for e in sorted(written))
    review.reject(session, grace.id, "off topic", clock.now())
    missing = uuid.uuid4()

    outcome = review.approve_many(session, [ada.id, alan.id, grace.id, missing], clock.now())
    session.commit()

    assert sorted(outcome.approved) == sorted([ada.id, alan.id])
    assert outcome.refused == {
        grace.id: "the draft was rejected",
        missing: "there is no such draft",
    }
    assert counters(session) == (created, approved + 2)
    assert review.get(session, ada.id).approved_at == clock.now()


def test_a_draft_with_an_unfilled_placeholder_is_not_approved_until_it_is_filled_in(
    session, written, clock
):
    ada, alan = written["ada@analytical.example"], written["alan@bletchley.example"]
    review.edit(session, ada.id, ada.subject, "Edited body for {{first_name}}", clock.now())

    with pytest.raises(ValidationFailed, match=r'cannot be approved: .*"\{\{first_name\}\}"'):
        review.approve(session, ada.id, clock.now())
    outcome = review.approve_many(session, [ada.id, alan.id], clock.now())

    assert outcome.approved == [alan.id]
    assert outcome.refused == {
        ada.id: 'it still holds unfilled placeholders ("{{first_name}}"): edit it to fill them in'
    }
    assert review.get(session, ada.id).status == EmailStatus.draft
    review.edit(session, ada.id, ada.subject, "Edited body for Ada", clock.now())
    assert review.approve(session, ada.id, clock.now()).status == EmailStatus.approved


def test_a_refused_approval_says_where_the_draft_stands(session, written, clock):
    grace = written["grace@navy.example"]
    review.reject(session, grace.id, None, clock.now())

    with pytest.raises(InvalidTransition) as refused:
        review.approve(session, grace.id, clock.now())

    assert refused.value.message == (
        "The draft was rejected: only a draft waiting for review can be approved."
    )


def test_a_rejected_draft_is_failed_with_its_reason_and_filtered_apart(session, written, clock):
    grace = written["grace@navy.example"]

    review.reject(session, grace.id, "wrong tone", clock.now())

    found = review.get(session, grace.id)
    assert found.status == EmailStatus.failed
    assert (found.rejected_at, found.rejected_reason) == (clock.now(), "wrong tone")
    rejected, _ = review.page(session, review.DraftFilter(status="rejected"), None, 10)
    assert [d.id for d, _ in rejected] == [grace.id]
    send_failed, _ = review.page(session, review.DraftFilter(status="failed"), None, 10)
    assert grace.id not in [d.id for d, _ in send_failed]
    assert review.review_of(session, found).review_status == "rejected"


def test_the_queue_filters_by_status_type_list_and_batch_and_pages_by_key(
    session, written, clock, tmp_path
):
    other = people(
        session, clock, tmp_path, "email,name\nlin@example.com,Lin Example\n", name="Others"
    )
    lone = queries.add_written(
        session,
        contact_id=contact(session, "lin@example.com").id,
        draft_type=DraftType.second_followup,
        subject="Hello",
        body="A note.",
        at=clock.now(),
    )

    def ids(**where) -> set[uuid.UUID]:
        rows, _ = review.page(session, review.DraftFilter(**where), None, 100)
        return {draft.id for draft, _ in rows}

    assert ids(list_id=other.id) == {lone.id}
    assert ids(draft_type=DraftType.second_followup) == {lone.id}
    assert ids(status="draft") >= {d.id for d in written.values()} | {lone.id}
    assert ids(status="approved") == set()
    everyone = ids()
    seen: list[uuid.UUID] = []
    after = None
    while True:
        rows, after = review.page(session, review.DraftFilter(), after, 2)
        seen += [draft.id for draft, _ in rows]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == len(everyone)
    with pytest.raises(ValidationFailed):
        review.page(session, review.DraftFilter(), "not-a-cursor", 2)
    with pytest.raises(ValidationFailed):
        review.page(session, review.DraftFilter(status="lost"), None, 2)


def test_warnings_are_shown_before_approval(session, written, clock):
    ada = written["ada@analytical.example"]
    review.edit(
        session,
        ada.id,
        "Routes for {{ company }}",
        "Hi Ada, Babbage Ltd saved 40% last year. Act now!",
        clock.now(),
    )

    findings = review.review_of(session, review.get(session, ada.id)).findings

    assert [f.code for f in findings] == [
        "placeholder",
        "unknown_fact",
        "unknown_fact",
        "spam_words",
    ]


# Rewrites -----------------------------------------------------------------------------------------


def test_a_rewrite_with_a_note_reaches_the_writer_and_replaces_the_text_in_place(
    session, fake_anthropic, tmp_path, engine, connection, clock
):
    claude = claude_container(tmp_path / "c", fake_anthropic, engine, connection, clock)
    audience = people(
        session,
        clock,
        tmp_path,
        "email,name,company,City\nada@analytical.example,Ada Lovelace,Analytical Engines,London\n",
    )
    batches.for_list(
        session,
        audience.id,
        batches.instructions(
            [DraftType.first_outreach], template(session, clock, BRIEF, "Brief").id
        ),
        clock.now(),
        held=contacted.holds(session, clock.now(), RECENT),
    )
    session.commit()
    run(claude)
    [(draft, _)] = review.page(session, review.DraftFilter(), None, 5)[0]
    review.edit(session, draft.id, "Mine", "My own text.", clock.now())
    review.reject(session, draft.id, "too long", clock.now())
    fake_anthropic.answer_next({"subject": "Shorter", "body": "Hi Ada, one line about routes."})

    job = review.rewrite(session, draft.id, "Shorter, one line.", clock.now())
    session.commit()
    assert job.status == JobStatus.queued
    with pytest.raises(Conflict, match="being written"):
        review.rewrite(session, draft.id, None, clock.now())
    session.rollback()
    report = run(claude)

    assert len(report.written) == 1
    assert (
        "<reviewer_note>\nShorter, one line.\n</reviewer_note>"
        in fake_anthropic.requests[-1].user_text()
    )
    session.expire_all()
    found = session.get(EmailDraft, draft.id)
    assert (found.subject, found.body) == ("Shorter", "Hi Ada, one line about routes.")
    assert (found.edited_subject, found.edited_body) == (None, None)
    assert found.status == EmailStatus.draft
    assert found.rejected_at is None
    assert session.scalar(sa.select(sa.func.count()).select_from(EmailDraft)) == 1


def test_a_failed_rewrite_keeps_the_text_and_says_why(
    session, fake_anthropic, tmp_path, engine, connection, clock
):
    claude = claude_container(tmp_path / "c", fake_anthropic, engine, connection, clock)
    audience = people(
        session,
        clock,
        tmp_path,
        "email,name,company,City\nada@analytical.example,Ada Lovelace,Analytical Engines,London\n",
    )
    batches.for_list(
        session,
        audience.id,
        batches.instructions(
            [DraftType.first_outreach], template(session, clock, BRIEF, "Brief").id
        ),
        clock.now(),
        held=contacted.holds(session, clock.now(), RECENT),
    )
    session.commit()
    run(claude)
    [(draft, _)] = review.page(session, review.DraftFilter(), None, 5)[0]
    before = (draft.subject, draft.body)
    review.rewrite(session, draft.id, "again", clock.now())
    session.commit()
    fake_anthropic.answer_next({"subject": "Hi [First Name]", "body": "Hello"})

    run(claude)

    session.expire_all()
    found = session.get(EmailDraft, draft.id)
    assert (found.subject, found.body) == before
    assert "placeholders" in (found.writer_error or "")


def test_an_approved_draft_or_one_no_batch_wrote_is_not_rewritten(session, written, clock):
    ada = written["ada@analytical.example"]
    review.approve(session, ada.id, clock.now())
    with pytest.raises(InvalidTransition, match="approved"):
        review.rewrite(session, ada.id, None, clock.now())
    by_hand = queries.add_written(
        session,
        contact_id=ada.contact_id,
        draft_type=DraftType.final_followup,
        subject="Bye",
        body="Last note.",
        at=clock.now(),
    )
    with pytest.raises(ValidationFailed, match="not written by a batch"):
        review.rewrite(session, by_hand.id, None, clock.now())


def test_a_draft_is_found_by_the_start_of_its_id(session, written):
    ada = written["ada@analytical.example"]
    assert review.resolve(session, str(ada.id)[:8]) == ada.id
    assert review.resolve(session, str(ada.id).upper()) == ada.id
    with pytest.raises(ValidationFailed):
        review.resolve(session, "zz")
