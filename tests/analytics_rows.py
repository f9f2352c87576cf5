"""Rows of sends, replies, bounces and unsubscribes written with plain SQLAlchemy Core, as any
writer of the tables (the worker, the inbox, psql) would: what the analytics triggers count."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from outreach.models import Base

T = Base.metadata.tables
COUNTS = ("sent", "replied", "positive", "bounced", "unsubscribed")


def _add(connection: sa.Connection, table: str, **values: object) -> uuid.UUID:
    row_id = uuid.uuid4()
    connection.execute(sa.insert(T[table]).values(id=row_id, **values))
    return row_id


def reply_to(
    connection: sa.Connection,
    delivery: uuid.UUID,
    sent: uuid.UUID,
    at: datetime,
    category: str | None,
    kind: str = "human_reply",
) -> uuid.UUID:
    """A message about the email `sent` (of `delivery`) read from its sender's mailbox."""
    row = connection.execute(
        sa.select(T["deliveries"]).where(T["deliveries"].c.id == delivery)
    ).one()
    return _add(
        connection,
        "inbox_messages",
        sender_account_id=row.sender_account_id,
        provider_id=str(uuid.uuid4()),
        kind=kind,
        reason="test",
        received_at=at,
        contact_id=row.contact_id,
        campaign_id=row.campaign_id,
        campaign_contact_id=row.campaign_contact_id,
        delivery_id=delivery,
        sent_email_id=sent,
        matched_by="in_reply_to",
        category=category,
    )


def bounce(connection: sa.Connection, delivery: uuid.UUID, at: datetime) -> None:
    """A bounce arrived for the delivery (once: a second one changes nothing)."""
    deliveries = T["deliveries"]
    connection.execute(
        sa.update(deliveries)
        .where(deliveries.c.id == delivery, deliveries.c.bounced_at.is_(None))
        .values(bounced_at=at)
    )


def unsubscribe(connection: sa.Connection, enrollment: uuid.UUID) -> None:
    enrollments = T["campaign_contacts"]
    connection.execute(
        sa.update(enrollments).where(enrollments.c.id == enrollment).values(status="unsubscribed")
    )


