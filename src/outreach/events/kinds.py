"""The kinds of event, and the one shape of every event's JSON: Standard Webhooks' envelope
`{"type", "timestamp", "data"}`. Each kind's `data` members are documented in the OpenAPI
document (web/api/events_schemas.py) and stay stable: members may be added, never renamed or
removed."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    email_sent = "email.sent"
    email_bounced = "email.bounced"
    reply_received = "reply.received"
    reply_categorized = "reply.categorized"
    lead_status_changed = "lead.status_changed"
    contact_unsubscribed = "contact.unsubscribed"
    campaign_launched = "campaign.launched"
    campaign_completed = "campaign.completed"
    sender_paused = "sender.paused"
    sender_failing = "sender.failing"
    webhook_test = "webhook.test"
    """Sent to one endpoint when a person tests it; never in the feed."""


SUBSCRIBABLE = tuple(kind for kind in EventKind if kind is not EventKind.webhook_test)
REPLY_KINDS = (EventKind.reply_received, EventKind.reply_categorized)


def plain(value: object) -> object:
    """A payload value as JSON holds it: ids and times as text."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, StrEnum):
        return value.value
    return value


def envelope(kind: str, occurred_at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of an event (Standard Webhooks' recommended payload structure)."""
    return {"type": kind, "timestamp": plain(occurred_at), "data": data}
