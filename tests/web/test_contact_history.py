"""A contact's history: the contact page, `GET /api/v1/contacts/{id}/timeline` and notes a
person adds. Ada was imported into a list, enrolled in a campaign, sent its first email, and
answered; Alan asked through the unsubscribe link never to hear from us again."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.contacts import suppressions
from outreach.contacts.models import Contact
from outreach.delivery.models import Delivery
from outreach.inbox.service import ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from tests.campaign_setup import launched_from_outbox
from tests.inbox_messages import Thread, gmail_reply
from tests.web_session import followed, post


@pytest.fixture
def ada(session, container, clock, tmp_path) -> Contact:
    _, account = launched_from_outbox(session, container, clock, tmp_path)
    first = session.scalars(
        sa.select(Delivery)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Contact.email == "ada@analytical.example")
    ).one()
    raw = gmail_reply(Thread(first.message_id, "Hello", account.email, "ada@analytical.example"))
    at = clock.now() + timedelta(hours=1)
    ingest(session, account, InboxPage((InboundMessage("1", raw, at),), "1", False), at)
    session.commit()
    return session.get_one(Contact, first.contact_id)


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def test_a_contacts_history_is_every_step_newest_first(api, ada):
    page = api.get(f"/api/v1/contacts/{ada.id}/timeline").json()

    assert [entry["kind"] for entry in page["items"]] == [
        "lead_status",
        "reply",
        "lead_status",
        "sent",
        "enrolled",
        "joined_list",
        "imported",
    ]
    replied, reply, contacted, sent, enrolled, joined, imported = page["items"]
    assert (replied["title"], replied["by"]) == ("Lead status: contacted → replied", "a reply")
    assert (contacted["title"], contacted["by"]) == ("Lead status: new → contacted", "a send")
    assert reply["body"].startswith("Hi Grace,\n\nThanks for reaching out.")
    assert reply["conversation_id"]
    assert sent["title"] == "Sent: Spring, step 1"
    assert sent["by"] == "grace@acme.example"
    assert sent["subject"] == "Hello from Analytical Engines, Ada"
    assert sent["body"].startswith("Hi Ada,")
    assert enrolled["title"].startswith("Enrolled in Spring")
    assert joined["title"].startswith("Joined the list ")
    assert imported["title"].startswith("Imported from ")
    assert page["next"] is None


def test_the_history_pages_follow_each_other_without_gaps(api, ada):
    everything = api.get(f"/api/v1/contacts/{ada.id}/timeline").json()["items"]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"after": cursor} if cursor else {})}
        page = api.get(f"/api/v1/contacts/{ada.id}/timeline", params=params).json()
        seen += page["items"]
        cursor = page["next"]
        if cursor is None:
            break

    assert seen == everything


def test_a_note_is_added_by_its_author_and_a_suppression_shows(api, ada, admin, session, clock):
    added = api.post(f"/api/v1/contacts/{ada.id}/notes", json={"text": "  Met at PyCon.  "})
    assert added.status_code == 201
    later = clock.now() + timedelta(days=1)
    suppressions.add(
        session, ada.email, suppressions.Reason.unsubscribed, "unsubscribe link", later
    )
    session.commit()

    entries = api.get(f"/api/v1/contacts/{ada.id}/timeline").json()["items"]

    assert (entries[0]["kind"], entries[0]["title"]) == (
        "suppressed",
        "Suppressed (unsubscribed): unsubscribe link",
    )
    [note] = [entry for entry in entries if entry["kind"] == "note"]
    assert (note["body"], note["by"]) == ("Met at PyCon.", admin.email)


def test_an_empty_note_an_unknown_contact_and_a_made_up_cursor_are_told_plainly(api, ada):
    nobody = "00000000-0000-4000-8000-000000000000"

    blank = api.post(f"/api/v1/contacts/{ada.id}/notes", json={"text": "   "})
    assert blank.status_code == 422
    assert blank.json()["error"]["message"] == "A note is 1 to 20,000 characters."
    assert api.get(f"/api/v1/contacts/{nobody}/timeline").status_code == 404
    assert api.post(f"/api/v1/contacts/{nobody}/notes", json={"text": "x"}).status_code == 404
    made_up = api.get(f"/api/v1/contacts/{ada.id}/timeline", params={"after": "soon"})
    assert made_up.status_code == 422


def test_the_contact_page_shows_the_history_and_takes_a_note(signed_in, ada, clock):
    page = signed_in.get(f"/contacts/{ada.id}")

    assert page.status_code == 200
    kinds = re.findall(r'class="timeline-entry" data-kind="(\w+)"', page.text)
    assert kinds == [
        "lead_status",
        "reply",
        "lead_status",
        "sent",
        "enrolled",
        "joined_list",
        "imported",
    ]
    assert "Lead status: contacted → replied" in page.text
    assert "Thanks for reaching out." in page.text
    assert "Sent: Spring, step 1" in page.text

    clock.advance(timedelta(hours=2))  # after her reply
    noted = followed(
        signed_in,
        post(signed_in, f"/contacts/{ada.id}/notes", f"/contacts/{ada.id}", text="<b>Call</b> her"),
    )
    assert "Note added." in noted.text
    assert "&lt;b&gt;Call&lt;/b&gt; her" in noted.text
    assert re.findall(r'data-kind="(\w+)"', noted.text)[0] == "note"