@dataclass
class Campaigns:
    """Two campaigns and two sender accounts; contacts at a few recipient domains."""

    connection: sa.Connection
    start: datetime
    senders: list[uuid.UUID] = field(default_factory=list)
    campaigns: list[uuid.UUID] = field(default_factory=list)
    enrollments: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = field(default_factory=list)
    """(enrollment, campaign, contact)."""
    sent: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    """(delivery, sent email)."""
    replies: list[uuid.UUID] = field(default_factory=list)
    drafts: list[uuid.UUID] = field(default_factory=list)
    """The draft of every campaign email, sent or not."""
    unsent: list[uuid.UUID] = field(default_factory=list)
    """Drafts nothing was sent or bounced of (steps queued, a person's answers): deletable."""

    @classmethod
    def made(cls, connection: sa.Connection, start: datetime, addresses: list[str]) -> Campaigns:
        world = cls(connection, start)
        world.senders = [
            _add(connection, "sender_accounts", email=f"me{n}@ourco.example") for n in range(2)
        ]
        world.campaigns = [_add(connection, "campaigns", name=f"Campaign {n}") for n in range(2)]
        batch = _add(connection, "upload_batches", file_name="people.csv")
        for n, address in enumerate(addresses):
            contact = _add(
                connection, "contacts", upload_batch_id=batch, raw_data="{}", email=address
            )
            campaign = world.campaigns[n % 2]
            enrollment = _add(
                connection,
                "campaign_contacts",
                campaign_id=campaign,
                contact_id=contact,
                status="in_progress",
            )
            world.enrollments.append((enrollment, campaign, contact))
        return world

    def email(self, contact: uuid.UUID) -> str:
        return str(
            self.connection.scalar(
                sa.select(T["contacts"].c.email).where(T["contacts"].c.id == contact)
            )
        )

    def send(self, which: int, sender: int, days: int) -> None:
        """The enrollment's next step goes out, `days` after the start."""
        enrollment, campaign, contact = self.enrollments[which % len(self.enrollments)]
        step = 1 + int(
            self.connection.scalar(
                sa.select(T["campaign_contacts"].c.current_sequence_step).where(
                    T["campaign_contacts"].c.id == enrollment
                )
            )
            or 0
        )
        at = self.start + timedelta(days=days, hours=step)
        sender_id = self.senders[sender % 2]
        draft = _add(
            self.connection,
            "email_drafts",
            contact_id=contact,
            draft_type="first_outreach" if step == 1 else "second_followup",
            subject="Hello",
            body="Hi",
        )
        self.drafts.append(draft)
        delivery = _add(
            self.connection,
            "deliveries",
            campaign_contact_id=enrollment,
            sequence_step=step,
            campaign_id=campaign,
            contact_id=contact,
            draft_id=draft,
            sender_account_id=sender_id,
            message_id=f"<{uuid.uuid4()}@ourco.example>",
            next_attempt_at=at,
            status="sent",
            sent_at=at,
        )
        sent = _add(
            self.connection,
            "sent_emails",
            draft_id=draft,
            contact_id=contact,
            sender_account_id=sender_id,
            campaign_id=campaign,
            draft_type="first_outreach" if step == 1 else "second_followup",
            subject="Hello",
            body="Hi",
            recipient_email=self.email(contact),
            sent_at=at,
            sequence_step=step,
        )
        self._update("deliveries", delivery, sent_email_id=sent)
        self._update(
            "campaign_contacts", enrollment, current_sequence_step=step, last_email_sent_at=at
        )
        self.sent.append((delivery, sent))

    def refuse(self, which: int, sender: int, days: int) -> None:
        """The recipient's server refuses the enrollment's next step at once: a bounce, no
        sent email."""
        _, campaign, contact = self.enrollments[which % len(self.enrollments)]
        at = self.start + timedelta(days=days)
        draft = _add(
            self.connection,
            "email_drafts",
            contact_id=contact,
            draft_type="first_outreach",
            subject="Hello",
            body="Hi",
        )
        self.drafts.append(draft)
        _add(
            self.connection,
            "deliveries",
            campaign_contact_id=None,
            sequence_step=9,
            campaign_id=campaign,
            contact_id=contact,
            draft_id=draft,
            sender_account_id=self.senders[sender % 2],
            message_id=f"<{uuid.uuid4()}@ourco.example>",
            next_attempt_at=at,
            status="failed",
            bounced_at=at,
        )

    def queue(self, which: int, from_template: bool, days: int) -> None:
        """A step queued `days` after the start, not sent yet: written from its template
        (approved as written) or written by AI and sent without approval."""
        _, campaign, contact = self.enrollments[which % len(self.enrollments)]
        at = self.start + timedelta(days=days, minutes=10)
        draft = self._draft(contact, at, approved_at=at if from_template else None)
        self.drafts.append(draft)
        _add(
            self.connection,
            "deliveries",
            campaign_id=campaign,
            contact_id=contact,
            draft_id=draft,
            sender_account_id=self.senders[0],
            message_id=f"<{uuid.uuid4()}@ourco.example>",
            next_attempt_at=at,
            created_at=at,
        )

    def answer(self, which: int, days: int) -> None:
        """A person's answer to a contact, scheduled: its draft approved as they wrote it."""
        _, _, contact = self.enrollments[which % len(self.enrollments)]
        at = self.start + timedelta(days=days, minutes=20)
        self._draft(contact, at, approved_at=at)

    def approve(self, which: int, days: int) -> None:
        """A person approves a campaign email's draft that went (or was queued) unapproved."""
        if self.drafts:
            drafts = T["email_drafts"]
            self.connection.execute(
                sa.update(drafts)
                .where(drafts.c.id == self.drafts[which % len(self.drafts)])
                .where(drafts.c.approved_at.is_(None))
                .values(status="approved", approved_at=self.start + timedelta(days=days))
            )

    def take_back(self, which: int) -> None:
        """A draft nothing was sent of is deleted, with its delivery (an answer taken back)."""
        if self.unsent:
            draft = self.unsent.pop(which % len(self.unsent))
            self.drafts = [d for d in self.drafts if d != draft]
            drafts = T["email_drafts"]
            self.connection.execute(sa.delete(drafts).where(drafts.c.id == draft))

    def _draft(self, contact: uuid.UUID, at: datetime, approved_at: datetime | None) -> uuid.UUID:
        draft = _add(
            self.connection,
            "email_drafts",
            contact_id=contact,
            draft_type="first_outreach",
            subject="Hello",
            body="Hi",
            status="scheduled",
            created_at=at,
            approved_at=approved_at,
        )
        self.unsent.append(draft)
        return draft

    def reply(self, which: int, days: int, category: str | None, kind: str = "human_reply") -> None:
        if self.sent:
            delivery, sent = self.sent[which % len(self.sent)]
            at = self.start + timedelta(days=days, minutes=30)
            self.replies.append(reply_to(self.connection, delivery, sent, at, category, kind))

    def categorize(self, which: int, category: str | None) -> None:
        if self.replies:
            reply = self.replies[which % len(self.replies)]
            self._update("inbox_messages", reply, category=category)

    def bounce(self, which: int, days: int) -> None:
        if self.sent:
            delivery, _ = self.sent[which % len(self.sent)]
            bounce(self.connection, delivery, self.start + timedelta(days=days, hours=5))

    def unsubscribe(self, which: int) -> None:
        enrollment, _, _ = self.enrollments[which % len(self.enrollments)]
        unsubscribe(self.connection, enrollment)

    def _update(self, table: str, row_id: uuid.UUID, **values: object) -> None:
        self.connection.execute(sa.update(T[table]).where(T[table].c.id == row_id).values(**values))


