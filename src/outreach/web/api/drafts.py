"""Drafts (the review queue), draft batches and templates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy.orm import Session

from outreach.campaigns import service as campaigns
from outreach.campaigns.states import DraftType
from outreach.contacts.models import Contact
from outreach.delivery import contacted, scheduled
from outreach.drafts import batches, campaign_steps, queries, review, templates
from outreach.drafts.models import DraftJob, EmailDraft
from outreach.drafts.states import JobStatus
from outreach.drafts.writers.base import DraftRefused, WriterBusy, WriterStopped
from outreach.errors import Conflict, RateLimited, ValidationFailed
from outreach.web.api.common_schemas import After, ErrorBody, Limit, Page, errors_documented
from outreach.web.api.drafts_schemas import (
    TOTAL_UP_TO,
    BulkApproveIn,
    BulkApproveOut,
    DiffPieceOut,
    DraftBatchIn,
    DraftBatchOut,
    DraftDetail,
    DraftEditIn,
    DraftJobOut,
    DraftOut,
    DraftPage,
    FailureOut,
    FindingOut,
    RejectIn,
    RewriteIn,
    ScheduledOut,
    ScheduleIn,
    SkippedOut,
    TemplateIn,
    TemplateOut,
    TrialIn,
    TrialOut,
)
from outreach.web.deps import ApiUser, DbSession, container_of, finish_transaction

router = APIRouter()
drafts_router = APIRouter(prefix="/drafts", tags=["drafts"])
batches_router = APIRouter(prefix="/draft-batches", tags=["drafts"])
templates_router = APIRouter(prefix="/templates", tags=["drafts"])


def _usd(micros: int | None) -> float | None:
    return None if micros is None else micros / 1_000_000


def draft_out(session: Session, draft: EmailDraft) -> DraftOut:
    return DraftOut(**_summary(review.review_of(session, draft)))


def _summary(seen: review.Review) -> dict[str, Any]:
    draft = seen.draft
    return {
        "id": draft.id,
        "contact_id": draft.contact_id,
        "contact_email": seen.contact.email,
        "draft_type": DraftType(draft.draft_type).value,
        "status": seen.review_status,
        "subject": draft.subject,
        "body": draft.body,
        "edited_subject": draft.edited_subject,
        "edited_body": draft.edited_body,
        "approved_at": draft.approved_at,
        "rejected_at": draft.rejected_at,
        "rejected_reason": draft.rejected_reason,
        "writer_error": draft.writer_error,
        "created_at": draft.created_at,
        "warnings": len(seen.findings),
    }


def draft_detail(session: Session, draft: EmailDraft) -> DraftDetail:
    seen = review.review_of(session, draft)
    return DraftDetail(
        **_summary(seen),
        findings=[FindingOut(code=f.code, message=f.message) for f in seen.findings],
        subject_diff=[DiffPieceOut(op=p.op, text=p.text) for p in seen.subject_diff],
        body_diff=[DiffPieceOut(op=p.op, text=p.text) for p in seen.body_diff],
        model=draft.model,
        prompt_version=draft.prompt_version,
        input_sha256=draft.input_sha256,
        input_tokens=draft.input_tokens,
        output_tokens=draft.output_tokens,
        cache_read_tokens=draft.cache_read_tokens,
        cache_write_tokens=draft.cache_write_tokens,
        estimated_cost_usd=_usd(seen.cost_micros),
        batch_id=seen.job.batch_id if seen.job else None,
        campaign=seen.campaign,
    )


@drafts_router.get("")
def list_drafts(
    session: DbSession,
    user: ApiUser,
    status: review.ReviewStatusName | None = None,
    draft_type: Annotated[DraftType | None, Query(alias="type")] = None,
    list_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
    after: After = None,
    limit: Limit = 50,
) -> DraftPage:
    """Drafts oldest first, filtered; `status=rejected` are those a person rejected."""
    where = review.DraftFilter(
        status=status,
        draft_type=draft_type,
        list_id=list_id,
        campaign_id=campaign_id,
        batch_id=batch_id,
        contact_id=contact_id,
    )
    rows, cursor = review.page(session, where, after, limit)
    return DraftPage(
        items=[
            DraftOut(**_summary(seen))
            for seen in review.reviews_of(session, [draft for draft, _ in rows])
        ],
        next=cursor,
        total=review.count(session, where, up_to=TOTAL_UP_TO),
    )


@drafts_router.post("/approve")
def approve_many(
    request: Request, session: DbSession, user: ApiUser, body: BulkApproveIn
) -> BulkApproveOut:
    """Approve many drafts at once; says why any was not approved."""
    outcome = review.approve_many(session, body.ids, container_of(request).clock.now())
    return BulkApproveOut(
        approved=outcome.approved,
        refused={str(draft_id): reason for draft_id, reason in outcome.refused.items()},
    )


@drafts_router.get("/{draft_id:uuid}")
def get_draft(session: DbSession, user: ApiUser, draft_id: uuid.UUID) -> DraftDetail:
    """A draft with its warnings, the edit against the original, provenance and cost."""
    return draft_detail(session, review.get(session, draft_id))


@drafts_router.patch("/{draft_id:uuid}")
def edit_draft(
    request: Request, session: DbSession, user: ApiUser, draft_id: uuid.UUID, body: DraftEditIn
) -> DraftDetail:
    """Store an edit beside the original (only while the draft waits for review)."""
    draft = review.edit(
        session, draft_id, body.subject, body.body, container_of(request).clock.now()
    )
    return draft_detail(session, draft)


@drafts_router.post("/{draft_id}/approve")
def approve(request: Request, session: DbSession, user: ApiUser, draft_id: uuid.UUID) -> DraftOut:
    """Approve a draft waiting for review."""
    return draft_out(session, review.approve(session, draft_id, container_of(request).clock.now()))


@drafts_router.post("/{draft_id}/reject")
def reject(
    request: Request,
    session: DbSession,
    user: ApiUser,
    draft_id: uuid.UUID,
    body: Annotated[RejectIn | None, Body()] = None,
) -> DraftOut:
    """Reject a draft: it is not sent. The body (a reason) may be left out."""
    reason = body.reason if body else None
    draft = review.reject(session, draft_id, reason, container_of(request).clock.now())
    return draft_out(session, draft)


@drafts_router.post("/{draft_id}/rewrite", status_code=202)
def rewrite(
    request: Request,
    session: DbSession,
    user: ApiUser,
    draft_id: uuid.UUID,
    body: Annotated[RewriteIn | None, Body()] = None,
) -> DraftJobOut:
    """Have the draft written again with a note to the writer; a worker writes it. The body
    (the note) may be left out."""
    note = body.note if body else None
    job = review.rewrite(session, draft_id, note, container_of(request).clock.now())
    return DraftJobOut.model_validate(job)


@drafts_router.post("/{draft_id}/schedule", status_code=201)
def schedule(
    request: Request, session: DbSession, user: ApiUser, draft_id: uuid.UUID, body: ScheduleIn
) -> ScheduledOut:
    """Send an approved draft from a sender account, now or at a time; the worker sends it
    under the account's limits. To a contact a running campaign writes to, or (a first email)
    whom we emailed recently: 409 with the reason, unless `anyway`."""
    container = container_of(request)
    now = container.clock.now()
    try:
        found = scheduled.schedule(
            session,
            draft_id,
            body.sender_id,
            body.at or now,
            now,
            recent=container.recent_email,
            anyway=body.anyway,
        )
    except contacted.InTouchAlready as error:
        raise error.confirm_with('send "anyway": true') from None
    return ScheduledOut.model_validate(found)


# Batches ---------------------------------------------------------------------------------------


def batch_out(session: Session, batch_id: uuid.UUID) -> DraftBatchOut:
    return batches_out(session, [batches.progress(session, batch_id)])[0]


def batches_out(session: Session, shown: Sequence[batches.Progress]) -> list[DraftBatchOut]:
    """Each batch with its first 100 failures and skipped jobs, read once for all of them."""
    ids = [progress.batch.id for progress in shown]
    failures = queries.jobs_of_batches(session, ids, [JobStatus.failed.value], 100)
    skipped = queries.jobs_of_batches(session, ids, [JobStatus.skipped.value], 100)
    return [
        _batch_out(each, failures.get(each.batch.id, []), skipped.get(each.batch.id, []))
        for each in shown
    ]


def _batch_out(
    progress: batches.Progress,
    failures: Sequence[tuple[DraftJob, Contact]],
    skipped: Sequence[tuple[DraftJob, Contact]],
) -> DraftBatchOut:
    found = progress.batch
    return DraftBatchOut(
        id=found.id,
        label=found.label,
        source=found.source,
        status=found.status,
        pause_reason=found.pause_reason,
        created_at=found.created_at,
        started_at=found.started_at,
        finished_at=found.finished_at,
        counts=dict(progress.counts),
        total=progress.total,
        done=progress.done,
        input_tokens=progress.usage.input_tokens,
        output_tokens=progress.usage.output_tokens,
        cache_read_tokens=progress.usage.cache_read_tokens,
        cache_write_tokens=progress.usage.cache_write_tokens,
        estimated_cost_usd=None if progress.unpriced else _usd(progress.cost_micros or 0),
        failures=[
            FailureOut(
                contact_email=contact.email,
                draft_type=DraftType(job.draft_type).value,
                error=job.error,
            )
            for job, contact in failures
        ],
        skipped=[
            SkippedOut(
                contact_email=contact.email,
                draft_type=DraftType(job.draft_type).value,
                reason=job.error or "skipped",
            )
            for job, contact in skipped
        ],
    )


@batches_router.get("")
def list_batches(
    session: DbSession, user: ApiUser, after: After = None, limit: Limit = 50
) -> Page[DraftBatchOut]:
    """Recent batches with their progress and estimated cost."""
    found, cursor = queries.batches_page(session, after, limit)
    return Page(items=batches_out(session, batches.progress_of(session, found)), next=cursor)


@batches_router.post(
    "",
    status_code=201,
    responses=errors_documented((404, "No such list, upload, campaign or template")),
)
def create_batch(
    request: Request, session: DbSession, user: ApiUser, body: DraftBatchIn
) -> DraftBatchOut:
    """Ask for drafts for a list, an upload, or a campaign's AI-written steps; workers write
    them. Drafts a person approved or edited are never written again."""
    return batch_out(session, start_batch(session, request, body))


def start_batch(session: Session, request: Request, body: DraftBatchIn) -> uuid.UUID:
    now = container_of(request).clock.now()
    if body.source == "campaign":
        if body.campaign_id is None:
            raise ValidationFailed("A campaign batch needs campaign_id.", field="campaign_id")
        found = campaigns.get(session, body.campaign_id)
        if not campaign_steps.ai_steps(session, found.id):
            raise ValidationFailed("The campaign has no AI-written step.", field="campaign_id")
        campaign_steps.plan(session, found, now, list_too=True)
        return campaign_steps.batch_of(session, found, now).id
    if body.template_id is None:
        raise ValidationFailed("Choose the template to write from.", field="template_id")
    asked = batches.instructions([DraftType(t) for t in body.types], body.template_id)
    held = contacted.holds(session, now, container_of(request).recent_email)
    rewrite = body.rewrite_unreviewed
    if body.source == "list":
        if body.list_id is None:
            raise ValidationFailed("A list batch needs list_id.", field="list_id")
        return batches.for_list(
            session, body.list_id, asked, now, held=held, rewrite_unreviewed=rewrite
        ).id
    if body.upload_batch_id is None:
        raise ValidationFailed("An upload batch needs upload_batch_id.", field="upload_batch_id")
    return batches.for_upload(
        session, body.upload_batch_id, asked, now, held=held, rewrite_unreviewed=rewrite
    ).id


@batches_router.get("/{batch_id}")
def get_batch(session: DbSession, user: ApiUser, batch_id: uuid.UUID) -> DraftBatchOut:
    """A batch's progress, tokens, estimated cost and failures."""
    return batch_out(session, batches.get(session, batch_id).id)


