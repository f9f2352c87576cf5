"""Taking for sending: the queued deliveries due now, read as messages (ready), and each taken
(queued → sending, committed) the instant before its connection sends it (start).

Only a delivery taken like this can become `unknown` after a crash; the lanes take at most one
per connection at a time, so a crash costs at most one email per connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.campaigns.states import DraftType
from outreach.delivery import queries
from outreach.delivery.models import Delivery
from outreach.delivery.planning import Links, contact_unsubscribe_url
from outreach.delivery.scheduled import what_goes
from outreach.delivery.states import DELIVERIES, DeliveryStatus
from outreach.drafts.models import EmailDraft
from outreach.providers.message import Mailbox, OutgoingMessage
from outreach.senders import queries as sender_queries
from outreach.states import transition_each


@dataclass(frozen=True)
class Recording:
    """What recording a delivery as sent writes beyond its own row, read with the delivery so
    that recording a batch of sends reads nothing more."""

    delivery_id: uuid.UUID
    draft_id: uuid.UUID
    draft_type: DraftType
    contact_id: uuid.UUID
    recipient: str
    sender_account_id: uuid.UUID
    campaign_id: uuid.UUID | None
    enrollment_id: uuid.UUID | None
    step: int | None
    scheduled_email_id: uuid.UUID | None
    message_id: str
    subject: str
    body: str

    @classmethod
    def of(cls, delivery: Delivery, draft: EmailDraft, recipient: str) -> Recording:
        return cls(
            delivery_id=delivery.id,
            draft_id=draft.id,
            draft_type=draft.draft_type,
            contact_id=delivery.contact_id,
            recipient=recipient,
            sender_account_id=delivery.sender_account_id,
            campaign_id=delivery.campaign_id,
            enrollment_id=delivery.campaign_contact_id,
            step=delivery.sequence_step,
            scheduled_email_id=delivery.scheduled_email_id,
            message_id=delivery.message_id,
            subject=draft.outgoing_subject,
            body=draft.outgoing_body + (delivery.footer or ""),
        )


@dataclass(frozen=True)
class Claim:
    recording: Recording
    sender_id: uuid.UUID
    message: OutgoingMessage
    label: str
    earlier_provider_id: str | None = None
    """The provider's id for the email this one follows up (Graph replies to it)."""
    tenant: str | None = None
    """The sender account's Microsoft 365 tenant: a refusal for its limit stops them all."""

    @property
    def delivery_id(self) -> uuid.UUID:
        return self.recording.delivery_id


def ready(session: Session, now: datetime, links: Links, limit: int) -> list[Claim]:
    """The queued deliveries due now (new steps, retries, resends) of senders that can send,
    as messages. Nothing is taken yet: start() takes each just before it goes."""
    claims = []
    due = queries.due_queued(session, now, limit)
    one_offs = [row[0].scheduled_email_id for row in due if row[0].scheduled_email_id]
    answers = queries.answer_threads(session, one_offs) if one_offs else {}
    for delivery, draft, contact, campaign_name in due:
        sender = sender_queries.sender(session, delivery.sender_account_id)
        assert sender is not None  # due_queued joins the account
        url = contact_unsubscribe_url(links, contact.id, delivery.campaign_id)
        recording = Recording.of(delivery, draft, contact.email)
        message = OutgoingMessage(
            message_id=delivery.message_id,
            sender=Mailbox(sender.email, sender.display_name),
            recipient=Mailbox(contact.email, contact.name),
            subject=recording.subject,
            text=recording.body,
            html=delivery.html,
            date=now,
            in_reply_to=delivery.in_reply_to,
            references=tuple((delivery.thread_references or "").split()),
            unsubscribe_url=url,
        )
        answer = delivery.scheduled_email_id in answers
        label = f"{contact.email}: {what_goes(campaign_name, delivery.sequence_step, answer)}"
        earlier = queries.reply_target(session, delivery) if sender.kind == "graph" else None
        claims.append(Claim(recording, sender.id, message, label, earlier, sender.tenant))
    return claims


def start(session: Session, claims: Sequence[Claim], now: datetime, worker: str) -> list[Claim]:
    """Takes these deliveries for sending (queued → sending) in one statement, the instant
    before the transport is called; returns those taken (another worker may have taken the
    others first). Only a delivery taken like this can become `unknown` after a crash, and
    deliver() takes at most one per connection at a time, so a crash costs at most one email
    per connection."""
    taken = transition_each(
        session,
        Delivery,
        [claim.delivery_id for claim in claims],
        DeliveryStatus.sending,
        DELIVERIES,
        counting=("attempts",),
        # A delivery another worker is taking counts as taken: its lane moves on to the next.
        skip_taken=True,
        claimed_at=now,
        claimed_by=worker,
    )
    return [claim for claim in claims if claim.delivery_id in taken]


def recording_of(session: Session, delivery_id: uuid.UUID) -> Recording:
    return Recording.of(*queries.with_draft_and_recipient(session, delivery_id))
