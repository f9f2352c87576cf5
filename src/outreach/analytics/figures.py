"""What campaign emails produced, read from the rollups (never from sent_emails): one function
per table the Analytics page, a campaign's overview and /api/v1/analytics show.

Every row is a frozen dataclass with the five counts and the rates over sent; `record()` gives
it as one flat dict (the JSON and the CSV), `COLUMNS` names its columns in order.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.analytics.models import AnalyticsRollup
from outreach.analytics.recipients import RecipientProvider
from outreach.campaigns.models import Campaign, CampaignContact, CampaignSequence
from outreach.campaigns.states import CampaignStatus, EnrollmentStatus
from outreach.db import UtcDateTime
from outreach.delivery.models import Delivery
from outreach.errors import NotFound, ValidationFailed
from outreach.inbox.models import InboxMessage
from outreach.senders.models import SenderAccount
from outreach.senders.states import SenderState

LONGEST_RANGE = timedelta(days=731)
"""The widest date range asked at once: two years of days."""

RATES = ("reply_rate", "positive_rate", "bounce_rate", "unsubscribe_rate")


@dataclass(frozen=True, kw_only=True)
class Figures:
    """The five counts, and each as a share of sent (None when nothing was sent)."""

    sent: int = 0
    replied: int = 0
    """A person's replies (not auto-replies, bounces or requests to be removed)."""
    positive: int = 0
    """Replies categorized interested or meeting request, as categorized now."""
    bounced: int = 0
    unsubscribed: int = 0

    COUNTS: ClassVar[tuple[str, ...]] = ("sent", "replied", "positive", "bounced", "unsubscribed")

    def _share(self, count: int) -> float | None:
        return round(count / self.sent, 4) if self.sent else None

    @property
    def reply_rate(self) -> float | None:
        return self._share(self.replied)

    @property
    def positive_rate(self) -> float | None:
        return self._share(self.positive)

    @property
    def bounce_rate(self) -> float | None:
        return self._share(self.bounced)

    @property
    def unsubscribe_rate(self) -> float | None:
        return self._share(self.unsubscribed)

    @classmethod
    def columns(cls) -> list[str]:
        """The names of record()'s values, in order: what the row is about, counts, rates."""
        own = [f.name for f in fields(cls) if f.name not in Figures.COUNTS]
        return own + list(Figures.COUNTS) + list(RATES)

    def record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.columns()}


@dataclass(frozen=True, kw_only=True)
class DayFigures(Figures):
    day: date


@dataclass(frozen=True, kw_only=True)
class StepFigures(Figures):
    campaign_id: uuid.UUID
    campaign: str
    step: int
    """The step's number (1 is the first email; 0 for emails the original system sent
    without one)."""
    step_name: str | None
    """The step's name and subject as the campaign has them now (None: a step since removed)."""
    subject: str | None


@dataclass(frozen=True, kw_only=True)
class SenderFigures(Figures):
    sender_account_id: uuid.UUID
    email: str


@dataclass(frozen=True, kw_only=True)
class ProviderFigures(Figures):
    provider: str
    """google, microsoft, other, or unknown (the domain's MX records not resolved yet)."""

    @property
    def label(self) -> str:
        """The provider as a page names it."""
        return self.provider.capitalize()


@dataclass(frozen=True)
class Scope:
    """Which emails: those of the UTC days first..last inclusive, of one campaign or all."""

    first: date
    last: date
    campaign_id: uuid.UUID | None = None

    @classmethod
    def of(
        cls, today: date, first: date | None, last: date | None, campaign_id: uuid.UUID | None
    ) -> Scope:
        """The range asked, by default the 30 days that end today; refused when reversed or
        longer than two years."""
        last = last or today
        if first is None:  # the calendar's first days have no 29 days before them
            first = last - timedelta(days=29) if last.toordinal() > 29 else date.min
        if first > last:
            raise ValidationFailed(f"The range starts ({first}) after it ends ({last}).")
        if last - first > LONGEST_RANGE:
            raise ValidationFailed("Ask for two years of days at most.")
        return cls(first, last, campaign_id)

    def where(self) -> list[sa.ColumnElement[bool]]:
        # The PK (day first) serves every campaign's range; ix_analytics_rollups_campaign_id_day
        # one campaign's.
        conditions: list[sa.ColumnElement[bool]] = [
            AnalyticsRollup.day.between(self.first, self.last)
        ]
        if self.campaign_id is not None:
            conditions.append(AnalyticsRollup.campaign_id == self.campaign_id)
        return conditions


def _sums() -> list[sa.Label[Any]]:
    return [
        sa.func.coalesce(sa.func.sum(getattr(AnalyticsRollup, c)), 0).label(c)
        for c in Figures.COUNTS
    ]


