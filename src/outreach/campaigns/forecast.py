"""When a campaign's emails will go if nobody replies: the schedule's rules played forward.

Pure: plain values in (including `now`), plain values out; no database, no I/O. The launch
confirmation and a campaign's overview say from it when the first emails go, how many go a
day, and roughly when the last step ends.

The rules are the worker's, each applied as schedule.py states it:

- a step is due its delay (elapsed time) after the thread's previous email, the first step its
  delay after `now`; due emails go earliest due first (the order the worker claims them in);
- an email goes only inside the send window (the campaign's; contacts' own zones are not
  weighed, so the forecast reads the campaign's clock);
- at most `daily_limit` emails per calendar day in the campaign's zone;
- each sender account sends at most its cap per UTC day, the cap of a ramping account growing
  with each UTC day on which it sent; a first email goes from the usable account with room that
  sent the fewest that day (choose_sender), a follow-up from its thread's account;
- two of the campaign's emails are at least `spacing_seconds` apart (the jitter's average is
  the caller's to add).

Not weighed: replies, bounces and unsubscribes (each ends a thread early, so the forecast is
the latest case), a sender account's own gap and its tenant's rolling limit, and holds of
failing accounts. It is a forecast, not a plan: the worker decides each send when it comes.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from outreach.campaigns.schedule import (
    SenderLoad,
    SendWindow,
    choose_sender,
    local_day_bounds,
    step_due_at,
)
from outreach.senders.ramp import Ramp
from outreach.words import UTC_ZONE, counted

HORIZON = timedelta(days=731)
"""How far ahead emails are placed; what would go later is counted as not placed."""


@dataclass(frozen=True)
class SenderCapacity:
    """A sender account as the forecast sees it: its daily cap (None: none), its ramp (None:
    none) and the UTC days on which it sent before today, and whether it can send at all."""

    sender_id: str
    daily_cap: int | None = None
    ramp: Ramp | None = None
    days_sent: int = 0
    sent_today: int = 0
    usable: bool = True

    def cap(self, sending_days: int) -> int | None:
        """The account's cap on a UTC day after `sending_days` more days of sending."""
        if self.ramp is None:
            return self.daily_cap
        ramped = self.ramp.cap(self.days_sent + sending_days)
        return ramped if self.daily_cap is None else min(ramped, self.daily_cap)


@dataclass(frozen=True)
class Thread:
    """Emails still to go to one contact (or `count` contacts alike): the next one due at
    `due_at`, then one per delay in `follow_ups`, from `sender_id` (None: chosen with the
    first email)."""

    due_at: datetime
    follow_ups: tuple[timedelta, ...] = ()
    sender_id: str | None = None
    count: int = 1


@dataclass(frozen=True)
class Forecast:
    """Where the emails land: the first and the last (None when none can go), when every
    contact has had its next email, the busiest day's sends (campaign-local days), the emails
    placed per sender account, and those not placed within HORIZON with why."""

    first_at: datetime | None
    all_started_at: datetime | None
    last_at: datetime | None
    placed: int
    busiest_day: int
    by_sender: dict[str, int] = field(default_factory=dict)
    not_placed: int = 0
    why_not: str = ""


@dataclass(frozen=True)
class Rules:
    """The campaign's rules a forecast plays: its window, its daily limit and what it sent in
    its local day containing `now`, its accounts (each with what it sent that UTC day), and the
    seconds between two of its emails."""

    window: SendWindow
    daily_limit: int
    senders: Sequence[SenderCapacity]
    spacing_seconds: float = 0
    sent_today: int = 0


@dataclass
class _Days:
    """The days the forecast has reached: the campaign-local day's end and its sends, the UTC
    day's end and each account's sends on it, and the UTC days each account sent on before."""

    campaign_end: datetime
    campaign_sent: int
    utc_end: datetime
    utc_sent: Counter[str]
    sending_days: Counter[str]

    def reach(self, at: datetime, zone: ZoneInfo) -> None:
        """Moves on to the days containing `at` (never earlier than those reached)."""
        if at >= self.campaign_end:
            self.campaign_end = local_day_bounds(at, zone)[1]
            self.campaign_sent = 0
        if at >= self.utc_end:
            self.sending_days.update(name for name, sent in self.utc_sent.items() if sent)
            self.utc_end = local_day_bounds(at, UTC_ZONE)[1]
            self.utc_sent = Counter()

    def room(self, sender: SenderCapacity) -> int | None:
        """Emails the account may still send on the UTC day reached (None: no cap)."""
        cap = sender.cap(self.sending_days[sender.sender_id])
        return None if cap is None else cap - self.utc_sent[sender.sender_id]


@dataclass(frozen=True)
class Placement:
    """One email as the forecast places it: when, for which of the threads given (its index),
    which of the thread's emails (0: its next), from which account."""

    at: datetime
    thread: int
    step: int
    sender_id: str


@dataclass
class _Opening:
    """The window's opening last found: within it an instant is open without asking again."""

    window: SendWindow
    opens: datetime | None = None
    closes: datetime | None = None

    def next_open(self, at: datetime) -> datetime | None:
        if self.opens is not None and self.closes is not None and self.opens <= at < self.closes:
            return at
        found = self.window.opening(at)
        if found is None:
            return None
        self.opens, self.closes = found
        return self.opens


