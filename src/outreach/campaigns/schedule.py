"""When the next email of a campaign may go: send windows, time zones, limits, spacing, senders.

Pure: plain values in (including `now`), plain values out; no database, no I/O, no wall clock.
Every datetime taken must be timezone-aware (a naive one raises ValueError); every datetime
returned is in UTC.

The decisions these rules embody:

- Delays are elapsed time: a step is due `delay_days` times 24 h plus `delay_hours` after the
  previous email (or the enrollment), whatever the clocks do in between. The send window is
  what puts the email back at a sensible local hour.
- A window is `start` (inclusive) to `end` (exclusive) in local wall-clock time. When `end` is
  earlier than `start` the window runs overnight (22:00-06:00) and each opening belongs to the
  send day on which it opened: with days = {Friday} it is open from Friday 22:00 to Saturday
  06:00, and not on Friday before 06:00. When `end` equals `start` the window is open for a
  whole day from `start` (00:00-00:00 is "any time on the send days"), since the seed's TIME
  columns cannot say 24:00.
- Wall-clock times are read in the window's zone on each date. A time that never happens
  (clocks going forward) becomes the first instant after the gap, so a 02:30 start on the
  spring-forward day opens at 03:00 summer time; a time that happens twice (clocks going back)
  is its first occurrence. An opening whose start and end both fall in the same gap is empty
  and skipped.
- A contact's own zone, when it is a valid IANA name, replaces the campaign's for the window
  only. The daily limit counts sends per calendar day in the campaign's zone (midnight to
  midnight there), because one campaign mails contacts in many zones and needs one day to
  count on. A sender's daily cap counts per UTC day: sender accounts have no zone of their own,
  and a provider's quota does not follow the campaign's.
- The counts given describe sends up to `now`; days after the one containing `now` are taken to
  have room. Ask again after each send (as the worker does) rather than planning a backlog of
  future sends from one set of counts.
"""

from __future__ import annotations

import functools
import math
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from outreach.words import UTC_ZONE, time_in_zone

__all__ = [
    "DAY_NAMES",
    "CampaignPace",
    "Decision",
    "NextSendWords",
    "SendWindow",
    "SenderLoad",
    "choose_sender",
    "local_day_bounds",
    "next_send",
    "next_send_words",
    "opening_hours",
    "step_due_at",
    "wall_to_utc",
    "when_words",
    "zone_named",
    "zone_names",
    "zones_matching",
]

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""The seed's send_days spelling, indexed by weekday number (Monday = 0)."""

_DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SEARCH_DAYS = 400
"""How far ahead an opening is looked for. A window with send days opens within a fortnight (a
clock change can empty one day's opening, never the same weekday's twice running), so this
only bounds the search for a window that can never open."""

