"""The events feed, and webhook endpoints with their deliveries."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from outreach.errors import Gone, ValidationFailed
from outreach.events import feed, retention, webhooks
from outreach.events.kinds import SUBSCRIBABLE, envelope
from outreach.events.models import Event, WebhookDelivery, WebhookEndpoint
from outreach.providers.hooks import Answer
from outreach.web.api.common_schemas import After, ErrorBody, Limit, Page
from outreach.web.api.events_schemas import (
    AttemptOut,
    DeliveryOut,
    EventOut,
    EventPage,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookSecretOut,
    WebhookTestOut,
)
from outreach.web.deps import ApiUser, DbSession, container_of, finish_transaction

router = APIRouter()
events_router = APIRouter(prefix="/events", tags=["events"])
webhooks_router = APIRouter(prefix="/webhooks", tags=["webhooks"])
EVENT = TypeAdapter(EventOut)
CURSOR = (
    "The `next` of the page before (a position, format `feed-position`); omit it for the "
    "first events"
)


def event_out(event: Event) -> Any:
    document = envelope(event.kind, event.occurred_at, event.data)
    return EVENT.validate_python({**document, "id": event.id, "position": event.position})


def _position(session: Session, after: str | None, keep_days: int) -> int:
    if after is None:
        return 0
    if not after.isdigit():
        raise ValidationFailed("This page cursor is not one we gave.", field="after")
    forgotten = retention.forgotten_through(session)
    if int(after) < forgotten:
        raise Gone(
            f"Events up to position {forgotten} were deleted (events are kept {keep_days} "
            "days): some after this cursor are gone. Read again without `after` to start from "
            "the oldest kept.",
            field="after",
            forgotten_through=forgotten,
        )
    return int(after)


@events_router.get(
    "",
    responses={
        410: {"model": ErrorBody, "description": "Events after this cursor were deleted (too old)"}
    },
)
def events_feed(
    request: Request,
    session: DbSession,
    user: ApiUser,
    after: Annotated[
        str | None,
        Query(max_length=20, description=CURSOR, json_schema_extra={"format": "feed-position"}),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=feed.FEED_LIMIT)] = feed.FEED_LIMIT,
    kind: Annotated[
        list[str] | None,
        Query(
            description="Only these kinds",
            # Stated, not enforced here: an unknown kind is refused below, naming it.
            json_schema_extra={"items": {"type": "string", "enum": list(SUBSCRIBABLE)}},
        ),
    ] = None,
) -> EventPage:
    """Events in the order they committed, after the cursor: poll with `next` to get
    each event once. Each has the shape a webhook POSTs, plus its id and position.

    Events are kept OUTREACH_EVENTS_KEEP_DAYS days (90 unless set otherwise), then deleted once
    their webhook deliveries are finished: older events are gone from the feed. A cursor from
    before the deleted ones is answered 410 (`gone`), never by silently skipping what was
    deleted; read again without `after` to start from the oldest event kept."""
    keep_days = container_of(request).settings.events_keep_days
    start = _position(session, after, keep_days)
    if kind and set(kind) - set(SUBSCRIBABLE):
        raise ValidationFailed(
            f"No such event kind: {', '.join(sorted(set(kind) - set(SUBSCRIBABLE)))}.",
            field="kind",
        )
    if feed.has_unnumbered(session):
        # Numbering writes: in a transaction of its own after the read-only one.
        finish_transaction(session)
        feed.number_committed(session, container_of(request).clock.now())
    found = feed.events_after(session, start, limit, kind or ())
    cursor = str(found[-1].position) if found else str(start)
    return EventPage(items=[event_out(event) for event in found], next=cursor)


def webhook_out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.kinds,
        format=endpoint.format,
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=None if endpoint.enabled else webhooks.disabled_words(endpoint),
        failures=endpoint.failures,
        created_at=endpoint.created_at,
    )


@webhooks_router.get("")
def list_webhooks(
    session: DbSession, user: ApiUser, after: After = None, limit: Limit = 100
) -> Page[WebhookOut]:
    """The webhook endpoints, oldest first."""
    found, cursor = webhooks.endpoints_page(session, after, limit)
    return Page(items=[webhook_out(endpoint) for endpoint in found], next=cursor)


@webhooks_router.post("", status_code=201)
def add_webhook(
    request: Request, session: DbSession, user: ApiUser, body: WebhookIn
) -> WebhookCreatedOut:
    """An endpoint that events are POSTed to, signed (Standard Webhooks 1.0: `webhook-id`,
    `webhook-timestamp`, `webhook-signature`); its secret is in this answer only."""
    container = container_of(request)
    made = webhooks.add(
        session,
        body.url,
        body.events,
        format=webhooks.Format(body.format),
        description=body.description,
        secret_key=container.settings.secret_key_value(),
        now=container.clock.now(),
    )
    shown = webhook_out(made.endpoint).model_dump()
    return WebhookCreatedOut(**shown, secret=made.secret)


@webhooks_router.delete("/{webhook_id}", status_code=204)
def remove_webhook(session: DbSession, user: ApiUser, webhook_id: uuid.UUID) -> Response:
    webhooks.remove(session, webhook_id)
    return Response(status_code=204)


@webhooks_router.post("/{webhook_id}/enable")
def enable_webhook(session: DbSession, user: ApiUser, webhook_id: uuid.UUID) -> WebhookOut:
    """Enables an endpoint disabled after failing: its waiting deliveries go next."""
    return webhook_out(webhooks.enable(session, webhook_id))


@webhooks_router.post("/{webhook_id}/rotate")
def rotate_secret(
    request: Request, session: DbSession, user: ApiUser, webhook_id: uuid.UUID
) -> WebhookSecretOut:
    """A new signing secret, in this answer only; deliveries are signed with the old one too
    for 24 hours (two `v1,` signatures), so the receiver can switch without missing any."""
    container = container_of(request)
    secret = webhooks.rotate(
        session, webhook_id, container.settings.secret_key_value(), container.clock.now()
    )
    return WebhookSecretOut(secret=secret)


@webhooks_router.post("/{webhook_id}/test")
def test_webhook(
    request: Request, session: DbSession, user: ApiUser, webhook_id: uuid.UUID
) -> WebhookTestOut:
    """POSTs a signed webhook.test event now and says what the endpoint answered."""
    container = container_of(request)
    delivery_id = webhooks.queue_test(session, webhook_id, container.clock.now())
    finish_transaction(session)
    answer = container.send_webhook_now(delivery_id)
    if isinstance(answer, Answer):
        return WebhookTestOut(
            delivery_id=delivery_id, ok=answer.ok, status_code=answer.status, answer=answer.text
        )
    return WebhookTestOut(delivery_id=delivery_id, ok=False, status_code=None, answer=answer)


@webhooks_router.get("/{webhook_id}/deliveries")
def list_deliveries(
    session: DbSession, user: ApiUser, webhook_id: uuid.UUID, after: After = None, limit: Limit = 50
) -> Page[DeliveryOut]:
    """The endpoint's deliveries, newest first, each with its attempts."""
    webhooks.get(session, webhook_id)
    found, cursor = webhooks.deliveries_page(session, webhook_id, after, limit)
    return Page(items=deliveries_out(session, found), next=cursor)


