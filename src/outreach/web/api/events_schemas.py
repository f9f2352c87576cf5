"""The events' JSON, as the feed (GET /api/v1/events) returns it and webhooks POST it: the
Standard Webhooks envelope `{"type", "timestamp", "data"}` (webhooks: the body; the feed adds
`id` and `position`), one `data` shape per kind. Members are added, never renamed or removed.
Ids are UUIDs and times ISO 8601 UTC, as text."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from outreach.web.api.common_schemas import Page


class EmailSentData(BaseModel):
    email_id: uuid.UUID = Field(description="The sent_emails row")
    delivery_id: uuid.UUID
    contact_id: uuid.UUID
    recipient: str
    sender_account_id: uuid.UUID
    campaign_id: uuid.UUID | None = Field(description="null for a one-off email")
    step: int | None = Field(description="The campaign step, from 1; null for a one-off email")
    subject: str
    message_id: str = Field(description="The email's Message-ID")


class EmailBouncedData(BaseModel):
    delivery_id: uuid.UUID | None
    contact_id: uuid.UUID
    recipient: str
    campaign_id: uuid.UUID | None
    reason: str
    address_suppressed: bool = Field(description="The address itself was refused: suppressed")


class ReplyReceivedData(BaseModel):
    reply_id: uuid.UUID = Field(description="The email_replies row")
    contact_id: uuid.UUID
    email: str = Field(description="Who replied")
    campaign_id: uuid.UUID | None
    sent_email_id: uuid.UUID | None = Field(description="Our email it answers")
    subject: str | None
    snippet: str | None = Field(description="The first ~200 characters of their own words")
    received_at: datetime


class ReplyCategorizedData(BaseModel):
    reply_id: uuid.UUID
    contact_id: uuid.UUID
    email: str
    campaign_id: uuid.UUID | None
    category: str = Field(description="The reply's category (interested, not interested, ...)")
    previous_category: str | None
    by: Literal["automatic", "person"] = Field(
        description="A person, or the worker (the phrase rules or Claude)"
    )


class LeadStatusChangedData(BaseModel):
    contact_id: uuid.UUID
    email: str
    status: str = Field(description="The lead status now")
    previous_status: str | None
    by: Literal["automatic", "person"] = Field(
        description="A person, or what happened (a send, a reply, a category, a bounce, ...)"
    )


class ContactUnsubscribedData(BaseModel):
    contact_id: uuid.UUID
    email: str
    campaign_id: uuid.UUID | None = Field(description="The campaign whose email they answered")
    source: Literal["link", "reply"] = Field(description="The link in an email, or a reply")


class CampaignLaunchedData(BaseModel):
    campaign_id: uuid.UUID
    name: str
    enrolled: int = Field(description="Contacts enrolled at the launch")


class CampaignCompletedData(BaseModel):
    campaign_id: uuid.UUID
    name: str


class SenderPausedData(BaseModel):
    sender_account_id: uuid.UUID
    email: str
    reason: str | None


class SenderFailingData(BaseModel):
    sender_account_id: uuid.UUID
    email: str
    reason: str | None
    retry_at: datetime | None = Field(description="When it is tried again; null: a person must act")


class _Event(BaseModel):
    id: uuid.UUID
    position: int = Field(description="Its place in commit order: the feed's cursor")
    timestamp: datetime = Field(description="When the change happened")


class EmailSent(_Event):
    type: Literal["email.sent"]
    data: EmailSentData


class EmailBounced(_Event):
    type: Literal["email.bounced"]
    data: EmailBouncedData


class ReplyReceived(_Event):
    type: Literal["reply.received"]
    data: ReplyReceivedData


class ReplyCategorized(_Event):
    type: Literal["reply.categorized"]
    data: ReplyCategorizedData


class LeadStatusChanged(_Event):
    type: Literal["lead.status_changed"]
    data: LeadStatusChangedData


class ContactUnsubscribed(_Event):
    type: Literal["contact.unsubscribed"]
    data: ContactUnsubscribedData


class CampaignLaunched(_Event):
    type: Literal["campaign.launched"]
    data: CampaignLaunchedData


class CampaignCompleted(_Event):
    type: Literal["campaign.completed"]
    data: CampaignCompletedData


class SenderPaused(_Event):
    type: Literal["sender.paused"]
    data: SenderPausedData


class SenderFailing(_Event):
    type: Literal["sender.failing"]
    data: SenderFailingData


EventOut = Annotated[
    EmailSent
    | EmailBounced
    | ReplyReceived
    | ReplyCategorized
    | LeadStatusChanged
    | ContactUnsubscribed
    | CampaignLaunched
    | CampaignCompleted
    | SenderPaused
    | SenderFailing,
    Field(discriminator="type"),
]


class EventPage(Page[EventOut]):
    # A feed has no last page: its cursor is where to poll from next.
    next: str = Field(
        description="Pass as `after` for the events after these; the same cursor when there "
        "were none yet (poll again later): never null"
    )


class WebhookIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000, description="http:// or https://")
    events: list[str] = Field(
        default_factory=list, description="Event kinds it wants; every kind when empty"
    )
    format: Literal["standard", "slack"] = Field(
        "standard", description="slack: reply events as a readable message"
    )
    description: str | None = Field(None, max_length=500)


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    format: str
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why it was disabled, when it was")
    failures: int = Field(description="Attempts in a row that failed")
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_...): shown this once")


class WebhookSecretOut(BaseModel):
    secret: str = Field(description="The new signing secret (whsec_...): shown this once")


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None = Field(description="null: no answer")
    response: str | None = Field(description="The start of the answer, or why none came")
    duration_ms: int


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: Literal["pending", "delivering", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="When it is tried next, if pending")
    last_error: str | None
    attempt_log: list[AttemptOut]


class WebhookTestOut(BaseModel):
    delivery_id: uuid.UUID
    ok: bool
    status_code: int | None
    answer: str


WEBHOOK_DATA: dict[str, type[BaseModel]] = {
    "email.sent": EmailSentData,
    "email.bounced": EmailBouncedData,
    "reply.received": ReplyReceivedData,
    "reply.categorized": ReplyCategorizedData,
    "lead.status_changed": LeadStatusChangedData,
    "contact.unsubscribed": ContactUnsubscribedData,
    "campaign.launched": CampaignLaunchedData,
    "campaign.completed": CampaignCompletedData,
    "sender.paused": SenderPausedData,
    "sender.failing": SenderFailingData,
}
SIGNED = (
    "Signed to Standard Webhooks 1.0: `webhook-id` (the event's, the same on every attempt), "
    "`webhook-timestamp` (Unix seconds), `webhook-signature: v1,<base64 HMAC-SHA256 of "
    '"id.timestamp.body" keyed with the base64 part of the whsec_ secret>`. Answer 2xx within '
    "5 seconds; anything else is tried again for about three days."
)


def webhooks_document() -> dict[str, object]:
    """The OpenAPI 3.1 `webhooks` section: what each kind's POST carries. Its data schemas are
    the feed's (components), so the document holds each shape once."""
    return {
        kind: {
            "post": {
                "summary": f"{kind}",
                "description": SIGNED,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["type", "timestamp", "data"],
                                "properties": {
                                    "type": {"const": kind},
                                    "timestamp": {"type": "string", "format": "date-time"},
                                    "data": {"$ref": f"#/components/schemas/{model.__name__}"},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": {"description": "Any 2xx: delivered"}},
            }
        }
        for kind, model in WEBHOOK_DATA.items()
    }
