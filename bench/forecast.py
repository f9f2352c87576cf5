"""What a campaign's forecast costs (campaigns/forecast.py), against the least any forecast that
places each email pays: a priority queue of as many emails.

    .venv/bin/python bench/forecast.py [--runs 5]

Three campaigns shaped as bench/volume.py fills them (two sender accounts, three steps 0, 3
and 4 days apart, a daily limit of 1,000, a window of 09:00-17:00 New York every day, 30 s
between emails):

- `running`: the fill's biggest campaign at 10x, what its Overview plays forward: 14,000
  contacts with a first email due over the next 70 hours and a follow-up to go, from their
  account (28,000 emails);
- `mixed`: the same, and 2,100 contacts more whose first email still chooses its account, with
  two follow-ups (34,300 emails);
- `launch`: the launch confirmation of a list of 100,000 contacts (300,000 emails), accounts
  capped at 600 a day each.

Each is timed `runs` times by CPU time (a loaded machine weighs less on it than on wall time)
and the least is printed, beside the floor measured in the same run: pushing as many
(due, thread) keys onto a heap and popping them all. `ratio forecast_<case>_over_floor` is how
many floors the forecast costs.
"""

from __future__ import annotations

import argparse
import heapq
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from outreach.campaigns.forecast import Rules, SenderCapacity, Thread, forecast
from outreach.campaigns.schedule import SendWindow

NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)
WINDOW = SendWindow(clock(9), clock(17), frozenset(range(7)), ZoneInfo("America/New_York"))
FOLLOW_UPS = (timedelta(days=3), timedelta(days=4))


def running(first_choosers: int = 0) -> tuple[list[Thread], Rules]:
    threads = []
    for hour in range(70):
        due = NOW + timedelta(hours=2 + hour)
        threads += [Thread(due, FOLLOW_UPS[1:], account, 100) for account in ("s1", "s2")]
        if first_choosers:
            threads.append(Thread(due, FOLLOW_UPS, None, first_choosers))
    accounts = [SenderCapacity("s1"), SenderCapacity("s2")]
    return threads, Rules(WINDOW, 1000, accounts, 30.0)


def launch() -> tuple[list[Thread], Rules]:
    accounts = [SenderCapacity("s1", 600), SenderCapacity("s2", 600)]
    return [Thread(NOW, FOLLOW_UPS, None, 100_000)], Rules(WINDOW, 1000, accounts, 30.0)


CASES: dict[str, Callable[[], tuple[list[Thread], Rules]]] = {
    "running": running,
    "mixed": lambda: running(first_choosers=30),
    "launch": launch,
}


def floor(emails: int) -> None:
    """A heap of `emails` keys, filled and emptied: what placing each email in order costs at
    the least."""
    waiting: list[tuple[datetime, int]] = []
    for index in range(emails):
        heapq.heappush(waiting, (NOW + timedelta(seconds=index % 9973), index))
    while waiting:
        heapq.heappop(waiting)


def least_cpu_ms(work: Callable[[], object], runs: int) -> float:
    taken = []
    for _ in range(runs):
        started = time.process_time()
        work()
        taken.append((time.process_time() - started) * 1000)
    return min(taken)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    for name, build in CASES.items():
        threads, rules = build()
        seen = forecast(NOW, threads, rules)
        took = least_cpu_ms(partial(forecast, NOW, threads, rules), runs)
        least = least_cpu_ms(partial(floor, seen.placed), runs)
        print(f"{name}: {seen.placed:,} emails placed, last {seen.last_at:%Y-%m-%d}")
        print(f"  forecast {took:,.0f} ms CPU, floor (a heap of as many) {least:,.0f} ms")
        print(f"ratio forecast_{name}_over_floor: {took / least:.2f}")


if __name__ == "__main__":
    main()
