"""The launch forecast: the schedule's rules played forward (window, days, the campaign's daily
limit, the accounts' caps and ramps, spacing, step delays), each holding for every email placed."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.campaigns.forecast import (
    Rules,
    SenderCapacity,
    Thread,
    forecast,
    placements,
)
from outreach.campaigns.schedule import DAY_NAMES, SendWindow, local_day_bounds
from outreach.senders.ramp import Ramp
from tests.hypothesis_profiles import examples

SOME = settings(
    max_examples=examples(in_ci=300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
WEEKDAYS = list(DAY_NAMES[:5])
UTC_ZONE = ZoneInfo("UTC")
MONDAY_10_UTC = datetime(2026, 12, 7, 10, tzinfo=UTC)


def berlin_weekdays(start: time = time(9), end: time = time(17)) -> SendWindow:
    return SendWindow.from_settings(start, end, WEEKDAYS, "Europe/Berlin")


def test_a_hundred_contacts_at_twenty_a_day_start_over_five_weekdays_and_end_after_the_last_step() -> (
    None
):
    delays = (timedelta(days=3), timedelta(days=7))
    seen = forecast(
        MONDAY_10_UTC,
        [Thread(MONDAY_10_UTC, delays, count=100)],
        Rules(berlin_weekdays(), 20, [SenderCapacity("anna@example.com", 50)], spacing_seconds=60),
    )
    assert seen.first_at == MONDAY_10_UTC
    assert seen.busiest_day == 20
    assert seen.placed == 300
    assert seen.not_placed == 0
    assert seen.by_sender == {"anna@example.com": 300}
    # Twenty first emails a weekday: the hundredth goes on Friday.
    assert seen.all_started_at is not None
    assert seen.all_started_at.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a") == "Fri"
    assert seen.last_at is not None
    assert seen.last_at > seen.all_started_at + timedelta(days=10)


def test_first_emails_wait_for_the_window_to_open() -> None:
    saturday = datetime(2026, 12, 12, 12, tzinfo=UTC)
    seen = forecast(
        saturday, [Thread(saturday)], Rules(berlin_weekdays(), 20, [SenderCapacity("a", None)])
    )
    assert seen.first_at == datetime(2026, 12, 14, 8, tzinfo=UTC)  # Monday 09:00 in Berlin


def test_a_ramping_account_sends_its_start_then_grows_each_sending_day() -> None:
    every_day = SendWindow.from_settings(time(0), time(0), list(DAY_NAMES), "UTC")
    midnight = datetime(2026, 12, 7, tzinfo=UTC)
    sent = [
        placement.at.date()
        for placement in placements(
            midnight,
            [Thread(midnight, count=30)],
            Rules(
                every_day,
                1000,
                [SenderCapacity("new@example.com", None, Ramp(start=5, step=5, target=20))],
            ),
        )
    ]
    assert list(Counter(sent).values()) == [5, 10, 15]


def test_nothing_is_forecast_without_senders_or_send_days_and_it_says_why() -> None:
    none = forecast(
        MONDAY_10_UTC, [Thread(MONDAY_10_UTC, count=3)], Rules(berlin_weekdays(), 20, [])
    )
    assert (none.first_at, none.not_placed) == (None, 3)
    assert none.why_not == "the campaign has no sender accounts"
    no_days = SendWindow.from_settings(time(9), time(17), [], "UTC")
    closed = forecast(
        MONDAY_10_UTC, [Thread(MONDAY_10_UTC)], Rules(no_days, 20, [SenderCapacity("a", None)])
    )
    assert closed.why_not == "the send window has no send days"


def test_a_thread_whose_account_is_paused_is_counted_as_waiting_for_it() -> None:
    seen = forecast(
        MONDAY_10_UTC,
        [Thread(MONDAY_10_UTC, (timedelta(days=2),), sender_id="paused"), Thread(MONDAY_10_UTC)],
        Rules(
            berlin_weekdays(),
            20,
            [SenderCapacity("paused", None, usable=False), SenderCapacity("ok", None)],
        ),
    )
    assert seen.placed == 1
    assert seen.by_sender == {"ok": 1}
    assert seen.why_not == "2 emails wait for a paused or failing sender"


def test_everyone_has_started_only_when_the_last_contact_who_can_has_had_a_first_email() -> None:
    # Five contacts start at twenty a day; one more waits for a paused account with two emails
    # to go. Its emails must not be taken for first emails that went.
    seen = forecast(
        MONDAY_10_UTC,
        [
            Thread(MONDAY_10_UTC, (timedelta(days=2), timedelta(days=2)), sender_id="paused"),
            Thread(MONDAY_10_UTC, count=5),
        ],
        Rules(
            berlin_weekdays(),
            20,
            [SenderCapacity("paused", None, usable=False), SenderCapacity("ok", None)],
            spacing_seconds=600,
        ),
    )
    assert seen.first_at == MONDAY_10_UTC
    assert seen.all_started_at == MONDAY_10_UTC + timedelta(minutes=40)
    assert seen.all_started_at == seen.last_at


windows = st.builds(
    SendWindow.from_settings,
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.lists(st.sampled_from(DAY_NAMES), min_size=1, unique=True),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]),
)
accounts = st.lists(
    st.builds(
        SenderCapacity,
        st.sampled_from(["a", "b", "c"]),
        st.none() | st.integers(1, 8),
        st.none() | st.builds(Ramp, st.integers(1, 3), st.integers(1, 3), st.integers(3, 9)),
        st.integers(0, 5),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda sender: sender.sender_id,
)
threads = st.lists(
    st.builds(
        Thread,
        st.integers(0, 10 * 24 * 60).map(lambda m: MONDAY_10_UTC + timedelta(minutes=m)),
        st.lists(st.integers(0, 96).map(lambda h: timedelta(hours=h)), max_size=3).map(tuple),
        st.none(),
        st.integers(1, 6),
    ),
    min_size=1,
    max_size=5,
)


@SOME
@given(
    now=st.integers(0, 14 * 24 * 60).map(lambda m: MONDAY_10_UTC + timedelta(minutes=m)),
    window=windows,
    daily_limit=st.integers(1, 12),
    senders=accounts,
    threads=threads,
    spacing=st.sampled_from([0, 30, 600, 3600]),
)
def test_every_email_placed_keeps_every_rule_at_once(
    now: datetime,
    window: SendWindow,
    daily_limit: int,
    senders: list[SenderCapacity],
    threads: list[Thread],
    spacing: int,
) -> None:
    placed = list(placements(now, threads, Rules(window, daily_limit, senders, spacing)))
    total = sum(thread.count * (1 + len(thread.follow_ups)) for thread in threads)
    # Every cap is at least 1 and the window opens each week: everything finds a place.
    assert len(placed) == total
    times = [placement.at for placement in placed]
    assert times == sorted(times)
    assert times[0] >= now
    assert all(b - a >= timedelta(seconds=spacing) for a, b in itertools.pairwise(times))
    assert all(window.contains(at) for at in times)
    per_campaign_day = Counter(local_day_bounds(at, window.timezone)[0] for at in times)
    assert max(per_campaign_day.values()) <= daily_limit
    by_name = {sender.sender_id: sender for sender in senders}
    today = local_day_bounds(now, UTC_ZONE)[0]
    per_account_day = Counter((p.sender_id, local_day_bounds(p.at, UTC_ZONE)[0]) for p in placed)
    for (name, day), sent in per_account_day.items():
        account = by_name[name]
        # A ramp grows with each earlier UTC day on which the account sent (today counts when
        # it had sent before `now`).
        earlier_days = {d for (n, d) in per_account_day if n == name and d < day}
        earlier_days |= {today} if account.sent_today and today < day else set()
        cap = account.cap(len(earlier_days))
        assert cap is None or sent + (account.sent_today if day == today else 0) <= cap
    # Each thread: its steps in order, each at least its delay after the one before, from one
    # account, the first no earlier than it was due.
    by_thread = defaultdict(list)
    for index, thread in enumerate(threads):
        assert Counter(p.step for p in placed if p.thread == index) == Counter(
            dict.fromkeys(range(1 + len(thread.follow_ups)), thread.count)
        )
    for placement in placed:
        by_thread[placement.thread].append(placement)
    for index, thread_placed in by_thread.items():
        thread = threads[index]
        assert all(p.at >= thread.due_at for p in thread_placed if p.step == 0)
        for step, delay in enumerate(thread.follow_ups, start=1):
            befores = sorted(p.at for p in thread_placed if p.step == step - 1)
            afters = sorted(p.at for p in thread_placed if p.step == step)
            assert all(
                after - before >= delay for before, after in zip(befores, afters, strict=True)
            )


@SOME
@given(window=windows, daily_limit=st.integers(1, 12), senders=accounts, count=st.integers(1, 40))
def test_more_contacts_never_finish_earlier(
    window: SendWindow, daily_limit: int, senders: list[SenderCapacity], count: int
) -> None:
    def last(contacts: int) -> datetime | None:
        thread = Thread(MONDAY_10_UTC, (timedelta(days=2),), count=contacts)
        return forecast(MONDAY_10_UTC, [thread], Rules(window, daily_limit, senders)).last_at

    fewer, more = last(count), last(count + 1)
    assert fewer is not None
    assert more is not None
    assert more >= fewer