_NOT_PLACES = frozenset({"localtime", "factory"})
"""Names the zone database lists that are not places: the host's own zone, and tzdata's
placeholder. A contact or campaign must not depend on the machine the worker runs on."""


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone called `name` (case and surrounding spaces ignored), or None when there is
    no such zone."""
    key = _zone_keys().get(name.strip().lower())
    return None if key is None else ZoneInfo(key)


def zone_names() -> list[str]:
    """Every zone `zone_named` knows, by its IANA name, sorted: what a picker offers."""
    return sorted(_zone_keys().values())


def zones_matching(text: str, limit: int = 20) -> list[str]:
    """IANA zone names that `text` finds, best first, at most `limit`: "Berlin" finds
    Europe/Berlin, "new york" America/New_York. Case is ignored and spaces read as "_"; a name
    whose place (the part after the last "/") starts with the text comes before one that only
    contains it, then shorter names, then alphabetical order."""
    wanted = "_".join(text.strip().lower().split())
    if not wanted:
        return []
    found = []
    for lowered, key in _zone_keys().items():
        if wanted not in lowered:
            continue
        place = lowered.rpartition("/")[2]
        found.append((not place.startswith(wanted), lowered != wanted, len(key), key))
    return [key for *_, key in sorted(found)[:limit]]


@functools.cache
def _zone_keys() -> dict[str, str]:
    return {
        key.lower(): key for key in zoneinfo.available_timezones() if key.lower() not in _NOT_PLACES
    }


def _in_utc(instant: datetime, name: str) -> datetime:
    # Arithmetic on a datetime in a ZoneInfo zone is wall-clock arithmetic, and == between
    # zones is False for a time read twice; in UTC both mean what they say.
    if instant.utcoffset() is None:
        raise ValueError(f"{name} must carry a timezone")
    return instant.astimezone(UTC)


def wall_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant, in UTC, at which clocks in `zone` read `wall` on `day` (any tzinfo on `wall`
    is ignored).

    A wall time that happens twice gives its first occurrence; one that never happens (skipped
    by clocks going forward) gives the first instant after the skipped stretch.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None))
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    return _end_of_gap(naive, zone)


def _end_of_gap(naive: datetime, zone: ZoneInfo) -> datetime:
    # Inside a gap the two folds read the wall time with the offsets either side of the
    # transition, so the transition lies between the instants they give; zone offsets change
    # on whole seconds, so bisecting on seconds finds it exactly.
    readings = [naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    before = math.floor(min(readings).timestamp())
    after = math.ceil(max(readings).timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= naive:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def local_day_bounds(at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar day in `zone` that contains `at`, as UTC instants [start, end).

    A day starts at the first occurrence of its midnight (or the first instant after it, when
    midnight is skipped), so an hour repeated across midnight belongs to the later day. Callers
    count a campaign's `sent_today` over this range with the campaign's zone, and a sender's
    over the UTC day (`zone` = UTC).
    """
    at = _in_utc(at, "at")
    day = at.astimezone(zone).date()
    start = wall_to_utc(day, time(0), zone)
    end = wall_to_utc(day + timedelta(days=1), time(0), zone)
    if at >= end:
        start, end = end, wall_to_utc(day + timedelta(days=2), time(0), zone)
    return start, end


def when_words(instant: datetime, zone: ZoneInfo, reference: datetime) -> str:
    """An instant in plain words, as "Mon 09:00 Europe/Berlin" within the coming week of
    `reference` and with the date further out, where a weekday alone would read as this week's."""
    local = instant.astimezone(zone)
    clock = "%H:%M" if local.second == local.microsecond == 0 else "%H:%M:%S"
    weekday = _DAY_ABBREVIATIONS[local.weekday()]
    days_ahead = (local.date() - reference.astimezone(zone).date()).days
    day = weekday if 0 <= days_ahead < 7 else f"{weekday} %Y-%m-%d"
    return time_in_zone(instant, zone, f"{day} {clock}")


def _seconds(amount: float) -> str:
    return f"{round(amount, 1):g}"


