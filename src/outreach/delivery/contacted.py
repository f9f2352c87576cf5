"""One person, one first email: whether a one-off email would reach someone we are writing to
already. A contact running in a sending campaign, or (for a first email) emailed by us within
the last days (OUTREACH_RECENT_EMAIL_DAYS), gets a one-off email only when a person confirms:
scheduling one is refused with the reason otherwise, and draft batches skip them saying why.

A follow-up one-off draft is written for someone we emailed: only a running campaign holds it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns.states import DraftType
from outreach.delivery import queries
from outreach.drafts.batches import Held
from outreach.errors import Conflict


class InTouchAlready(Conflict):
    """A one-off email to someone we are writing to already, not confirmed by a person.
    Entry points add how to confirm (a tick, --anyway, "anyway": true)."""

    def confirm_with(self, how: str) -> InTouchAlready:
        """The same refusal, saying how this entry point confirms."""
        return InTouchAlready(f"{self.message} To send it all the same: {how}.", **self.details)


def reason(
    campaign: str | None,
    last_sent_at: datetime | None,
    now: datetime,
    within: timedelta,
    draft_type: DraftType,
) -> str | None:
    """Why a one-off email of `draft_type` needs a person's confirmation, or None."""
    if campaign is not None:
        return f"the campaign {campaign!r} is writing to them"
    if draft_type is DraftType.first_outreach and last_sent_at and last_sent_at >= now - within:
        days = (now - last_sent_at).days
        ago = "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"
        return f"we emailed them {ago} ({last_sent_at:%Y-%m-%d})"
    return None


def reasons(
    session: Session,
    contact_ids: Collection[uuid.UUID],
    draft_type: DraftType,
    now: datetime,
    within: timedelta,
) -> dict[uuid.UUID, str]:
    """Which of these contacts a one-off email of `draft_type` would reach while we are
    writing to them already, and why."""
    running = campaign_queries.running_campaigns_of(session, contact_ids)
    recent = queries.last_sent_to(session, contact_ids, now - within)
    found = {
        contact_id: reason(running.get(contact_id), recent.get(contact_id), now, within, draft_type)
        for contact_id in contact_ids
    }
    return {contact_id: why for contact_id, why in found.items() if why}


def holds(session: Session, now: datetime, within: timedelta) -> Held:
    """The rule a draft batch skips contacts by (drafts/batches.py)."""

    def held(contact_ids: Sequence[uuid.UUID], draft_type: DraftType) -> Mapping[uuid.UUID, str]:
        return reasons(session, contact_ids, draft_type, now, within)

    return held


def require_confirmed(
    session: Session,
    contact_id: uuid.UUID,
    email: str,
    draft_type: DraftType,
    now: datetime,
    within: timedelta,
) -> None:
    """Refuses (InTouchAlready) a one-off email a person has not confirmed while we are
    writing to its recipient already."""
    why = reasons(session, [contact_id], draft_type, now, within).get(contact_id)
    if why:
        raise InTouchAlready(
            f"{email} would get a second first email: {why}.", email=email, reason=why
        )
