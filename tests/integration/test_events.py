"""Events: written in the transaction of the change they describe, once each, numbered in
commit order, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.campaigns import service as campaigns
from outreach.contacts.models import Contact
from outreach.db import transaction
from outreach.delivery import unsubscribe
from outreach.delivery.models import Delivery
from outreach.events import feed
from outreach.events.models import Event
from outreach.inbox.service import ingest
from outreach.providers.errors import ServerUnreachable
from outreach.providers.inbox import InboundMessage, InboxPage
from outreach.senders import service as senders
from outreach.senders.states import SenderState
from tests.campaign_setup import MONDAY_9, launched_from_outbox, three_step_campaign
from tests.inbox_messages import Thread, gmail_reply, plain_reply, postfix_dsn

SENDER = "grace@acme.example"
ADA, ALAN, GRACE = "ada@analytical.example", "alan@bletchley.example", "grace@navy.example"


def kinds(session) -> list[str]:
    return list(session.scalars(sa.select(Event.kind).order_by(Event.occurred_at, Event.kind)))


def data_of(session, kind: str) -> list[dict]:
    return [event.data for event in session.scalars(sa.select(Event).where(Event.kind == kind))]


def thread_to(session, email: str) -> Thread:
    delivery = session.scalars(
        sa.select(Delivery)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Contact.email == email)
    ).first()
    return Thread(message_id=delivery.message_id, subject="Hello", ours=SENDER, theirs=email)


def test_a_launch_rolled_back_leaves_no_event_and_a_committed_one_leaves_one(
    session, container, clock, tmp_path
):
    clock.advance(MONDAY_9 - clock.now())
    account = senders.add(
        session,
        kind=senders.SenderKind.outbox,
        email=SENDER,
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        now=clock.now(),
    )
    found = three_step_campaign(session, clock, tmp_path, [str(account.id)])
    session.commit()

    def launch_then_fail() -> None:
        with transaction(container.sessions) as attempt:
            campaigns.launch(attempt, found.id, clock.now())
            raise RuntimeError("the request failed after the launch")

    with pytest.raises(RuntimeError):
        launch_then_fail()
    assert kinds(session) == []

    with transaction(container.sessions) as launching:
        campaigns.launch(launching, found.id, clock.now())
    assert kinds(session) == ["campaign.launched"]
    [launched] = data_of(session, "campaign.launched")
    assert launched == {"campaign_id": str(found.id), "name": "Spring", "enrolled": 3}


def test_a_campaign_run_records_each_send_reply_bounce_and_unsubscribe_once(
    session, container, clock, tmp_path
):
    found, account = launched_from_outbox(session, container, clock, tmp_path)
    sent = data_of(session, "email.sent")
    assert sorted(item["recipient"] for item in sent) == [ADA, ALAN, GRACE]
    assert {item["campaign_id"] for item in sent} == {str(found.id)}
    assert all(item["step"] == 1 and item["subject"].startswith("Hello") for item in sent)

    clock.advance(timedelta(hours=1))
    messages = (
        gmail_reply(thread_to(session, ADA)),
        plain_reply("Please remove me from your list.", thread_to(session, ALAN)),
        postfix_dsn(thread_to(session, GRACE), status="5.1.1"),
    )
    inbox = InboxPage(
        tuple(InboundMessage(f"p{n}", raw, clock.now()) for n, raw in enumerate(messages)),
        "c1",
        False,
    )
    ingest(session, account, inbox, clock.now())
    ingest(session, account, inbox, clock.now())  # the same page read again acts once
    token = unsubscribe.UnsubscribeToken(
        session.scalar(sa.select(Contact.id).where(Contact.email == ALAN)), found.id
    )
    unsubscribe.unsubscribe(session, token, "link", clock.now())  # already suppressed
    session.commit()

    [reply] = data_of(session, "reply.received")
    assert (reply["email"], reply["campaign_id"]) == (ADA, str(found.id))
    assert reply["snippet"]
    [unsubscribed] = data_of(session, "contact.unsubscribed")
    assert (unsubscribed["email"], unsubscribed["source"]) == (ALAN, "reply")
    [bounced] = data_of(session, "email.bounced")
    assert (bounced["recipient"], bounced["address_suppressed"]) == (GRACE, True)
    assert "5.1.1" in bounced["reason"]


def test_a_paused_and_a_failing_sender_are_events(session, container, clock, tmp_path):
    _, account = launched_from_outbox(session, container, clock, tmp_path)
    senders.record_failure(
        session, account.id, ServerUnreachable("connection refused"), clock.now()
    )
    senders.record_failure(
        session, account.id, ServerUnreachable("connection refused"), clock.now()
    )
    senders.set_state(session, account.id, SenderState.paused, "paused by a person", clock.now())
    session.commit()

    [failing] = data_of(session, "sender.failing")
    assert (failing["email"], failing["reason"]) == (SENDER, "connection refused")
    assert failing["retry_at"]
    [paused] = data_of(session, "sender.paused")
    assert paused["reason"] == "paused by a person"


def test_a_campaign_whose_contacts_all_finished_completes_with_an_event(
    session, container, clock, tmp_path
):
    found, _ = launched_from_outbox(session, container, clock, tmp_path)
    for _ in range(2):
        clock.advance(timedelta(days=4))
        container.sending_pass()

    assert data_of(session, "campaign.completed") == [
        {"campaign_id": str(found.id), "name": "Spring"}
    ]


def test_committed_events_are_numbered_in_the_order_they_are_found(
    session, container, clock, tmp_path
):
    launched_from_outbox(session, container, clock, tmp_path)

    assert feed.number_committed(session, clock.now()) == 7
    assert feed.number_committed(session, clock.now()) == 0
    numbered = feed.events_after(session, 0)
    assert [event.position for event in numbered] == [1, 2, 3, 4, 5, 6, 7]
    # Events of one moment (the launch, the sends and the contacts they made contacted, at one
    # pretended time) in any order.
    assert sorted(event.kind for event in numbered) == (
        ["campaign.launched"] + ["email.sent"] * 3 + ["lead.status_changed"] * 3
    )
    assert [event.position for event in feed.events_after(session, 5)] == [6, 7]
