"""Reviewing drafts: the queue, edits beside the original, approval (one or many), rejection,
and asking for a draft to be written again with a note to the writer.

Approval moves a draft to `approved` with `approved_at`; the seed's trigger counts it in
email_analytics.total_drafts_approved on that day, on both backends. A rejected draft takes
the seed's `failed` status with `rejected_at` and the reason. An edit is stored in the seed's
edited_subject and edited_body beside the original, which is never overwritten: what is sent
is the edit when there is one (EmailDraft.outgoing_subject / outgoing_body).

Services flush; the entry point commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.models import Campaign, CampaignSequence
from outreach.campaigns.states import DraftType
from outreach.campaigns.templates.normalising import normalise_subject, normalise_text
from outreach.contacts.models import Contact, ContactListMember
from outreach.db import get_or_not_found, keyset_cursor, read_cursor, rows_by_id
from outreach.drafts import batches, campaign_steps, queries
from outreach.drafts.diff import Piece, word_diff
from outreach.drafts.lint import Finding, facts_from, lint, quoted
from outreach.drafts.models import DraftBatch, DraftJob, EmailDraft, EmailStatus, EmailTemplate
from outreach.drafts.pricing import Usage, cost_micros
from outreach.drafts.states import DRAFTS, JOBS, UNFINISHED_JOBS, JobStatus
from outreach.drafts.writers.base import DraftRefused, EarlierDraft
from outreach.drafts.writers.template import MODEL as TEMPLATE_MODEL
from outreach.drafts.writing import earlier_from, instructions_from, types_before
from outreach.errors import Conflict, InvalidTransition, ValidationFailed
from outreach.states import transition, transition_many

MAX_SUBJECT = 1000
MAX_BODY = 50_000
REJECTED = "rejected"
"""A review status of its own in filters: `failed` with rejected_at."""
STATUSES = (*(status.value for status in EmailStatus), REJECTED)
ReviewStatusName = Literal["draft", "approved", "scheduled", "sent", "failed", "rejected"]


@dataclass(frozen=True)
class DraftFilter:
    """Which drafts: every given condition must hold. `status` is an email_status value or
    "rejected" ("failed" then means drafts whose send failed)."""

    status: str | None = None
    draft_type: DraftType | None = None
    list_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    batch_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None


def _conditions(where: DraftFilter) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if where.status == REJECTED:
        found += [
            EmailDraft.status == EmailStatus.failed.value,
            EmailDraft.rejected_at.is_not(None),
        ]
    elif where.status == EmailStatus.failed.value:
        found += [EmailDraft.status == EmailStatus.failed.value, EmailDraft.rejected_at.is_(None)]
    elif where.status:
        if where.status not in STATUSES:
            raise ValidationFailed(
                f"status is one of {', '.join(STATUSES)}.", field="status", value=where.status
            )
        found.append(EmailDraft.status == where.status)
    if where.draft_type:
        found.append(EmailDraft.draft_type == DraftType(where.draft_type).value)
    if where.contact_id:
        found.append(EmailDraft.contact_id == where.contact_id)
    if where.list_id:
        found.append(
            EmailDraft.contact_id.in_(
                sa.select(ContactListMember.contact_id).where(
                    ContactListMember.list_id == where.list_id
                )
            )
        )
    if where.batch_id:
        found.append(
            EmailDraft.id.in_(
                sa.select(DraftJob.draft_id).where(DraftJob.batch_id == where.batch_id)
            )
        )
    if where.campaign_id:
        of_campaign = (
            sa.select(DraftJob.draft_id)
            .join(DraftBatch, DraftBatch.id == DraftJob.batch_id)
            .where(DraftBatch.campaign_id == where.campaign_id)
        )
        found.append(EmailDraft.id.in_(of_campaign))
    return found


def page(
    session: Session, where: DraftFilter, after: str | None, limit: int
) -> tuple[list[tuple[EmailDraft, Contact]], str | None]:
    """A page of drafts, oldest first, and the cursor of the next page (keyset on created_at
    and id: stable while drafts are approved or added)."""
    statement = (
        sa.select(EmailDraft, Contact)
        .join(Contact, Contact.id == EmailDraft.contact_id)
        .where(*_conditions(where))
        .order_by(EmailDraft.created_at, EmailDraft.id)
        .limit(limit + 1)
    )
    if after:
        at, draft_id = read_cursor(after, "after")
        statement = statement.where(
            sa.or_(
                EmailDraft.created_at > at,
                sa.and_(EmailDraft.created_at == at, EmailDraft.id > draft_id),
            )
        )
    rows = [(row[0], row[1]) for row in session.execute(statement)]
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = keyset_cursor(rows[-1][0].created_at, rows[-1][0].id) if more and rows else None
    return rows, cursor


def count(session: Session, where: DraftFilter, up_to: int | None = None) -> int:
    """How many drafts match; with `up_to`, counting stops after up_to + 1 of them (the
    queue's order walks ix_email_drafts_status_created_at_id and stops there, where an exact
    count of a list's drafts reads every one of them)."""
    matching = sa.select(EmailDraft.id).where(*_conditions(where))
    if up_to is not None:
        matching = matching.order_by(EmailDraft.created_at, EmailDraft.id).limit(up_to + 1)
    statement = sa.select(sa.func.count()).select_from(matching.subquery())
    return session.scalar(statement) or 0


def get(session: Session, draft_id: uuid.UUID) -> EmailDraft:
    return get_or_not_found(session, EmailDraft, draft_id, "draft")


def resolve(session: Session, text: str) -> uuid.UUID:
    """A draft's id from its full text or a unique beginning (as `outreach drafts list` shows)."""
    return queries.id_from_start(session, EmailDraft, text, "draft")


# Changing a draft ---------------------------------------------------------------------------------


def edit(
    session: Session, draft_id: uuid.UUID, subject: str, body: str, now: datetime
) -> EmailDraft:
    """Stores a person's text beside the original (a part given back unchanged is no edit).
    Only a draft waiting for review can be edited."""
    draft = get(session, draft_id)
    subject = normalise_subject(subject)
    body = normalise_text(body)
    if len(subject) > MAX_SUBJECT or len(body) > MAX_BODY:
        raise ValidationFailed(
            f"The subject takes up to {MAX_SUBJECT:,} characters and the body {MAX_BODY:,}."
        )
    if not body:
        raise ValidationFailed("The body cannot be empty.", field="body")
    edited_subject = None if subject == draft.subject else subject
    edited_body = None if body == draft.body else body
    updated = session.execute(
        sa.update(EmailDraft)
        .where(EmailDraft.id == draft_id, EmailDraft.status == EmailStatus.draft.value)
        .values(edited_subject=edited_subject, edited_body=edited_body, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not updated.rowcount:  # type: ignore[attr-defined]
        raise InvalidTransition(
            f"The draft {draft.standing}: only a draft waiting for review can be edited.",
            id=str(draft_id),
            status=draft.status,
        )
    session.refresh(draft)
    return draft


def unfilled(draft: EmailDraft) -> str | None:
    """Why the draft cannot go as it is, if it holds unfilled placeholders."""
    placeholders = draft.unfilled_placeholders
    if not placeholders:
        return None
    return f"it still holds unfilled placeholders ({quoted(placeholders)}): edit it to fill them in"


def require_filled(draft: EmailDraft, doing: str) -> None:
    """Refuses (`doing`, e.g. "approved") a draft that holds unfilled placeholders."""
    why = unfilled(draft)
    if why:
        raise ValidationFailed(f"The draft cannot be {doing}: {why}.", id=str(draft.id))


def approve(session: Session, draft_id: uuid.UUID, now: datetime) -> EmailDraft:
    """A person approved the draft; an enrollment waiting for it may go at once. A draft
    with unfilled placeholders is refused."""
    draft = get(session, draft_id)
    if draft.status != EmailStatus.draft:
        raise InvalidTransition(
            f"The draft {draft.standing}: only a draft waiting for review can be approved.",
            id=str(draft_id),
            status=draft.status,
        )
    require_filled(draft, "approved")
    queries.approve(session, draft_id, now)
    campaign_steps.nudge(session, [draft_id], now)
    return get(session, draft_id)


@dataclass
class BulkOutcome:
    approved: list[uuid.UUID] = field(default_factory=list)
    refused: dict[uuid.UUID, str] = field(default_factory=dict)


def approve_many(session: Session, draft_ids: Sequence[uuid.UUID], now: datetime) -> BulkOutcome:
    """Approves every draft among these that waits for review and holds no unfilled
    placeholder, in one statement (the trigger counts each); says why each other one was not."""
    ids = list(dict.fromkeys(draft_ids))
    outcome = BulkOutcome()
    if not ids:
        return outcome
    found = queries.by_id(session, ids)
    for draft_id in ids:
        draft = found.get(draft_id)
        if draft is None:
            outcome.refused[draft_id] = "there is no such draft"
        elif draft.status != EmailStatus.draft:
            outcome.refused[draft_id] = f"the draft {draft.standing}"
        elif why := unfilled(draft):
            outcome.refused[draft_id] = why
        else:
            outcome.approved.append(draft_id)
    transition_many(
        session,
        EmailDraft,
        (EmailDraft.id.in_(outcome.approved),),
        EmailStatus.approved,
        DRAFTS,
        approved_at=now,
    )
    campaign_steps.nudge(session, outcome.approved, now)
    session.expire_all()
    return outcome


def reject(session: Session, draft_id: uuid.UUID, reason: str | None, now: datetime) -> EmailDraft:
    """A person said no: the draft is not sent (`failed`, with rejected_at and the reason)."""
    transition(
        session,
        EmailDraft,
        draft_id,
        EmailStatus.failed,
        DRAFTS,
        where=(EmailDraft.status != EmailStatus.scheduled.value,),
        rejected_at=now,
        rejected_reason=(reason or "").strip()[:2000] or None,
        updated_at=now,
    )
    campaign_steps.nudge(session, [draft_id], now, "its AI-written draft was rejected")
    return get(session, draft_id)


def rewrite(session: Session, draft_id: uuid.UUID, note: str | None, now: datetime) -> DraftJob:
    """Asks for the draft to be written again, with a note the writer follows ("shorter, and
    mention their Croydon depot"). The same draft row gets the new text (the person's edits
    are replaced; a rejected draft comes back for review); an approved draft is never
    rewritten. A worker writes it, like any batch."""
    draft = get(session, draft_id)
    rejected = draft.status == EmailStatus.failed and draft.rejected_at is not None
    if draft.status != EmailStatus.draft and not rejected:
        raise InvalidTransition(
            f"The draft {draft.standing}: only a draft waiting for review, or a rejected one, "
            "is written again.",
            id=str(draft_id),
            status=draft.status,
        )
    job = queries.job_of_draft(session, draft_id)
    if job is None:
        raise ValidationFailed(
            "This draft was not written by a batch, so there are no instructions to write it "
            "again from: edit it instead."
        )
    if job.status in UNFINISHED_JOBS:
        raise Conflict("This draft is being written already.", id=str(draft_id))
    transition(
        session,
        DraftJob,
        job.id,
        JobStatus.queued,
        JOBS,
        reviewer_note=(note or "").strip()[:2000],
        attempts=0,
        next_attempt_at=now,
        error=None,
        finished_at=None,
        claimed_by=None,
    )
    batches.reopen(session, job.batch_id)
    session.refresh(job)
    return job


# What a reviewer sees --------------------------------------------------------------------------


NO_AI = Finding(
    "no_ai",
    "No AI wrote this AI-written step's draft (ANTHROPIC_API_KEY was not set): the template "
    "drafter filled in the step's brief and made it the email itself.",
)


@dataclass(frozen=True)
class Review:
    """A draft with what helps decide about it."""

    draft: EmailDraft
    contact: Contact
    findings: list[Finding]
    subject_diff: list[Piece]
    body_diff: list[Piece]
    usage: Usage
    cost_micros: int | None
    job: DraftJob | None
    campaign: str | None

    @property
    def rejected(self) -> bool:
        return self.draft.rejected_at is not None

    @property
    def review_status(self) -> str:
        return REJECTED if self.rejected else str(self.draft.status)

    @property
    def written_by(self) -> str | None:
        return batches.writer_name(self.draft.model) if self.draft.model else None

    @property
    def by_ai(self) -> bool:
        return batches.by_ai(self.draft.model)


def review_of(session: Session, draft: EmailDraft) -> Review:
    return reviews_of(session, [draft])[0]


def reviews_of(session: Session, drafts: Sequence[EmailDraft]) -> list[Review]:
    """Each draft's review. A page of drafts reads its contacts, jobs, steps, campaigns,
    templates and earlier drafts with one statement each, not one per draft."""
    contacts = rows_by_id(session, Contact, {draft.contact_id for draft in drafts})
    jobs = queries.jobs_of_drafts(session, [draft.id for draft in drafts])
    steps = rows_by_id(
        session, CampaignSequence, {j.campaign_step_id for j in jobs.values() if j.campaign_step_id}
    )
    campaigns = rows_by_id(session, Campaign, {step.campaign_id for step in steps.values()})
    templates = rows_by_id(
        session, EmailTemplate, {j.template_id for j in jobs.values() if j.template_id}
    )
    kinds = {DraftType(draft.draft_type) for draft in drafts}
    earlier: dict[uuid.UUID, list[EmailDraft]] = {}
    for found in queries.earlier_drafts(
        session, contacts, {before for kind in kinds for before in types_before(kind)}
    ):
        earlier.setdefault(found.contact_id, []).append(found)
    reviews = []
    for draft in drafts:
        job = jobs.get(draft.id)
        step = steps.get(job.campaign_step_id) if job and job.campaign_step_id else None
        campaign = campaigns.get(step.campaign_id) if step else None
        template = templates.get(job.template_id) if job and job.template_id else None
        reviews.append(
            _review(
                draft,
                contacts[draft.contact_id],
                job,
                _instructions(job, step, campaign, template),
                campaign.name if campaign else None,
                earlier_from(earlier.get(draft.contact_id, ()), DraftType(draft.draft_type)),
            )
        )
    return reviews


def _instructions(
    job: DraftJob | None,
    step: CampaignSequence | None,
    campaign: Campaign | None,
    template: EmailTemplate | None,
) -> str:
    """What the draft was written from, for the lint's facts ("" when it is not known)."""
    if job is None:
        return ""
    try:
        return instructions_from(job, step, campaign, template).content
    except DraftRefused:
        return ""


def _review(
    draft: EmailDraft,
    contact: Contact,
    job: DraftJob | None,
    instructions: str,
    campaign: str | None,
    earlier_drafts: Sequence[EarlierDraft],
) -> Review:
    kind = DraftType(draft.draft_type)
    earlier = [f"{e.subject}\n{e.body}" for e in earlier_drafts]
    fields = {
        name: getattr(contact, name)
        for name in ("email", "name", "first_name", "last_name", "company", "title", "website")
    }
    facts = facts_from(fields, contact.raw_data, contact.enriched_data, instructions, earlier)
    usage = Usage(
        draft.input_tokens or 0,
        draft.output_tokens or 0,
        draft.cache_read_tokens or 0,
        draft.cache_write_tokens or 0,
    )
    findings = lint(
        draft.outgoing_subject,
        draft.outgoing_body,
        facts,
        follow_up=kind is not DraftType.first_outreach,
    )
    if campaign is not None and draft.model == TEMPLATE_MODEL:
        findings.append(NO_AI)
    return Review(
        draft=draft,
        contact=contact,
        findings=findings,
        subject_diff=word_diff(draft.subject, draft.outgoing_subject),
        body_diff=word_diff(draft.body, draft.outgoing_body),
        usage=usage,
        cost_micros=cost_micros(draft.model, usage) if draft.model else None,
        job=job,
        campaign=campaign,
    )
