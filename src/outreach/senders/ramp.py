"""How much a new mailbox may send, and how far apart: the pure rules.

A mailbox that starts sending cold email at full volume looks like a spammer's to the receiving
providers; the cold-email vendors ramp a new one up over a few weeks and keep it near 30 emails
a day after. So an account created with a ramp sends `start` emails on its first sending day
(a UTC day on which it sent), `step` more on each next sending day, up to `target`. Days on
which it sent nothing do not count: a mailbox left idle does not grow.

Every account may also keep a minimum gap between two of its sends, stretched by up to half
again at random, so that its emails do not leave at a machine's even beat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

GAP_JITTER: Final = 0.5
"""The gap between two sends is stretched by up to this share of itself, at random."""
DEFAULT_GAP_SECONDS: Final = 60
"""The gap of an account added from the page, the API or the CLI (migrated accounts: 0)."""
MAX_GAP_SECONDS: Final = 24 * 60 * 60


@dataclass(frozen=True)
class Ramp:
    start: int = 10
    step: int = 2
    target: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.start <= self.target:
            raise ValueError("a ramp starts at 1 email a day or more, at most its target")
        if self.step < 1:
            raise ValueError("a ramp grows by at least 1 email a day")

    def cap(self, days_sent: int) -> int:
        """Emails the account may send today, after sending on `days_sent` earlier days."""
        if days_sent < 0:
            raise ValueError("days sent cannot be negative")
        return min(self.target, self.start + self.step * days_sent)

    @property
    def sending_days(self) -> int:
        """Sending days before the target's: the target is the cap from this day (0-based)."""
        return math.ceil((self.target - self.start) / self.step)

    def reaches_target(self, days_sent: int, today: date) -> date:
        """The day the account may first send its target, if it sends on each day from
        `today`: today when it already may."""
        return today + timedelta(days=max(self.sending_days - days_sent, 0))

    def describe(self, days_sent: int, today: date) -> str:
        """Where the account is, as a person reads it: "ramping up: 14 a day today (sending
        day 3), 30 from Sat 12 Dec if it sends every day", or "ramped up to 30 a day"."""
        cap = self.cap(days_sent)
        if cap >= self.target:
            return f"ramped up to {self.target} a day"
        reached = self.reaches_target(days_sent, today)
        return (
            f"ramping up: {cap} a day today (sending day {days_sent + 1}), "
            f"{self.target} from {reached:%a %d %b} if it sends every day"
        )


def send_gap(min_gap_seconds: int, draw: float) -> float:
    """Seconds between two sends of an account: its minimum gap stretched by `draw` (in
    [0, 1)) times GAP_JITTER of itself."""
    if min_gap_seconds < 0:
        raise ValueError("a gap cannot be negative")
    if not 0 <= draw < 1:
        raise ValueError("a draw is in [0, 1)")
    return min_gap_seconds * (1 + GAP_JITTER * draw)
