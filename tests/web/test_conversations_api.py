"""/api/v1/conversations: the replies inbox over the API. People answered a campaign; a
teammate lists who is waiting, reads each whole thread (ours and theirs), downloads what they
attached, and marks conversations read and done."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.contacts.models import Contact
from outreach.delivery.models import Delivery
from outreach.inbox.service import IngestOptions, ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from tests.campaign_setup import launched_from_outbox
from tests.inbox_messages import (
    Thread,
    gmail_reply,
    outlook_auto_reply,
    plain_reply,
    with_attachment,
)

HOSTILE_HTML = (
    '<p onclick="steal()">Yes please.</p><script>alert(1)</script>'
    '<img src="https://tracker.example/open.gif">'
)


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def answered(session, container, clock, tmp_path):
    """A campaign's first emails went out; an hour later Ada replied (with a deck attached and
    HTML that tries to run a script and load a tracking pixel), and Alan's out-of-office came."""
    campaign, account = launched_from_outbox(session, container, clock, tmp_path)
    deliveries = {
        email: delivery
        for delivery, email in session.execute(
            sa.select(Delivery, Contact.email).join(Contact, Contact.id == Delivery.contact_id)
        )
    }

    def thread(email: str) -> Thread:
        return Thread(deliveries[email].message_id, "Hello", account.email, email)

    ada_reply = gmail_reply(thread("ada@analytical.example")).replace(
        b'<div dir=3D"ltr">Hi Grace,<div><br></div><div>Thanks for reaching out.</div></div>',
        HOSTILE_HTML.replace("=", "=3D").encode(),
    )
    ada_reply = with_attachment(ada_reply, "deck.pdf", "application/pdf", b"%PDF-1.4 deck")
    replies = (
        InboundMessage("1", ada_reply, clock.now() + timedelta(hours=1)),
        InboundMessage(
            "2",
            outlook_auto_reply(thread("alan@bletchley.example")),
            clock.now() + timedelta(hours=2),
        ),
    )
    ingest(session, account, InboxPage(replies, "2", more=False), clock.now())
    session.commit()
    return campaign, account


def test_the_inbox_lists_conversations_newest_first_with_who_waits_for_an_answer(api, answered):
    page = api.get("/api/v1/conversations").json()

    assert [(c["contact_email"], c["unread"], c["needs_answer"]) for c in page["items"]] == [
        ("alan@bletchley.example", False, False),
        ("ada@analytical.example", True, True),
    ]
    ada = page["items"][1]
    assert ada["subject"] == "Re: Hello"
    assert ada["snippet"].startswith("Hi Grace, Thanks for reaching out.")
    assert page["next"] is None
    waiting = api.get("/api/v1/conversations", params={"needs_answer": "true"}).json()
    assert [c["contact_email"] for c in waiting["items"]] == ["ada@analytical.example"]
    campaign, account = answered
    for filters in ({"campaign_id": str(campaign.id)}, {"sender_account_id": str(account.id)}):
        both = api.get("/api/v1/conversations", params=filters).json()["items"]
        assert len(both) == 2
    other = api.get("/api/v1/conversations", params={"campaign_id": str(account.id)}).json()
    assert other["items"] == []


def test_pages_of_the_inbox_follow_each_other_without_gaps(api, answered):
    first = api.get("/api/v1/conversations", params={"limit": 1}).json()
    second = api.get("/api/v1/conversations", params={"limit": 1, "after": first["next"]}).json()

    assert [c["contact_email"] for c in first["items"] + second["items"]] == [
        "alan@bletchley.example",
        "ada@analytical.example",
    ]
    assert second["next"] is None


def test_a_conversation_is_the_whole_thread_ours_then_theirs_with_markup_made_safe(api, answered):
    [ada] = api.get("/api/v1/conversations", params={"unread": "true"}).json()["items"]

    found = api.get(f"/api/v1/conversations/{ada['id']}").json()

    ours, theirs = found["messages"]
    assert ours["ours"]
    assert ours["kind"] == "sent"
    assert ours["step"] == 1
    assert ours["text"]
    assert not theirs["ours"]
    assert theirs["kind"] == "human_reply"
    assert theirs["text"].startswith("Hi Grace,\n\nThanks for reaching out.")
    assert theirs["html"] == "<p>Yes please.</p><img>\n"
    assert theirs["blocked_images"] == 1
    shown = api.get(f"/api/v1/conversations/{ada['id']}", params={"show_images": "true"}).json()
    assert shown["messages"][1]["html"] == (
        '<p>Yes please.</p><img src="https://tracker.example/open.gif">\n'
    )


def test_an_attachment_is_listed_and_downloads_as_a_file_never_as_a_page(api, answered):
    [ada] = api.get("/api/v1/conversations", params={"unread": "true"}).json()["items"]
    [deck] = api.get(f"/api/v1/conversations/{ada['id']}").json()["messages"][1]["attachments"]

    assert (deck["filename"], deck["content_type"], deck["size_bytes"], deck["kept"]) == (
        "deck.pdf",
        "application/pdf",
        13,
        True,
    )
    response = api.get(deck["url"])
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 deck"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == "attachment; filename*=utf-8''deck.pdf"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_marking_a_conversation_read_and_done_takes_it_out_of_the_waiting_list(api, answered):
    [ada] = api.get("/api/v1/conversations", params={"unread": "true"}).json()["items"]

    marked = api.post(
        f"/api/v1/conversations/{ada['id']}/mark", json={"unread": False, "needs_answer": False}
    ).json()

    assert (marked["unread"], marked["needs_answer"]) == (False, False)
    waiting = api.get("/api/v1/conversations", params={"needs_answer": "true"}).json()
    assert waiting["items"] == []


