"""The inbox as a list of conversations a team works through: newest first, unread and waiting
for an answer marked and counted in the navigation, filtered by campaign, sender account,
state and "assigned to me"; marked done and assigned from the list; and a conversation read
with its quoted history folded away."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.contacts.models import Contact
from outreach.delivery.models import Delivery
from outreach.inbox.service import ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from tests.campaign_setup import launched_from_outbox
from tests.inbox_messages import Thread, gmail_reply, outlook_auto_reply, outlook_html_reply
from tests.web_session import csrf_token

NOBODY = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def replied(session, container, clock, tmp_path):
    """A campaign's first emails went out; Ada replied from Gmail an hour later, Alan from
    Outlook (HTML only, our email quoted below) after two, and Grace's out-of-office came
    after three."""
    campaign, account = launched_from_outbox(session, container, clock, tmp_path)
    sent = dict(
        session.execute(
            sa.select(Contact.email, Delivery.message_id).join(
                Contact, Contact.id == Delivery.contact_id
            )
        ).all()
    )

    def thread(email: str) -> Thread:
        return Thread(sent[email], "Hello", account.email, email)

    def hours(n: int):
        return clock.now() + timedelta(hours=n)

    replies = (
        InboundMessage("1", gmail_reply(thread("ada@analytical.example")), hours(1)),
        InboundMessage("2", outlook_html_reply(thread("alan@bletchley.example")), hours(2)),
        InboundMessage("3", outlook_auto_reply(thread("grace@navy.example")), hours(3)),
    )
    ingest(session, account, InboxPage(replies, "3", more=False), clock.now())
    session.commit()
    return campaign, account


def listed(page) -> list[tuple[str, str, str]]:
    """(contact shown, unread, needs an answer) of each conversation on an inbox page."""
    return re.findall(
        r'data-unread="(\w+)" data-needs-answer="(\w+)".*?data-testid="conversation-contact">'
        r"([^<]+)</a>",
        page.text,
        re.S,
    )


def test_the_inbox_lists_conversations_newest_first_with_who_waits_marked_and_counted(
    signed_in, replied
):
    page = signed_in.get("/inbox")

    assert page.status_code == 200
    assert listed(page) == [
        ("false", "false", "Grace Hopper"),
        ("true", "true", "Alan Turing"),
        ("true", "true", "Ada Lovelace"),
    ]
    assert re.search(r'data-testid="unread-count">2<', page.text)
    assert re.search(r'data-testid="needs-answer-count">2<', page.text)
    assert "Analytical Engines" in page.text  # the company beside the name
    assert "Re: Hello" in page.text
    assert "Thanks for reaching out." in page.text


def test_the_inbox_filters_by_state_campaign_sender_and_who_answers(signed_in, replied):
    campaign, account = replied

    def names(**params: str) -> list[str]:
        return [name for _, _, name in listed(signed_in.get("/inbox", params=params))]

    assert names(state="needs_answer") == ["Alan Turing", "Ada Lovelace"]
    assert names(state="unread") == ["Alan Turing", "Ada Lovelace"]
    assert len(names(campaign=str(campaign.id), sender=str(account.id))) == 3
    assert names(campaign=NOBODY) == []
    assert names(sender=NOBODY) == []
    assert names(assigned="me") == []
    assert len(names(campaign="not-an-id", state="nonsense")) == 3  # unknown values: no filter

    ada = conversation_link(signed_in, "Ada Lovelace").rsplit("/", 1)[1]
    assigned = signed_in.post(
        f"/inbox/conversations/{ada}/assign",
        data={
            "to": "me",
            "next": "/inbox?assigned=me",
            "csrf_token": csrf_token(signed_in, "/inbox"),
        },
    )
    assert assigned.status_code == 303
    mine = signed_in.get(assigned.headers["location"])
    assert [name for _, _, name in listed(mine)] == ["Ada Lovelace"]
    assert "Assigned to you." in mine.text
    assert "assigned to you" in mine.text


def conversation_link(client, name: str) -> str:
    page = client.get("/inbox")
    return re.search(
        rf'href="(/inbox/conversations/[0-9a-f-]+)" data-testid="conversation-contact">{name}<',
        page.text,
    ).group(1)


def test_marking_a_conversation_done_from_the_list_takes_it_off_the_waiting_count(
    signed_in, replied
):
    link = conversation_link(signed_in, "Alan Turing")

    swapped = signed_in.post(
        f"{link}/done",
        data={"next": "/inbox", "csrf_token": csrf_token(signed_in, "/inbox")},
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200
    assert 'data-needs-answer="false"' in swapped.text
    assert "<html" not in swapped.text  # only the row, swapped in place

    ada = conversation_link(signed_in, "Ada Lovelace")
    done = signed_in.post(
        f"{ada}/done", data={"next": "/inbox", "csrf_token": csrf_token(signed_in, "/inbox")}
    )
    assert (done.status_code, done.headers["location"]) == (303, "/inbox")
    page = signed_in.get("/inbox")
    assert "Marked done." in page.text
    assert 'data-testid="needs-answer-count"' not in page.text
    assert listed(signed_in.get("/inbox", params={"state": "needs_answer"})) == []


def test_an_unknown_conversation_or_page_cursor_is_told_plainly(signed_in, replied):
    missing = signed_in.post(
        f"/inbox/conversations/{NOBODY}/done", data={"csrf_token": csrf_token(signed_in, "/inbox")}
    )
    assert missing.status_code == 404
    assert f"There is no conversation {NOBODY}." in missing.text
    made_up = signed_in.get("/inbox", params={"before": "yesterday"})
    assert made_up.status_code == 422
    assert "This page cursor is not one we gave." in made_up.text


def test_a_conversation_shows_who_wrote_what_they_answer_and_folds_the_quoted_history(
    signed_in, replied
):
    campaign, _ = replied
    page = signed_in.get(conversation_link(signed_in, "Alan Turing"))

    assert page.status_code == 200
    assert 'data-testid="contact-company">Bletchley Park<' in page.text
    reply = page.text[page.text.index('data-kind="human_reply"') :]
    own, quoted = reply.split('<details class="quoted">', 1)
    assert "danke für die Nachricht" in own
    assert "Hi Ada, I saw your talk on streaming ETL." not in own
    assert "Hi Ada, I saw your talk on streaming ETL." in quoted
    assert re.search(
        rf'answers <a href="/campaigns/{campaign.id}">{campaign.name}</a>, step 1', page.text
    )
    assert 'data-kind="sent"' in page.text
