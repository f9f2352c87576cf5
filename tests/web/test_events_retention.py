"""Events do not grow forever: the worker deletes those older than OUTREACH_EVENTS_KEEP_DAYS
whose webhook deliveries are finished (delivered, or given up), with those deliveries; one
still being retried keeps its event, and the newest always stays. A feed cursor from before
what was deleted is a 410 saying so, never a page that silently skips. Time is a FixedClock;
both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.events import delivering, feed, retention, webhooks
from outreach.events.kinds import EventKind
from outreach.events.models import Event, WebhookAttempt, WebhookDelivery
from outreach.events.recording import record
from outreach.providers.http_hooks import HttpPoster
from outreach.worker import jobs
from tests.webhook_receiver import WebhookReceiver

GIVE_UP_AT_ONCE = delivering.WebhookPolicy(
    retries=delivering.RetryPolicy(lease=timedelta(minutes=5), max_attempts=1)
)


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def endpoint(session, container, clock, url, kind):
    key = container.settings.secret_key_value()
    made = webhooks.add(session, url, [kind], secret_key=key, now=clock.now())
    session.commit()
    return made.endpoint


def happened(session, clock, kind, count=1):
    for _ in range(count):
        data = {"sender_account_id": uuid.uuid4(), "email": "x@y.example", "reason": "why"}
        if kind is EventKind.sender_failing:
            data["retry_at"] = None
        record(session, kind, clock.now(), **data)
    session.commit()


def give_up_at_once(container, clock):
    key = container.settings.secret_key_value()
    poster = HttpPoster(timeout=5)
    delivering.delivery_pass(container.sessions, clock, poster, key, policy=GIVE_UP_AT_ONCE)


def number(session, clock):
    """Numbers what committed, as a feed read does, without delivering what is due."""
    feed.number_committed(session, clock.now())
    session.commit()


def positions(api, **params):
    answer = api.get("/api/v1/events", params=params)
    assert answer.status_code == 200, answer.text
    return [item["position"] for item in answer.json()["items"]]


def test_old_events_whose_deliveries_are_finished_go_and_the_feed_says_so_to_an_old_cursor(
    session, container, clock, api
):
    with WebhookReceiver(statuses=(200, 200, 200, 500)) as receiver:
        endpoint(session, container, clock, receiver.url, "sender.paused")
        happened(session, clock, EventKind.sender_paused, 3)  # positions 1-3: delivered
        container.webhook_pass()
        happened(session, clock, EventKind.sender_paused)  # 4: answered 500, to be retried
        container.webhook_pass()
    happened(session, clock, EventKind.sender_failing)  # 5: no endpoint wants it
    number(session, clock)
    clock.advance(timedelta(days=container.settings.events_keep_days - 1))
    assert jobs.forget_events(container).changed == 0  # not old enough yet

    clock.advance(timedelta(days=2))
    happened(session, clock, EventKind.sender_failing)  # 6: new
    number(session, clock)
    report = jobs.forget_events(container)

    assert report.changed == 4
    assert positions(api) == [4, 6]
    kept = session.scalars(sa.select(Event.position).order_by(Event.position)).all()
    assert kept == [4, 6]
    assert session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(WebhookAttempt)) == 1

    assert positions(api, after="5") == [6]
    old = api.get("/api/v1/events", params={"after": "2"})
    assert old.status_code == 410
    error = old.json()["error"]
    assert error["code"] == "gone"
    assert error["message"].startswith("Events up to position 5 were deleted (events are kept 90")
    assert error["details"]["forgotten_through"] == 5


def test_a_delivery_given_up_no_longer_keeps_its_event_and_the_newest_event_always_stays(
    session, container, clock, api
):
    with WebhookReceiver(statuses=(503,)) as receiver:
        endpoint(session, container, clock, receiver.url, "sender.paused")
        happened(session, clock, EventKind.sender_paused, 2)
        give_up_at_once(container, clock)  # an endpoint's deliveries stop at its first failure
        give_up_at_once(container, clock)
    statuses = session.scalars(sa.select(WebhookDelivery.status)).all()
    assert statuses == ["failed", "failed"]
    clock.advance(timedelta(days=container.settings.events_keep_days + 1))

    assert jobs.forget_events(container).changed == 1
    # Positions go on from the newest kept: a poller never sees one again.
    assert positions(api) == [2]
    happened(session, clock, EventKind.sender_paused)
    assert positions(api, after="2") == [3]
    assert api.get("/api/v1/events", params={"after": "0"}).status_code == 410


def test_old_events_are_deleted_a_small_batch_at_a_time_until_only_the_newest_is_left(
    session, container, clock, api
):
    happened(session, clock, EventKind.sender_paused, 7)
    number(session, clock)
    clock.advance(timedelta(days=1))

    deleted = [retention.forget_before(session, clock.now(), clock.now(), batch=2) for _ in "abcd"]

    assert deleted == [2, 2, 2, 0]
    assert retention.forgotten_through(session) == 6
    assert positions(api) == [7]
