"""A conversation to answer: a campaign's first emails went out over SMTP, and Ada replied."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns import service as campaigns
from outreach.clock import FixedClock
from outreach.contacts.models import Contact
from outreach.container import Container
from outreach.delivery import scheduled, taking
from outreach.delivery.models import Delivery
from outreach.inbox import answers
from outreach.inbox.models import Conversation
from outreach.inbox.service import ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from tests.campaign_setup import MONDAY_9, smtp_sender, three_step_campaign
from tests.inbox_messages import Thread, gmail_reply

ADA = "ada@analytical.example"
THEIR_ID = "<CAF=3kq8pLx9n+0fVwA@mail.gmail.com>"
"""The Message-ID of Ada's reply (tests.inbox_messages.gmail_reply)."""


@dataclass(frozen=True)
class Replied:
    conversation_id: uuid.UUID
    account: SenderAccount
    our_id: str
    """The Message-ID of our first email to Ada."""
    subject: str
    """The subject of Ada's reply."""


def replied_over_smtp(
    session: Session, container: Container, clock: FixedClock, folder: Path, port: int
) -> Replied:
    """On a Monday at 9:00 UTC a campaign's first emails went over SMTP on `port` from an
    account signed "Grace Hopper, Acme"; an hour later Ada's reply arrived (Gmail's shape)."""
    clock.advance(MONDAY_9 - clock.now())
    sender_id = smtp_sender(session, clock, container.settings.secret_key_value(), port)
    account = senders.set_signature(session, uuid.UUID(sender_id), "Grace Hopper\nAcme")
    found = three_step_campaign(session, clock, folder, [sender_id])
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    container.sending_pass()
    ours = session.scalars(
        sa.select(Delivery)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Contact.email == ADA)
    ).one()
    subject = "Hello from Analytical Engines, Ada"
    reply = gmail_reply(Thread(ours.message_id, subject, account.email, ADA))
    clock.advance(timedelta(hours=1))
    page = InboxPage((InboundMessage("1", reply, clock.now()),), "1", more=False)
    ingest(session, account, page, clock.now())
    session.commit()
    conversation = session.scalars(sa.select(Conversation)).one()
    return Replied(conversation.id, account, ours.message_id, f"Re: {subject}")


def answer_left_sending(
    session: Session, container: Container, clock: FixedClock, replied: Replied, body: str
) -> uuid.UUID:
    """An answer to Ada whose delivery a worker wrote and took, then died (no lease, nothing
    recorded): whoever looks next finds it unknown. Returns the delivery's id."""
    answers.send(session, replied.conversation_id, body, clock.now(), clock.now(), None)
    scheduled.queue_due(session, clock.now(), 10)
    claims = taking.ready(session, clock.now(), container.links, 10)
    [taken] = taking.start(session, claims, clock.now(), "gone:1:dead")
    session.commit()
    return taken.delivery_id
