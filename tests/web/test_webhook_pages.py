"""The webhooks page: an endpoint added (its secret shown once), tested against a receiver on
loopback, its deliveries with their attempts shown and sent again, a disabled one enabled, one
removed; a mistake keeps what was typed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa

from outreach.events.models import WebhookEndpoint
from tests.web_session import followed, post
from tests.webhook_receiver import WebhookReceiver, verify

ENDPOINT = re.compile(r'href="/webhooks/([0-9a-f-]{36})"')


def test_a_webhook_is_added_tested_and_its_delivery_sent_again_from_the_page(
    signed_in, session, clock
):
    with WebhookReceiver(statuses=(500,)) as receiver:
        added = post(
            signed_in, "/webhooks", "/webhooks", url=receiver.url, kinds=["reply.received"]
        )
        shown = followed(signed_in, added)
        secret = re.search(r'<code class="secret">(whsec_[^<]+)</code>', shown.text)[1]
        assert "Added a webhook for" in shown.text
        assert secret not in signed_in.get("/webhooks").text, "shown once"
        endpoint = ENDPOINT.search(shown.text)[1]

        tested = followed(signed_in, post(signed_in, f"/webhooks/{endpoint}/test", "/webhooks"))
        [got] = receiver.received
        assert verify(secret, got.headers, got.body, clock.now())["type"] == "webhook.test"

    assert "The test failed: answered 500." in tested.text
    assert "answered 500 in" in tested.text
    assert "the receiver broke" in tested.text
    delivery = re.search(r"/deliveries/([0-9a-f-]{36})/redeliver", tested.text)[1]
    again = followed(
        signed_in,
        post(
            signed_in,
            f"/webhooks/{endpoint}/deliveries/{delivery}/redeliver",
            f"/webhooks/{endpoint}",
        ),
    )
    assert "It goes again on the worker&#39;s next pass." in again.text


def test_a_disabled_webhook_says_why_and_is_enabled_then_removed(signed_in, session, admin):
    post(signed_in, "/webhooks", "/webhooks", url="https://crm.example/hooks")
    endpoint = session.scalars(sa.select(WebhookEndpoint)).one()
    endpoint.enabled, endpoint.disabled_reason = False, "answered 500"
    endpoint.failures, endpoint.failing_since = 9, datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    admin.time_zone = "Europe/Berlin"
    session.commit()

    said = (
        "Disabled after 9 failed attempts in a row since 2026-03-01 10:00 Europe/Berlin "
        "(last: answered 500). Fix the endpoint, then enable it"
    )
    assert said in signed_in.get("/webhooks").text
    assert said in signed_in.get(f"/webhooks/{endpoint.id}").text
    enabled = followed(signed_in, post(signed_in, f"/webhooks/{endpoint.id}/enable", "/webhooks"))
    assert "Enabled the webhook for https://crm.example/hooks." in enabled.text
    removed = followed(signed_in, post(signed_in, f"/webhooks/{endpoint.id}/remove", "/webhooks"))
    assert "No webhooks yet." in removed.text


def test_a_webhook_that_is_no_address_is_refused_keeping_what_was_typed(signed_in):
    refused = post(
        signed_in, "/webhooks", "/webhooks", url="ftp://files.example/", description="Our CRM"
    )

    assert refused.status_code == 422
    assert "is not an http:// or https:// address to POST to." in refused.text
    assert 'value="Our CRM"' in refused.text
