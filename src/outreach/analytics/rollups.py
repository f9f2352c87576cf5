"""The rollups (analytics_rollups, kept by the triggers of migration 0022) and the full scan of
the rows they count: to rebuild them, to verify them, and to move what was counted under an
`unknown` provider once a recipient domain's MX records say which it is.

What counts, all for campaign emails only (a person's one-off emails and answers are not
outreach): a sent_emails row on its day; a person's reply (inbox_messages kind human_reply) on
the day it arrived, under the step, sender and recipient of the email it answers, positive when
categorized interested or meeting request; a bounce (deliveries.bounced_at, a refusal at sending
time included) on its day; an enrollment unsubscribed under the step, sender and day of the
last email it received. The scan below and the triggers must say the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from outreach.analytics.models import AnalyticsRollup, RecipientDomain
from outreach.campaigns.models import Campaign, CampaignContact
from outreach.contacts.models import Contact
from outreach.delivery.models import Delivery, SentEmail
from outreach.inbox.models import InboxMessage
from outreach.words import changed_counts

COUNTS = ("sent", "replied", "positive", "bounced", "unsubscribed")
KEY = ("day", "campaign_id", "sequence_step", "sender_account_id", "provider")
POSITIVE = ("interested", "meeting_request")
UNKNOWN = "unknown"
ROLLUPS: sa.Table = AnalyticsRollup.__table__  # type: ignore[assignment]
Progress = Callable[[int, int], None]
"""Called with (done, total) campaigns."""


class recipient_domain(FunctionElement[str]):
    """The lower-cased part of an address after its @ (what migration 0022's triggers use)."""

    type = sa.Text()
    inherit_cache = True


@compiles(recipient_domain, "postgresql")
def _domain_pg(element: recipient_domain, compiler: Any, **kw: Any) -> str:
    return f"lower(split_part({compiler.process(element.clauses, **kw)}, '@', 2))"


@compiles(recipient_domain, "sqlite")
def _domain_sqlite(element: recipient_domain, compiler: Any, **kw: Any) -> str:
    address = compiler.process(element.clauses, **kw)
    return f"lower(substr({address}, instr({address}, '@') + 1))"


class utc_day(FunctionElement[date]):
    """The UTC date of a stored time."""

    type = sa.Date()
    inherit_cache = True


@compiles(utc_day, "postgresql")
def _day_pg(element: utc_day, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC')::date"


@compiles(utc_day, "sqlite")
def _day_sqlite(element: utc_day, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True, order=True)
class Key:
    day: date
    campaign_id: uuid.UUID
    sequence_step: int
    sender_account_id: uuid.UUID
    provider: str


@dataclass(frozen=True)
class Counts:
    sent: int = 0
    replied: int = 0
    positive: int = 0
    bounced: int = 0
    unsubscribed: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, c) + getattr(other, c) for c in COUNTS))

    def __neg__(self) -> Counts:
        return Counts(*(-getattr(self, c) for c in COUNTS))

    @property
    def empty(self) -> bool:
        return not any(getattr(self, c) for c in COUNTS)


@dataclass(frozen=True)
class Difference:
    """A key whose kept counts are not what the rows say."""

    key: Key
    kept: Counts
    scanned: Counts

    def describe(self) -> str:
        k = self.key
        return (
            f"{k.day} campaign {k.campaign_id} step {k.sequence_step} "
            f"sender {k.sender_account_id} {k.provider}: "
            f"{changed_counts(self.kept, self.scanned, COUNTS)}"
        )


def _provider(domain: ColumnElement[str]) -> ColumnElement[str]:
    return sa.func.coalesce(
        sa.select(RecipientDomain.provider)
        .where(RecipientDomain.domain == domain)
        .scalar_subquery(),
        UNKNOWN,
    )


def _row(day: Any, campaign: Any, step: Any, sender: Any, address: Any, **counts: Any) -> list[Any]:
    return [
        utc_day(day).label("day"),
        campaign.label("campaign_id"),
        sa.func.coalesce(step, 0).label("sequence_step"),
        sender.label("sender_account_id"),
        _provider(recipient_domain(address)).label("provider"),
        *(sa.cast(counts.get(c, 0), sa.Integer).label(c) for c in COUNTS),
    ]


def _sources(
    campaign_ids: Collection[uuid.UUID] | None, domains: Collection[str] | None
) -> list[sa.Select[Any]]:
    """What each kind of row counts, one row each (before grouping)."""
    sent = sa.select(
        *_row(
            SentEmail.sent_at,
            SentEmail.campaign_id,
            SentEmail.sequence_step,
            SentEmail.sender_account_id,
            SentEmail.recipient_email,
            sent=1,
        )
    ).where(SentEmail.campaign_id.is_not(None))
    answered = aliased(SentEmail)
    replied = (
        sa.select(
            *_row(
                InboxMessage.received_at,
                answered.campaign_id,
                answered.sequence_step,
                answered.sender_account_id,
                answered.recipient_email,
                replied=1,
                positive=sa.case((InboxMessage.category.in_(POSITIVE), 1), else_=0),
            )
        )
        .join(answered, answered.id == InboxMessage.sent_email_id)
        .where(InboxMessage.kind == "human_reply", answered.campaign_id.is_not(None))
    )
    bounced_email = aliased(SentEmail)
    bounced = (
        sa.select(
            *_row(
                Delivery.bounced_at,
                Delivery.campaign_id,
                Delivery.sequence_step,
                Delivery.sender_account_id,
                sa.func.coalesce(bounced_email.recipient_email, Contact.email),
                bounced=1,
            )
        )
        .join(Contact, Contact.id == Delivery.contact_id)
        .outerjoin(bounced_email, bounced_email.id == Delivery.sent_email_id)
        .where(Delivery.bounced_at.is_not(None), Delivery.campaign_id.is_not(None))
    )
    last = aliased(SentEmail)
    unsubscribed = (
        sa.select(
            *_row(
                last.sent_at,
                CampaignContact.campaign_id,
                CampaignContact.current_sequence_step,
                last.sender_account_id,
                last.recipient_email,
                unsubscribed=1,
            )
        )
        .join(
            Delivery,
            sa.and_(
                Delivery.campaign_contact_id == CampaignContact.id,
                Delivery.sequence_step == CampaignContact.current_sequence_step,
            ),
        )
        .join(last, last.id == Delivery.sent_email_id)
        .where(CampaignContact.status == "unsubscribed")
    )
    narrowed = []
    for source, campaign, address in (
        (sent, SentEmail.campaign_id, SentEmail.recipient_email),
        (replied, answered.campaign_id, answered.recipient_email),
        (
            bounced,
            Delivery.campaign_id,
            sa.func.coalesce(bounced_email.recipient_email, Contact.email),
        ),
        (unsubscribed, CampaignContact.campaign_id, last.recipient_email),
    ):
        if campaign_ids is not None:
            source = source.where(campaign.in_(list(campaign_ids)))
        if domains is not None:
            source = source.where(recipient_domain(address).in_(list(domains)))
        narrowed.append(source)
    return narrowed