def test_unknown_conversations_attachments_and_cursors_are_told_plainly(api, answered):
    [ada] = api.get("/api/v1/conversations", params={"unread": "true"}).json()["items"]
    nobody = "00000000-0000-4000-8000-000000000000"

    missing = api.get(f"/api/v1/conversations/{nobody}")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"There is no conversation {nobody}."
    elsewhere = api.get(f"/api/v1/conversations/{ada['id']}/attachments/{nobody}")
    assert elsewhere.status_code == 404
    bad_cursor = api.get("/api/v1/conversations", params={"after": "yesterday"})
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["error"]["message"] == "This page cursor is not one we gave."


def test_an_attachment_over_the_limit_is_listed_but_says_why_it_cannot_be_downloaded(
    session, container, clock, tmp_path, api
):
    _, account = launched_from_outbox(session, container, clock, tmp_path)
    first = session.scalars(sa.select(Delivery).order_by(Delivery.id).limit(1)).one()
    to = session.get_one(Contact, first.contact_id)
    raw = with_attachment(
        gmail_reply(Thread(first.message_id, "Hello", account.email, to.email)),
        "huge.zip",
        "application/zip",
        b"z" * 64,
    )
    page = InboxPage((InboundMessage("1", raw, clock.now()),), "1", more=False)
    ingest(session, account, page, clock.now(), IngestOptions(keep_attachments_up_to=10))
    session.commit()
    [conversation] = api.get("/api/v1/conversations").json()["items"]
    [huge] = api.get(f"/api/v1/conversations/{conversation['id']}").json()["messages"][1][
        "attachments"
    ]

    assert (huge["kept"], huge["url"]) == (False, None)
    refused = api.get(f"/api/v1/conversations/{conversation['id']}/attachments/{huge['id']}")
    assert refused.status_code == 404
    assert refused.json()["error"]["message"] == (
        "huge.zip (64 bytes) was larger than OUTREACH_INBOX_ATTACHMENT_MAX_BYTES, so it was "
        "listed but not kept: it is still in the mailbox."
    )


def test_a_conversation_assigned_to_a_user_is_listed_as_theirs(api, answered, admin):
    [ada] = api.get("/api/v1/conversations", params={"unread": "true"}).json()["items"]

    assigned = api.post(
        f"/api/v1/conversations/{ada['id']}/assign", json={"user_id": str(admin.id)}
    )

    assert assigned.status_code == 200
    assert (assigned.json()["assigned_to"], assigned.json()["assigned_to_email"]) == (
        str(admin.id),
        admin.email,
    )
    for who in ("me", str(admin.id)):
        mine = api.get("/api/v1/conversations", params={"assigned_to": who}).json()
        assert [c["contact_email"] for c in mine["items"]] == ["ada@analytical.example"]
    api.post(f"/api/v1/conversations/{ada['id']}/assign", json={"user_id": None})
    assert api.get("/api/v1/conversations", params={"assigned_to": "me"}).json()["items"] == []


def test_assigning_to_someone_unknown_is_told_plainly(api, answered):
    [ada] = api.get("/api/v1/conversations", params={"unread": "true"}).json()["items"]
    nobody = "00000000-0000-4000-8000-000000000000"

    unknown = api.post(f"/api/v1/conversations/{ada['id']}/assign", json={"user_id": nobody})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == f"There is no user {nobody}."
    garbled = api.get("/api/v1/conversations", params={"assigned_to": "someone"})
    assert garbled.status_code == 422
    assert garbled.json()["error"]["message"] == "assigned_to is a user's id or `me`."


def test_a_reply_in_plain_text_comes_with_the_history_it_quotes_apart(
    session, container, clock, tmp_path, api
):
    _, account = launched_from_outbox(session, container, clock, tmp_path)
    first = session.scalars(sa.select(Delivery).order_by(Delivery.id).limit(1)).one()
    to = session.get_one(Contact, first.contact_id)
    raw = plain_reply("Yes, Tuesday.", Thread(first.message_id, "Hello", account.email, to.email))
    ingest(
        session,
        account,
        InboxPage((InboundMessage("1", raw, clock.now()),), "1", False),
        clock.now(),
    )
    session.commit()
    [conversation] = api.get("/api/v1/conversations").json()["items"]

    reply = api.get(f"/api/v1/conversations/{conversation['id']}").json()["messages"][1]

    assert reply["text"] == "Yes, Tuesday."
    assert reply["quoted_text"].startswith("On Mon, 2 Mar 2026 at 10:00, Grace Hopper")
    assert reply["quoted_text"].endswith("> If you'd rather not hear from me again, reply stop.")


def test_conversations_that_need_no_answer_and_are_read_are_listed_on_their_own(api, answered):
    done = api.get("/api/v1/conversations", params={"needs_answer": "false", "unread": "false"})

    assert [c["contact_email"] for c in done.json()["items"]] == ["alan@bletchley.example"]
