"""What each sender account may still send, beyond its daily cap, as one pass plans: its ramp
(a new mailbox's cap grows a little each sending day), its Microsoft 365 tenant's shared
external recipient limit and any hold the tenant's refusal put on it, and its gap between sends.

Read once per campaign under the campaign's lock, then kept up to date as the pass queues each
email (took), so that the limits hold exactly in the middle of a batch, as the daily cap does.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.campaigns.schedule import local_day_bounds
from outreach.delivery import queries
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from outreach.senders.ramp import send_gap
from outreach.words import UTC_ZONE, counted, time_in_zone

ROLLING_DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Wait:
    until: datetime
    reason: str


@dataclass
class Allowance:
    accounts: dict[uuid.UUID, SenderAccount]
    days_sent: dict[uuid.UUID, int]
    last_sends: dict[uuid.UUID, datetime]
    tenant_days: dict[str, queries.TenantDay]
    zone: ZoneInfo = UTC_ZONE
    """The zone its words tell times in: the reader's (a page's viewer, a campaign's)."""

    @classmethod
    def read(
        cls,
        session: Session,
        accounts: Iterable[SenderAccount],
        now: datetime,
        zone: ZoneInfo = UTC_ZONE,
    ) -> Allowance:
        found = {account.id: account for account in accounts}
        ramps = {a.id: ramp for a in found.values() if (ramp := senders.ramp_of(a)) is not None}
        spaced = [a.id for a in found.values() if a.min_gap_seconds]
        tenants = {a.tenant for a in found.values() if a.tenant}
        today, _ = local_day_bounds(now, UTC_ZONE)
        return cls(
            found,
            queries.sending_days_before(session, ramps, today),
            queries.last_sends(session, spaced),
            queries.tenant_sends_since(session, tenants, now - ROLLING_DAY),
            zone,
        )

    def cap(self, sender_id: uuid.UUID) -> int | None:
        """The account's cap for today: its daily cap, lowered by its ramp."""
        account = self.accounts[sender_id]
        ramp = senders.ramp_of(account)
        if ramp is None:
            return account.daily_cap
        ramped = ramp.cap(self.days_sent.get(sender_id, 0))
        return ramped if account.daily_cap is None else min(ramped, account.daily_cap)

    def wait(self, sender_id: uuid.UUID, now: datetime) -> Wait | None:
        """Why the account cannot send at `now` and until when, or None when it can (its daily
        cap aside: next_send and choose_sender weigh that)."""
        account = self.accounts[sender_id]
        if senders.held(account, now):
            assert account.held_until is not None
            hold = senders.hold_words(account, self.zone)
            return Wait(account.held_until, f"{account.email} is {hold}")
        limit = senders.tenant_limit_of(account)
        day = self.tenant_days.get(account.tenant or "")
        if limit is not None and day is not None and day.sends >= limit and day.oldest:
            room = day.oldest + ROLLING_DAY
            return Wait(
                room,
                f"the Microsoft 365 tenant {account.tenant} of {account.email} has sent to "
                f"{day.sends:,} of the {limit:,} external recipients Exchange Online allows in "
                f"24 hours; room again at {time_in_zone(room, self.zone, '%a %H:%M')}",
            )
        last = self.last_sends.get(sender_id)
        if last is not None and account.min_gap_seconds:
            gap = send_gap(account.min_gap_seconds, _gap_draw(sender_id, last))
            until = last + timedelta(seconds=gap)
            if until > now:
                return Wait(until, f"{gap:.0f} s after {account.email}'s last send")
        return None

    def lines(self, sender_id: uuid.UUID, now: datetime) -> list[str]:
        account = self.accounts[sender_id]
        lines = [senders.hold_words(account, self.zone)] if senders.held(account, now) else []
        ramp = senders.ramp_of(account)
        if ramp is not None:
            lines.append(ramp.describe(self.days_sent.get(sender_id, 0), now.date()))
        limit = senders.tenant_limit_of(account)
        if limit is not None:
            day = self.tenant_days.get(account.tenant or "")
            lines.append(
                f"tenant {account.tenant} ({counted(account.tenant_licences, 'licence')}): "
                f"{day.sends if day else 0:,} of {limit:,} external recipients in 24 hours"
            )
        if account.min_gap_seconds:
            longest = send_gap(account.min_gap_seconds, 1 - 1e-9)
            lines.append(f"{account.min_gap_seconds} to {longest:.0f} s between sends, at random")
        return lines

    def took(self, sender_id: uuid.UUID, now: datetime) -> None:
        """The pass queued an email on the account at `now`."""
        self.last_sends[sender_id] = now
        tenant = self.accounts[sender_id].tenant
        if tenant:
            day = self.tenant_days.get(tenant, queries.TenantDay(0, now))
            self.tenant_days[tenant] = queries.TenantDay(day.sends + 1, day.oldest or now)


def _gap_draw(sender_id: uuid.UUID, last: datetime) -> float:
    """The jitter of the gap after the account's send at `last`: drawn once for that send, so
    that every pass (and every worker) waits for the same moment."""
    return random.Random(f"{sender_id}:{last.isoformat()}").random()  # noqa: S311 (jitter)


def limits_shown(
    session: Session, accounts: Sequence[SenderAccount], now: datetime, zone: ZoneInfo = UTC_ZONE
) -> dict[uuid.UUID, list[str]]:
    """What each account's limits beyond its daily cap say just now, a line each, for the
    senders page, the API and `outreach senders list`: its hold (until when, in `zone`), its
    ramp (where it is and the day it reaches its target), its tenant's rolling day, its gap
    between sends."""
    allowance = Allowance.read(session, accounts, now, zone)
    return {account.id: allowance.lines(account.id, now) for account in accounts}
