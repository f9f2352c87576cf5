"""Pacing the sends of one mailbox to a provider's per-minute limit.

Exchange Online lets a mailbox send 30 messages a minute and answers more with 429s; sending at
the limit's edge wastes attempts and risks the mailbox being blocked for the day. A worker
therefore spaces one mailbox's sends so that no 60 seconds hold more than `per_minute` of them,
across all of the worker's connections to that mailbox (they share one SendingPace). Several
worker processes each keep their own pace: the 429 handling (Retry-After honoured, the send
retried) covers the rest.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final

MINUTE: Final = 60.0


class SendingPace:
    """At most `per_minute` sends in any 60 seconds. `reserve` is pure bookkeeping over the
    times it is given; `wait` reads the monotonic clock and sleeps."""

    def __init__(
        self,
        per_minute: int,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("a pace allows at least one send a minute")
        self.per_minute = per_minute
        self._planned: deque[float] = deque()
        self._lock = threading.Lock()
        self._now = now
        self._sleep = sleep

    def reserve(self, at: float) -> float:
        """Books the earliest send time at or after `at` that keeps the limit, and returns how
        long to wait for it. `at` never goes backwards (a monotonic clock)."""
        with self._lock:
            return self._book(at)

    def wait(self) -> None:
        """Blocks until this send may go."""
        with self._lock:
            delay = self._book(self._now())
        if delay > 0:
            self._sleep(delay)

    def _book(self, at: float) -> float:
        while self._planned and self._planned[0] <= at - MINUTE:
            self._planned.popleft()
        start = at
        if len(self._planned) >= self.per_minute:
            start = max(at, self._planned[-self.per_minute] + MINUTE)
        self._planned.append(start)
        return start - at
