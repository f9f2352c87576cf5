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
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from outreach.campaigns.schedule import (
    SenderLoad,
    SendWindow,
    choose_sender,
    local_day_bounds,
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
    day's end, each account's sends and cap on it, and the UTC days each account sent on before.
    Caps are worked out once a UTC day, as they change only with the day."""

    accounts: dict[str, SenderCapacity]
    campaign_end: datetime
    campaign_sent: int
    utc_end: datetime
    utc_sent: Counter[str] = field(default_factory=Counter)
    sending_days: Counter[str] = field(default_factory=Counter)
    caps: dict[str, int | None] = field(default_factory=dict)
    full: set[str] = field(default_factory=set)
    """The accounts at their cap on the UTC day reached."""

    def reach(self, at: datetime, zone: ZoneInfo) -> None:
        """Moves on to the days containing `at` (never earlier than those reached)."""
        if at >= self.campaign_end:
            self.campaign_end = local_day_bounds(at, zone)[1]
            self.campaign_sent = 0
        if at >= self.utc_end:
            self.sending_days.update(name for name, sent in self.utc_sent.items() if sent)
            self.utc_end = local_day_bounds(at, UTC_ZONE)[1]
            self.utc_sent = Counter()
            self.caps = {
                name: account.cap(self.sending_days[name])
                for name, account in self.accounts.items()
            }
            self.full = {name for name, cap in self.caps.items() if cap == 0}

    def send(self, sender_id: str, emails: int = 1) -> None:
        self.campaign_sent += emails
        self.utc_sent[sender_id] += emails
        cap = self.caps[sender_id]
        if cap is not None and self.utc_sent[sender_id] >= cap:
            self.full.add(sender_id)


class Placement(NamedTuple):
    """One email as the forecast places it: when, for which of the threads given (its index),
    which of the thread's emails (0: its next), from which account. A named tuple, as a
    campaign's overview makes one for each of tens of thousands of emails."""

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
    usable = {sender.sender_id: sender for sender in rules.senders if sender.usable}
    queues = _Queues({name: [] for name in [None, *usable]}, usable)
    for index, thread in enumerate(threads):
        if thread.sender_id is None or thread.sender_id in usable:
            due = max(thread.due_at.astimezone(UTC), now)
            queues.by_name[thread.sender_id].append(
                (due, index, 0, thread.follow_ups, thread.count)
            )
    for queue in queues.by_name.values():
        heapq.heapify(queue)
    days = _Days(usable, now, 0, now)
    days.reach(now, rules.window.timezone)
    for sender in usable.values():
        days.send(sender.sender_id, sender.sent_today)
    days.campaign_sent = rules.sent_today  # the campaign's own: the accounts' count all theirs
    yield from _played(now, queues, days, rules)


Waiting = tuple[datetime, int, int, tuple[timedelta, ...], int]
"""Emails waiting alike: when they are due, their thread, the thread's step, the delays of the
steps after it, and how many (a thread's `count`, one entry rather than as many). Ordered as the
worker claims: earliest due first, the thread's index keeping equal dues in the order given."""


@dataclass
class _Queues:
    """Waiting emails in one queue for first emails (their account is chosen as they go) and one
    per account for threads that have one: an account at its cap holds back only its own queue,
    and nothing is looked at twice."""

    by_name: dict[str | None, list[Waiting]]
    usable: dict[str, SenderCapacity]

    def heads(self, days: _Days) -> tuple[Head | None, tuple[Waiting, str | None] | None]:
        """The email due first among the accounts with room (None: none has), with its queue
        and the account it goes from; and the first of the other queues, with its queue."""
        first_from = _first_sender(self.usable, days) if self.by_name[None] else None
        heads = sorted(
            (queue[0], name)
            for name, queue in self.by_name.items()
            if queue and (first_from if name is None else name not in days.full)
        )
        if not heads:
            return None, None
        waiting, name = heads[0]
        chosen = name or first_from
        assert chosen is not None
        return (waiting, name, chosen), heads[1] if len(heads) > 1 else None


Head = tuple[Waiting, str | None, str]
"""The email that goes next: it, its queue (None: first emails) and the account it goes from."""


def _played(now: datetime, queues: _Queues, days: _Days, rules: Rules) -> Iterator[Placement]:
    horizon = now + HORIZON
    floor = now  # the earliest the next email may go; it never goes down
    opening = _Opening(rules.window)
    while any(queues.by_name.values()):
        head, rival = queues.heads(days)
        if head is None:
            floor = max(floor, days.utc_end)  # every account with emails waiting is at its cap
        heads_day = None if head is None else days.utc_end
        opens = opening.next_open(floor if head is None else max(head[0][0], floor))
        while opens is not None and opens <= horizon:
            days.reach(opens, rules.window.timezone)
            if days.campaign_sent < rules.daily_limit:
                break
            floor = days.campaign_end
            opens = opening.next_open(floor)
        if opens is None or opens > horizon:
            return
        floor = opens
        if head is None or days.utc_end != heads_day:
            continue  # a new UTC day gives the accounts room again: choose again
        bound = min(opening.closes or horizon, days.campaign_end, days.utc_end, horizon)
        floor = yield from _stretch(head, rival, floor, bound, queues, days, rules)


def _stretch(
    head: Head,
    rival: tuple[Waiting, str | None] | None,
    floor: datetime,
    bound: datetime,
    queues: _Queues,
    days: _Days,
    rules: Rules,
) -> Generator[Placement, None, datetime]:
    """The emails that go from `head` (`rival` the first of the other queues) on before
    `bound`, the end of the window's opening, of a day or of the horizon: until then only the
    counts change, so the emails go one after another without asking the window or the days
    again. Returns the floor it leaves."""
    spacing = timedelta(seconds=rules.spacing_seconds)
    next_head: Head | None = head
    while next_head is not None and (at := max(next_head[0][0], floor)) < bound:
        _, name, chosen = next_head
        queue = queues.by_name[name]
        # A named queue's follow-ups stay in it, so the other queues' first emails stay what
        # they are: its emails go one after another while each comes before all of those.
        while True:
            due, index, step, follow_ups, alike = queue[0]
            if alike > 1:  # the same key, one fewer: still the heap's least
                queue[0] = (due, index, step, follow_ups, alike - 1)
            else:
                heapq.heappop(queue)
            days.send(chosen)
            floor = at + spacing
            yield Placement(at, index, step, chosen)
            if follow_ups:  # due its delay after this one, as schedule.step_due_at has it
                following = (at + follow_ups[0], index, step + 1, follow_ups[1:], 1)
                heapq.heappush(queues.by_name[chosen], following)
            if (
                name is None
                or not queue
                or chosen in days.full
                or days.campaign_sent >= rules.daily_limit
                or (rival is not None and rival < (queue[0], name))
                or (at := max(queue[0][0], floor)) >= bound
            ):
                break
        if days.campaign_sent >= rules.daily_limit:
            break
        next_head, rival = queues.heads(days)
    return floor


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
    first_at = all_started_at = last_at = None
    busiest = on_day = 0
    day_end = now
    # Plain locals: a campaign's overview sums tens of thousands of placements.
    for at, _, step, sender_id in placements(now, threads, rules):
        by_sender[sender_id] += 1
        if at >= day_end:
            day_end = local_day_bounds(at, rules.window.timezone)[1]
            on_day = 0
        on_day += 1
        if on_day > busiest:
            busiest = on_day
        if first_at is None:
            first_at = at
        last_at = at
        if not step:
            to_start -= 1
            if not to_start:
                all_started_at = at
    placed = sum(by_sender.values())
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
        busiest,
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
            SenderLoad(sender_id, days.utc_sent[sender_id], days.caps[sender_id])
            for sender_id in usable
        ]
    )
    return chosen


def day_words(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """A day as a forecast names it: "Thu 14 Jan", with the year when it is not `now`'s."""
    local = at.astimezone(zone)
    return f"{local:%a %d %b}" + (
        "" if local.year == now.astimezone(zone).year else f" {local.year}"
    )
