"""When claimed work that failed for a passing reason is tried again, when it is given up, and
when a claim is stale: one pure policy for sending, writing drafts, importing and polling.

No clock, no I/O and no randomness of its own: the caller passes `now`, the number of tries
so far, the provider's retry-after when it said one, and a jitter draw in [0, 1) taken from
its own random.Random (so tests choose it).

The rules, for `attempts` tries so far (the first try counts 1):
* the wait is `first_delay_seconds`, doubled after each try, never more than
  `longest_delay_seconds`;
* a retry-after the provider gave replaces that wait, taken as at most
  `longest_retry_after_seconds` (when set) and never below zero;
* jitter adds up to `jitter` of the wait (0.2: up to a fifth), so that work refused together
  does not come back together;
* after `max_attempts` tries the work is given up (None: never);
* a claim older than `lease` is stale: its worker is taken to have stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    lease: timedelta
    """A claim older than this is stale: the worker holding it is taken to have stopped."""
    first_delay_seconds: float = 0.0
    longest_delay_seconds: float = 0.0
    max_attempts: int | None = None
    """Tries after which the work is given up; None never gives up."""
    jitter: float = 0.0
    """At most this share of the wait is added at random."""
    longest_retry_after_seconds: float | None = None
    """A provider's retry-after longer than this is taken as this; None takes it as given."""

    def __post_init__(self) -> None:
        if self.lease < timedelta(0):
            raise ValueError("the lease cannot be negative")
        if not 0 <= self.first_delay_seconds <= self.longest_delay_seconds:
            raise ValueError("the first delay lies between 0 and the longest")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("work is tried at least once")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a share of the wait, between 0 and 1")
        if self.longest_retry_after_seconds is not None and self.longest_retry_after_seconds < 0:
            raise ValueError("the longest retry-after cannot be negative")

    def gives_up(self, attempts: int) -> bool:
        """Whether work tried `attempts` times is given up instead of tried again."""
        return self.max_attempts is not None and attempts >= self.max_attempts

    def delay_seconds(
        self, attempts: int, retry_after: float | None = None, draw: float = 0.0
    ) -> float:
        """Seconds before work tried `attempts` times is tried again: the provider's
        retry-after when it gave one, else the backoff; plus the jitter `draw` (in [0, 1))
        stands for."""
        if retry_after is not None:
            base = max(retry_after, 0.0)
            if self.longest_retry_after_seconds is not None:
                base = min(base, self.longest_retry_after_seconds)
        else:
            doublings = min(max(attempts - 1, 0), 64)  # far past any cap: 2**64 is never reached
            base = min(self.first_delay_seconds * 2**doublings, self.longest_delay_seconds)
        return base * (1 + self.jitter * min(max(draw, 0.0), 1.0))

    def retry_at(
        self, now: datetime, attempts: int, retry_after: float | None = None, draw: float = 0.0
    ) -> datetime | None:
        """When work tried `attempts` times and refused for a passing reason at `now` is tried
        again, or None when it is given up."""
        if self.gives_up(attempts):
            return None
        return now + timedelta(seconds=self.delay_seconds(attempts, retry_after, draw))

    def stale_before(self, now: datetime) -> datetime:
        """Claims made before this are stale at `now`."""
        return now - self.lease
