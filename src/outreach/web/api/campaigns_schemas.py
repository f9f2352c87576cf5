"""Request and response bodies of /api/v1 campaigns, their steps, settings, enrollments and
deliveries (web/api/campaigns.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StrictBool, WithJsonSchema

from outreach.access.service import LABEL
from outreach.web.api.common_schemas import BodyIn
from outreach.web.api.senders_schemas import SenderOut

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


class SettingsIn(BodyIn):
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
    skip_active_elsewhere: StrictBool | None = None
    skip_replied_companies: StrictBool | None = Field(
        None,
        description="One conversation per company: skip contacts whose company domain replied, "
        "and stop colleagues' sequences when someone replies (personal mail providers excluded)",
    )
    unsubscribe_line: StrictBool | None = None
    require_approval: StrictBool | None = Field(
        None, description="Enrollments wait at an AI-written step until its draft is approved"
    )
    category_actions: dict[str, str] | None = Field(
        None,
        description="What a reply's category does where it differs from the default, e.g. "
        '{"do_not_contact": "none"} (suppress|none), {"wrong_person": "none"} '
        "(offer_referral|none), interested and meeting_request: stop_company|none, "
        "out_of_office: note_return|none; replaces the campaign's earlier choices",
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
    category_actions: dict[str, str] | None


class StepIn(BodyIn):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        "",
        max_length=1000,
        description='Needed on the first step; empty on a follow-up: "Re: " + the first subject',
    )
    body: str = Field(min_length=1, max_length=50_000)
    html: str | None = Field(None, max_length=200_000)
    delay_days: int = Field(0, ge=0, le=365)
    delay_hours: int = Field(0, ge=0, le=8760)
    ai_written: StrictBool = Field(
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
    warnings: list[str] = Field(
        [], description="What the launch did not stop but a person should fix, in plain words"
    )


class EnrollmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contact_id: uuid.UUID
    status: str
    current_sequence_step: int
    next_send_at: datetime | None = Field(
        description="When the next email is due; null once the enrollment ended."
    )
    next_send: str = Field(
        "",
        description='The next email as the pages say it: "" for none, "due now", '
        '"window opens Mon 08:00 Europe/Berlin", or a time in the campaign\'s zone.',
    )
    why: str = Field("", description="Why the next email is then, or why the enrollment ended.")
    waiting_reason: str | None
    stop_reason: str | None
    last_email_sent_at: datetime | None


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
    kind: Literal["campaign_step", "answer", "scheduled_email"] = Field(
        "campaign_step",
        description="A campaign's step, an answer a person wrote in a conversation, or another "
        "one-off email",
    )
    answers_conversation_id: uuid.UUID | None = Field(
        None, description="An answer's conversation (/api/v1/conversations/{id}); else null"
    )