def _counts(row: Any) -> dict[str, int]:
    return {c: int(getattr(row, c)) for c in Figures.COUNTS}


def added(rows: Iterable[Figures]) -> Figures:
    """The counts of `rows` added up (the days of a range: its totals)."""
    kept = list(rows)
    return Figures(**{c: sum(getattr(row, c) for row in kept) for c in Figures.COUNTS})


def totals(session: Session, scope: Scope) -> Figures:
    """The five counts over the whole scope."""
    return Figures(**_counts(session.execute(sa.select(*_sums()).where(*scope.where())).one()))


def daily(session: Session, scope: Scope) -> list[DayFigures]:
    """Every day of the scope, oldest first, days without emails included (as zeros)."""
    rows = session.execute(
        sa.select(AnalyticsRollup.day, *_sums()).where(*scope.where()).group_by(AnalyticsRollup.day)
    )
    found = {row.day: _counts(row) for row in rows}
    days = (scope.first + timedelta(days=n) for n in range((scope.last - scope.first).days + 1))
    return [DayFigures(day=day, **found.get(day, {})) for day in days]


def _summed(scope: Scope, *by: Any, narrower: Sequence[sa.ColumnElement[bool]] = ()) -> Any:
    """The counts summed by `by` in the scope (and `narrower` conditions), as a subquery: names
    and steps are joined to its few rows afterwards, not to every rollup row."""
    return sa.select(*by, *_sums()).where(*scope.where(), *narrower).group_by(*by).subquery()


def steps(
    session: Session, scope: Scope, among: Collection[uuid.UUID] | None = None
) -> list[StepFigures]:
    """Each campaign's steps in the scope (one campaign's, when it has one; only those of the
    campaigns `among`, when given), by campaign name then step: the funnel."""
    narrower = [] if among is None else [AnalyticsRollup.campaign_id.in_(among)]
    summed = _summed(
        scope, AnalyticsRollup.campaign_id, AnalyticsRollup.sequence_step, narrower=narrower
    )
    rows = session.execute(
        sa.select(summed, Campaign.name)
        .join(Campaign, Campaign.id == summed.c.campaign_id)
        .order_by(Campaign.name, summed.c.campaign_id, summed.c.sequence_step)
    )
    named = _step_names(session, [scope.campaign_id] if scope.campaign_id else among)
    found = []
    for row in rows:
        step_name, subject = named.get((row.campaign_id, row.sequence_step), (None, None))
        found.append(
            StepFigures(
                campaign_id=row.campaign_id,
                campaign=row.name,
                step=row.sequence_step,
                step_name=step_name,
                subject=subject,
                **_counts(row),
            )
        )
    return found


def _step_names(
    session: Session, campaign_ids: Collection[uuid.UUID] | None
) -> dict[tuple[uuid.UUID, int], tuple[str | None, str | None]]:
    """(campaign, step number) → (name, subject) of the steps of `campaign_ids`, of every
    campaign when None. Read apart, not joined: campaign_sequences has no index on (campaign_id,
    sequence_order), and SQLite scanned it once per summed row (a year of 500 campaigns: 1,470
    scans of 1,500 steps, most of the request)."""
    statement = sa.select(
        CampaignSequence.campaign_id,
        CampaignSequence.sequence_order,
        CampaignSequence.name,
        CampaignSequence.subject_template,
    )
    if campaign_ids is not None:
        statement = statement.where(CampaignSequence.campaign_id.in_(campaign_ids))
    return {(row[0], row[1]): (row[2], row[3]) for row in session.execute(statement)}


@dataclass(frozen=True)
class CampaignSize:
    """What a campaign sent in a range, and how many of its steps have figures in it."""

    campaign_id: uuid.UUID
    sent: int
    steps: int


def busiest_campaigns(campaigns: Sequence[CampaignSize], most: int) -> set[uuid.UUID]:
    """Of `campaigns`, given busiest first, those whose steps a page shows: whole campaigns
    only, at most `most` steps in all; a smaller campaign fills the room a busier one does not
    fit."""
    kept: set[uuid.UUID] = set()
    room = most
    for campaign in campaigns:
        if campaign.steps <= room:
            kept.add(campaign.campaign_id)
            room -= campaign.steps
    return kept


