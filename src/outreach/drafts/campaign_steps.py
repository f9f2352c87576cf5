"""AI-written campaign steps: the step's text is a brief a writer follows for each enrollment,
ahead of time, and a person may review the result before it goes.

* Planning: every enrollment still before an AI-written step gets a job for it in the
  campaign's own batch (one job per step and contact, whatever runs twice), queued by the
  worker's drafting pass and by `outreach drafts generate --campaign` (which also writes for a
  campaign not launched yet, for its list, so drafts can be reviewed before launch).
* Sending (delivery/planning.py asks `take_draft` when the step is due): an approved draft is
  sent as approved; a draft still waiting for review is sent as written, unless the campaign
  requires approval, in which case the enrollment waits at the step with that reason. A draft
  holding unfilled placeholders is never sent: the enrollment waits until a person edits it. A draft
  not written yet, failed or rejected also makes the enrollment wait, saying why, and
  approving the draft lets it go at once (`nudge`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns import enrollments
from outreach.campaigns import queries as campaign_queries
from outreach.campaigns.enrollments import WAIT_MARK
from outreach.campaigns.models import Campaign, CampaignContact, CampaignSequence
from outreach.campaigns.states import RUNNING_VALUES, CampaignStatus, draft_type_of
from outreach.contacts.models import ContactListMember
from outreach.drafts import batches, queries
from outreach.drafts.lint import quoted
from outreach.drafts.models import DraftBatch, DraftJob, EmailDraft, EmailStatus
from outreach.drafts.states import DRAFTS, BatchStatus, JobStatus
from outreach.states import transition

RECHECK = timedelta(minutes=10)
"""How long an enrollment waiting for its AI-written draft waits before it is looked at again
(approving the draft lets it go at once)."""
PLAN_SLICE = 2000


def ai_steps(session: Session, campaign_id: uuid.UUID) -> list[CampaignSequence]:
    return [step for step in campaign_queries.steps_of(session, campaign_id) if step.ai_written]


def batch_of(session: Session, campaign: Campaign, now: datetime) -> DraftBatch:
    """The campaign's own batch, made the first time it is needed."""
    found = queries.campaign_batch(session, campaign.id)
    types = sorted(
        {draft_type_of(step.sequence_order).value for step in ai_steps(session, campaign.id)}
    )
    if found is None:
        found = DraftBatch(
            label=f"Campaign {campaign.name}: AI-written steps",
            source="campaign",
            campaign_id=campaign.id,
            draft_types=types,
            status=BatchStatus.completed.value,
            created_at=now,
        )
        session.add(found)
        session.flush()
    elif sorted(found.draft_types) != types:
        found.draft_types = types
        session.flush()
    return found


def plan(session: Session, campaign: Campaign, now: datetime, *, list_too: bool = False) -> int:
    """Queues a job for each AI-written step each running enrollment has still ahead of it
    (and, with `list_too`, each member of the campaign's list not enrolled yet). Returns how
    many were queued."""
    steps = ai_steps(session, campaign.id)
    if not steps:
        return 0
    batch = batch_of(session, campaign, now)
    added = 0
    for step in steps:
        missing = sa.select(DraftJob.id).where(
            DraftJob.campaign_step_id == step.id,
            DraftJob.contact_id == CampaignContact.contact_id,
        )
        enrolled = (
            sa.select(CampaignContact.contact_id)
            .where(
                CampaignContact.campaign_id == campaign.id,
                CampaignContact.status.in_(RUNNING_VALUES),
                CampaignContact.current_sequence_step < step.sequence_order,
                ~missing.exists(),
            )
            .limit(PLAN_SLICE)
        )
        while contact_ids := list(session.scalars(enrolled)):
            added += _queue(session, batch, step, contact_ids, now)
        if list_too and campaign.list_id is not None:
            added += _plan_list(session, campaign, batch, step, now)
    if added:
        batches.reopen(session, batch.id)
    session.flush()
    return added


