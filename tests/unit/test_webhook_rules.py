"""The pure rules of webhooks: the Standard Webhooks signature (the specification's libraries'
test vector), the retry schedule over about three days, when an endpoint is disabled, and the
Slack text of a reply."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from outreach.events.delivering import RETRIES, WebhookPolicy
from outreach.events.signing import PREFIX, headers, new_secret, signature
from outreach.events.slack import message

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_signature_is_the_one_the_specifications_libraries_expect():
    assert signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_a_new_secret_is_whsec_and_24_random_bytes_in_base64():
    secret = new_secret()
    assert secret.startswith(PREFIX)
    assert len(base64.b64decode(secret.removeprefix(PREFIX))) == 24
    assert new_secret() != secret


def test_two_secrets_give_two_space_separated_signatures():
    signed = headers([VECTOR_SECRET, new_secret()], VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    first, second = signed["webhook-signature"].split(" ")
    assert first == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert second.startswith("v1,")
    assert (signed["webhook-id"], signed["webhook-timestamp"]) == (VECTOR_ID, "1614265330")


def test_retries_span_about_three_days_then_stop():
    waits = [RETRIES.delay_seconds(attempt) for attempt in range(1, RETRIES.max_attempts)]
    assert waits[:4] == [60, 120, 240, 480]
    assert timedelta(days=2.5) < timedelta(seconds=sum(waits)) < timedelta(days=3.5)
    assert RETRIES.retry_at(NOW, RETRIES.max_attempts) is None


def test_an_endpoint_is_disabled_only_after_failing_often_and_for_two_days():
    policy = WebhookPolicy()
    assert not policy.disables(100, NOW - timedelta(days=1), NOW)
    assert not policy.disables(2, NOW - timedelta(days=9), NOW)
    assert policy.disables(5, NOW - timedelta(days=2), NOW)


def test_a_reply_reads_as_one_message_in_slack():
    text = message(
        "reply.received",
        {"email": "ada@analytical.example", "subject": "Re: Engines", "snippet": "Tuesday works."},
    )
    assert text == {
        "text": ":incoming_envelope: *ada@analytical.example* replied — _Re: Engines_\n"
        "> Tuesday works."
    }