def a_fortnight(connection: sa.Connection, now: datetime) -> Campaigns:
    """Two campaigns, six contacts, nine emails over the 12 days to `now`: two replies from a
    person (one interested), an auto-reply, a bounce and an unsubscribe; Campaign 0 running,
    the first sender account failing."""
    world = Campaigns.made(
        connection,
        now - timedelta(days=12),
        [f"person{n}@company{n % 3}.example" for n in range(6)],
    )
    for n in range(6):
        world.send(n, n, days=n)
    for n in range(3):
        world.send(n, n, days=n + 4)
    world.reply(0, days=6, category="interested")
    world.reply(1, days=7, category="not_interested")
    world.reply(4, days=8, category=None, kind="auto_reply")
    world.bounce(2, days=3)
    world.unsubscribe(3)
    world._update("campaigns", world.campaigns[0], status="active")
    world._update(
        "sender_accounts",
        world.senders[0],
        state="failing",
        last_error="the server refused the password",
    )
    return world


def campaigns_sending(
    connection: sa.Connection, at: datetime, sent: dict[str, list[int]]
) -> dict[str, uuid.UUID]:
    """A campaign per name whose steps sent the counts given (step 1 first) at `at`, all from one
    sender account to one contact: many campaigns' funnels in few statements."""
    sender = _add(connection, "sender_accounts", email="me@ourco.example")
    batch = _add(connection, "upload_batches", file_name="people.csv")
    contact = _add(
        connection, "contacts", upload_batch_id=batch, raw_data="{}", email="p@company.example"
    )
    campaigns = {name: _add(connection, "campaigns", name=name) for name in sent}
    rows = [
        {
            "id": uuid.uuid4(),
            "contact_id": contact,
            "sender_account_id": sender,
            "campaign_id": campaigns[name],
            "draft_type": "first_outreach" if step == 1 else "second_followup",
            "subject": "Hello",
            "body": "Hi",
            "recipient_email": "p@company.example",
            "sent_at": at,
            "sequence_step": step,
        }
        for name, counts in sent.items()
        for step, count in enumerate(counts, start=1)
        for _ in range(count)
    ]
    connection.execute(sa.insert(T["sent_emails"]), rows)
    return campaigns


def raw_by_step(connection: sa.Connection, campaign_id: uuid.UUID) -> dict[int, dict[str, int]]:
    """The five counts per step, straight from sent_emails, inbox_messages, deliveries and
    campaign_contacts."""
    sent, messages, deliveries, enrollments = (
        T["sent_emails"],
        T["inbox_messages"],
        T["deliveries"],
        T["campaign_contacts"],
    )
    figures: dict[int, dict[str, int]] = {}

    def add(name: str, query: sa.Select) -> None:  # type: ignore[type-arg]
        for step, n in connection.execute(query):
            figures.setdefault(step, dict.fromkeys(COUNTS, 0))[name] = n

    add(
        "sent",
        sa.select(sent.c.sequence_step, sa.func.count())
        .where(sent.c.campaign_id == campaign_id)
        .group_by(sent.c.sequence_step),
    )
    replies = (
        sa.select(sent.c.sequence_step, sa.func.count())
        .join(sent, sent.c.id == messages.c.sent_email_id)
        .where(messages.c.campaign_id == campaign_id, messages.c.kind == "human_reply")
        .group_by(sent.c.sequence_step)
    )
    add("replied", replies)
    add(
        "positive",
        replies.where(messages.c.category.in_(["interested", "meeting_request"])),
    )
    add(
        "bounced",
        sa.select(deliveries.c.sequence_step, sa.func.count())
        .where(deliveries.c.campaign_id == campaign_id, deliveries.c.bounced_at.is_not(None))
        .group_by(deliveries.c.sequence_step),
    )
    add(
        "unsubscribed",
        sa.select(enrollments.c.current_sequence_step, sa.func.count())
        .where(enrollments.c.campaign_id == campaign_id, enrollments.c.status == "unsubscribed")
        .group_by(enrollments.c.current_sequence_step),
    )
    return figures
