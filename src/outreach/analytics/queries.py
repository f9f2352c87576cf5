"""Read-only aggregates over email_analytics, and what it leaves out."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.analytics.models import EmailAnalytics
from outreach.campaigns.models import Campaign
from outreach.delivery.models import Delivery
from outreach.drafts.models import EmailDraft


@dataclass(frozen=True)
class Figures:
    drafts_created: int = 0
    drafts_approved: int = 0
    emails_sent: int = 0
    followups_sent: int = 0


def figures_of_last_days(session: Session, last: dt.date, spans: Sequence[int]) -> list[Figures]:
    """For each span, the sums over that many UTC days ending with `last` (1: that day alone,
    7: the week to it), from one read of each table over the longest span
    (uq_email_analytics_date serves the range)."""
    firsts = [last - dt.timedelta(days=span - 1) for span in spans]
    rows = session.execute(
        sa.select(
            EmailAnalytics.date,
            EmailAnalytics.total_drafts_created,
            EmailAnalytics.total_drafts_approved,
            EmailAnalytics.total_emails_sent,
            EmailAnalytics.total_followups_sent,
        ).where(EmailAnalytics.date.between(min(firsts), last))
    ).all()
    queued = _steps_queued_without_approval(session, firsts, last)
    return [
        Figures(
            drafts_created=sum(row[1] or 0 for row in rows if row[0] >= first),
            drafts_approved=sum(row[2] or 0 for row in rows if row[0] >= first) + steps,
            emails_sent=sum(row[3] or 0 for row in rows if row[0] >= first),
            followups_sent=sum(row[4] or 0 for row in rows if row[0] >= first),
        )
        for first, steps in zip(firsts, queued, strict=True)
    ]


def _steps_queued_without_approval(
    session: Session, firsts: Sequence[dt.date], last: dt.date
) -> list[int]:
    """Campaign steps queued from each of the UTC days `firsts` to `last` that no person
    approved.

    The seed's trigger counts an approval when a draft's status becomes `approved`, yet a
    queued step counts as approved, as in the original system. Two kinds never pass through
    `approved`: a step written from its template at queueing, already scheduled (approved_at =
    created_at, drafts.queries.scheduled_draft), and an AI-written draft a campaign sends
    without approval (approved_at stays empty: nobody approved it), counted when its delivery
    was queued. One read of each for every span at once; ix_email_drafts_created_at_id and
    ix_deliveries_created_at serve the ranges (migration 0028)."""
    starts = [dt.datetime.combine(first, dt.time(0), dt.UTC) for first in firsts]
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), dt.UTC)
    from_template = sa.select(
        *(sa.func.count().filter(EmailDraft.created_at >= start) for start in starts)
    ).where(
        EmailDraft.approved_at == EmailDraft.created_at,
        EmailDraft.created_at >= min(starts),
        EmailDraft.created_at < end,
    )
    written_ahead = (
        sa.select(*(sa.func.count().filter(Delivery.created_at >= start) for start in starts))
        .select_from(Delivery)
        .join(EmailDraft, EmailDraft.id == Delivery.draft_id)
        .where(
            Delivery.campaign_id.is_not(None),
            EmailDraft.approved_at.is_(None),
            Delivery.created_at >= min(starts),
            Delivery.created_at < end,
        )
    )
    counted = [session.execute(query).one() for query in (from_template, written_ahead)]
    return [sum(int(row[n]) for row in counted) for n in range(len(starts))]


CAMPAIGN_CHOICES = 50
"""How many campaigns a campaign menu offers at once; a search box finds the others."""


def campaign_choices(
    session: Session, text: str, chosen: uuid.UUID | None
) -> list[tuple[uuid.UUID, str]]:
    """(id, name) of the first campaigns by name whose name holds `text` (any case), and the
    chosen campaign whatever its name: what the Analytics page's campaign menu offers."""
    statement = sa.select(Campaign.id, Campaign.name).order_by(Campaign.name, Campaign.id)
    if text.strip():
        statement = statement.where(Campaign.name.icontains(text.strip(), autoescape=True))
    found = [(row.id, row.name) for row in session.execute(statement.limit(CAMPAIGN_CHOICES))]
    if chosen and all(campaign_id != chosen for campaign_id, _ in found):
        kept = session.execute(
            sa.select(Campaign.id, Campaign.name).where(Campaign.id == chosen)
        ).first()
        found = [(kept.id, kept.name), *found] if kept else found
    return found
