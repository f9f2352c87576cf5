"""Read-only aggregates over email_analytics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.analytics.models import EmailAnalytics


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
    return Figures(*(int(value) for value in row))
