"""/api/v1/events (the feed, with its cursor) and /api/v1/webhooks: an endpoint made (its secret
in that answer only), tested against a receiver on loopback, its deliveries and their attempts,
one sent again; mistakes answered 4xx with a message."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from outreach.events.kinds import EventKind
from outreach.events.recording import record
from tests.campaign_setup import launched_from_outbox
from tests.webhook_receiver import WebhookReceiver, verify


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def test_the_feed_gives_each_committed_event_once_in_pages_by_its_cursor(
    api, session, container, clock, tmp_path
):
    launched_from_outbox(session, container, clock, tmp_path)

    first = api.get("/api/v1/events", params={"limit": 3}).json()
    assert [item["position"] for item in first["items"]] == [1, 2, 3]
    rest = api.get("/api/v1/events", params={"after": first["next"]}).json()
    assert [item["position"] for item in rest["items"]] == [4, 5, 6, 7]
    kinds = sorted(item["type"] for item in first["items"] + rest["items"])
    assert kinds == ["campaign.launched"] + ["email.sent"] * 3 + ["lead.status_changed"] * 3
    [launched] = [
        item for item in first["items"] + rest["items"] if item["type"] == "campaign.launched"
    ]
    assert launched["data"]["name"] == "Spring"
    assert launched["data"]["enrolled"] == 3

    empty = api.get("/api/v1/events", params={"after": rest["next"]}).json()
    assert empty == {"items": [], "next": "7"}
    clock.advance(timedelta(minutes=1))
    record(
        session,
        EventKind.sender_paused,
        clock.now(),
        sender_account_id=uuid.uuid4(),
        email="x@y.example",
        reason="why",
    )
    session.commit()
    later = api.get("/api/v1/events", params={"after": "7", "kind": "sender.paused"}).json()
    assert [(item["position"], item["type"]) for item in later["items"]] == [(8, "sender.paused")]


def test_a_made_up_cursor_or_kind_is_a_422_saying_so(api):
    answer = api.get("/api/v1/events", params={"after": "yesterday"})
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "This page cursor is not one we gave."
    answer = api.get("/api/v1/events", params={"kind": "email.opened"})
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "No such event kind: email.opened."


def test_a_webhook_is_made_tested_shown_with_its_attempts_and_sent_again(api, session, clock):
    with WebhookReceiver(statuses=(200,)) as receiver:
        made = api.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["reply.received"]}
        )
        assert made.status_code == 201
        endpoint = made.json()
        assert endpoint["secret"].startswith("whsec_")
        assert "secret" not in api.get("/api/v1/webhooks").json()["items"][0]

        tested = api.post(f"/api/v1/webhooks/{endpoint['id']}/test").json()
        assert (tested["ok"], tested["status_code"], tested["answer"]) == (
            True,
            200,
            '{"ok": true}',
        )
        [got] = receiver.received
        assert (
            verify(endpoint["secret"], got.headers, got.body, clock.now())["type"] == "webhook.test"
        )

    [delivery] = api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries").json()["items"]
    assert (delivery["status"], delivery["event_type"], delivery["attempts"]) == (
        "delivered", "webhook.test", 1,
    )  # fmt: skip
    assert delivery["attempt_log"][0]["status_code"] == 200
    again = api.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver").json()
    assert (again["status"], again["attempts"]) == ("pending", 0)

    rotated = api.post(f"/api/v1/webhooks/{endpoint['id']}/rotate").json()["secret"]
    assert rotated.startswith("whsec_")
    assert rotated != endpoint["secret"]
    assert api.delete(f"/api/v1/webhooks/{endpoint['id']}").status_code == 204
    assert api.get("/api/v1/webhooks").json()["items"] == []


def test_a_webhook_for_no_real_address_or_event_is_refused(api):
    answer = api.post("/api/v1/webhooks", json={"url": "mailto:me@example.com"})
    assert answer.status_code == 422
    assert "is not an http:// or https:// address" in answer.json()["error"]["message"]
    answer = api.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.slack.example/x", "format": "slack", "events": ["email.sent"]},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith(
        "No such event kind for a slack endpoint: email.sent."
    )
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.post(f"/api/v1/webhooks/{missing}/test").status_code == 404
