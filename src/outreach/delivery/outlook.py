"""What a campaign will do next, in words: its forecast (campaigns.forecast, the schedule's rules
played forward) read from what the database holds now, for the campaign's overview and the
launch confirmation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.forecast import (
    Forecast,
    Rules,
    SenderCapacity,
    Thread,
    day_words,
    forecast,
)
from outreach.campaigns.models import Campaign, CampaignSequence
from outreach.campaigns.schedule import local_day_bounds, when_words
from outreach.contacts import queries as contact_queries
from outreach.delivery import queries
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from outreach.senders.states import SenderState
from outreach.words import UTC_ZONE


@dataclass(frozen=True)
class Outlook:
    """A campaign's forecast and what it means to a person: `contacts` threads to play forward
    (for a draft: the list's members), `senders` the campaign's accounts by id, `zone` the
    campaign's."""

    contacts: int
    forecast: Forecast
    senders: dict[str, SenderAccount]
    zone: ZoneInfo
    now: datetime

    def first_words(self) -> str:
        """ "right away" for emails the worker's next pass may send, else when they go (to the
        minute: the forecast's seconds are the spacing's, not a promise)."""
        at = self.forecast.first_at
        if at is None:
            return ""
        if at - self.now < timedelta(minutes=1):
            return "right away"
        minute = at.replace(second=0, microsecond=0)
        return when_words(
            minute if minute == at else minute + timedelta(minutes=1), self.zone, self.now
        )

    def started_words(self) -> str:
        at = self.forecast.all_started_at
        return "" if at is None else day_words(at, self.zone, self.now)

    def end_words(self) -> str:
        at = self.forecast.last_at
        return "" if at is None else day_words(at, self.zone, self.now)

    def from_whom(self) -> list[tuple[str, int]]:
        """Each account the emails go from, and how many of them."""
        return [
            (self.senders[sender_id].email, count)
            for sender_id, count in sorted(self.forecast.by_sender.items(), key=lambda s: -s[1])
        ]

    def sentence(self) -> str:
        """ "Next sends Mon 09:00 Europe/Berlin, up to 20 a day, finished around Thu 14 Jan if
        nobody replies." — or why nothing will go."""
        if self.forecast.first_at is None:
            return (
                f"Nothing will go: {self.forecast.why_not}."
                if self.forecast.why_not
                else "Nothing left to send."
            )
        sentence = (
            f"Next emails go {self.first_words()}, up to {self.forecast.busiest_day} a day, "
            f"finished around {self.end_words()} if nobody replies."
        )
        if self.forecast.not_placed:
            sentence += f" Not counted: {self.forecast.why_not}."
        return sentence


def of_draft(session: Session, found: Campaign, now: datetime) -> Outlook:
    """What launching now would do: every member of the list starts the sequence now."""
    steps = campaign_queries.steps_of(session, found.id)
    members = contact_queries.list_size(session, found.list_id) if found.list_id else 0
    threads = [Thread(_due(now, steps, 0), _follow_ups(steps, 0), count=members)] if steps else []
    return _outlook(session, found, now, threads, members)


def of_running(session: Session, found: Campaign, now: datetime) -> Outlook:
    """What the campaign's running enrollments will still receive, from where each is now."""
    steps = campaign_queries.steps_of(session, found.id)
    threads = [
        Thread(
            due or now,
            _follow_ups(steps, sent),
            None if sender_id is None else str(sender_id),
            count,
        )
        for due, sent, sender_id, count in campaign_queries.running_threads(session, found.id)
        if sent < len(steps)
    ]
    return _outlook(session, found, now, threads, sum(thread.count for thread in threads))


def _due(now: datetime, steps: Sequence[CampaignSequence], index: int) -> datetime:
    return now + _delay(steps[index])


def _delay(step: CampaignSequence) -> timedelta:
    return timedelta(days=step.delay_days, hours=step.delay_hours)


def _follow_ups(steps: Sequence[CampaignSequence], sent: int) -> tuple[timedelta, ...]:
    """The delays of the steps after the next one, for an enrollment that has had `sent`."""
    return tuple(_delay(step) for step in steps[sent + 1 :])


def _outlook(
    session: Session, found: Campaign, now: datetime, threads: list[Thread], contacts: int
) -> Outlook:
    settings = campaign_queries.settings_of(session, found.id)
    window = campaigns.window_of(settings)
    accounts = campaign_queries.senders_of(session, found.id)
    ids = [account.id for account in accounts]
    today = local_day_bounds(now, UTC_ZONE)
    ramps = {a.id: ramp for a in accounts if (ramp := senders.ramp_of(a)) is not None}
    days_sent = queries.sending_days_before(session, ramps, today[0])
    sent_today = queries.sender_sends_between(session, ids, *today)
    capacities = [
        SenderCapacity(
            str(account.id),
            account.daily_cap,
            senders.ramp_of(account),
            days_sent.get(account.id, 0),
            sent_today.get(account.id, 0),
            usable=account.state == SenderState.ok and not senders.held(account, now),
        )
        for account in accounts
    ]
    campaign_today = queries.campaign_sends_between(
        session, found.id, *local_day_bounds(now, window.timezone)
    )
    # The jitter's average: the forecast is of the typical day, not the unluckiest.
    spacing = settings.delay_between_emails_seconds + settings.jitter_seconds / 2
    rules = Rules(window, settings.daily_limit, capacities, spacing, campaign_today)
    seen = forecast(now, threads, rules)
    return Outlook(contacts, seen, {str(a.id): a for a in accounts}, window.timezone, now)
