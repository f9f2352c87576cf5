"""Webhooks: each event POSTed to the endpoints that want it, signed to Standard Webhooks 1.0
and verified by a receiver on loopback as the specification's reference does; retries, an
endpoint disabled after failing for days, a delivery sent again, a slow endpoint that delays
no other; on both backends."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.events import delivering, webhooks
from outreach.events.kinds import EventKind
from outreach.events.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from outreach.events.recording import record
from outreach.providers.http_hooks import HttpPoster
from tests.campaign_setup import launched_from_outbox
from tests.webhook_receiver import VerificationFailed, WebhookReceiver, verify


def endpoint_for(session, container, clock, url, kinds=("email.sent",), **options):
    made = webhooks.add(
        session,
        url,
        list(kinds),
        secret_key=container.settings.secret_key_value(),
        now=clock.now(),
        **options,
    )
    session.commit()
    return made


def deliveries(session) -> list[WebhookDelivery]:
    session.expire_all()
    return list(session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_each_email_sent_reaches_the_receiver_signed_as_the_specification_verifies(
    session, container, clock, tmp_path
):
    with WebhookReceiver() as receiver:
        made = endpoint_for(session, container, clock, receiver.url)
        assert made.secret.startswith("whsec_")
        launched_from_outbox(session, container, clock, tmp_path)

        report = container.webhook_pass()

    assert len(report.delivered) == 3
    payloads = [
        verify(made.secret, got.headers, got.body, clock.now()) for got in receiver.received
    ]
    assert {payload["type"] for payload in payloads} == {"email.sent"}
    assert sorted(payload["data"]["recipient"] for payload in payloads) == [
        "ada@analytical.example",
        "alan@bletchley.example",
        "grace@navy.example",
    ]
    assert payloads[0]["timestamp"].startswith("2026-03-02T09:00:00")
    assert all(got.headers["webhook-id"].startswith("evt_") for got in receiver.received)
    assert {delivery.status for delivery in deliveries(session)} == {"delivered"}


def test_a_receiver_refuses_a_delivery_outside_the_timestamp_tolerance_or_with_another_secret(
    session, container, clock, tmp_path
):
    with WebhookReceiver() as receiver:
        made = endpoint_for(session, container, clock, receiver.url, ["campaign.launched"])
        launched_from_outbox(session, container, clock, tmp_path)
        container.webhook_pass()

    [got] = receiver.received
    with pytest.raises(VerificationFailed, match="too old"):
        verify(made.secret, got.headers, got.body, clock.now() + timedelta(minutes=6))
    with pytest.raises(VerificationFailed, match="No matching signature"):
        verify("whsec_" + "A" * 32, got.headers, got.body, clock.now())
    with pytest.raises(VerificationFailed, match="No matching signature"):
        verify(made.secret, got.headers, got.body.replace(b"Spring", b"Autumn"), clock.now())


def test_an_endpoint_answering_500_gets_the_event_again_after_the_backoff(
    session, container, clock, tmp_path
):
    with WebhookReceiver(statuses=(500, 200)) as receiver:
        endpoint_for(session, container, clock, receiver.url, ["campaign.launched"])
        launched_from_outbox(session, container, clock, tmp_path)

        first = container.webhook_pass()
        [waiting] = deliveries(session)
        assert first.retrying
        assert waiting.status == "pending"
        assert waiting.last_status_code == 500
        assert container.webhook_pass().changed == 0  # not due yet
        clock.advance(waiting.next_attempt_at - clock.now())
        second = container.webhook_pass()

    assert len(second.delivered) == 1
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    [delivered] = deliveries(session)
    assert (delivered.status, delivered.attempts) == ("delivered", 2)
    attempts = session.scalars(sa.select(WebhookAttempt).order_by(WebhookAttempt.attempted_at))
    assert [(a.status_code, a.response) for a in attempts] == [
        (500, "the receiver broke"),
        (200, '{"ok": true}'),
    ]


def test_an_endpoint_that_never_answers_is_disabled_saying_why_and_waits_to_be_enabled(
    session, container, clock, tmp_path
):
    made = endpoint_for(
        session, container, clock, f"http://127.0.0.1:{closed_port()}/", ["campaign.launched"]
    )
    launched_from_outbox(session, container, clock, tmp_path)
    started = clock.now()

    for _ in range(delivering.RETRIES.max_attempts):
        container.webhook_pass()
        [delivery] = deliveries(session)
        if not session.get(WebhookEndpoint, made.endpoint.id).enabled:
            break
        clock.advance(delivery.next_attempt_at - clock.now())

    endpoint = session.get(WebhookEndpoint, made.endpoint.id)
    assert not endpoint.enabled
    said = webhooks.disabled_words(endpoint)
    assert re.search(r"failed attempts in a row since [\d-]+ [\d:]+ UTC \(last: could not be", said)
    assert clock.now() - started >= timedelta(days=2)
    assert delivery.status == "pending"
    assert "could not be reached" in delivery.last_error
    clock.advance(timedelta(days=1))
    assert container.webhook_pass().changed == 0  # a disabled endpoint is sent nothing

    webhooks.enable(session, endpoint.id)
    session.commit()
    assert session.get(WebhookEndpoint, endpoint.id).failures == 0


def test_a_delivery_given_up_is_failed_and_can_be_sent_again(session, container, clock, tmp_path):
    policy = delivering.WebhookPolicy(
        retries=delivering.RetryPolicy(lease=timedelta(minutes=5), max_attempts=1)
    )
    with WebhookReceiver(statuses=(503, 204)) as receiver:
        made = endpoint_for(session, container, clock, receiver.url, ["campaign.launched"])
        launched_from_outbox(session, container, clock, tmp_path)
        poster = HttpPoster(timeout=5)
        key = container.settings.secret_key_value()
        delivering.delivery_pass(container.sessions, clock, poster, key, policy=policy)
        [failed] = deliveries(session)
        assert (failed.status, failed.last_error) == ("failed", "answered 503")

        webhooks.redeliver(session, failed.id, clock.now())
        session.commit()
        delivering.delivery_pass(container.sessions, clock, poster, key, policy=policy)
        poster.close()

    [again] = deliveries(session)
    assert again.status == "delivered"
    assert len(receiver.received) == 2
    for got in receiver.received:
        verify(made.secret, got.headers, got.body, clock.now())


def test_a_slow_endpoint_delays_no_other(session, container, clock, tmp_path):
    with WebhookReceiver(silent=True) as slow, WebhookReceiver() as quick:
        endpoint_for(session, container, clock, slow.url)
        endpoint_for(session, container, clock, quick.url)
        launched_from_outbox(session, container, clock, tmp_path)
        poster = HttpPoster(timeout=0.5)

        report = delivering.delivery_pass(
            container.sessions, clock, poster, container.settings.secret_key_value()
        )
        poster.close()

    assert len(quick.received) == 3
    assert len(slow.received) == 1  # its other two wait for a later pass, untried
    assert len(report.delivered) == 3
    assert report.retrying == [f"email.sent to {slow.url}: no answer in time (ReadTimeout)"]
    slow_ones = [d for d in deliveries(session) if d.status != "delivered"]
    assert sorted(d.attempts for d in slow_ones) == [0, 0, 1]


def test_a_slack_endpoint_gets_a_readable_message_for_a_reply(session, container, clock):
    with WebhookReceiver() as receiver:
        endpoint_for(session, container, clock, receiver.url, [], format=webhooks.Format.slack)
        record(
            session,
            EventKind.reply_received,
            clock.now(),
            email="ada@analytical.example",
            subject="Re: Hello",
            snippet="Yes, let us talk on Tuesday.",
        )
        session.commit()
        container.webhook_pass()

    [got] = receiver.received
    assert got.json() == {
        "text": ":incoming_envelope: *ada@analytical.example* replied — _Re: Hello_\n"
        "> Yes, let us talk on Tuesday."
    }


def test_a_test_delivery_answers_at_once_and_is_kept_with_the_endpoint(session, container, clock):
    with WebhookReceiver(statuses=(418,)) as receiver:
        made = endpoint_for(session, container, clock, receiver.url)
        delivery_id = webhooks.queue_test(session, made.endpoint.id, clock.now())
        session.commit()
        poster = container.webhook_poster()
        answer = delivering.send_now(
            container.sessions, clock, poster, container.settings.secret_key_value(), delivery_id
        )
        poster.close()

    assert (answer.status, answer.text) == (418, "the receiver broke")
    assert receiver.received[0].json()["type"] == "webhook.test"
    [(delivery, event)] = webhooks.deliveries_of(session, made.endpoint.id)
    assert (delivery.status, event.kind) == ("pending", "webhook.test")


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day_then_alone(session, container, clock):
    with WebhookReceiver() as receiver:
        made = endpoint_for(session, container, clock, receiver.url, ["sender.paused"])
        key = container.settings.secret_key_value()
        rotated = webhooks.rotate(session, made.endpoint.id, key, clock.now())
        record(session, EventKind.sender_paused, clock.now(), email="me@ourco.example")
        session.commit()
        container.webhook_pass()
        clock.advance(webhooks.ROTATION_OVERLAP)
        record(session, EventKind.sender_paused, clock.now(), email="me@ourco.example")
        session.commit()
        container.webhook_pass()

    during, after = receiver.received
    assert rotated != made.secret
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    at = clock.now() - webhooks.ROTATION_OVERLAP
    verify(made.secret, during.headers, during.body, at)
    verify(rotated, during.headers, during.body, at)
    verify(rotated, after.headers, after.body, clock.now())
    with pytest.raises(VerificationFailed, match="No matching signature"):
        verify(made.secret, after.headers, after.body, clock.now())
