"""Read-only aggregates over email_analytics, and what it leaves out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.analytics.models import EmailAnalytics
from outreach.delivery.models import Delivery
from outreach.drafts.models import EmailDraft


@dataclass(frozen=True)
class Figures:
    drafts_created: int = 0
    drafts_approved: int = 0
    emails_sent: int = 0
    followups_sent: int = 0


def figures_between(session: Session, first: dt.date, last: dt.date) -> Figures:
    """Sums over the UTC days first..last inclusive (uq_email_analytics_date serves the range)."""
    row = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(EmailAnalytics.total_drafts_created), 0),
            sa.func.coalesce(sa.func.sum(EmailAnalytics.total_drafts_approved), 0),
            sa.func.coalesce(sa.func.sum(EmailAnalytics.total_emails_sent), 0),
            sa.func.coalesce(sa.func.sum(EmailAnalytics.total_followups_sent), 0),
        ).where(EmailAnalytics.date.between(first, last))
    ).one()
    counted = Figures(*(int(value) for value in row))
    queued = _steps_queued_without_approval(session, first, last)
    return replace(counted, drafts_approved=counted.drafts_approved + queued)


def _steps_queued_without_approval(session: Session, first: dt.date, last: dt.date) -> int:
    """Campaign steps queued in the UTC days first..last that no person approved.

    The seed's trigger counts an approval when a draft's status becomes `approved`, yet a
    queued step counts as approved, as in the original system. Two kinds never pass through
    `approved`: a step written from its template at queueing, already scheduled (approved_at =
    created_at, drafts.queries.scheduled_draft), and an AI-written draft a campaign sends
    without approval (approved_at stays empty: nobody approved it), counted when its delivery
    was queued. No index serves either range yet: this scans drafts and deliveries, once per
    home page."""
    start = dt.datetime.combine(first, dt.time(0), dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), dt.UTC)
    from_template = sa.select(sa.func.count()).where(
        EmailDraft.approved_at == EmailDraft.created_at,
        EmailDraft.created_at >= start,
        EmailDraft.created_at < end,
    )
    written_ahead = (
        sa.select(sa.func.count())
        .select_from(Delivery)
        .join(EmailDraft, EmailDraft.id == Delivery.draft_id)
        .where(
            Delivery.campaign_id.is_not(None),
            EmailDraft.approved_at.is_(None),
            Delivery.created_at >= start,
            Delivery.created_at < end,
        )
    )
    return sum(session.scalar(query) or 0 for query in (from_template, written_ahead))
