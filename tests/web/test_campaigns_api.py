"""/api/v1 for campaigns, sender accounts and deliveries."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from outreach.campaigns import queries as campaign_queries
from outreach.contacts import lists
from outreach.delivery import queries as delivery_queries
from outreach.leases import Worker
from tests.campaign_setup import PEOPLE, left_sending
from tests.contact_files import import_text


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def audience(session, clock, tmp_path):
    found = lists.create(session, "Pioneers", None, clock.now())
    import_text(session, clock, tmp_path, PEOPLE, list_id=found.id)
    return str(found.id)


def new_campaign(api, audience) -> dict:
    """ "Spring" to the audience from an outbox account, made over the API."""
    sender = api.post(
        "/api/v1/senders", json={"kind": "outbox", "email": "me@ourco.example"}
    ).json()
    made = api.post(
        "/api/v1/campaigns",
        json={"name": "Spring", "list_id": audience, "sender_ids": [sender["id"]]},
    )
    assert made.status_code == 201
    return made.json()


def test_a_campaign_is_built_launched_and_paused_over_the_api(api, audience):
    campaign = new_campaign(api, audience)
    assert campaign["settings"]["daily_limit"] == 50
    base = f"/api/v1/campaigns/{campaign['id']}"
    assert (
        api.post(
            base + "/steps", json={"subject": "Hi {{ first_name }}", "body": "Hello {{ company }}"}
        ).status_code
        == 201
    )
    second = api.post(base + "/steps", json={"body": "Following up.", "delay_days": 3}).json()
    assert (second["sequence_order"], second["subject_template"]) == (2, "")
    settings = api.patch(
        base + "/settings",
        json={
            "timezone": "Europe/Berlin",
            "send_days": ["monday", "friday"],
            "send_window_start": "08:30",
            "send_window_end": "16:00",
        },
    )
    assert settings.status_code == 200, settings.text
    assert settings.json()["send_days"] == ["monday", "friday"]
    assert (settings.json()["send_window_start"], settings.json()["send_window_end"]) == (
        "08:30",
        "16:00",
    )
    launched = api.post(base + "/launch").json()
    assert (launched["enrolled"], launched["skipped"]) == (3, {})
    # The tests' OUTREACH_BASE_URL is http://: no one-click unsubscribe, and the launch says so.
    [warning] = launched["warnings"]
    assert "no one-click unsubscribe" in warning
    assert api.post(base + "/steps", json={"body": "Too late"}).status_code == 409
    assert api.post(base + "/pause").json()["status"] == "paused"
    enrollments = api.get(base + "/enrollments").json()["items"]
    assert {e["status"] for e in enrollments} == {"pending"}
    assert api.get(base).json()["enrollments"] == {"pending": 3}


LINUS = 'linus@kernel.example,Linus Torvalds,"{{ company }}",Helsinki\n'
LEFT_OUT = 'left out: their company contains "{{ company }}"'


def launchable(api, audience, subject="Hi {{ first_name }}", body="Hello {{ company }}"):
    base = f"/api/v1/campaigns/{new_campaign(api, audience)['id']}"
    assert api.post(base + "/steps", json={"subject": subject, "body": body}).status_code == 201
    return base


def test_a_contact_whose_data_holds_a_placeholder_is_left_out_and_the_rest_launch(
    api, audience, session, clock, tmp_path
):
    import_text(session, clock, tmp_path, "email,name,company,City\n" + LINUS, list_id=audience)
    base = launchable(api, audience)

    launched = api.post(base + "/launch")

    assert launched.status_code == 200, launched.text
    assert launched.json()["enrolled"] == 3
    assert launched.json()["skipped"] == {LEFT_OUT: 1}
    enrollments = api.get(base + "/enrollments").json()["items"]
    assert [(e["status"], e["stop_reason"]) for e in enrollments if e["status"] == "skipped"] == [
        ("skipped", LEFT_OUT)
    ]
    assert api.get(base).json()["enrollments"] == {"pending": 3, "skipped": 1}


def test_a_template_that_fails_for_every_contact_still_refuses_the_launch(api, audience):
    base = launchable(api, audience, body="Hello {{ compnay }}")

    refused = api.post(base + "/launch")

    assert refused.status_code == 422
    [problem] = refused.json()["error"]["details"]["problems"]
    assert problem.startswith("step 1 body uses {{ compnay }}, which is not a merge field")
    assert api.get(base).json()["status"] == "draft"


def test_a_launch_with_problems_is_a_422_listing_them(api, audience):
    campaign = api.post("/api/v1/campaigns", json={"name": "Empty", "list_id": audience}).json()
    response = api.post(f"/api/v1/campaigns/{campaign['id']}/launch")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["problems"] == [
        "add at least one step",
        "choose at least one sender account",
    ]


def test_a_campaign_without_send_days_is_refused_on_save_and_at_launch(api, audience, session):
    campaign = api.post("/api/v1/campaigns", json={"name": "Spring", "list_id": audience}).json()
    base = f"/api/v1/campaigns/{campaign['id']}"
    refused = api.patch(base + "/settings", json={"send_days": []})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "Choose at least one send day: with none the campaign would never send."
    )
    assert api.get(base).json()["settings"]["send_days"] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]

    # A row saved before this check (or imported) has no days: launching says so.
    campaign_queries.settings_of(session, uuid.UUID(campaign["id"])).send_days = []
    session.flush()
    launched = api.post(base + "/launch")
    assert launched.status_code == 422
    assert "choose at least one send day" in launched.json()["error"]["details"]["problems"]


def test_a_bad_time_zone_is_a_422(api, audience):
    campaign = api.post("/api/v1/campaigns", json={"name": "Spring", "list_id": audience}).json()
    response = api.patch(
        f"/api/v1/campaigns/{campaign['id']}/settings", json={"timezone": "Mars/Olympus"}
    )
    assert response.status_code == 422
    assert "unknown timezone" in response.json()["error"]["message"]


def test_an_unreachable_smtp_account_tests_as_failing_in_plain_words(api):
    account = api.post(
        "/api/v1/senders",
        json={
            "kind": "smtp",
            "email": "me@ourco.example",
            "host": "127.0.0.1",
            "port": 1,
            "security": "none",
        },
    ).json()
    checked = api.post(f"/api/v1/senders/{account['id']}/test").json()
    assert checked["ok"] is False
    assert "connection refused" in checked["message"].lower()
    assert api.post(f"/api/v1/senders/{account['id']}/pause").json()["state"] == "paused"


def test_no_unknown_deliveries_to_decide_at_first(api):
    assert api.get("/api/v1/deliveries").json()["items"] == []


def test_a_campaign_made_without_a_list_gets_one_and_a_new_name_before_launch(api, audience):
    sender = api.post(
        "/api/v1/senders", json={"kind": "outbox", "email": "me@ourco.example"}
    ).json()
    campaign = api.post(
        "/api/v1/campaigns", json={"name": "Draft one", "sender_ids": [sender["id"]]}
    ).json()
    base = f"/api/v1/campaigns/{campaign['id']}"
    api.post(base + "/steps", json={"subject": "Hello", "body": "Hi {{ first_name }}."})
    assert "choose the list to send to" in api.post(base + "/launch").json()["error"]["message"]

    changed = api.patch(base, json={"list_id": audience, "name": "Spring"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["list_id"]) == ("Spring", audience)
    assert api.post(base + "/launch").json()["enrolled"] == 3

    other = api.post("/api/v1/lists", json={"name": "Others"}).json()
    refused = api.patch(base, json={"list_id": other["id"]})
    assert refused.status_code == 409
    assert "its list is chosen before it is launched" in refused.json()["error"]["message"]
    assert api.patch(base, json={"name": "Spring 2026"}).json()["name"] == "Spring 2026"


def test_a_name_with_control_characters_is_refused(api):
    response = api.post("/api/v1/campaigns", json={"name": "Tab\tname\u0007"})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["problems"][0]["field"] == "name"


def test_the_sends_of_a_worker_that_is_gone_are_listed_unknown_at_once(
    api, session, container, clock, tmp_path, smtp_server
):
    gone = Worker("gone:7:abcdef", "another-host", 7)
    left_sending(session, container, clock, tmp_path, smtp_server.port, gone, lease=False)
    unknown = api.get("/api/v1/deliveries").json()["items"]
    assert [delivery["status"] for delivery in unknown] == ["unknown"] * 3
    assert {(d["kind"], d["answers_conversation_id"]) for d in unknown} == {("campaign_step", None)}
    assert api.get("/api/v1/deliveries", params={"status": "sending"}).json()["items"] == []


def test_the_sends_of_a_worker_that_is_there_stay_sending_however_old(
    api, session, container, clock, tmp_path, smtp_server
):
    there = Worker("there:7:abcdef", "another-host", 7)
    left_sending(session, container, clock, tmp_path, smtp_server.port, there)
    clock.advance(timedelta(hours=1))
    delivery_queries.renew_lease(session, there, clock.now(), clock.now() + timedelta(minutes=1))
    session.commit()
    assert api.get("/api/v1/deliveries").json()["items"] == []
    assert len(api.get("/api/v1/deliveries", params={"status": "sending"}).json()["items"]) == 3
