"""From draft to send, on both backends: an approved (and edited) draft scheduled and sent by
the worker; AI-written campaign steps written ahead, sent as approved, and enrollments waiting
at them, with the reason, while the campaign requires approval."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from outreach.analytics import approvals
from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import CampaignContact
from outreach.campaigns.states import DraftType
from outreach.delivery import contacted, scheduled
from outreach.delivery.models import Delivery, SentEmail
from outreach.drafts import batches, campaign_steps, review
from outreach.drafts.models import DraftJob, EmailDraft, EmailStatus
from outreach.drafts.states import JobStatus
from outreach.senders import service as senders
from tests.drafts_setup import RECENT, claude_container, contact, people, template

BRIEF_STEP = (
    "Pitch our route planner to {{ first_name }} at {{ company }}; mention {{ city }}.",
    "Subject: Routes for {{ company }}",
)


@pytest.fixture
def outbox(session, container, clock):
    account = senders.add(
        session,
        kind=senders.SenderKind.outbox,
        email="me@ourco.example",
        display_name="Me",
        secret_key=container.settings.secret_key_value(),
        now=clock.now(),
    )
    session.commit()
    return account


def sent_rows(session) -> list[SentEmail]:
    session.expire_all()
    return list(session.scalars(sa.select(SentEmail).order_by(SentEmail.recipient_email)))


def enrollment_of(session, campaign_id, email) -> CampaignContact:
    session.expire_all()
    found = session.scalar(
        sa.select(CampaignContact).where(
            CampaignContact.campaign_id == campaign_id,
            CampaignContact.contact_id == contact(session, email).id,
        )
    )
    assert found is not None
    return found


def test_an_approved_edited_draft_is_scheduled_and_sent_as_edited(
    session, container, clock, tmp_path, outbox
):
    audience = people(session, clock, tmp_path)
    batches.for_list(
        session,
        audience.id,
        batches.instructions([DraftType.first_outreach], template(session, clock).id),
        clock.now(),
        held=contacted.holds(session, clock.now(), RECENT),
    )
    session.commit()
    container.drafting_pass()
    ada = review.page(
        session,
        review.DraftFilter(contact_id=contact(session, "ada@analytical.example").id),
        None,
        1,
    )[0][0][0]
    review.edit(session, ada.id, "Routes, Ada?", "Hi Ada, a shorter note.", clock.now())
    review.approve(session, ada.id, clock.now())
    later = clock.now() + timedelta(hours=2)
    booked = scheduled.schedule(session, ada.id, outbox.id, later, clock.now(), recent=RECENT)
    session.commit()

    assert container.sending_pass().sent == []  # not yet
    clock.advance(timedelta(hours=2))
    report = container.sending_pass()

    assert report.sent == ["ada@analytical.example: scheduled email"]
    [row] = sent_rows(session)
    assert (row.subject, row.body) == ("Routes, Ada?", "Hi Ada, a shorter note.")
    assert row.draft_id == ada.id
    session.expire_all()
    assert session.get(EmailDraft, ada.id).status == EmailStatus.sent
    assert session.get(type(booked), booked.id).status == "sent"
    [eml] = (container.outbox_folder / "me@ourco.example").glob("*.eml")
    assert "Subject: Routes, Ada?" in eml.read_text()
    assert "a shorter note" in eml.read_text()


def ai_campaign(session, clock, tmp_path, outbox, *, require_approval: bool):
    audience = people(session, clock, tmp_path)
    found = campaigns.create(
        session, name="Spring", list_id=audience.id, sender_ids=[outbox.id], now=clock.now()
    )
    campaigns.add_step(
        session,
        found.id,
        subject="Routes for {{ company }}",
        body="Pitch our route planner to {{ first_name }}; mention {{ city }}.",
        ai_written=True,
    )
    campaigns.add_step(
        session, found.id, subject="", body="Hi {{ first_name }}, following up.", delay_days=2
    )
    campaigns.update_settings(
        session,
        found.id,
        campaigns.SettingsChange(
            send_window_start=time(9),
            send_window_end=time(18),
            timezone="UTC",
            delay_between_emails_seconds=0,
            jitter_seconds=0,
            require_approval=require_approval,
        ),
    )
    session.commit()
    return found


def test_an_ai_written_step_is_written_ahead_and_sent_as_written_with_the_unsubscribe_line(
    session, container, clock, tmp_path, outbox
):
    found = ai_campaign(session, clock, tmp_path, outbox, require_approval=False)
    campaigns.launch(session, found.id, clock.now())
    session.commit()

    assert container.sending_pass().sent == []
    waiting = enrollment_of(session, found.id, "ada@analytical.example")
    assert waiting.waiting_reason == "step 1's AI-written draft is being written"
    assert waiting.next_send_at == clock.now() + campaign_steps.RECHECK

    written = container.drafting_pass()
    assert len(written.written) == 3
    clock.advance(campaign_steps.RECHECK)
    report = container.sending_pass()

    assert len(report.sent) == 3
    ada = next(r for r in sent_rows(session) if r.recipient_email == "ada@analytical.example")
    assert ada.subject == "Routes for Analytical Engines"
    assert ada.body.startswith("Pitch our route planner to Ada; mention London.")
    assert "Not interested? Unsubscribe:" in ada.body
    draft = session.get(EmailDraft, ada.draft_id)
    assert draft.status == EmailStatus.sent
    assert draft.approved_at is None  # nobody approved it: the seed's counter is untouched
    assert implicit_approvals(session) == (0, 3)  # but each counts as approved when queued
    assert "Unsubscribe" not in draft.body
    # The template follow-up answers the AI-written email's thread.
    clock.advance(timedelta(days=2))
    container.sending_pass()
    follow = [
        r
        for r in sent_rows(session)
        if r.recipient_email == "ada@analytical.example" and r.sequence_step == 2
    ]
    assert follow[0].subject == "Re: Routes for Analytical Engines"
    assert implicit_approvals(session) == (3, 3)  # the follow-ups written from their template


def implicit_approvals(session) -> tuple[int, int]:
    """(written approved, sent unreviewed) over every day, as kept and as the rows say."""
    kept = approvals.kept(session.connection()).values()
    assert approvals.differences(session.connection()) == []
    return sum(c.written_approved for c in kept), sum(c.sent_unreviewed for c in kept)


def test_with_require_approval_an_enrollment_waits_for_its_draft_and_goes_once_approved(
    session, container, clock, tmp_path, outbox
):
    found = ai_campaign(session, clock, tmp_path, outbox, require_approval=True)
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    container.drafting_pass()

    assert container.sending_pass().sent == []
    waiting = enrollment_of(session, found.id, "ada@analytical.example")
    assert waiting.waiting_reason == "waiting for approval: step 1's AI-written draft"
    assert waiting.status == "pending"

    queue, _ = review.page(session, review.DraftFilter(campaign_id=found.id), None, 10)
    assert len(queue) == 3
    ada = next(d for d, c in queue if c.email == "ada@analytical.example")
    grace = next(d for d, c in queue if c.email == "grace@navy.example")
    review.edit(session, ada.id, ada.subject, "Hi Ada, routes for London?", clock.now())
    review.approve(session, ada.id, clock.now())
    review.reject(session, grace.id, "not her", clock.now())
    session.commit()
    assert enrollment_of(session, found.id, "ada@analytical.example").next_send_at == clock.now()

    report = container.sending_pass()

    assert report.sent == ["ada@analytical.example: Spring, step 1"]
    [row] = sent_rows(session)
    assert row.body.startswith("Hi Ada, routes for London?")
    assert "Unsubscribe" in row.body
    grace_waits = enrollment_of(session, found.id, "grace@navy.example")
    assert grace_waits.waiting_reason.startswith("step 1's AI-written draft was rejected")
    page_rows = campaign_queries.enrollments_of(session, found.id)
    assert any("waiting for approval" in (e.waiting_reason or "") for e, _ in page_rows)


def test_an_ai_written_draft_edited_to_hold_a_placeholder_is_not_sent(
    session, container, clock, tmp_path, outbox
):
    found = ai_campaign(session, clock, tmp_path, outbox, require_approval=False)
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    container.drafting_pass()
    queue, _ = review.page(session, review.DraftFilter(campaign_id=found.id), None, 10)
    ada = next(d for d, c in queue if c.email == "ada@analytical.example")
    review.edit(session, ada.id, ada.subject, "Edited body for {{first_name}}", clock.now())
    session.commit()

    report = container.sending_pass()

    assert sorted(report.sent) == [
        "alan@bletchley.example: Spring, step 1",
        "grace@navy.example: Spring, step 1",
    ]
    waiting = enrollment_of(session, found.id, "ada@analytical.example")
    assert waiting.waiting_reason == (
        'step 1\'s AI-written draft holds unfilled placeholders ("{{first_name}}"): '
        "edit it on the drafts page"
    )
    assert review.get(session, ada.id).status == EmailStatus.draft


def test_drafts_written_before_launch_are_used_after_it(
    session, container, clock, tmp_path, outbox
):
    found = ai_campaign(session, clock, tmp_path, outbox, require_approval=True)
    assert campaign_steps.plan(session, found, clock.now(), list_too=True) == 3
    assert campaign_steps.plan(session, found, clock.now(), list_too=True) == 0
    session.commit()
    container.drafting_pass()
    queue, _ = review.page(session, review.DraftFilter(campaign_id=found.id), None, 10)
    review.approve_many(session, [d.id for d, _ in queue], clock.now())
    campaigns.launch(session, found.id, clock.now())
    session.commit()

    container.drafting_pass()  # nothing new to plan: each step has its job per contact
    report = container.sending_pass()

    assert len(report.sent) == 3
    jobs = session.scalars(sa.select(DraftJob)).all()
    assert len(jobs) == 3
    assert {j.status for j in jobs} == {JobStatus.written}


def test_a_failed_ai_draft_holds_its_enrollment_with_the_reason(
    session, fake_anthropic, tmp_path, engine, connection, clock, outbox
):
    claude = claude_container(tmp_path / "c", fake_anthropic, engine, connection, clock)
    found = ai_campaign(session, clock, tmp_path, outbox, require_approval=False)
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    for _ in range(3):
        fake_anthropic.answer_next({"subject": "Hi [First Name]", "body": "Hello"})

    claude.drafting_pass()
    claude.sending_pass()

    waiting = enrollment_of(session, found.id, "ada@analytical.example")
    assert "could not be written" in (waiting.waiting_reason or "")
    assert "placeholders" in (waiting.waiting_reason or "")
    assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0