def scan(
    connection: sa.Connection,
    campaign_ids: Collection[uuid.UUID] | None = None,
    domains: Collection[str] | None = None,
) -> dict[Key, Counts]:
    """The counts as the rows say, by key: a full scan (of some campaigns, or of the rows to
    some recipient domains)."""
    rows = sa.union_all(*_sources(campaign_ids, domains)).subquery()
    query = sa.select(
        *(rows.c[k] for k in KEY), *(sa.func.sum(rows.c[c]) for c in COUNTS)
    ).group_by(*(rows.c[k] for k in KEY))
    found = {}
    for row in connection.execute(query):
        counts = Counts(*(int(n) for n in row[len(KEY) :]))
        if not counts.empty:
            found[Key(*row[: len(KEY)])] = counts
    return found


def kept(connection: sa.Connection, campaign_ids: Collection[uuid.UUID]) -> dict[Key, Counts]:
    """The rollups of some campaigns, the rows of nothing but zeros left out."""
    query = sa.select(ROLLUPS).where(ROLLUPS.c.campaign_id.in_(list(campaign_ids)))
    found = {}
    for row in connection.execute(query).mappings():
        counts = Counts(*(row[c] for c in COUNTS))
        if not counts.empty:
            found[Key(*(row[k] for k in KEY))] = counts
    return found


def _campaign_batches(connection: sa.Connection, size: int = 50) -> Iterator[list[uuid.UUID]]:
    ids = list(connection.scalars(sa.select(Campaign.id).order_by(Campaign.id)))
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _campaign_count(connection: sa.Connection) -> int:
    return int(connection.scalar(sa.select(sa.func.count()).select_from(Campaign)) or 0)


def rebuild(connection: sa.Connection, progress: Progress | None = None) -> int:
    """Recomputes every rollup from the rows, a batch of campaigns at a time; how many rows
    it wrote. Rollups of campaigns no longer there went with them (ON DELETE CASCADE)."""
    total, done, written = _campaign_count(connection), 0, 0
    for batch in _campaign_batches(connection):
        connection.execute(sa.delete(ROLLUPS).where(ROLLUPS.c.campaign_id.in_(batch)))
        rows = [
            {**key.__dict__, **counts.__dict__} for key, counts in scan(connection, batch).items()
        ]
        if rows:
            connection.execute(sa.insert(ROLLUPS), rows)
        written += len(rows)
        done += len(batch)
        if progress:
            progress(done, total)
    return written


def differences(connection: sa.Connection, progress: Progress | None = None) -> list[Difference]:
    """Every key whose rollup differs from a full scan of the rows."""
    total, done, found = _campaign_count(connection), 0, []
    for batch in _campaign_batches(connection):
        scanned, have = scan(connection, batch), kept(connection, batch)
        for key in sorted(scanned.keys() | have.keys()):
            ours, theirs = have.get(key, Counts()), scanned.get(key, Counts())
            if ours != theirs:
                found.append(Difference(key, ours, theirs))
        done += len(batch)
        if progress:
            progress(done, total)
    return found


def add(connection: sa.Connection, changes: dict[Key, Counts]) -> None:
    """Adds counts to the rollups (negative ones take away), key by key."""
    for key, counts in changes.items():
        moved = connection.execute(
            sa.update(ROLLUPS)
            .where(*(ROLLUPS.c[k] == getattr(key, k) for k in KEY))
            .values({c: ROLLUPS.c[c] + getattr(counts, c) for c in COUNTS})
        )
        if not moved.rowcount:
            connection.execute(sa.insert(ROLLUPS).values(**key.__dict__, **counts.__dict__))


def move_resolved(connection: sa.Connection, domains: Collection[str]) -> None:
    """What the rows to these domains counted while their provider was unknown moves to the
    provider now resolved (call after recipient_domains says it)."""
    if not domains:
        return
    changes: dict[Key, Counts] = {}
    for key, counts in scan(connection, domains=domains).items():
        if key.provider == UNKNOWN:
            continue
        unknown = Key(key.day, key.campaign_id, key.sequence_step, key.sender_account_id, UNKNOWN)
        changes[unknown] = changes.get(unknown, Counts()) + -counts
        changes[key] = changes.get(key, Counts()) + counts
    add(connection, changes)