@batches_router.post("/{batch_id}/resume")
def resume_batch(session: DbSession, user: ApiUser, batch_id: uuid.UUID) -> DraftBatchOut:
    """Resume a paused batch."""
    batches.resume(session, batch_id)
    return batch_out(session, batch_id)


@batches_router.post("/{batch_id}/cancel")
def cancel_batch(
    request: Request, session: DbSession, user: ApiUser, batch_id: uuid.UUID
) -> DraftBatchOut:
    """Cancel a batch: what is not written yet is not written."""
    batches.cancel(session, batch_id, container_of(request).clock.now())
    return batch_out(session, batch_id)


@batches_router.post("/{batch_id}/retry-failed")
def retry_failed(
    request: Request, session: DbSession, user: ApiUser, batch_id: uuid.UUID
) -> DraftBatchOut:
    """Try the batch's failed drafts again."""
    batches.retry_failed(session, batch_id, container_of(request).clock.now())
    return batch_out(session, batch_id)


# Templates --------------------------------------------------------------------------------------


@templates_router.get("")
def list_templates(
    session: DbSession, user: ApiUser, after: After = None, limit: Limit = 100
) -> Page[TemplateOut]:
    """Every template, by name."""
    found, cursor = templates.templates_page(session, after, limit)
    return Page(items=[TemplateOut.model_validate(t) for t in found], next=cursor)


