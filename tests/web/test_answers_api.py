"""/api/v1/conversations/{id}/answers: answering a reply over the API, now, later or as a
draft; refused, saying why, for a suppressed address and for what cannot be sent."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from outreach.contacts import suppressions
from tests.conversation_setup import ADA, THEIR_ID, answer_left_sending, replied_over_smtp
from tests.integration.test_answers import answers_to_ada, text_of


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def replied(session, container, clock, tmp_path, smtp_server):
    found = replied_over_smtp(session, container, clock, tmp_path, smtp_server.port)
    clock.advance(timedelta(minutes=5))
    return found


def answers_url(replied) -> str:
    return f"/api/v1/conversations/{replied.conversation_id}/answers"


def test_an_answer_sent_over_the_api_reaches_ada_once_and_shows_in_the_thread(
    api, container, smtp_server, replied
):
    created = api.post(answers_url(replied), json={"body": "Thanks {{ first_name }}!"})

    assert created.status_code == 201
    assert created.json()["status"] == "scheduled"
    assert created.json()["subject"] == replied.subject
    container.sending_pass()
    [sent] = answers_to_ada(smtp_server)
    assert sent["In-Reply-To"] == THEIR_ID
    assert text_of(sent).startswith("Thanks Ada!")
    assert api.get(answers_url(replied)).json() == {"items": [], "next": None}
    thread = api.get(f"/api/v1/conversations/{replied.conversation_id}").json()
    assert thread["messages"][-1]["ours"] is True
    assert thread["messages"][-1]["text"].startswith("Thanks Ada!")
    assert thread["needs_answer"] is False


def test_an_answer_to_a_suppressed_address_is_refused_with_409_and_the_reason(
    api, session, clock, replied
):
    suppressions.add(session, ADA, suppressions.Reason.manual, "asked by phone", clock.now())
    session.commit()

    refused = api.post(answers_url(replied), json={"body": "Hello again"})

    assert refused.status_code == 409
    assert "ada@analytical.example is on the suppression list" in refused.json()["error"]["message"]
    assert api.get(answers_url(replied)).json() == {"items": [], "next": None}


def test_a_draft_is_listed_edited_and_sent_at_a_time(api, container, clock, smtp_server, replied):
    draft = api.post(answers_url(replied), json={"body": "First thought", "draft": True}).json()
    assert draft["status"] == "draft"
    assert [a["id"] for a in api.get(answers_url(replied)).json()["items"]] == [draft["id"]]

    at = (clock.now() + timedelta(hours=3)).isoformat()
    sent = api.post(
        f"{answers_url(replied)}/{draft['id']}/send", json={"body": "Second thought", "at": at}
    )
    assert sent.status_code == 200
    assert (sent.json()["status"], sent.json()["text"]) == (
        "scheduled",
        "Second thought\n\nGrace Hopper\nAcme",
    )
    container.sending_pass()
    assert answers_to_ada(smtp_server) == []
    clock.advance(timedelta(hours=3))
    container.sending_pass()
    assert [text_of(m) for m in answers_to_ada(smtp_server)] == [
        "Second thought\n\nGrace Hopper\nAcme"
    ]
    again = api.post(f"{answers_url(replied)}/{draft['id']}/send", json={})
    assert again.status_code == 409


def test_a_scheduled_answer_is_taken_back_and_its_draft_deleted(api, clock, replied):
    at = (clock.now() + timedelta(days=1)).isoformat()
    waiting = api.post(answers_url(replied), json={"body": "Tomorrow", "at": at}).json()
    assert api.delete(f"{answers_url(replied)}/{waiting['id']}").status_code == 409

    back = api.post(f"{answers_url(replied)}/{waiting['id']}/unschedule")
    assert back.json()["status"] == "draft"
    assert api.delete(f"{answers_url(replied)}/{waiting['id']}").status_code == 204
    assert api.get(answers_url(replied)).json() == {"items": [], "next": None}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"body": ""}, "body"),
        ({"body": "   "}, "empty"),
        ({"body": "Hi {{ favourite_colour }}"}, "favourite_colour"),
        ({"body": "Hi {{ oops"}, "does not parse"),
        ({"body": "Later", "at": "2026-03-02T12:00:00"}, "zone"),
        ({"body": "Draft", "draft": True, "at": "2026-03-02T12:00:00+00:00"}, "draft"),
        ({"body": "Hi", "cc": "someone@example.com"}, "cc"),
    ],
)
def test_what_cannot_be_sent_is_refused_with_422_saying_why(api, replied, body, says):
    refused = api.post(answers_url(replied), json=body)

    assert refused.status_code == 422
    assert says in str(refused.json()["error"])


def test_answers_of_an_unknown_conversation_or_answer_are_404(api, replied):
    missing = f"/api/v1/conversations/{uuid.uuid4()}/answers"
    assert api.post(missing, json={"body": "Hi"}).status_code == 404
    assert api.get(missing).status_code == 404
    other = f"{answers_url(replied)}/{uuid.uuid4()}"
    assert api.post(f"{other}/send", json={}).status_code == 404
    assert api.delete(other).status_code == 404


def test_a_signature_set_over_the_api_goes_under_the_next_answer(api, replied):
    changed = api.put(
        f"/api/v1/senders/{replied.account.id}/signature", json={"signature": "  Grace\nCEO  "}
    )
    assert changed.json()["signature"] == "Grace\nCEO"
    too_long = api.put(
        f"/api/v1/senders/{replied.account.id}/signature", json={"signature": "x" * 2001}
    )
    assert too_long.status_code == 422

    created = api.post(answers_url(replied), json={"body": "Hello"}).json()

    assert created["text"] == "Hello\n\nGrace\nCEO"


def test_an_answer_in_doubt_is_listed_as_an_answer_with_its_conversation(
    api, session, container, clock, replied
):
    delivery_id = answer_left_sending(session, container, clock, replied, "Hi")

    [listed] = api.get("/api/v1/deliveries", params={"status": "unknown"}).json()["items"]

    assert listed["id"] == str(delivery_id)
    assert (listed["kind"], listed["answers_conversation_id"]) == (
        "answer",
        str(replied.conversation_id),
    )
    resent = api.post(f"/api/v1/deliveries/{delivery_id}/resend").json()
    assert (resent["kind"], resent["status"]) == ("answer", "queued")
