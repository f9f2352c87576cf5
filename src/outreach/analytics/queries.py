"""Read-only aggregates over email_analytics, and what it leaves out."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.analytics.models import EmailAnalytics, ImplicitApproval
from outreach.campaigns.models import Campaign


@dataclass(frozen=True)
class Figures:
    drafts_created: int = 0
    drafts_approved: int = 0
    emails_sent: int = 0
    followups_sent: int = 0


def figures_of_last_days(session: Session, last: dt.date, spans: Sequence[int]) -> list[Figures]:
    """For each span, the sums over that many UTC days ending with `last` (1: that day alone,
    7: the week to it), from one read of each daily table over the longest span (their keys
    serve the range).

    The seed's trigger counts an approval when a draft's status becomes `approved`, yet a
    queued campaign step counts as approved, as in the original system: approved adds the
    drafts that never pass through `approved` (analytics/approvals.py, kept by triggers)."""
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
    implicit = session.execute(
        sa.select(
            ImplicitApproval.day,
            ImplicitApproval.written_approved + ImplicitApproval.sent_unreviewed,
        ).where(ImplicitApproval.day.between(min(firsts), last))
    ).all()
    return [
        Figures(
            drafts_created=sum(row[1] or 0 for row in rows if row[0] >= first),
            drafts_approved=sum(row[2] or 0 for row in rows if row[0] >= first)
            + sum(row[1] for row in implicit if row[0] >= first),
            emails_sent=sum(row[3] or 0 for row in rows if row[0] >= first),
            followups_sent=sum(row[4] or 0 for row in rows if row[0] >= first),
        )
        for first in firsts
    ]


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