def campaign_sizes(session: Session, scope: Scope) -> list[CampaignSize]:
    """Every campaign with figures in the scope, most sent first, then by name: a row per
    campaign, summed from a row per step (the scope's rollup rows read once, no names joined
    but the campaigns' to order them)."""
    by_step = (
        sa.select(
            AnalyticsRollup.campaign_id,
            AnalyticsRollup.sequence_step,
            sa.func.sum(AnalyticsRollup.sent).label("sent"),
        )
        .where(*scope.where())
        .group_by(AnalyticsRollup.campaign_id, AnalyticsRollup.sequence_step)
        .subquery()
    )
    by_campaign = (
        sa.select(
            by_step.c.campaign_id,
            sa.func.sum(by_step.c.sent).label("sent"),
            sa.func.count().label("steps"),
        )
        .group_by(by_step.c.campaign_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(by_campaign)
        .join(Campaign, Campaign.id == by_campaign.c.campaign_id)
        .order_by(by_campaign.c.sent.desc(), Campaign.name, Campaign.id)
    )
    return [CampaignSize(row.campaign_id, int(row.sent), int(row.steps)) for row in rows]


@dataclass(frozen=True)
class Funnel:
    """Part of a range's steps, and how many steps the range holds in all."""

    steps: list[StepFigures]
    of: int


def busiest_steps(session: Session, scope: Scope, most: int) -> Funnel:
    """The steps of the campaigns that sent most in the scope, as busiest_campaigns() keeps
    them, in steps()' order: what a page shows of a range's funnel (a year of 500 campaigns is
    1,500 steps; the CSV has them all). Only the kept campaigns' steps are read and named
    (ix_analytics_rollups_campaign_id_day), not every campaign's."""
    sizes = campaign_sizes(session, scope)
    kept = busiest_campaigns(sizes, most)
    shown = steps(session, scope, among=kept) if kept else []
    return Funnel(shown, sum(size.steps for size in sizes))


def senders(session: Session, scope: Scope) -> list[SenderFigures]:
    """Each sender account's figures in the scope, most sent first."""
    summed = _summed(scope, AnalyticsRollup.sender_account_id)
    rows = session.execute(
        sa.select(summed, SenderAccount.email)
        .join(SenderAccount, SenderAccount.id == summed.c.sender_account_id)
        .order_by(summed.c.sent.desc(), SenderAccount.email)
    )
    return [
        SenderFigures(sender_account_id=row.sender_account_id, email=row.email, **_counts(row))
        for row in rows
    ]


def providers(session: Session, scope: Scope) -> list[ProviderFigures]:
    """Google, Microsoft, other (and unknown while domains wait to be resolved), in that order,
    those with nothing in the scope left out."""
    rows = session.execute(
        sa.select(AnalyticsRollup.provider, *_sums())
        .where(*scope.where())
        .group_by(AnalyticsRollup.provider)
    )
    # A provider's rows can hold zeros only: what moved away once its domains were resolved.
    found = {row.provider: _counts(row) for row in rows if any(_counts(row).values())}
    return [
        ProviderFigures(provider=provider.value, **found[provider.value])
        for provider in RecipientProvider
        if provider.value in found
    ]


@dataclass(frozen=True)
class Enrollments:
    """A campaign's contacts: how many were enrolled, are still going, and how each finished."""

    enrolled: int
    in_progress: int
    """Pending (nothing sent yet) or part-way through the steps."""
    finished: int
    finished_by: dict[str, int]
    """Why they finished: completed (every step sent), replied, bounced, unsubscribed, stopped,
    failed; each present with its count, in that order."""
    skipped: int
    """Contacts of the list left out at enrollment (not counted as enrolled)."""


FINISHED = (
    EnrollmentStatus.completed,
    EnrollmentStatus.replied,
    EnrollmentStatus.bounced,
    EnrollmentStatus.unsubscribed,
    EnrollmentStatus.stopped,
    EnrollmentStatus.failed,
)


def enrollments(session: Session, campaign_id: uuid.UUID) -> Enrollments:
    """ix_campaign_contacts_campaign_id_status serves the counts."""
    rows = session.execute(
        sa.select(CampaignContact.status, sa.func.count())
        .where(CampaignContact.campaign_id == campaign_id)
        .group_by(CampaignContact.status)
    )
    by_status: dict[str, int] = {status: int(n) for status, n in rows}
    skipped = by_status.get(EnrollmentStatus.skipped, 0)
    running = by_status.get(EnrollmentStatus.pending, 0) + by_status.get(
        EnrollmentStatus.in_progress, 0
    )
    finished_by = {s.value: by_status[s] for s in FINISHED if by_status.get(s)}
    return Enrollments(
        enrolled=sum(by_status.values()) - skipped,
        in_progress=running,
        finished=sum(finished_by.values()),
        finished_by=finished_by,
        skipped=skipped,
    )


def median_first_reply(session: Session, campaign_id: uuid.UUID) -> timedelta | None:
    """The median time from an enrollment's first email to its first reply from a person,
    over the campaign's enrollments with one; None when none has. The replies are read first
    (ix_inbox_messages_campaign_id_received_at), then the first email of each enrollment that
    replied (uq_deliveries_campaign_contact_id_sequence_step): a lookup for each of its 3,000
    repliers where reading first every send of a campaign of 100,000 contacts took a second."""
    first_reply = (
        sa.select(
            InboxMessage.campaign_contact_id.label("enrollment_id"),
            sa.func.min(InboxMessage.received_at).label("at"),
        )
        .where(InboxMessage.campaign_id == campaign_id, InboxMessage.kind == "human_reply")
        .group_by(InboxMessage.campaign_contact_id)
        .subquery()
    )
    # The first email is the lowest step sent (steps go in order): the unique index finds it
    # and stops, where min(sent_at) read every email of the enrollment.
    first_sent = (
        sa.select(Delivery.sent_at)
        .where(
            Delivery.campaign_contact_id == first_reply.c.enrollment_id,
            Delivery.sent_at.is_not(None),
        )
        .order_by(Delivery.sequence_step)
        .limit(1)
        .scalar_subquery()
    )
    pairs = session.execute(
        sa.select(
            sa.type_coerce(first_sent, UtcDateTime()),
            sa.type_coerce(first_reply.c.at, UtcDateTime()),
        )
    ).all()
    waits = [
        (replied - sent).total_seconds()
        for sent, replied in pairs
        if sent is not None and replied >= sent
    ]
    return timedelta(seconds=statistics.median(waits)) if waits else None


@dataclass(frozen=True)
class CampaignFigures:
    """A campaign's numbers over its whole life: its Overview and
    /api/v1/campaigns/{id}/analytics."""

    campaign_id: uuid.UUID
    name: str
    enrollments: Enrollments
    totals: Figures
    median_first_reply: timedelta | None
    steps: Sequence[StepFigures]
    senders: Sequence[SenderFigures]
    providers: Sequence[ProviderFigures]


def of_campaign(session: Session, campaign_id: uuid.UUID) -> CampaignFigures:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.")
    lifetime = Scope(date.min, date.max, campaign_id)
    return CampaignFigures(
        campaign_id=campaign.id,
        name=campaign.name,
        enrollments=enrollments(session, campaign_id),
        totals=totals(session, lifetime),
        median_first_reply=median_first_reply(session, campaign_id),
        steps=steps(session, lifetime),
        senders=senders(session, lifetime),
        providers=providers(session, lifetime),
    )


@dataclass(frozen=True, kw_only=True)
class RunningCampaign(Figures):
    campaign_id: uuid.UUID
    campaign: str


def running_campaigns(session: Session) -> list[RunningCampaign]:
    """Every active campaign with its figures over its whole life, by name: the home page's
    reply rates. Only the running campaigns' rollup rows are read
    (ix_analytics_rollups_campaign_id_day)."""
    running = sa.select(Campaign.id).where(Campaign.status == CampaignStatus.active)
    summed = (
        sa.select(AnalyticsRollup.campaign_id, *_sums())
        .where(AnalyticsRollup.campaign_id.in_(running))
        .group_by(AnalyticsRollup.campaign_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(Campaign.id, Campaign.name, *(summed.c[c] for c in Figures.COUNTS))
        .outerjoin(summed, summed.c.campaign_id == Campaign.id)
        .where(Campaign.status == CampaignStatus.active)
        .order_by(Campaign.name, Campaign.id)
    )
    return [
        RunningCampaign(
            campaign_id=row.id,
            campaign=row.name,
            **{c: int(getattr(row, c) or 0) for c in Figures.COUNTS},
        )
        for row in rows
    ]


@dataclass(frozen=True)
class SenderInTrouble:
    """A sender account that cannot send (failing, paused, saying why) or whose emails of the
    last 7 days bounced often."""

    sender_account_id: uuid.UUID
    email: str
    state: str
    reason: str | None
    week: Figures


def senders_in_trouble(session: Session, today: date, bounce_rate: float) -> list[SenderInTrouble]:
    """Failing and paused accounts, and those whose bounces over the 7 days to `today` passed
    `bounce_rate` of their emails sent in them, by address."""
    week = {
        row.sender_account_id: row
        for row in senders(session, Scope(today - timedelta(days=6), today))
    }
    # Bounces count on their day, sends on theirs: a week can hold bounces of emails sent
    # before it, and none sent in it (then any bounce passes).
    bouncing = [
        sender_id for sender_id, row in week.items() if row.bounced > bounce_rate * row.sent
    ]
    accounts = session.execute(
        sa.select(
            SenderAccount.id, SenderAccount.email, SenderAccount.state, SenderAccount.last_error
        )
        .where(sa.or_(SenderAccount.state != SenderState.ok, SenderAccount.id.in_(bouncing)))
        .order_by(SenderAccount.email, SenderAccount.id)
    )
    return [
        SenderInTrouble(
            sender_account_id=account.id,
            email=account.email,
            state=account.state,
            reason=account.last_error if account.state != SenderState.ok else None,
            week=week.get(account.id) or Figures(),
        )
        for account in accounts
    ]