def placements(now: datetime, threads: Sequence[Thread], rules: Rules) -> Iterator[Placement]:
    """Each email in the order it would go, played forward from `now` under the rules in the
    module's notes, up to HORIZON; threads whose account cannot send are left out.

    Every email placed is inside `window`, no campaign-local day holds more than `daily_limit`,
    no UTC day more than an account's cap, two emails are at least `spacing_seconds` apart, and
    a follow-up goes at least its delay after the thread's previous email.
    """
    if _never(rules):
        return
    now = now.astimezone(UTC)
    spacing = timedelta(seconds=rules.spacing_seconds)
    horizon = now + HORIZON
    usable = {sender.sender_id: sender for sender in rules.senders if sender.usable}
    # Waiting emails, (due, thread, its step, follow-ups left), in one queue for first emails
    # (their account is chosen as they go) and one per account for threads that have one: an
    # account at its cap holds back only its own queue, and nothing is looked at twice.
    # The thread's index keeps equal dues in the order given, as the worker's claims do.
    queues: dict[str | None, list[tuple[datetime, int, int, tuple[timedelta, ...]]]] = {
        name: [] for name in [None, *usable]
    }
    for index, thread in enumerate(threads):
        if thread.sender_id is None or thread.sender_id in usable:
            due = max(thread.due_at.astimezone(UTC), now)
            queues[thread.sender_id].extend([(due, index, 0, thread.follow_ups)] * thread.count)
    for queue in queues.values():
        heapq.heapify(queue)
    days = _Days(now, 0, now, Counter(), Counter())
    days.reach(now, rules.window.timezone)
    days.campaign_sent = rules.sent_today
    days.utc_sent.update({s.sender_id: s.sent_today for s in rules.senders if s.sent_today})
    floor = now  # the earliest the next email may go; it never goes down
    opening = _Opening(rules.window)
    while any(queues.values()):
        first_from = _first_sender(usable, days)
        heads = [
            (queue[0], name)
            for name, queue in queues.items()
            if queue and (first_from if name is None else _has_room(usable[name], days))
        ]
        if not heads:
            floor = max(floor, days.utc_end)  # every account with emails waiting is at its cap
            heads_day = None
        else:
            (due, _, _, _), name = min(heads)
            heads_day = days.utc_end
        opens = opening.next_open(max(due, floor) if heads else floor)
        while opens is not None and opens <= horizon:
            days.reach(opens, rules.window.timezone)
            if days.campaign_sent < rules.daily_limit:
                break
            floor = days.campaign_end
            opens = opening.next_open(floor)
        if opens is None or opens > horizon:
            return
        floor = opens
        if days.utc_end != heads_day:
            continue  # a new UTC day gives the accounts room again: choose again
        due, index, step, follow_ups = heapq.heappop(queues[name])
        chosen = name or first_from
        assert chosen is not None
        days.campaign_sent += 1
        days.utc_sent[chosen] += 1
        floor = opens + spacing
        yield Placement(opens, index, step, chosen)
        if follow_ups:
            following = step_due_at(opens, 0, 0) + follow_ups[0]
            heapq.heappush(queues[chosen], (following, index, step + 1, follow_ups[1:]))


def _has_room(sender: SenderCapacity, days: _Days) -> bool:
    room = days.room(sender)
    return room is None or room > 0


def forecast(now: datetime, threads: Sequence[Thread], rules: Rules) -> Forecast:
    """What `placements` gives, summed up for a person (see Forecast)."""
    total = sum(thread.count * (1 + len(thread.follow_ups)) for thread in threads)
    why = _never(rules)
    if why or not total:
        return Forecast(None, None, None, 0, 0, not_placed=total, why_not=why)
    usable = {sender.sender_id for sender in rules.senders if sender.usable}
    held_threads = [
        thread
        for thread in threads
        if thread.sender_id is not None and thread.sender_id not in usable
    ]
    held = sum(thread.count * (1 + len(thread.follow_ups)) for thread in held_threads)
    to_start = sum(thread.count for thread in threads) - sum(t.count for t in held_threads)
    by_sender: Counter[str] = Counter()
    per_day: Counter[datetime] = Counter()
    first_at = all_started_at = last_at = None
    placed = 0
    day_end = now
    for placement in placements(now, threads, rules):
        placed += 1
        by_sender[placement.sender_id] += 1
        if placement.at >= day_end:
            day_end = local_day_bounds(placement.at, rules.window.timezone)[1]
        per_day[day_end] += 1
        first_at = first_at or placement.at
        last_at = placement.at
        if placement.step == 0:
            to_start -= 1
            if not to_start:
                all_started_at = placement.at
    late = total - placed - held
    why_not = [
        *([f"{counted(held, 'email')} wait for a paused or failing sender"] if held else []),
        *(
            [f"{counted(late, 'email')} would go more than {HORIZON.days} days ahead"]
            if late
            else []
        ),
    ]
    return Forecast(
        first_at,
        all_started_at,
        last_at,
        placed,
        max(per_day.values(), default=0),
        dict(by_sender),
        total - placed,
        "; ".join(why_not),
    )


def _never(rules: Rules) -> str:
    """Why no email can go at all, or ""."""
    if not rules.window.days:
        return "the send window has no send days"
    if rules.daily_limit <= 0:
        return "the campaign's daily limit is 0"
    if not rules.senders:
        return "the campaign has no sender accounts"
    if not any(sender.usable for sender in rules.senders):
        return "every sender is paused or failing"
    if all(sender.cap(0) == 0 for sender in rules.senders if sender.usable):
        return "every sender's daily cap is 0"
    return ""


def _first_sender(usable: dict[str, SenderCapacity], days: _Days) -> str | None:
    chosen, _ = choose_sender(
        [
            SenderLoad(
                sender.sender_id,
                days.utc_sent[sender.sender_id],
                sender.cap(days.sending_days[sender.sender_id]),
            )
            for sender in usable.values()
        ]
    )
    return chosen


def day_words(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """A day as a forecast names it: "Thu 14 Jan", with the year when it is not `now`'s."""
    local = at.astimezone(zone)
    return f"{local:%a %d %b}" + (
        "" if local.year == now.astimezone(zone).year else f" {local.year}"
    )
