"""How far the workspace is through its first run: a mailbox connected, contacts imported, a
campaign written, a campaign launched. Each is read from the rows themselves, so a step done from
the CLI or the API counts as much as one done from its page."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.models import Campaign, CampaignSequence
from outreach.campaigns.states import CampaignStatus
from outreach.contacts.models import Contact
from outreach.senders.models import SenderAccount


@dataclass(frozen=True)
class FirstRun:
    mailbox_connected: bool
    contacts_imported: bool
    campaign_written: bool
    campaign_launched: bool

    @property
    def done(self) -> bool:
        return all(
            (
                self.mailbox_connected,
                self.contacts_imported,
                self.campaign_written,
                self.campaign_launched,
            )
        )


def first_run(session: Session) -> FirstRun:
    """One query of four EXISTS, each stopping at the first row it finds: cheap however large
    the tables grow."""
    started = (CampaignStatus.active, CampaignStatus.paused, CampaignStatus.completed)
    launched = sa.select(Campaign.id).where(Campaign.status.in_([s.value for s in started]))
    row = session.execute(
        sa.select(
            sa.exists(sa.select(SenderAccount.id)),
            sa.exists(sa.select(Contact.id)),
            sa.exists(sa.select(CampaignSequence.id)),
            sa.exists(launched),
        )
    ).one()
    return FirstRun(*(bool(value) for value in row))