def _plan_list(
    session: Session, campaign: Campaign, batch: DraftBatch, step: CampaignSequence, now: datetime
) -> int:
    missing = sa.select(DraftJob.id).where(
        DraftJob.campaign_step_id == step.id,
        DraftJob.contact_id == ContactListMember.contact_id,
    )
    enrolled = sa.select(CampaignContact.id).where(
        CampaignContact.campaign_id == campaign.id,
        CampaignContact.contact_id == ContactListMember.contact_id,
    )
    members = (
        sa.select(ContactListMember.contact_id)
        .where(
            ContactListMember.list_id == campaign.list_id,
            ~missing.exists(),
            ~enrolled.exists(),
        )
        .limit(PLAN_SLICE)
    )
    added = 0
    while contact_ids := list(session.scalars(members)):
        added += _queue(session, batch, step, contact_ids, now)
    return added


def _queue(
    session: Session,
    batch: DraftBatch,
    step: CampaignSequence,
    contact_ids: Iterable[uuid.UUID],
    now: datetime,
) -> int:
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "batch_id": batch.id,
            "contact_id": contact_id,
            "draft_type": draft_type_of(step.sequence_order),
            "position": step.sequence_order,
            "campaign_step_id": step.id,
            "status": JobStatus.queued.value,
            "next_attempt_at": now,
            "created_at": now,
        }
        for contact_id in contact_ids
    ]
    queries.insert_step_jobs(session, rows)
    session.flush()
    return len(rows)


def plan_all(session: Session, now: datetime) -> int:
    """Queues the AI-written steps of every sending campaign's new enrollments."""
    with_ai = sa.select(CampaignSequence.campaign_id).where(CampaignSequence.ai_written)
    campaigns = session.scalars(
        sa.select(Campaign).where(
            Campaign.id.in_(with_ai),
            Campaign.status.in_((CampaignStatus.active.value, CampaignStatus.paused.value)),
        )
    )
    return sum(plan(session, campaign, now) for campaign in list(campaigns))


# Sending ---------------------------------------------------------------------------------------


def take_draft(
    session: Session,
    step: CampaignSequence,
    contact_id: uuid.UUID,
    require_approval: bool,
) -> EmailDraft | str:
    """The draft to send for an AI-written step, taken for sending (→ scheduled); or why the
    enrollment must wait."""
    order = step.sequence_order
    job = queries.step_job(session, step.id, contact_id)
    if job is None or job.status in (JobStatus.queued, JobStatus.writing):
        return f"step {order}'s {WAIT_MARK} is being written"
    if job.status == JobStatus.failed:
        return (
            f"step {order}'s {WAIT_MARK} could not be written ({job.error}): "
            "write it again from the drafts page"
        )
    draft = session.get(EmailDraft, job.draft_id) if job.draft_id else None
    if draft is None:
        return f"step {order}'s {WAIT_MARK} was not written ({job.error or job.status})"
    if draft.status == EmailStatus.draft and require_approval:
        return f"waiting for approval: step {order}'s {WAIT_MARK}"
    placeholders = draft.unfilled_placeholders
    if placeholders and draft.status in (EmailStatus.draft, EmailStatus.approved):
        return (
            f"step {order}'s {WAIT_MARK} holds unfilled placeholders ({quoted(placeholders)}): "
            "edit it on the drafts page"
        )
    if draft.status in (EmailStatus.draft, EmailStatus.approved):
        transition(session, EmailDraft, draft.id, EmailStatus.scheduled, DRAFTS)
        session.refresh(draft)
        return draft
    if draft.rejected_at is not None:
        return (
            f"step {order}'s {WAIT_MARK} was rejected: write it again from the drafts page, "
            "or edit and approve it"
        )
    return f"step {order}'s {WAIT_MARK} is {draft.status} already"


def nudge(
    session: Session,
    draft_ids: Iterable[uuid.UUID],
    now: datetime,
    reason: str = "approved: sending at the next pass",
) -> int:
    """Enrollments waiting at an AI-written step for one of these drafts are looked at again
    at the next pass (their step was due already): an approved draft goes, a rejected one
    shows why it waits. Returns how many."""
    ids = list(draft_ids)
    if not ids:
        return 0
    return enrollments.look_again(session, queries.step_draft_owners(session, ids), now, reason)
