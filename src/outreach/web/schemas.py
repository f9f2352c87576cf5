"""Request and response bodies of /api/v1."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from outreach.access.credentials import MIN_PASSWORD_LENGTH
from outreach.access.models import Role
from outreach.access.service import LABEL
from outreach.contacts.mapping import FIELDS
from outreach.contacts.suppressions import ENTRY


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, object]


class ErrorBody(BaseModel):
    error: ErrorDetail


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    last_sign_in_at: datetime | None
    created_at: datetime


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, json_schema_extra={"format": "email"})
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1000)
    role: Role = Role.member


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=LABEL.pattern)


class IssuedTokenOut(BaseModel):
    token: TokenOut
    secret: str = Field(description="The bearer value. Shown once: store it now.")


# Contacts ---------------------------------------------------------------------------------------


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    file_name: str
    status: str | None
    total_contacts: int | None
    processed_contacts: int | None
    imported_count: int
    updated_count: int
    duplicate_count: int
    invalid_count: int
    suppressed_count: int
    role_count: int
    column_mapping: dict[str, str] | None
    on_duplicate: str
    list_id: uuid.UUID | None
    sheet: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class PreviewRow(BaseModel):
    line: int
    values: list[str]


class UploadOut(BaseModel):
    batch: BatchOut
    headers: list[str]
    proposed_mapping: dict[str, str]
    preview: list[PreviewRow]
    sheets: list[str]


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mapping: dict[str, str] | None = Field(
        None,
        description="field → column; fields: " + ", ".join(FIELDS) + ". Omit to use the proposal.",
    )
    on_duplicate: Literal["skip", "update"] = "skip"
    list_id: uuid.UUID | None = None
    save_mapping_as: str | None = Field(None, max_length=100)


class SavedMappingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    mapping: dict[str, str]


class UndoOut(BaseModel):
    removed: int
    kept: int


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    title: str | None
    timezone: str | None
    website: str | None
    role_address: bool
    upload_batch_id: uuid.UUID
    created_at: datetime


class ContactDetail(ContactOut):
    raw_data: dict[str, Any]
    enriched_data: dict[str, Any] | None
    lists: list[uuid.UUID]


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_after: str | None = Field(
        description="Pass as `after` for the next page; null on the last."
    )


class ListOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    size: int
    created_at: datetime


class ListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=LABEL.pattern)
    description: str | None = Field(None, max_length=2000)


class ListPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, pattern=LABEL.pattern)
    description: str | None = Field(None, max_length=2000)


class FilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, max_length=200)
    company: str | None = Field(None, max_length=200)
    domain: str | None = Field(None, max_length=253)
    batch_id: uuid.UUID | None = None
    field: str | None = Field(None, max_length=200)
    value: str | None = Field(None, max_length=2000)


class MembersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_ids: list[uuid.UUID] | None = Field(None, max_length=10_000)
    batch_id: uuid.UUID | None = None
    filter: FilterIn | None = None

    @model_validator(mode="after")
    def one_way(self) -> MembersIn:
        """One way of choosing per request: with several, which one wins would be a guess."""
        given = [self.contact_ids is not None, self.batch_id is not None, self.filter is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of contact_ids, batch_id or filter")
        return self


class MembersRemoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_ids: list[uuid.UUID] = Field(max_length=10_000)


class CountOut(BaseModel):
    count: int


class SuppressionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str | None
    domain: str | None
    reason: str
    source: str | None
    created_at: datetime


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry: str = Field(
        min_length=1,
        max_length=320,
        pattern=ENTRY.pattern,
        description="An address, or a domain (`@example.com` or `example.com`).",
    )
    reason: Literal["unsubscribed", "bounced", "complained", "manual"] = "manual"
    source: str | None = Field(None, max_length=200)


class SuppressionPage(BaseModel):
    items: list[SuppressionOut]
    next_after: str | None


# Campaigns and sending ----------------------------------------------------------------------------

Day = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WALL_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
LocalTime = Annotated[
    time,
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": WALL_CLOCK, "description": "Local wall-clock HH:MM"}
    ),
]
"""A time of day in the campaign's zone, without a zone of its own, as "HH:MM" ("time" in JSON
Schema would demand an offset)."""


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=LABEL.pattern)
    list_id: uuid.UUID | None = None
    sender_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    description: str | None = Field(None, max_length=2000)


class CampaignChange(BaseModel):
    """Fields left out stay as they are; the list can change only before launch."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, pattern=LABEL.pattern)
    description: str | None = Field(None, max_length=2000)
    list_id: uuid.UUID | None = None


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    send_window_start: LocalTime | None = None
    send_window_end: LocalTime | None = None
    send_days: list[Day] | None = Field(None, max_length=7)
    timezone: str | None = Field(
        None, max_length=64, description="An IANA zone, e.g. Europe/Berlin"
    )
    daily_limit: int | None = Field(None, ge=1, le=100_000)
    delay_between_emails_seconds: int | None = Field(None, ge=0, le=86_400)
    jitter_seconds: int | None = Field(None, ge=0, le=86_400)
    skip_active_elsewhere: bool | None = None
    skip_replied_companies: bool | None = Field(
        None,
        description="One conversation per company: skip contacts whose company domain replied, "
        "and stop colleagues' sequences when someone replies (personal mail providers excluded)",
    )
    unsubscribe_line: bool | None = None
    require_approval: bool | None = Field(
        None, description="Enrollments wait at an AI-written step until its draft is approved"
    )


class SettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    send_window_start: LocalTime
    send_window_end: LocalTime
    send_days: list[str]
    timezone: str
    daily_limit: int
    delay_between_emails_seconds: int
    jitter_seconds: int
    skip_active_elsewhere: bool
    skip_replied_companies: bool
    unsubscribe_line: bool
    require_approval: bool


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        "", max_length=1000, description='Empty on a follow-up: "Re: " + the first subject'
    )
    body: str = Field(min_length=1, max_length=50_000)
    html: str | None = Field(None, max_length=200_000)
    delay_days: int = Field(0, ge=0, le=365)
    delay_hours: int = Field(0, ge=0, le=8760)
    ai_written: bool = Field(
        False, description="The text is a brief a writer follows for each contact, ahead of time"
    )


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sequence_order: int
    name: str
    subject_template: str
    body_template: str
    html_template: str | None
    delay_days: int
    delay_hours: int
    ai_written: bool


class SenderWeekOut(BaseModel):
    """The account's last 7 days."""

    sent: int
    hard_bounces: int
    bounce_rate: float | None = Field(description="hard_bounces / sent; null before any send")
    replies: int


class ImapOut(BaseModel):
    host: str
    port: int
    security: str
    username: str
    folder: str


class SenderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str | None
    kind: str
    daily_cap: int | None
    state: str
    last_error: str | None
    imap: ImapOut | None = Field(None, description="Where an SMTP account's replies are read")
    week: SenderWeekOut | None = None


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    status: str
    list_id: uuid.UUID | None
    created_at: datetime


class CampaignDetail(CampaignOut):
    settings: SettingsOut
    steps: list[StepOut]
    senders: list[SenderOut]
    enrollments: dict[str, int]


class SendersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender_ids: list[uuid.UUID] = Field(max_length=50)


class LaunchOut(BaseModel):
    enrolled: int
    skipped: dict[str, int]


class EnrollmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contact_id: uuid.UUID
    status: str
    current_sequence_step: int
    next_send_at: datetime | None
    waiting_reason: str | None
    stop_reason: str | None
    last_email_sent_at: datetime | None


class SenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["outbox", "smtp", "graph"]
    email: str = Field(max_length=320, json_schema_extra={"format": "email"})
    display_name: str | None = Field(None, max_length=200)
    host: str | None = Field(None, max_length=253)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = Field(None, max_length=320)
    password: str | None = Field(
        None, max_length=1000, description="The SMTP password, or the Graph app's client secret"
    )
    tenant_id: str | None = Field(
        None, max_length=200, description="Graph: default OUTLOOK_TENANT_ID"
    )
    client_id: str | None = Field(
        None, max_length=200, description="Graph: default OUTLOOK_CLIENT_ID"
    )
    one_click_unsubscribe: bool = Field(
        True, description="Graph: send List-Unsubscribe-Post (see the senders page)"
    )
    daily_cap: int | None = Field(None, ge=1, le=1_000_000)
    max_connections: int | None = Field(
        None, ge=1, le=20, description="Connections at once from a worker (4; 3 for Graph)"
    )


class ImapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(993, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str | None = Field(None, max_length=320, description="Default: the SMTP username")
    password: str | None = Field(None, max_length=1000, description="Default: the SMTP password")
    folder: str = Field("INBOX", min_length=1, max_length=200)


class PartCheckOut(BaseModel):
    part: Literal["sending", "reading replies"]
    ok: bool
    message: str


class CheckOut(BaseModel):
    ok: bool
    message: str
    checks: list[PartCheckOut] = Field(default_factory=list)


class InboxMessageOut(BaseModel):
    id: uuid.UUID
    kind: Literal["human_reply", "unsubscribe_request", "auto_reply", "bounce"]
    received_at: datetime
    sender_account_id: uuid.UUID
    contact_id: uuid.UUID
    contact_email: str
    campaign_id: uuid.UUID | None
    campaign_name: str | None
    subject: str | None
    snippet: str | None
    returns_on: date | None
    matched_by: str
    reason: str = Field(description="What it was taken for and what was done")


class MailboxPollOut(BaseModel):
    email: str
    read: int
    acted: dict[str, int]
    error: str | None
    skipped: str | None


class PollOut(BaseModel):
    summary: str
    mailboxes: list[MailboxPollOut]


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    campaign_id: uuid.UUID | None
    contact_id: uuid.UUID
    sequence_step: int | None
    status: str
    message_id: str
    attempts: int
    claimed_at: datetime | None
    sent_at: datetime | None
    last_error: str | None


# Drafts -----------------------------------------------------------------------------------------

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


class DraftPage(BaseModel):
    drafts: list[DraftOut]
    next: str | None = Field(description="Pass as `after` for the next page")
    total: int


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
    template_id: uuid.UUID | None = Field(None, description="For a list or an upload")
    types: list[DraftTypeName] = Field(default_factory=_first_outreach, min_length=1, max_length=3)
    rewrite_unreviewed: bool = Field(
        False, description="Write again drafts waiting for review (approved or edited: never)"
    )


class FailureOut(BaseModel):
    contact_email: str
    draft_type: DraftTypeName
    error: str | None


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


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    content: str = Field(
        min_length=1,
        max_length=20_000,
        description='Instructions, merge fields allowed; an optional first line "Subject: …"',
    )
    is_active: bool = True


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
