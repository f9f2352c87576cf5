"""Webhook endpoints: made (the secret shown once), listed, removed, enabled again; their
deliveries and each delivery's attempts; a delivery sent again. Services flush; the caller
commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.db import get_or_not_found, keyset_page, keyset_scalars
from outreach.errors import NotFound, ValidationFailed
from outreach.events.kinds import REPLY_KINDS, SUBSCRIBABLE, EventKind
from outreach.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from outreach.events.signing import new_secret
from outreach.sealing import seal, unseal
from outreach.words import UTC_ZONE, time_in_zone

DELIVERIES_SHOWN = 50
ROTATION_OVERLAP = timedelta(hours=24)


class Format(StrEnum):
    standard = "standard"
    """The event as JSON, signed (Standard Webhooks)."""
    slack = "slack"
    """A readable message for a Slack-compatible incoming webhook; reply events only."""


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str
    """The whsec_ secret, in the clear: shown to the person this once."""


def kinds_of(names: Sequence[str], format: Format) -> list[str]:
    """The event kinds asked for, checked; every kind the format carries when none is named."""
    allowed = REPLY_KINDS if format is Format.slack else SUBSCRIBABLE
    if not names:
        return [kind.value for kind in allowed]
    unknown = [name for name in names if name not in {kind.value for kind in allowed}]
    if unknown:
        raise ValidationFailed(
            f"No such event kind for a {format.value} endpoint: {', '.join(unknown)}. "
            f"Choose from {', '.join(kind.value for kind in allowed)}.",
            field="kinds",
        )
    return sorted(set(names), key=[kind.value for kind in EventKind].index)


def checked_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            f"{url!r} is not an http:// or https:// address to POST to.", field="url"
        )
    return url


def add(
    session: Session,
    url: str,
    kinds: Sequence[str],
    *,
    format: Format = Format.standard,
    description: str | None = None,
    secret_key: str,
    now: datetime,
) -> NewEndpoint:
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=checked_url(url),
        kinds=kinds_of(kinds, format),
        format=format.value,
        description=(description or "").strip() or None,
        secret=seal(secret_key, {"secret": secret}),
        enabled=True,
        failures=0,
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    return NewEndpoint(endpoint, secret)


def secrets_of(endpoint: WebhookEndpoint, secret_key: str, now: datetime) -> list[str]:
    """The secrets deliveries are signed with now: the current one, and the one it replaced
    while that is still honoured."""
    stored = unseal(secret_key, endpoint.secret)
    secrets = [str(stored["secret"])]
    until = stored.get("previous_until")
    if until and now < datetime.fromisoformat(until):
        secrets.append(str(stored["previous"]))
    return secrets


def rotate(session: Session, endpoint_id: uuid.UUID, secret_key: str, now: datetime) -> str:
    """A new secret for the endpoint, returned to be shown once; deliveries are signed with the
    old one too for ROTATION_OVERLAP, so its receiver can switch without missing any."""
    endpoint = get(session, endpoint_id)
    secret = new_secret()
    old = str(unseal(secret_key, endpoint.secret)["secret"])
    until = (now + ROTATION_OVERLAP).isoformat()
    endpoint.secret = seal(secret_key, {"secret": secret, "previous": old, "previous_until": until})
    session.flush()
    return secret


def get(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    return get_or_not_found(session, WebhookEndpoint, endpoint_id, "webhook endpoint")


def endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.created_at)))


def endpoints_page(
    session: Session, after: str | None, limit: int
) -> tuple[list[WebhookEndpoint], str | None]:
    """A page of endpoints, oldest first (as `endpoints`)."""
    return keyset_scalars(
        session,
        sa.select(WebhookEndpoint),
        WebhookEndpoint.created_at,
        WebhookEndpoint.id,
        after,
        limit,
    )


def remove(session: Session, endpoint_id: uuid.UUID) -> None:
    session.delete(get(session, endpoint_id))
    session.flush()


def disabled_words(endpoint: WebhookEndpoint, zone: ZoneInfo = UTC_ZONE) -> str:
    """Why an endpoint was disabled, as a person reads it, the time in `zone`: its stored reason
    is the last failure, the times are data, so that each reader sees them in their own zone."""
    reason = endpoint.disabled_reason or ""
    if reason.startswith("Disabled"):
        return reason  # written whole, in UTC, before the failure was kept alone
    since = endpoint.failing_since
    return (
        f"Disabled after {endpoint.failures} failed attempts in a row"
        + (f" since {time_in_zone(since, zone)}" if since else "")
        + f" (last: {reason}). Fix the endpoint, then enable it: its waiting deliveries go then."
    )


def enable(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """An endpoint disabled after failing is enabled again: its waiting deliveries go next."""
    endpoint = get(session, endpoint_id)
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.failures = 0
    endpoint.failing_since = None
    session.flush()
    return endpoint


def deliveries_of(
    session: Session, endpoint_id: uuid.UUID, limit: int = DELIVERIES_SHOWN
) -> list[tuple[WebhookDelivery, Event]]:
    """The endpoint's latest deliveries, newest first, each with its event."""
    return deliveries_page(session, endpoint_id, None, limit)[0]


def deliveries_page(
    session: Session, endpoint_id: uuid.UUID, after: str | None, limit: int
) -> tuple[list[tuple[WebhookDelivery, Event]], str | None]:
    """A page of the endpoint's deliveries, newest event first, each with its event."""
    statement = (
        sa.select(WebhookDelivery, Event)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
    )
    # By the event's time: deliveries queued together share their created_at.
    rows, cursor = keyset_page(
        session,
        statement,
        Event.occurred_at,
        WebhookDelivery.id,
        after,
        limit,
        descending=True,
    )
    return [(delivery, event) for delivery, event in rows], cursor


def attempts_of(session: Session, delivery_ids: Sequence[uuid.UUID]) -> list[WebhookAttempt]:
    return list(
        session.scalars(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.attempted_at)
        )
    )


def redeliver(session: Session, delivery_id: uuid.UUID, now: datetime) -> WebhookDelivery:
    """Sends a delivery again, whatever came of it, with a fresh round of retries."""
    delivery = get_or_not_found(session, WebhookDelivery, delivery_id, "webhook delivery")
    if delivery.status == "delivering":
        raise ValidationFailed("This delivery is being sent right now.", id=str(delivery_id))
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.claimed_by = None
    session.flush()
    return delivery


def queue_test(session: Session, endpoint_id: uuid.UUID, now: datetime) -> uuid.UUID:
    """A webhook.test event for this endpoint alone, queued now; returns its delivery's id."""
    endpoint = get(session, endpoint_id)
    event = Event(
        kind=EventKind.webhook_test.value,
        occurred_at=now,
        data={"endpoint_id": str(endpoint.id), "message": "A test from outreach."},
    )
    session.add(event)
    session.flush()
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=event.id,
        status="pending",
        next_attempt_at=now,
        attempts=0,
    )
    session.add(delivery)
    session.flush()
    return delivery.id


def delivery(session: Session, delivery_id: uuid.UUID) -> WebhookDelivery:
    found = session.get(WebhookDelivery, delivery_id)
    if found is None:
        raise NotFound(f"There is no webhook delivery {delivery_id}.", id=str(delivery_id))
    return found
