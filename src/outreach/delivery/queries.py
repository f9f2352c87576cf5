"""SQL for deliveries, scheduled emails and sent emails.

Over 500 lines because it keeps, beside their portable twins, the statements a sending round
runs written for speed: recording a round's sends on PostgreSQL in one statement of
data-modifying CTEs (record_sent_at_once; recording.record_sent's statement per kind of row on
SQLite), and inserting and linking sent_emails through the driver's executemany
(_DriverStatement). bench/dispatch.py shows them needed: with plain SQLAlchemy Core in their
place the worker sent 0.72 (SQLite) and 0.59 (PostgreSQL) of its emails a second with a relay
that answers at once (docs/benchmarks.md, "The runner and the driver-level statements").
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.models import Campaign
from outreach.contacts.models import Contact
from outreach.db import Base, keyset_scalars
from outreach.delivery.models import Answer, Delivery, ScheduledEmail, SentEmail, WorkerLease
from outreach.drafts.models import EmailDraft
from outreach.leases import Worker
from outreach.senders.models import SenderAccount
from outreach.senders.ramp import Ramp

deliveries_table = Base.metadata.tables["deliveries"]
sent_emails_table = Base.metadata.tables["sent_emails"]
"""Batches are written to the tables: the ORM's bulk machinery costs more than the statements."""
COUNTED = ("queued", "sending", "sent", "unknown")
"""Deliveries that count against limits: anything that went out, may have, or is about to."""


def campaign_sends_between(
    session: Session, campaign_id: uuid.UUID, start: datetime, end: datetime
) -> int:
    """Sends of a campaign claimed in [start, end), counted in the index alone
    (ix_deliveries_campaign_id_claimed_at_status holds the status too)."""
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                Delivery.campaign_id == campaign_id,
                Delivery.claimed_at >= start,
                Delivery.claimed_at < end,
                Delivery.status.in_(COUNTED),
            )
        )
        or 0
    )


def campaign_last_send(session: Session, campaign_id: uuid.UUID) -> datetime | None:
    return session.scalar(
        sa.select(sa.func.max(Delivery.claimed_at)).where(
            Delivery.campaign_id == campaign_id, Delivery.status.in_(COUNTED)
        )
    )


def last_sent_to(
    session: Session, contact_ids: Collection[uuid.UUID], since: datetime
) -> dict[uuid.UUID, datetime]:
    """When we last emailed each of these contacts, if it was at `since` or later
    (idx_sent_emails_contact)."""
    if not contact_ids:
        return {}
    rows = session.execute(
        sa.select(SentEmail.contact_id, sa.func.max(SentEmail.sent_at))
        .where(SentEmail.contact_id.in_(list(contact_ids)), SentEmail.sent_at >= since)
        .group_by(SentEmail.contact_id)
    )
    return {row[0]: row[1] for row in rows}