@dataclass(frozen=True)
class SendWindow:
    """When a campaign may send, in local wall-clock time of `timezone` (see the module's notes
    for overnight windows, equal start and end, and clock changes)."""

    start: time
    end: time
    days: frozenset[int]
    timezone: ZoneInfo

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("send window times are wall-clock times without a timezone")
        if not self.days <= frozenset(range(7)):
            raise ValueError("send days are weekday numbers from 0 (Monday) to 6 (Sunday)")

    @classmethod
    def from_settings(
        cls, start: time, end: time, send_days: Sequence[str], timezone: str
    ) -> SendWindow:
        """The window a campaign_settings row describes: `send_days` are day names ("monday",
        any case), `timezone` an IANA name. An unknown day or zone raises ValueError. No days
        at all is allowed and gives a window that never opens."""
        if isinstance(send_days, str):
            raise ValueError("send days must be a list of day names, not one string")
        days = set()
        for name in send_days:
            cleaned = name.strip().lower()
            if cleaned not in DAY_NAMES:
                raise ValueError(f"unknown send day {name!r}; use {', '.join(DAY_NAMES)}")
            days.add(DAY_NAMES.index(cleaned))
        zone = zone_named(timezone)
        if zone is None:
            raise ValueError(f"unknown timezone {timezone!r}; use an IANA name like Europe/Berlin")
        return cls(start=start, end=end, days=frozenset(days), timezone=zone)

    def for_contact(self, contact_timezone: str | None) -> SendWindow:
        """The same window in the contact's zone when that is a valid IANA name, else self."""
        zone = None if contact_timezone is None else zone_named(contact_timezone)
        return self if zone is None else replace(self, timezone=zone)

    def _openings(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The non-empty openings [open, close) that close after `at`, earliest first.

        Openings never overlap and come in day order, since wall_to_utc never goes backwards;
        the search starts two days early for overnight windows and hours repeated across
        midnight."""
        first_day = at.astimezone(self.timezone).date() - timedelta(days=2)
        closes_next_day = self.end <= self.start
        for offset in range(_SEARCH_DAYS):
            day = first_day + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens = wall_to_utc(day, self.start, self.timezone)
            close_day = day + timedelta(days=1) if closes_next_day else day
            closes = wall_to_utc(close_day, self.end, self.timezone)
            if opens < closes and closes > at:
                yield opens, closes

    def contains(self, at: datetime) -> bool:
        """Whether the window is open at `at`."""
        at = _in_utc(at, "at")
        opening = next(self._openings(at), None)
        return opening is not None and opening[0] <= at

    def next_open(self, at: datetime) -> datetime | None:
        """The earliest instant at or after `at` at which the window is open, in UTC; None when
        it never opens (no send days)."""
        return _next_open(self, _in_utc(at, "at"))

    def opening(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The opening [open, close) in which next_open(at) falls, in UTC; None when the window
        never opens. Between the two, every instant is open: a caller stepping through time
        asks once per opening rather than once per instant."""
        at = _in_utc(at, "at")
        opening = next(self._openings(at), None)
        return None if opening is None else (max(opening[0], at), opening[1])

    def describe(self, at: datetime) -> str:
        """What the window means for an email waiting at `at`, in plain words: "outside the send
        window until Mon 09:00 Europe/Berlin", "inside the send window until Fri 18:00 UTC"."""
        at = _in_utc(at, "at")
        if not self.days:
            return "the send window has no send days"
        opening = next(self._openings(at), None)
        if opening is None:
            return "the send window never opens"
        opens, closes = opening
        if opens <= at:
            return f"inside the send window until {when_words(closes, self.timezone, at)}"
        return f"outside the send window until {when_words(opens, self.timezone, at)}"


@functools.lru_cache(maxsize=1024)
def _next_open(window: SendWindow, at: datetime) -> datetime | None:
    """SendWindow.next_open, remembered: a page of 200 enrollments asks it of the same window at
    the same moment 200 times, and each answer costs a few zone conversions."""
    opening = next(window._openings(at), None)
    return None if opening is None else max(opening[0], at)


def opening_hours(start: time, end: time) -> str:
    """A window's hours as a person reads them: "09:00-17:30", "22:00-06:00", and for equal
    start and end (open a whole day from `start`) "all day" or "24 hours from 09:00"."""
    if start != end:
        return f"{start:%H:%M}-{end:%H:%M}"
    return "all day" if start == time(0) else f"24 hours from {start:%H:%M}"


def step_due_at(previous: datetime, delay_days: int, delay_hours: int) -> datetime:
    """When a step is due, in UTC: `previous` (the last email sent, or the enrollment for the
    first step) plus the step's delay as elapsed time. Negative delays raise ValueError."""
    previous = _in_utc(previous, "previous")
    if delay_days < 0 or delay_hours < 0:
        raise ValueError("a step's delay cannot be negative")
    return previous + timedelta(days=delay_days, hours=delay_hours)


@dataclass(frozen=True)
class CampaignPace:
    """What the campaign has already sent, as the caller read it from the database.

    `sent_today` counts the campaign's sends in the calendar day of `campaign_timezone` that
    contains `now` (local_day_bounds gives the range). `campaign_timezone` is the campaign's
    own zone even when the window was moved to a contact's, because the limit is counted on
    the campaign's day.
    """

    daily_limit: int
    sent_today: int
    last_sent_at: datetime | None
    spacing_seconds: int
    jitter_seconds: float = 0.0
    campaign_timezone: ZoneInfo = field(kw_only=True)

    def __post_init__(self) -> None:
        if self.last_sent_at is not None:
            _in_utc(self.last_sent_at, "last_sent_at")
        if min(self.daily_limit, self.sent_today, self.spacing_seconds) < 0:
            raise ValueError("daily limit, sends today and spacing cannot be negative")
        if not (math.isfinite(self.jitter_seconds) and self.jitter_seconds >= 0):
            raise ValueError("jitter must be a finite number of seconds, not negative")


@dataclass(frozen=True)
class Decision:
    """When an email may go (UTC), or None when it cannot be scheduled at all, and why it waits
    in plain words ("due now" when it need not)."""

    send_at: datetime | None
    reason: str


def next_send(
    due: datetime,
    now: datetime,
    window: SendWindow,
    pace: CampaignPace,
    sender_cap: int | None = None,
    sender_sent_today: int = 0,
) -> Decision:
    """The earliest instant at or after both `due` and `now` that is inside `window`, at least
    spacing + jitter after the campaign's last send, and not on a day whose limit is used up.

    A full daily limit (`pace.sent_today` of `pace.daily_limit`) closes the rest of the
    campaign-local day containing `now`; a full sender cap (`sender_sent_today` of
    `sender_cap`, None for no cap) closes the rest of the UTC day containing `now`. A limit or
    cap of 0, or a window that never opens, gives send_at None. Asking again with the answer as
    `due` gives the same answer.
    """
    due, now = _in_utc(due, "due"), _in_utc(now, "now")
    if sender_sent_today < 0 or (sender_cap is not None and sender_cap < 0):
        raise ValueError("a sender's cap and sends today cannot be negative")
    if pace.daily_limit == 0:
        return Decision(None, "the campaign's daily limit is 0")
    if sender_cap == 0:
        return Decision(None, "the sender's daily cap is 0")
    earliest = max(due, now)
    spaced = None
    if pace.last_sent_at is not None:
        gap = timedelta(seconds=pace.spacing_seconds + pace.jitter_seconds)
        spaced = pace.last_sent_at.astimezone(UTC) + gap
    floor = earliest if spaced is None else max(earliest, spaced)

    used_up: list[tuple[datetime, str]] = []
    if pace.sent_today >= pace.daily_limit:
        _, day_end = local_day_bounds(now, pace.campaign_timezone)
        used_up.append(
            (day_end, f"daily limit reached ({pace.sent_today} of {pace.daily_limit} today)")
        )
    if sender_cap is not None and sender_sent_today >= sender_cap:
        _, utc_day_end = local_day_bounds(now, UTC_ZONE)
        used_up.append(
            (
                utc_day_end,
                f"sender's daily cap reached ({sender_sent_today} of {sender_cap} this UTC day)",
            )
        )

    send_at = window.next_open(floor)
    limits: list[str] = []
    # A used-up day is named only when it moves the send: on a Saturday the window, not the
    # limit, is why a weekday campaign waits. Each day can move it once, so this ends.
    while send_at is not None:
        blocking = [(end, text) for end, text in used_up if send_at < end]
        if not blocking:
            break
        limits.extend(text for _, text in blocking if text not in limits)
        send_at = window.next_open(max(end for end, _ in blocking))
    if send_at is None:
        return Decision(None, window.describe(floor))
    if limits:
        reason = "; ".join(limits) + f"; next at {when_words(send_at, window.timezone, now)}"
    elif send_at > floor:
        reason = window.describe(floor)
    elif send_at == now:
        reason = "due now"
    elif spaced is not None and floor == spaced > earliest:
        seconds = pace.spacing_seconds + pace.jitter_seconds
        reason = f"{_seconds(seconds)} s after the campaign's last send"
    else:
        reason = f"not due until {when_words(send_at, window.timezone, now)}"
    return Decision(send_at, reason)


class SenderLoad(NamedTuple):
    """One sender account a campaign may use: its sends in the current UTC day, its daily cap
    (None for none), and whether it can send at all (False when paused or failing). A named
    tuple: a forecast asks choose_sender once for each first email it places."""

    sender_id: str
    sent_today: int
    daily_cap: int | None
    usable: bool = True


def choose_sender(candidates: Sequence[SenderLoad]) -> tuple[str | None, str]:
    """The sender for a new thread, and why: the usable sender with room left under its cap
    that has sent the fewest emails today, the earliest in `candidates` on a tie. (None, why)
    when no sender can take it.

    Only new threads are spread: a follow-up stays with the sender of its thread, whose cap
    then goes to next_send.
    """
    if not candidates:
        return None, "the campaign has no sender accounts"
    usable = [candidate for candidate in candidates if candidate.usable]
    with_room = [
        candidate
        for candidate in usable
        if candidate.daily_cap is None or candidate.sent_today < candidate.daily_cap
    ]
    if not with_room:
        unusable = len(candidates) - len(usable)
        if not usable:
            return None, "every sender is paused or failing"
        if not unusable:
            return None, "every sender has reached its daily cap"
        return None, (
            f"no sender can take a new thread ({len(usable)} at the daily cap, "
            f"{unusable} paused or failing)"
        )
    chosen = min(with_room, key=lambda candidate: candidate.sent_today)
    cap = "no cap" if chosen.daily_cap is None else f"cap {chosen.daily_cap}"
    return chosen.sender_id, f"fewest sends today ({chosen.sent_today}, {cap})"


ENDED_BECAUSE = {
    "completed": "the sequence is finished",
    "replied": "they replied",
    "bounced": "their address bounced",
    "unsubscribed": "they unsubscribed",
    "stopped": "stopped",
    "failed": "sending failed",
    "skipped": "skipped",
}
"""Why an enrollment that no longer runs ended, by its status, when it keeps no reason of its
own (a reply marks it replied in the database, without one)."""

WITH_NEXT_RUN = "goes with the worker's next pass"


@dataclass(frozen=True)
class NextSendWords:
    """An enrollment's next email as a person reads it: `when` ("" for none, "due now", or a
    time in the campaign's zone) and `why` it is then."""

    when: str
    why: str


def next_send_words(
    status: str,
    next_send_at: datetime | None,
    now: datetime,
    window: SendWindow,
    zone: ZoneInfo,
    *,
    waiting_reason: str | None = None,
    stop_reason: str | None = None,
    hold: str | None = None,
    due_wait: str | None = None,
    turn: int | None = None,
    per_pass: int = 1,
) -> NextSendWords:
    """What to say of an enrollment's next email.

    An ended enrollment (`status` in ENDED_BECAUSE) has none, and says why it ended. A time is
    never shown in the past: a step due by `now` is "due now", or waits for `window` (the
    contact's) to open, said in the campaign's `zone`. "Goes with the worker's next pass" is
    said only of what that pass will send: a due step held by nothing (`hold`: its sender
    account; `due_wait`: the campaign's state or pace) whose `turn` among the campaign's due
    steps (0 first, None when unknown) is within the `per_pass` steps one pass sends.
    """
    if status in ENDED_BECAUSE:
        return NextSendWords("", f"ended: {stop_reason or ENDED_BECAUSE[status]}")
    if next_send_at is None:
        return NextSendWords("", hold or waiting_reason or "")
    if next_send_at > now:
        return NextSendWords(when_words(next_send_at, zone, now), hold or waiting_reason or "")
    if hold or due_wait:
        return NextSendWords("due now", hold or due_wait or "")
    opens = window.next_open(now)
    if opens is None:
        return NextSendWords("", window.describe(now))
    if opens > now:
        return NextSendWords(
            f"window opens {when_words(opens, zone, now)}", "outside the send window"
        )
    if turn is not None and turn < per_pass:
        return NextSendWords("due now", WITH_NEXT_RUN)
    return NextSendWords("due now", f"after the earlier due emails ({per_pass} go each pass)")