@templates_router.post("", status_code=201)
def create_template(
    request: Request, session: DbSession, user: ApiUser, body: TemplateIn
) -> TemplateOut:
    """A template: a brief for Claude, or an email with merge fields."""
    created = templates.create(session, body.name, body.content, container_of(request).clock.now())
    created.is_active = body.is_active
    session.flush()
    return TemplateOut.model_validate(created)


@templates_router.put("/{template_id}")
def update_template(
    request: Request, session: DbSession, user: ApiUser, template_id: uuid.UUID, body: TemplateIn
) -> TemplateOut:
    """Change a template; drafts already written keep the text they came from."""
    changed = templates.update(
        session,
        template_id,
        name=body.name,
        content=body.content,
        is_active=body.is_active,
        now=container_of(request).clock.now(),
    )
    return TemplateOut.model_validate(changed)


@templates_router.post(
    "/{template_id}/trial",
    responses={429: {"model": ErrorBody, "description": "The model is busy: try again"}},
)
def trial(
    request: Request, session: DbSession, user: ApiUser, template_id: uuid.UUID, body: TrialIn
) -> TrialOut:
    """Write one draft from the template for one contact, with its warnings; nothing is
    stored. This calls the model: it takes seconds."""
    container = container_of(request)
    try:
        prepared = templates.prepare_trial(
            session, template_id, body.contact_id, DraftType(body.draft_type)
        )
    except DraftRefused as error:
        raise ValidationFailed(f"No draft: {error.reason}") from error
    finish_transaction(session)
    writer = container.draft_writer()
    try:
        run = templates.trial(writer, prepared)
    except DraftRefused as error:
        raise ValidationFailed(f"No draft: {error.reason}") from error
    except WriterBusy as error:
        raise RateLimited(error.reason, round(error.retry_after or 30)) from error
    except WriterStopped as error:
        raise Conflict(error.reason) from error
    finally:
        close = getattr(writer, "close", None)
        if callable(close):
            close()
    return TrialOut(
        subject=run.written.subject,
        body=run.written.body,
        model=run.written.model,
        prompt_version=run.written.prompt_version,
        input_tokens=run.written.input_tokens,
        output_tokens=run.written.output_tokens,
        estimated_cost_usd=_usd(run.cost_micros),
        findings=[FindingOut(code=f.code, message=f.message) for f in run.findings],
    )


for part in (drafts_router, batches_router, templates_router):
    router.include_router(part)
