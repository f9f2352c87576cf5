"""Request and response bodies of /api/v1 drafts, their review, batches and templates
(web/api/drafts.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from outreach.access.service import LABEL
from outreach.web.api.common_schemas import Page

TOTAL_UP_TO = 10_000
"""How far a page of drafts counts the drafts its filter matches."""

DraftTypeName = Literal["first_outreach", "second_followup", "final_followup"]
ReviewStatus = Literal["draft", "approved", "scheduled", "sent", "failed", "rejected"]


class FindingOut(BaseModel):
    code: str = Field(description="placeholder, empty_subject, unknown_fact, spam_words...")
    message: str


class DiffPieceOut(BaseModel):
    op: Literal["equal", "delete", "insert"]
    text: str


class DraftOut(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    contact_email: str
    draft_type: DraftTypeName
    status: ReviewStatus = Field(description='email_status, or "rejected" (failed by a person)')
    subject: str = Field(description="As written")
    body: str = Field(description="As written")
    edited_subject: str | None
    edited_body: str | None
    approved_at: datetime | None
    rejected_at: datetime | None
    rejected_reason: str | None
    writer_error: str | None = Field(description="Why the last rewrite failed, if it did")
    created_at: datetime
    warnings: int = Field(description="How many lint findings the text as sent has")


class DraftDetail(DraftOut):
    findings: list[FindingOut]
    subject_diff: list[DiffPieceOut]
    body_diff: list[DiffPieceOut]
    model: str | None
    prompt_version: str | None
    input_sha256: str | None
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    estimated_cost_usd: float | None = Field(description="From list prices: an estimate")
    batch_id: uuid.UUID | None
    campaign: str | None


class DraftPage(Page[DraftOut]):
    total: int = Field(
        description="How many drafts the filter matches, on every page, counted up to "
        f"{TOTAL_UP_TO:,}: {TOTAL_UP_TO + 1:,} means more (an exact count of millions of "
        "drafts would cost every page seconds)"
    )


class DraftEditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(max_length=1000)
    body: str = Field(min_length=1, max_length=50_000)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=2000)


class RewriteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000, description="What the writer should change")


class BulkApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class BulkApproveOut(BaseModel):
    approved: list[uuid.UUID]
    refused: dict[str, str] = Field(description="Draft id → why it was not approved")


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender_id: uuid.UUID
    at: datetime | None = Field(None, description="With its zone; empty or past: now")
    anyway: bool = Field(
        False,
        description="Send even though the contact is in a running campaign or was emailed "
        "recently (refused with 409 and the reason otherwise)",
    )


class ScheduledOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    draft_id: uuid.UUID
    contact_id: uuid.UUID
    sender_account_id: uuid.UUID
    scheduled_for: datetime
    status: str | None


class DraftJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    batch_id: uuid.UUID
    contact_id: uuid.UUID
    draft_type: DraftTypeName
    status: str
    attempts: int
    next_attempt_at: datetime
    error: str | None
    reviewer_note: str | None
    draft_id: uuid.UUID | None


def _first_outreach() -> list[DraftTypeName]:
    return ["first_outreach"]


class DraftBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Literal["list", "upload", "campaign"]
    list_id: uuid.UUID | None = None
    upload_batch_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = Field(
        None, description="Its AI-written steps, for each enrollment (or its list before launch)"
    )
    template_id: uuid.UUID | None = Field(None, description="Needed for a list or an upload")
    types: list[DraftTypeName] = Field(default_factory=_first_outreach, min_length=1, max_length=3)
    rewrite_unreviewed: StrictBool = Field(
        False, description="Write again drafts waiting for review (approved or edited: never)"
    )


class FailureOut(BaseModel):
    contact_email: str
    draft_type: DraftTypeName
    error: str | None


class SkippedOut(BaseModel):
    contact_email: str
    draft_type: DraftTypeName
    reason: str


class DraftBatchOut(BaseModel):
    id: uuid.UUID
    label: str
    source: str
    status: Literal["queued", "running", "paused", "completed", "cancelled"]
    pause_reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int] = Field(description="Jobs per status")
    total: int
    done: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    estimated_cost_usd: float | None = Field(description="From list prices: an estimate")
    failures: list[FailureOut]
    skipped: list[SkippedOut] = Field(
        description="Drafts not written and why (up to 100; counts.skipped has them all)"
    )


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=LABEL.pattern)
    # Instructions must hold a character other than whitespace, as Python counts it (the
    # domain strips them): \x1c-\x1f are whitespace to Python but not to JSON Schema's \s.
    content: str = Field(
        min_length=1,
        max_length=20_000,
        pattern=r"[^\s\x1c-\x1f]",
        description='Instructions, merge fields allowed; an optional first line "Subject: …"',
    )
    is_active: StrictBool = True


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    template_content: str
    is_active: bool | None
    created_at: datetime
    updated_at: datetime


class TrialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: uuid.UUID
    draft_type: DraftTypeName = "first_outreach"


class TrialOut(BaseModel):
    subject: str
    body: str
    model: str
    prompt_version: str
    input_tokens: int | None
    output_tokens: int | None
    estimated_cost_usd: float | None
    findings: list[FindingOut]