def sender_sends_between(
    session: Session, sender_ids: Sequence[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, int]:
    """Sends per sender account claimed in [start, end), for their daily caps."""
    return _claimed_per_sender(
        session,
        sender_ids,
        Delivery.claimed_at >= start,
        Delivery.claimed_at < end,
        Delivery.status.in_(COUNTED),
    )


def sent_since(
    session: Session, sender_ids: Collection[uuid.UUID], since: datetime
) -> dict[uuid.UUID, int]:
    """Emails each sender account sent since `since`, counting those refused at once, for
    their health."""
    # Two disjoint counts rather than one with `status = 'sent' OR bounced_at IS NOT NULL`: the
    # sent ones are read from the (sender_account_id, claimed_at, status) index alone, where the
    # OR fetched every delivery of the week from the table (274,000 at ten times the seed's
    # volume: 400 ms against 150 ms). A refusal at sending time is recorded after its claim, so
    # its bounced_at is in the range too and the small partial index of bounces finds it.
    sent = _claimed_per_sender(
        session, sender_ids, Delivery.claimed_at >= since, Delivery.status == "sent"
    )
    refused = _claimed_per_sender(
        session,
        sender_ids,
        Delivery.bounced_at.is_not(None),
        Delivery.bounced_at >= since,
        Delivery.claimed_at >= since,
        Delivery.status != "sent",
    )
    return {
        sender_id: sent.get(sender_id, 0) + refused.get(sender_id, 0)
        for sender_id in sent.keys() | refused.keys()
    }


def _claimed_per_sender(
    session: Session, sender_ids: Collection[uuid.UUID], *where: sa.ColumnElement[bool]
) -> dict[uuid.UUID, int]:
    """Deliveries per sender account among these (ix_deliveries_sender_account_id_claimed_at_status
    serves the claimed_at range)."""
    if not sender_ids:
        return {}
    rows = session.execute(
        sa.select(Delivery.sender_account_id, sa.func.count())
        .where(Delivery.sender_account_id.in_(list(sender_ids)), *where)
        .group_by(Delivery.sender_account_id)
    )
    return dict(rows.all())


def sending_days_before(
    session: Session, ramps: Mapping[uuid.UUID, Ramp], before: datetime
) -> dict[uuid.UUID, int]:
    """UTC days before `before` on which each ramping account sent, counted up to the day its
    ramp reaches its target (from then on its cap no longer grows, and a count of every day
    of a busy account's year read up to 158,000 index entries at 10x).

    Each day found is one probe of ix_deliveries_sender_account_id_claimed_at_status for the
    account's first send from the next UTC midnight (a recursive query, on both backends), so
    the cost follows the ramp's length, not the account's history."""
    most = max((ramp.sending_days for ramp in ramps.values()), default=0)
    if most == 0:
        return {}

    def first_send(account: Any, start: Any = None) -> sa.ScalarSelect[Any]:
        return (
            sa.select(sa.func.min(Delivery.claimed_at))
            .where(
                Delivery.sender_account_id == account,
                Delivery.claimed_at < before,
                Delivery.status == "sent",
                *([] if start is None else [Delivery.claimed_at >= start]),
            )
            .scalar_subquery()
        )

    days = (
        sa.select(
            SenderAccount.id.label("account"),
            first_send(SenderAccount.id).label("at"),
            sa.literal(1).label("found"),
        )
        .where(SenderAccount.id.in_(list(ramps)))
        .cte("sending_days", recursive=True)
    )
    days = days.union_all(
        sa.select(
            days.c.account,
            first_send(days.c.account, _next_utc_midnight(session, days.c.at)),
            days.c.found + 1,
        ).where(days.c.at.is_not(None), days.c.found < most)
    )
    rows = session.execute(
        sa.select(days.c.account, sa.func.count(days.c.at)).group_by(days.c.account)
    )
    return {account: min(found, ramps[account].sending_days) for account, found in rows if found}


def _next_utc_midnight(session: Session, column: Any) -> sa.ColumnElement[Any]:
    """The UTC midnight after a timestamp, comparable with it: on PostgreSQL a timestamptz, on
    SQLite the day's text, which sorts before every time of that day as stored."""
    if session.connection().dialect.name == "postgresql":
        day = sa.cast(sa.func.timezone("UTC", column), sa.Date) + 1
        return sa.func.timezone("UTC", sa.cast(day, sa.DateTime))
    return sa.func.date(sa.func.substr(column, 1, 10), "+1 day")


def _utc_day(session: Session, column: Any) -> sa.ColumnElement[Any]:
    """The UTC calendar day of a timestamp: SQLite keeps UTC text (its first 10 characters),
    PostgreSQL a timestamptz read in the session's zone unless told UTC."""
    if session.connection().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.substr(column, 1, 10)


def last_sends(session: Session, sender_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """Each account's latest send (taken, sent or in doubt), for its gap between sends."""
    if not sender_ids:
        return {}
    rows = session.execute(
        sa.select(Delivery.sender_account_id, sa.func.max(Delivery.claimed_at))
        .where(Delivery.sender_account_id.in_(list(sender_ids)), Delivery.status.in_(COUNTED))
        .group_by(Delivery.sender_account_id)
    )
    return {sender_id: last for sender_id, last in rows if last is not None}


@dataclass(frozen=True)
class TenantDay:
    """A Microsoft 365 tenant's sends in the last 24 hours, by every account of it."""

    sends: int
    oldest: datetime | None


def tenant_sends_since(
    session: Session, tenants: Collection[str], since: datetime
) -> dict[str, TenantDay]:
    """Each tenant's sends (taken, sent or in doubt) since `since`, by all of its accounts: a
    recipient each, since every email here has one."""
    if not tenants:
        return {}
    rows = session.execute(
        sa.select(SenderAccount.tenant, sa.func.count(), sa.func.min(Delivery.claimed_at))
        .join(SenderAccount, SenderAccount.id == Delivery.sender_account_id)
        .where(
            SenderAccount.tenant.in_(list(tenants)),
            Delivery.claimed_at >= since,
            Delivery.status.in_(COUNTED),
        )
        .group_by(SenderAccount.tenant)
    )
    return {tenant: TenantDay(sends, oldest) for tenant, sends, oldest in rows if tenant}


def bounces_since(session: Session, since: datetime) -> dict[uuid.UUID, int]:
    """Hard bounces per sender account since `since` (a small partial index holds only them)."""
    rows = session.execute(
        sa.select(Delivery.sender_account_id, sa.func.count())
        .where(Delivery.bounced_at.is_not(None), Delivery.bounced_at >= since)
        .group_by(Delivery.sender_account_id)
    )
    return dict(rows.all())


def mark_bounced(
    session: Session, delivery_id: uuid.UUID | None, sent_email_id: uuid.UUID | None, now: datetime
) -> None:
    """A bounce arrived for a sent email: kept on the delivery for the sender's health, and on
    the seed's sent_emails.status for anyone reading the original tables (an email the original
    system sent has only the latter)."""
    if delivery_id is not None:
        session.execute(
            sa.update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.bounced_at.is_(None))
            .values(bounced_at=now)
        )
    if sent_email_id is not None:
        session.execute(
            sa.update(SentEmail).where(SentEmail.id == sent_email_id).values(status="bounced")
        )


def hold_queued(session: Session, enrollment_id: uuid.UUID, until: datetime) -> int:
    """The enrollment's queued emails (a step waiting for its retry) wait at least until
    `until`, as its next step does (an out-of-office); how many were held."""
    result = session.execute(
        sa.update(Delivery)
        .where(
            Delivery.campaign_contact_id == enrollment_id,
            Delivery.status == "queued",
            Delivery.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def threads_of(
    session: Session, enrollment_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Delivery]]:
    """Each enrollment's emails that went out, in step order: the thread a follow-up joins
    (uq_deliveries_campaign_contact_id_sequence_step serves the lookup)."""
    threads: dict[uuid.UUID, list[Delivery]] = {}
    if not enrollment_ids:
        return threads
    found = session.scalars(
        sa.select(Delivery)
        .where(Delivery.campaign_contact_id.in_(list(enrollment_ids)), Delivery.status == "sent")
        .order_by(Delivery.campaign_contact_id, Delivery.sequence_step)
    )
    for delivery in found:
        assert delivery.campaign_contact_id is not None
        threads.setdefault(delivery.campaign_contact_id, []).append(delivery)
    return threads


def add_deliveries(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Inserts these rows in one executemany; the unique key on (enrollment, step) refuses a
    second row for a step."""
    if rows:
        session.execute(sa.insert(deliveries_table), list(rows))


def emails_of_enrollment(session: Session, enrollment_id: uuid.UUID) -> list[Delivery]:
    """Every email made for the enrollment, whatever became of it, in step order."""
    return list(
        session.scalars(
            sa.select(Delivery)
            .where(Delivery.campaign_contact_id == enrollment_id)
            .order_by(Delivery.sequence_step, Delivery.created_at)
        )
    )


def provider_id_of(session: Session, message_id: str) -> str | None:
    """The provider's id for our email with this Message-ID (the unique index on message_id)."""
    return session.scalar(sa.select(Delivery.provider_id).where(Delivery.message_id == message_id))


def reply_target(session: Session, delivery: Delivery) -> str | None:
    """The provider's id of the email this one answers: for an answer, the message of theirs it
    was written to; else our earlier email of the thread (provider_id_of)."""
    if delivery.scheduled_email_id is not None:
        answered = session.scalar(
            sa.select(Answer.reply_provider_id).where(
                Answer.scheduled_email_id == delivery.scheduled_email_id
            )
        )
        if answered:
            return answered
    return provider_id_of(session, delivery.in_reply_to) if delivery.in_reply_to else None


def answer_threads(
    session: Session, scheduled_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[str | None, str | None]]:
    """In-Reply-To and References of the answers among these scheduled emails, by scheduled
    email (the unique index on answers.scheduled_email_id)."""
    rows = session.execute(
        sa.select(Answer.scheduled_email_id, Answer.in_reply_to, Answer.thread_references).where(
            Answer.scheduled_email_id.in_(scheduled_ids)
        )
    )
    return {row[0]: (row[1], row[2]) for row in rows if row[0] is not None}


def remember_provider_id(session: Session, delivery_id: uuid.UUID, provider_id: str) -> None:
    """Stored before the provider is asked to send, so a crash can be resolved by asking it."""
    session.execute(
        sa.update(Delivery).where(Delivery.id == delivery_id).values(provider_id=provider_id)
    )


def next_attempt_after(session: Session, after: datetime) -> datetime | None:
    """The earliest moment after `after` that a queued email (a retry) or a pending one-off
    email is due (ix_deliveries_status_next_attempt_at, idx_scheduled_emails_scheduled_for)."""
    retry = session.scalar(
        sa.select(sa.func.min(Delivery.next_attempt_at)).where(
            Delivery.status == "queued", Delivery.next_attempt_at > after
        )
    )
    one_off = session.scalar(
        sa.select(sa.func.min(ScheduledEmail.scheduled_for)).where(
            ScheduledEmail.status == "pending", ScheduledEmail.scheduled_for > after
        )
    )
    return min((moment for moment in (retry, one_off) if moment is not None), default=None)


def due_queued(
    session: Session, now: datetime, limit: int
) -> list[tuple[Delivery, EmailDraft, Contact, str | None]]:
    """Queued deliveries whose attempt is due and whose sender account can send, oldest first
    (ix_deliveries_status_next_attempt_at), each with its draft, its contact and its campaign's
    name (None for a one-off email). A failing, paused or held account's emails are left out
    here, not after the limit: hundreds of them must not fill every pass and starve the others.
    Not locked: taking one is a conditional UPDATE, so two workers reading one row is harmless."""
    rows = session.execute(
        sa.select(Delivery, EmailDraft, Contact, Campaign.name)
        .join(EmailDraft, EmailDraft.id == Delivery.draft_id)
        .join(Contact, Contact.id == Delivery.contact_id)
        .join(SenderAccount, SenderAccount.id == Delivery.sender_account_id)
        .outerjoin(Campaign, Campaign.id == Delivery.campaign_id)
        .where(
            Delivery.status == "queued",
            Delivery.next_attempt_at <= now,
            SenderAccount.state == "ok",
            sa.or_(SenderAccount.held_until.is_(None), SenderAccount.held_until <= now),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


@dataclass(frozen=True)
class HeldSends:
    """Queued emails of a sender account that cannot send just now."""

    account: SenderAccount
    emails: int
    enrollment_ids: frozenset[uuid.UUID]


def held_sends(
    session: Session, now: datetime, campaign_id: uuid.UUID | None = None
) -> list[HeldSends]:
    """Queued emails waiting for a failing, paused or held sender account, per account (of one
    campaign, or of all)."""
    query = (
        sa.select(SenderAccount, Delivery.campaign_contact_id)
        .join(SenderAccount, SenderAccount.id == Delivery.sender_account_id)
        .where(
            Delivery.status == "queued",
            sa.or_(SenderAccount.state != "ok", SenderAccount.held_until > now),
        )
        .order_by(SenderAccount.email)
    )
    if campaign_id is not None:
        query = query.where(Delivery.campaign_id == campaign_id)
    held: dict[uuid.UUID, tuple[SenderAccount, int, set[uuid.UUID]]] = {}
    for account, enrollment_id in session.execute(query):
        _, emails, enrollments = held.get(account.id, (account, 0, set()))
        if enrollment_id is not None:
            enrollments.add(enrollment_id)
        held[account.id] = (account, emails + 1, enrollments)
    return [
        HeldSends(account, emails, frozenset(enrollments))
        for account, emails, enrollments in held.values()
    ]


@dataclass(frozen=True)
class StrandedEmail:
    delivery_id: uuid.UUID
    enrollment_id: uuid.UUID
    recipient: str
    sender_id: uuid.UUID
    sender_email: str
    sender_state: str


def stranded_first_emails(session: Session) -> dict[uuid.UUID, list[StrandedEmail]]:
    """Per campaign, the queued first emails of threads whose sender account cannot send and
    that no provider holds a draft of, oldest first."""
    rows = session.execute(
        sa.select(
            Delivery.campaign_id,
            Delivery.id,
            Delivery.campaign_contact_id,
            Contact.email,
            SenderAccount.id,
            SenderAccount.email,
            SenderAccount.state,
        )
        .join(SenderAccount, SenderAccount.id == Delivery.sender_account_id)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(
            Delivery.status == "queued",
            SenderAccount.state != "ok",
            Delivery.sequence_step == 1,
            Delivery.campaign_contact_id.is_not(None),
            Delivery.provider_id.is_(None),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
    )
    stranded: dict[uuid.UUID, list[StrandedEmail]] = {}
    for campaign_id, delivery_id, enrollment_id, recipient, sender_id, email, state in rows:
        # A step is a campaign's, of an enrollment: the query asks for step 1.
        assert campaign_id is not None
        assert enrollment_id is not None
        stranded.setdefault(campaign_id, []).append(
            StrandedEmail(delivery_id, enrollment_id, recipient, sender_id, email, state)
        )
    return stranded


def move_queued(
    session: Session,
    delivery_id: uuid.UUID,
    from_sender: uuid.UUID,
    to_sender: uuid.UUID,
    message_id: str,
    now: datetime,
) -> bool:
    """Gives a queued delivery another sender account and a Message-ID on its domain, due now
    (it may have been waiting out its old account's retry), unless it was taken or moved
    meanwhile."""
    moved = session.execute(
        sa.update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == "queued",
            Delivery.sender_account_id == from_sender,
        )
        .values(sender_account_id=to_sender, message_id=message_id, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def with_draft_and_recipient(
    session: Session, delivery_id: uuid.UUID
) -> tuple[Delivery, EmailDraft, str]:
    """The delivery with its draft and its recipient's address."""
    row = session.execute(
        sa.select(Delivery, EmailDraft, Contact.email)
        .join(EmailDraft, EmailDraft.id == Delivery.draft_id)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Delivery.id == delivery_id)
    ).one()
    return row[0], row[1], row[2]


def sending_with_leases(session: Session) -> list[tuple[Delivery, WorkerLease | None]]:
    """Every delivery being sent, with its worker's lease (None when it has none): whether that
    worker is still there is decided by the caller (ix_deliveries_status_next_attempt_at finds
    them, the lease's primary key its lease)."""
    rows = session.execute(
        sa.select(Delivery, WorkerLease)
        .outerjoin(WorkerLease, WorkerLease.worker == Delivery.claimed_by)
        .where(Delivery.status == "sending")
    )
    return [(delivery, lease) for delivery, lease in rows]


def renew_lease(session: Session, worker: Worker, now: datetime, until: datetime) -> None:
    """The worker's heartbeat: its lease runs until `until` (the row written the first time)."""
    renewed = session.execute(
        sa.update(WorkerLease)
        .where(WorkerLease.worker == worker.name)
        .values(heartbeat_at=now, lease_until=until)
        .execution_options(synchronize_session=False)
    )
    if not renewed.rowcount:  # type: ignore[attr-defined]
        session.execute(
            sa.insert(WorkerLease).values(
                worker=worker.name,
                host=worker.host,
                pid=worker.pid,
                started_at=now,
                heartbeat_at=now,
                lease_until=until,
            )
        )


def leases_ended_before(session: Session, before: datetime) -> list[WorkerLease]:
    return list(session.scalars(sa.select(WorkerLease).where(WorkerLease.lease_until < before)))


def forget_leases(session: Session, workers: Collection[str]) -> None:
    session.execute(
        sa.delete(WorkerLease)
        .where(WorkerLease.worker.in_(workers))
        .execution_options(synchronize_session=False)
    )


def deliveries_in(session: Session, status: str, limit: int = 500) -> list[Delivery]:
    return list(
        session.scalars(
            sa.select(Delivery)
            .where(Delivery.status == status)
            .order_by(Delivery.claimed_at.desc())
            .limit(limit)
        )
    )


def deliveries_page(
    session: Session, status: str, after: str | None, limit: int
) -> tuple[list[Delivery], str | None]:
    """A page of the deliveries in one status, newest first (ix_deliveries_status_created_at_id
    serves the order and the jump: a page costs its rows among 1.9M sent)."""
    statement = sa.select(Delivery).where(Delivery.status == status)
    return keyset_scalars(
        session, statement, Delivery.created_at, Delivery.id, after, limit, descending=True
    )


def add_sent_emails(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Inserts these rows (each with its id) in one executemany; the seed's trigger counts each
    in the day's analytics. Through the driver (see _driver_many): it runs every sending round."""
    _driver_many(session, _INSERT_SENT, rows)


def link_sent(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Each sent delivery (`row_id`) gets its sent_emails row (`sent_email_id`) and what the
    provider said of it (`conversation_id`, and `sent_provider_id` unless None: a provider id
    stored before the send stays). Through the driver (see _driver_many): it runs every sending
    round."""
    _driver_many(session, _LINK_SENT, rows)


@dataclass(frozen=True)
class _DriverStatement:
    """A statement run through the driver's executemany, written once for both dialects:
    `{}` marks each bind; `binds` names, in order, the row key and the column whose bind
    processor turns the row's value into what SQLAlchemy would have stored."""

    sql: str
    binds: tuple[tuple[str, sa.Column[Any]], ...]

    @functools.cache  # noqa: B019 (a handful of module-level statements, kept for good)
    def for_dialect(self, dialect: sa.Dialect) -> tuple[str, list[tuple[str, Any]]]:
        marker = "%s" if dialect.name == "postgresql" else "?"
        processors = [
            (key, column.type._cached_bind_processor(dialect) or _same)
            for key, column in self.binds
        ]
        return self.sql.format(*[marker] * len(self.binds)), processors


def _same(value: Any) -> Any:
    return value


def _driver_many(
    session: Session, statement: _DriverStatement, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Runs the statement for each row in one executemany on the session's connection, in its
    transaction, skipping SQLAlchemy's execution (its per-row bind processing and compiled
    cache cost more than the statement in a sending round)."""
    if not rows:
        return
    if session.autoflush:
        session.flush()
    connection = session.connection()
    sql, processors = statement.for_dialect(connection.dialect)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            sql, [tuple(process(row[key]) for key, process in processors) for row in rows]
        )
    finally:
        cursor.close()


_SENT_COLUMNS = (
    "id",
    "draft_id",
    "contact_id",
    "sender_account_id",
    "campaign_id",
    "draft_type",
    "subject",
    "body",
    "recipient_email",
    "sent_at",
    "message_id",
    "sequence_step",
)
_INSERT_SENT = _DriverStatement(
    f"INSERT INTO sent_emails ({', '.join(_SENT_COLUMNS)}) "  # noqa: S608 (column names)
    f"VALUES ({', '.join(['{}'] * len(_SENT_COLUMNS))})",
    tuple((name, sent_emails_table.c[name]) for name in _SENT_COLUMNS),
)
_LINK_SENT = _DriverStatement(
    # The primary key serves each row; a provider id stored before the send stays unless the
    # provider gave one now.
    "UPDATE deliveries SET provider_id = COALESCE({}, provider_id), sent_email_id = {}, "
    "conversation_id = {} WHERE id = {}",
    (
        ("sent_provider_id", deliveries_table.c.provider_id),
        ("sent_email_id", deliveries_table.c.sent_email_id),
        ("conversation_id", deliveries_table.c.conversation_id),
        ("row_id", deliveries_table.c.id),
    ),
)


def unknown_with_recipients(session: Session) -> list[tuple[Delivery, str]]:
    rows = session.execute(
        sa.select(Delivery, Contact.email)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Delivery.status == "unknown")
        .order_by(Delivery.claimed_at)
    )
    return [(row[0], row[1]) for row in rows]


def delivery(session: Session, delivery_id: uuid.UUID) -> Delivery | None:
    found = session.get(Delivery, delivery_id)
    if found is not None:
        session.refresh(found)
    return found


def scheduled_with_recipients(session: Session) -> list[tuple[ScheduledEmail, str]]:
    rows = session.execute(
        sa.select(ScheduledEmail, Contact.email)
        .join(Contact, Contact.id == ScheduledEmail.contact_id)
        .where(ScheduledEmail.status.in_(("pending", "queued")))
        .order_by(ScheduledEmail.scheduled_for)
    )
    return [(row[0], row[1]) for row in rows]


def record_sent_at_once(
    session: Session,
    at: datetime,
    sent: Sequence[Mapping[str, Any]],
    delivery_sources: Collection[str],
    draft_ids: Sequence[uuid.UUID],
    draft_sources: Collection[str],
    steps: Sequence[Mapping[str, Any]],
    step_sources: Mapping[str, Collection[str]],
) -> tuple[set[uuid.UUID], set[uuid.UUID], set[uuid.UUID]]:
    """PostgreSQL only: what recording a batch of sends writes, in one statement of
    data-modifying CTEs where the portable path (recording.record_sent) runs five, each a round
    trip during which the connections that finished wait for their next email.

    Each of `sent` is a sent_emails row (its columns, `id` its new key) with its delivery
    (`row_id`, `sent_provider_id`, `conversation_id`): the delivery becomes sent, from one of
    `delivery_sources`, linked to its row (a provider id stored before the send stays unless
    the provider gave one now); the drafts become sent from one of `draft_sources`; each of
    `steps` (`id`, `target`, `current_sequence_step`, `next_send_at`, `completed_at`) moves its
    enrollment to `target` when its status is one of step_sources[target]. The statuses are
    the lifecycles' own words; the caller explains the rows left out, as after
    transition_each. Returns the deliveries, drafts and enrollments moved.

    All parts see the same snapshot and each touches its own rows once; the foreign key from
    a delivery to its new sent_emails row is checked at the end of the statement, after the
    insert. The analytics trigger on sent_emails fires for each row as before."""
    targets = tuple(
        sorted((target, tuple(sorted(step_sources[target]))) for target in step_sources)
    )
    sql = _record_sent_sql(tuple(sorted(delivery_sources)), tuple(sorted(draft_sources)), targets)
    parameters = {
        "at": at,
        **{f"s_{name}": [row[name] for row in sent] for name in _SENT_COLUMNS if name != "sent_at"},
        "s_draft_type": [str(row["draft_type"]) for row in sent],
        "row_id": [row["row_id"] for row in sent],
        "sent_provider_id": [row["sent_provider_id"] for row in sent],
        "conversation_id": [row["conversation_id"] for row in sent],
        "draft_ids": list(draft_ids),
        "e_id": [step["id"] for step in steps],
        "e_target": [str(step["target"]) for step in steps],
        "e_step": [step["current_sequence_step"] for step in steps],
        "e_next": [step["next_send_at"] for step in steps],
        "e_completed": [step["completed_at"] for step in steps],
    }
    if session.autoflush:
        session.flush()
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    moved: dict[str, set[uuid.UUID]] = {"delivery": set(), "draft": set(), "enrollment": set()}
    try:
        cursor.execute(sql, parameters)
        for kind, row_id in cursor.fetchall():
            moved[kind].add(row_id)
    finally:
        cursor.close()
    return moved["delivery"], moved["draft"], moved["enrollment"]


@functools.cache
def _record_sent_sql(
    delivery_sources: tuple[str, ...],
    draft_sources: tuple[str, ...],
    step_targets: tuple[tuple[str, tuple[str, ...]], ...],
) -> str:
    """record_sent_at_once's statement for these statuses (literals: the lifecycles' words)."""

    def words(statuses: Sequence[str]) -> str:
        assert all(status.isidentifier() for status in statuses), statuses
        return ", ".join(f"'{status}'" for status in statuses)

    step_allowed = (
        " OR ".join(
            f"(v.target = '{target}' AND c.status IN ({words(sources)}))"
            for target, sources in step_targets
        )
        or "FALSE"
    )
    sent_columns = [name for name in _SENT_COLUMNS if name != "sent_at"]
    casts = {
        "id": "uuid",
        "draft_id": "uuid",
        "contact_id": "uuid",
        "sender_account_id": "uuid",
        "campaign_id": "uuid",
        "draft_type": "text",
        "subject": "text",
        "body": "text",
        "recipient_email": "text",
        "message_id": "text",
        "sequence_step": "int",
    }
    unnest = ", ".join(f"%(s_{name})s::{casts[name]}[]" for name in sent_columns)
    values = ", ".join(
        "s.draft_type::draft_type" if name == "draft_type" else f"s.{name}" for name in sent_columns
    )
    # Each part is keyed by primary key; the deliveries' by their ids, joined to the rows sent.
    return f"""
WITH s AS (
    SELECT * FROM unnest({unnest}, %(row_id)s::uuid[], %(sent_provider_id)s::text[],
                         %(conversation_id)s::text[])
        AS s({", ".join(sent_columns)}, row_id, sent_provider_id, conversation_id)
),
inserted AS (
    INSERT INTO sent_emails ({", ".join(sent_columns)}, sent_at)
    SELECT {values}, %(at)s FROM s
),
deliveries_sent AS (
    UPDATE deliveries AS d
    SET status = 'sent', sent_at = %(at)s, last_error = NULL,
        provider_id = COALESCE(s.sent_provider_id, d.provider_id),
        sent_email_id = s.id, conversation_id = s.conversation_id
    FROM s
    WHERE d.id = s.row_id AND d.status IN ({words(delivery_sources)})
    RETURNING d.id
),
drafts_sent AS (
    UPDATE email_drafts SET status = 'sent'
    WHERE id = ANY(%(draft_ids)s::uuid[]) AND status IN ({words(draft_sources)})
    RETURNING id
),
v AS (
    SELECT * FROM unnest(%(e_id)s::uuid[], %(e_target)s::text[], %(e_step)s::int[],
                         %(e_next)s::timestamptz[], %(e_completed)s::timestamptz[])
        AS v(id, target, step, next_send_at, completed_at)
),
steps_sent AS (
    UPDATE campaign_contacts AS c
    SET status = v.target, current_sequence_step = v.step, last_email_sent_at = %(at)s,
        waiting_reason = NULL, next_send_at = v.next_send_at,
        completed_at = COALESCE(v.completed_at, c.completed_at)
    FROM v
    WHERE c.id = v.id AND ({step_allowed})
    RETURNING c.id
)
SELECT 'delivery', id FROM deliveries_sent
UNION ALL SELECT 'draft', id FROM drafts_sent
UNION ALL SELECT 'enrollment', id FROM steps_sent
"""  # noqa: S608 (names and statuses from the code; every value bound)