def deliveries_out(
    session: Session, found: list[tuple[WebhookDelivery, Event]]
) -> list[DeliveryOut]:
    attempts = defaultdict(list)
    for attempt in webhooks.attempts_of(session, [delivery.id for delivery, _ in found]):
        attempts[attempt.delivery_id].append(
            AttemptOut(
                attempted_at=attempt.attempted_at,
                status_code=attempt.status_code,
                response=attempt.response,
                duration_ms=attempt.duration_ms,
            )
        )
    return [
        DeliveryOut(
            id=delivery.id,
            event_id=event.id,
            event_type=event.kind,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            last_error=delivery.last_error,
            attempt_log=attempts[delivery.id],
        )
        for delivery, event in found
    ]


@webhooks_router.post("/deliveries/{delivery_id}/redeliver")
def redeliver(
    request: Request, session: DbSession, user: ApiUser, delivery_id: uuid.UUID
) -> DeliveryOut:
    """Sends a delivery again on the worker's next pass, with a fresh round of retries."""
    delivery = webhooks.redeliver(session, delivery_id, container_of(request).clock.now())
    event = session.get(Event, delivery.event_id)
    assert event is not None
    return deliveries_out(session, [(delivery, event)])[0]


router.include_router(events_router)
router.include_router(webhooks_router)
