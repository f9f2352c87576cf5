"""The drafts that count as approved on the home page without ever becoming `approved`
(implicit_approvals, kept by migration 0035's triggers), and the full scan of the rows they
count: to rebuild them and to verify them.

The seed's trigger counts an approval when a draft's status becomes `approved`, yet a queued
campaign step counts as approved, as in the original system. Two kinds never pass through
`approved`, counted per UTC day:

- written approved: a draft inserted with approved_at = created_at, on the day it was written
  (a campaign step written from its template at queueing, drafts.queries.scheduled_draft; a
  person's answer, approved as they wrote it);
- sent unreviewed: a campaign delivery whose draft nobody approved (approved_at empty: an
  AI-written step a campaign sends without approval), on the day the delivery was queued.

The scan below and the triggers must say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from outreach.analytics.models import ImplicitApproval
from outreach.analytics.rollups import utc_day
from outreach.delivery.models import Delivery
from outreach.drafts.models import EmailDraft
from outreach.words import changed_counts

APPROVALS: sa.Table = ImplicitApproval.__table__  # type: ignore[assignment]
COUNTS = ("written_approved", "sent_unreviewed")


@dataclass(frozen=True)
class DayCounts:
    written_approved: int = 0
    sent_unreviewed: int = 0


@dataclass(frozen=True)
class Difference:
    """A day whose kept counts are not what the rows say."""

    day: date
    kept: DayCounts
    scanned: DayCounts

    def describe(self) -> str:
        return f"{self.day} approvals: {changed_counts(self.kept, self.scanned, COUNTS)}"


def _scanned() -> sa.Select[date, int, int]:
    """(day, written_approved, sent_unreviewed) of every day the rows count something, each
    kind grouped on its own before the two are added up (one pass over each table)."""
    written = (
        sa.select(
            utc_day(EmailDraft.created_at).label("day"),
            sa.func.count().label("written_approved"),
            sa.literal(0).label("sent_unreviewed"),
        )
        .where(EmailDraft.approved_at == EmailDraft.created_at)
        .group_by(utc_day(EmailDraft.created_at))
    )
    unreviewed = (
        sa.select(
            utc_day(Delivery.created_at).label("day"),
            sa.literal(0).label("written_approved"),
            sa.func.count().label("sent_unreviewed"),
        )
        .join(EmailDraft, EmailDraft.id == Delivery.draft_id)
        .where(Delivery.campaign_id.is_not(None), EmailDraft.approved_at.is_(None))
        .group_by(utc_day(Delivery.created_at))
    )
    both = sa.union_all(written, unreviewed).subquery()
    return sa.select(
        both.c.day,
        sa.cast(sa.func.sum(both.c.written_approved), sa.Integer),
        sa.cast(sa.func.sum(both.c.sent_unreviewed), sa.Integer),
    ).group_by(both.c.day)


def scan(connection: sa.Connection) -> dict[date, DayCounts]:
    """The counts as the rows say, by day: a full scan."""
    return {row[0]: DayCounts(int(row[1]), int(row[2])) for row in connection.execute(_scanned())}


def kept(connection: sa.Connection) -> dict[date, DayCounts]:
    """The kept counts, the days of nothing but zeros left out."""
    found = {}
    for row in connection.execute(sa.select(APPROVALS)).mappings():
        counts = DayCounts(*(row[c] for c in COUNTS))
        if counts != DayCounts():
            found[row["day"]] = counts
    return found


def rebuild(connection: sa.Connection) -> int:
    """Recomputes every day from the rows in one statement; how many days it wrote."""
    connection.execute(sa.delete(APPROVALS))
    connection.execute(sa.insert(APPROVALS).from_select(["day", *COUNTS], _scanned()))
    return int(connection.scalar(sa.select(sa.func.count()).select_from(APPROVALS)) or 0)


def differences(connection: sa.Connection) -> list[Difference]:
    """Every day whose kept counts differ from a full scan of the rows."""
    scanned, have = scan(connection), kept(connection)
    return [
        Difference(day, have.get(day, DayCounts()), scanned.get(day, DayCounts()))
        for day in sorted(scanned.keys() | have.keys())
        if have.get(day, DayCounts()) != scanned.get(day, DayCounts())
    ]
