"""The inbox's activity page: what the mailboxes' readers acted on, filtered by campaign and by
kind; and a conversation read whole from the inbox."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from outreach.contacts.models import Contact
from outreach.delivery.models import Delivery
from outreach.inbox.models import Conversation
from outreach.inbox.service import ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from tests.campaign_setup import launched_from_outbox
from tests.inbox_messages import Thread, gmail_reply, outlook_auto_reply, with_attachment


def test_the_inbox_activity_lists_what_was_found_by_campaign_and_kind(
    signed_in, session, container, clock, tmp_path
):
    spring, account = launched_from_outbox(session, container, clock, tmp_path)
    sent = dict(
        session.execute(
            sa.select(Contact.email, Delivery.message_id).join(
                Contact, Contact.id == Delivery.contact_id
            )
        ).all()
    )

    def thread(to: str) -> Thread:
        return Thread(sent[to], "Hello", "grace@acme.example", to)

    at = clock.now() + timedelta(hours=1)
    page = InboxPage(
        (
            InboundMessage("1:1", gmail_reply(thread("ada@analytical.example")), at),
            InboundMessage(
                "1:2", outlook_auto_reply(thread("alan@bletchley.example"), back="20 March"), at
            ),
        ),
        "1:2",
        more=False,
    )
    ingest(session, account, page, clock.now())
    session.commit()

    everything = signed_in.get("/inbox/activity")
    assert everything.status_code == 200
    assert everything.text.count('data-kind="') == 2
    assert "Tuesday at 3pm works for me" in everything.text
    assert "back 2026-03-20" in everything.text
    assert 'href="/inbox"' in everything.text  # the navigation links the area now
    assert "No sender account has a mailbox to read" in everything.text  # an outbox has none

    replies = signed_in.get(
        "/inbox/activity", params={"kind": "human_reply", "campaign": str(spring.id)}
    )
    assert replies.text.count('data-kind="human_reply"') == 1
    assert 'data-kind="auto_reply"' not in replies.text
    other = signed_in.get(
        "/inbox/activity", params={"campaign": "00000000-0000-4000-8000-000000000000"}
    )
    assert "Nothing here yet." in other.text
    assert signed_in.get("/inbox/activity", params={"campaign": "not-an-id"}).status_code == 200

    # Opening the thread: the reply's enrollment, its email and the reply in order.
    thread_link = re.search(
        r'href="(/enrollments/[0-9a-f-]{36})" title="The whole thread"', replies.text
    )
    timeline = signed_in.get(thread_link.group(1))
    assert timeline.status_code == 200
    rows = re.findall(
        r"<td><time [^>]*>(\d{4}-\d\d-\d\d \d\d:\d\d UTC)</time></td>\s*<td>([^<]*)</td>",
        timeline.text,
    )
    assert [what for _, what in rows] == [
        "Enrolled",
        "Step 1: Hello from Analytical Engines, Ada",
        "Reply",
    ]
    assert 'data-status="sent"' in timeline.text
    assert "replied" in timeline.text
    assert signed_in.get(f"/enrollments/{spring.id}").status_code == 404

    alan = signed_in.get(
        re.search(
            r'href="(/enrollments/[0-9a-f-]{36})" title="The whole thread">alan@', everything.text
        ).group(1)
    )
    assert "Next email: Fri 2026-03-20 00:00 UTC (out of office until 2026-03-20)" in alan.text


def test_a_reply_is_read_whole_from_the_inbox_with_its_script_gone_and_its_images_held(
    signed_in, session, container, clock, tmp_path
):
    _, account = launched_from_outbox(session, container, clock, tmp_path)
    first = session.scalars(sa.select(Delivery).order_by(Delivery.id).limit(1)).one()
    to = session.get_one(Contact, first.contact_id)
    hostile = (
        '<p onclick=3D"steal()">Yes, <b>Tuesday</b> works.</p><script>alert(1)</script>'
        '<img src=3D"https://tracker.example/open.gif">'
    )
    raw = gmail_reply(Thread(first.message_id, "Hello", account.email, to.email)).replace(
        b'<div dir=3D"ltr">Hi Grace,<div><br></div><div>Thanks for reaching out.</div></div>',
        hostile.encode(),
    )
    raw = with_attachment(raw, "deck.pdf", "application/pdf", b"%PDF-1.4 deck")
    at = clock.now() + timedelta(hours=1)
    ingest(session, account, InboxPage((InboundMessage("1:1", raw, at),), "1:1", False), at)
    session.commit()

    inbox = signed_in.get("/inbox")
    [link] = re.findall(r'href="(/inbox/conversations/[0-9a-f-]+)"', inbox.text)
    conversation = signed_in.get(link)

    assert conversation.status_code == 200
    assert conversation.text.count('data-kind="sent"') == 1
    assert conversation.text.count('data-kind="human_reply"') == 1
    assert "<p>Yes, <b>Tuesday</b> works.</p>" in conversation.text
    assert "alert(1)" not in conversation.text
    assert "steal()" not in conversation.text
    assert "tracker.example" not in conversation.text
    assert "1 remote image not loaded" in conversation.text
    assert "tracker.example/open.gif" in signed_in.get(link, params={"images": "1"}).text
    [download] = re.findall(
        r'href="([^"]+/attachments/[0-9a-f-]+)" download>deck.pdf', conversation.text
    )
    assert signed_in.get(download).content == b"%PDF-1.4 deck"
    session.expire_all()
    [opened] = session.scalars(sa.select(Conversation)).all()
    assert not opened.unread  # reading it marked it read
    assert opened.needs_answer  # but it still waits for an answer


def test_with_no_mailbox_to_read_the_activity_page_points_to_the_senders_page(signed_in):
    page = signed_in.get("/inbox/activity")
    assert "No sender account has a mailbox to read" in page.text
    assert 'on the <a href="/senders">Senders</a> page' in page.text
    assert "outreach inbox" not in page.text
