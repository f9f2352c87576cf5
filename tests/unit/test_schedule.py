"""The campaign scheduling rules: due times, send windows across time zones and clock changes,
daily limits, spacing with jitter, sender caps and the choice of sender for a new thread."""

from __future__ import annotations

import functools
import itertools
import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.campaigns.schedule import (
    CampaignPace,
    Decision,
    SenderLoad,
    SendWindow,
    choose_sender,
    local_day_bounds,
    next_send,
    opening_hours,
    step_due_at,
    wall_to_utc,
    zones_matching,
)
from tests.hypothesis_profiles import examples

MANY = settings(
    max_examples=examples(in_ci=1000), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SOME = settings(
    max_examples=examples(in_ci=400), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
UTC_ZONE = ZoneInfo("UTC")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
EVERY_DAY = [*WEEKDAYS, "saturday", "sunday"]
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/St_Johns",
    "UTC",
    "Pacific/Chatham",
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def window(
    start: time = time(9),
    end: time = time(18),
    days: list[str] | None = None,
    zone: str = "UTC",
) -> SendWindow:
    return SendWindow.from_settings(start, end, WEEKDAYS if days is None else days, zone)


def pace(
    daily_limit: int = 50,
    sent_today: int = 0,
    last_sent_at: datetime | None = None,
    spacing_seconds: int = 0,
    jitter_seconds: float = 0.0,
    zone: ZoneInfo = UTC_ZONE,
) -> CampaignPace:
    return CampaignPace(
        daily_limit,
        sent_today,
        last_sent_at,
        spacing_seconds,
        jitter_seconds,
        campaign_timezone=zone,
    )


# --- due times ---------------------------------------------------------------------------------


def test_a_step_is_due_its_days_and_hours_after_the_previous_email() -> None:
    assert step_due_at(utc(2024, 6, 3, 10), 2, 5) == utc(2024, 6, 5, 15)
    assert step_due_at(utc(2024, 6, 3, 10), 0, 0) == utc(2024, 6, 3, 10)


def test_a_due_time_is_given_in_utc_whatever_zone_the_previous_email_was_read_in() -> None:
    previous = datetime(2024, 6, 3, 12, tzinfo=BERLIN)
    due = step_due_at(previous, 1, 0)
    assert due == utc(2024, 6, 4, 10)
    assert due.tzinfo is UTC


def test_a_delay_is_elapsed_time_even_across_a_clock_change() -> None:
    saturday_noon_winter_time = datetime(2024, 3, 30, 12, tzinfo=BERLIN)
    due = step_due_at(saturday_noon_winter_time, 1, 0)
    assert due == datetime(2024, 3, 31, 13, tzinfo=BERLIN)


def test_a_negative_delay_or_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        step_due_at(utc(2024, 6, 3), -1, 0)
    with pytest.raises(ValueError, match="must carry a timezone"):
        step_due_at(datetime(2024, 6, 3), 1, 0)


# --- reading the seed's settings ---------------------------------------------------------------


def test_the_seeds_day_names_are_read_in_any_case() -> None:
    read = SendWindow.from_settings(time(9), time(17), ["Monday", " FRIDAY ", "sunday"], "UTC")
    assert read.days == frozenset({0, 4, 6})
    assert read.timezone is UTC_ZONE


def test_a_zone_name_is_read_in_any_case_and_stored_in_its_proper_spelling() -> None:
    assert window(zone="europe/berlin").timezone is BERLIN


@pytest.mark.parametrize(
    ("days", "zone", "message"),
    [
        (["monday", "funday"], "UTC", "unknown send day 'funday'"),
        (["mon"], "UTC", "unknown send day 'mon'"),
        (WEEKDAYS, "Mars/Olympus_Mons", "unknown timezone 'Mars/Olympus_Mons'"),
        (WEEKDAYS, "localtime", "unknown timezone 'localtime'"),
        (WEEKDAYS, "../etc/passwd", "unknown timezone"),
        (WEEKDAYS, "", "unknown timezone"),
    ],
)
def test_an_unknown_day_or_zone_is_refused_in_plain_words(
    days: list[str], zone: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SendWindow.from_settings(time(9), time(17), days, zone)


def test_one_day_name_given_as_a_string_is_refused() -> None:
    with pytest.raises(ValueError, match="list of day names"):
        SendWindow.from_settings(time(9), time(17), "monday", "UTC")


# --- the send window ---------------------------------------------------------------------------


def test_a_due_time_on_saturday_moves_to_monday_at_the_window_start() -> None:
    saturday = utc(2024, 6, 1, 12)
    assert window().next_open(saturday) == utc(2024, 6, 3, 9)


def test_a_due_time_after_the_window_closes_moves_to_the_next_day_at_the_start() -> None:
    tuesday_evening = utc(2024, 6, 4, 18, 30)
    assert window().next_open(tuesday_evening) == utc(2024, 6, 5, 9)


def test_a_due_time_before_the_window_opens_moves_to_the_start_the_same_day() -> None:
    assert window().next_open(utc(2024, 6, 4, 7, 15)) == utc(2024, 6, 4, 9)


def test_a_due_time_inside_the_window_stays_as_it_is() -> None:
    due = utc(2024, 6, 4, 11, 17, 3)
    assert window().next_open(due) == due


def test_the_window_start_is_inclusive_and_its_end_exclusive() -> None:
    assert window().contains(utc(2024, 6, 4, 9))
    assert window().contains(utc(2024, 6, 4, 17, 59, 59))
    assert not window().contains(utc(2024, 6, 4, 18))
    assert window().next_open(utc(2024, 6, 4, 18)) == utc(2024, 6, 5, 9)


def test_the_window_is_read_on_the_campaigns_clock() -> None:
    berlin = window(zone="Europe/Berlin")
    assert berlin.next_open(utc(2024, 6, 1, 12)) == utc(2024, 6, 3, 7)
    assert berlin.next_open(utc(2024, 1, 6, 12)) == utc(2024, 1, 8, 8)


def test_a_contact_in_tokyo_gets_the_tokyo_window() -> None:
    tokyo = window(zone="Europe/Berlin").for_contact("Asia/Tokyo")
    assert tokyo.timezone is TOKYO
    assert (tokyo.start, tokyo.end, tokyo.days) == (time(9), time(18), frozenset(range(5)))
    monday_noon_in_berlin = utc(2024, 6, 3, 10)
    assert tokyo.next_open(monday_noon_in_berlin) == datetime(2024, 6, 4, 9, tzinfo=TOKYO)


@pytest.mark.parametrize("contact_zone", [None, "", "Mars/Olympus_Mons", "../etc/passwd", "GMT+25"])
def test_a_contact_without_a_valid_zone_keeps_the_campaign_window(contact_zone: str | None) -> None:
    campaign = window(zone="Europe/Berlin")
    assert campaign.for_contact(contact_zone) is campaign


def test_a_window_start_skipped_by_the_spring_forward_opens_when_the_clocks_resume() -> None:
    berlin = window(time(2, 30), time(4), EVERY_DAY, "Europe/Berlin")
    assert berlin.next_open(utc(2024, 3, 30, 23)) == datetime(2024, 3, 31, 3, tzinfo=BERLIN)
    new_york = window(time(2, 30), time(4), EVERY_DAY, "America/New_York")
    assert new_york.next_open(utc(2024, 3, 10, 4)) == datetime(2024, 3, 10, 3, tzinfo=NEW_YORK)


def test_the_spring_forward_day_keeps_its_window_end() -> None:
    berlin = window(time(2, 30), time(4), EVERY_DAY, "Europe/Berlin")
    assert berlin.contains(datetime(2024, 3, 31, 3, 59, tzinfo=BERLIN))
    assert not berlin.contains(datetime(2024, 3, 31, 4, tzinfo=BERLIN))
    assert not berlin.contains(datetime(2024, 3, 31, 1, 59, tzinfo=BERLIN))


def test_a_window_wholly_inside_the_skipped_hour_does_not_open_that_day() -> None:
    inside_the_gap = window(time(2, 10), time(2, 50), EVERY_DAY, "Europe/Berlin")
    opens = inside_the_gap.next_open(utc(2024, 3, 30, 23))
    assert opens == datetime(2024, 4, 1, 2, 10, tzinfo=BERLIN)


def test_a_window_start_that_happens_twice_on_the_fall_back_day_opens_at_the_first() -> None:
    berlin = window(time(2, 30), time(2, 45), EVERY_DAY, "Europe/Berlin")
    summer_time_reading = utc(2024, 10, 27, 0, 30)
    assert berlin.next_open(utc(2024, 10, 26, 23)) == summer_time_reading
    new_york = window(time(1, 30), time(1, 45), EVERY_DAY, "America/New_York")
    assert new_york.next_open(utc(2024, 11, 3, 4)) == utc(2024, 11, 3, 5, 30)


def test_the_second_reading_of_a_repeated_hour_is_outside_a_window_in_that_hour() -> None:
    berlin = window(time(2, 30), time(2, 45), EVERY_DAY, "Europe/Berlin")
    second_reading = datetime(2024, 10, 27, 2, 35, fold=1, tzinfo=BERLIN)
    assert not berlin.contains(second_reading)
    assert berlin.next_open(second_reading) == datetime(2024, 10, 28, 2, 30, tzinfo=BERLIN)


def test_a_window_spanning_the_repeated_hour_is_open_for_both_readings() -> None:
    new_york = window(time(1), time(2), EVERY_DAY, "America/New_York")
    assert new_york.contains(utc(2024, 11, 3, 5, 30))
    assert new_york.contains(utc(2024, 11, 3, 6, 30))
    assert not new_york.contains(utc(2024, 11, 3, 7))


def test_a_nine_oclock_window_follows_summer_time() -> None:
    berlin = window(zone="Europe/Berlin")
    assert berlin.next_open(utc(2024, 3, 29, 18)) == utc(2024, 4, 1, 7)
    assert berlin.next_open(utc(2024, 3, 22, 18)) == utc(2024, 3, 25, 8)
    new_york = window(zone="America/New_York")
    assert new_york.next_open(utc(2024, 11, 1, 23)) == utc(2024, 11, 4, 14)


def test_an_overnight_window_belongs_to_the_day_on_which_it_opens() -> None:
    friday_night = window(time(22), time(6), ["friday"])
    assert friday_night.contains(utc(2024, 6, 7, 22))
    assert friday_night.contains(utc(2024, 6, 8, 5, 59))
    assert not friday_night.contains(utc(2024, 6, 8, 6))
    assert not friday_night.contains(utc(2024, 6, 7, 5))
    assert not friday_night.contains(utc(2024, 6, 8, 23))
    assert friday_night.next_open(utc(2024, 6, 8, 7)) == utc(2024, 6, 14, 22)


def test_an_overnight_window_runs_through_the_fall_back_night() -> None:
    overnight = window(time(22), time(2, 30), EVERY_DAY, "America/New_York")
    assert overnight.contains(datetime(2024, 11, 3, 1, 15, tzinfo=NEW_YORK))
    assert overnight.contains(datetime(2024, 11, 3, 1, 15, fold=1, tzinfo=NEW_YORK))
    assert not overnight.contains(datetime(2024, 11, 3, 2, 30, tzinfo=NEW_YORK))


def test_equal_start_and_end_mean_the_whole_send_day() -> None:
    all_day = window(time(0), time(0))
    assert all_day.contains(utc(2024, 6, 3, 0))
    assert all_day.contains(utc(2024, 6, 7, 23, 59, 59))
    assert not all_day.contains(utc(2024, 6, 8, 0))
    assert all_day.next_open(utc(2024, 6, 8, 12)) == utc(2024, 6, 10)


def test_a_window_reads_as_its_hours_and_equal_start_and_end_as_a_whole_day() -> None:
    assert opening_hours(time(9), time(17, 30)) == "09:00-17:30"
    assert opening_hours(time(22), time(6)) == "22:00-06:00"
    assert opening_hours(time(0), time(0)) == "all day"
    assert opening_hours(time(9), time(9)) == "24 hours from 09:00"


def test_a_window_without_send_days_never_opens() -> None:
    closed = window(days=[])
    assert not closed.contains(utc(2024, 6, 4, 12))
    assert closed.next_open(utc(2024, 6, 4, 12)) is None
    assert closed.describe(utc(2024, 6, 4, 12)) == "the send window has no send days"
    assert next_send(utc(2024, 6, 4, 12), utc(2024, 6, 4, 12), closed, pace()) == Decision(
        None, "the send window has no send days"
    )


def test_describe_says_how_long_an_email_waits_for_the_window() -> None:
    berlin = window(zone="Europe/Berlin")
    saturday = utc(2024, 6, 1, 12)
    assert berlin.describe(saturday) == "outside the send window until Mon 09:00 Europe/Berlin"
    assert window().describe(utc(2024, 6, 7, 12)) == "inside the send window until Fri 18:00 UTC"


def test_describe_adds_the_date_when_the_weekday_alone_could_mean_this_week() -> None:
    mondays = window(days=["monday"])
    after_mondays_window = utc(2024, 6, 3, 19)
    assert mondays.describe(after_mondays_window) == (
        "outside the send window until Mon 2024-06-10 09:00 UTC"
    )


def test_describe_shows_seconds_only_when_there_are_some() -> None:
    odd_start = window(time(9, 0, 30))
    assert (
        odd_start.describe(utc(2024, 6, 3, 8)) == "outside the send window until Mon 09:00:30 UTC"
    )


# --- next_send -----------------------------------------------------------------------------------


def test_an_email_due_inside_the_window_goes_now() -> None:
    now = utc(2024, 6, 4, 10)
    assert next_send(now - timedelta(days=2), now, window(), pace()) == Decision(now, "due now")


def test_an_email_due_later_waits_for_its_due_time() -> None:
    now = utc(2024, 6, 4, 10)
    decision = next_send(utc(2024, 6, 5, 10, 30), now, window(), pace())
    assert decision == Decision(utc(2024, 6, 5, 10, 30), "not due until Wed 10:30 UTC")


def test_an_email_due_outside_the_window_says_when_the_window_opens() -> None:
    saturday = utc(2024, 6, 1, 12)
    decision = next_send(saturday, saturday, window(zone="Europe/Berlin"), pace(zone=BERLIN))
    assert decision == Decision(
        utc(2024, 6, 3, 7), "outside the send window until Mon 09:00 Europe/Berlin"
    )


def test_a_full_daily_limit_moves_the_send_to_the_next_open_day() -> None:
    monday = utc(2024, 6, 3, 10)
    decision = next_send(monday, monday, window(), pace(50, 50))
    assert decision == Decision(
        utc(2024, 6, 4, 9), "daily limit reached (50 of 50 today); next at Tue 09:00 UTC"
    )
    friday = utc(2024, 6, 7, 10)
    assert next_send(friday, friday, window(), pace(50, 50)).send_at == utc(2024, 6, 10, 9)


def test_a_full_daily_limit_is_not_the_reason_on_a_day_the_window_is_closed_anyway() -> None:
    saturday = utc(2024, 6, 1, 12)
    decision = next_send(saturday, saturday, window(), pace(50, 50))
    assert decision == Decision(utc(2024, 6, 3, 9), "outside the send window until Mon 09:00 UTC")


def test_a_full_daily_limit_does_not_hold_an_email_due_on_a_later_day() -> None:
    monday = utc(2024, 6, 3, 10)
    wednesday = utc(2024, 6, 5, 11)
    decision = next_send(wednesday, monday, window(), pace(50, 50))
    assert decision == Decision(wednesday, "not due until Wed 11:00 UTC")


def test_the_daily_limit_counts_on_the_campaigns_day_not_the_contacts() -> None:
    tokyo = window(zone="America/New_York").for_contact("Asia/Tokyo")
    monday_noon_in_tokyo = datetime(2024, 6, 3, 12, tzinfo=TOKYO)  # Sunday 23:00 in New York
    decision = next_send(
        monday_noon_in_tokyo, monday_noon_in_tokyo, tokyo, pace(30, 30, zone=NEW_YORK)
    )
    new_yorks_monday = datetime(2024, 6, 3, tzinfo=NEW_YORK)
    assert decision.send_at == new_yorks_monday
    assert decision.reason == "daily limit reached (30 of 30 today); next at Mon 13:00 Asia/Tokyo"


def test_spacing_holds_the_send_until_the_gap_after_the_campaigns_last_send() -> None:
    now = utc(2024, 6, 4, 10)
    decision = next_send(
        now, now, window(), pace(last_sent_at=now - timedelta(seconds=78), spacing_seconds=120)
    )
    assert decision == Decision(now + timedelta(seconds=42), "120 s after the campaign's last send")


def test_jitter_is_added_to_the_spacing() -> None:
    now = utc(2024, 6, 4, 10)
    last = now - timedelta(seconds=30)
    decision = next_send(
        now, now, window(), pace(last_sent_at=last, spacing_seconds=120, jitter_seconds=7.25)
    )
    assert decision == Decision(
        last + timedelta(seconds=127.25), "127.2 s after the campaign's last send"
    )


def test_spacing_is_elapsed_time_when_the_last_send_is_given_in_local_time() -> None:
    all_day_in_berlin = window(time(0), time(0), EVERY_DAY, "Europe/Berlin")
    last_summer_minute = datetime(2024, 10, 27, 2, 59, tzinfo=BERLIN)  # clocks go back at 03:00
    now = utc(2024, 10, 27, 1)
    decision = next_send(
        now, now, all_day_in_berlin, pace(last_sent_at=last_summer_minute, spacing_seconds=120)
    )
    assert decision.send_at == utc(2024, 10, 27, 1, 1)  # 02:01 winter time, not 03:01


def test_spacing_already_served_does_not_hold_the_send() -> None:
    now = utc(2024, 6, 4, 10)
    decision = next_send(
        now, now, window(), pace(last_sent_at=now - timedelta(hours=1), spacing_seconds=120)
    )
    assert decision == Decision(now, "due now")


def test_spacing_that_runs_past_the_window_end_waits_for_the_next_opening() -> None:
    now = utc(2024, 6, 4, 17, 59)
    decision = next_send(now, now, window(), pace(last_sent_at=now, spacing_seconds=120))
    assert decision.send_at == utc(2024, 6, 5, 9)
    assert decision.reason == "outside the send window until Wed 09:00 UTC"


def test_a_sender_at_its_cap_waits_for_the_next_utc_day() -> None:
    all_day_in_berlin = window(time(0), time(0), EVERY_DAY, "Europe/Berlin")
    late_monday = utc(2024, 6, 3, 21, 30)  # 23:30 in Berlin
    decision = next_send(late_monday, late_monday, all_day_in_berlin, pace(zone=BERLIN), 20, 20)
    assert decision.send_at == utc(2024, 6, 4)
    assert decision.reason == (
        "sender's daily cap reached (20 of 20 this UTC day); next at Tue 02:00 Europe/Berlin"
    )


def test_a_full_campaign_limit_waits_for_the_campaigns_midnight_instead() -> None:
    all_day_in_berlin = window(time(0), time(0), EVERY_DAY, "Europe/Berlin")
    late_monday = utc(2024, 6, 3, 21, 30)
    decision = next_send(late_monday, late_monday, all_day_in_berlin, pace(40, 40, zone=BERLIN))
    assert decision.send_at == utc(2024, 6, 3, 22)


def test_both_limits_are_named_when_both_hold_the_send() -> None:
    all_day_in_berlin = window(time(0), time(0), EVERY_DAY, "Europe/Berlin")
    late_monday = utc(2024, 6, 3, 21, 30)
    decision = next_send(
        late_monday, late_monday, all_day_in_berlin, pace(40, 40, zone=BERLIN), 20, 25
    )
    assert decision == Decision(
        utc(2024, 6, 4),
        "daily limit reached (40 of 40 today); sender's daily cap reached (25 of 20 this UTC day);"
        " next at Tue 02:00 Europe/Berlin",
    )


def test_a_sender_without_a_cap_never_holds_the_send() -> None:
    now = utc(2024, 6, 4, 10)
    assert next_send(now, now, window(), pace(), None, 10_000).send_at == now


def test_a_zero_limit_or_cap_cannot_schedule_at_all() -> None:
    now = utc(2024, 6, 4, 10)
    assert next_send(now, now, window(), pace(0)) == Decision(
        None, "the campaign's daily limit is 0"
    )
    assert next_send(now, now, window(), pace(), 0) == Decision(None, "the sender's daily cap is 0")


def test_pace_refuses_negative_numbers_and_naive_times() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        pace(sent_today=-1)
    with pytest.raises(ValueError, match="jitter"):
        pace(jitter_seconds=-0.5)
    with pytest.raises(ValueError, match="jitter"):
        pace(jitter_seconds=float("nan"))
    with pytest.raises(ValueError, match="must carry a timezone"):
        pace(last_sent_at=datetime(2024, 6, 4, 10))
    with pytest.raises(ValueError, match="cannot be negative"):
        next_send(utc(2024, 6, 4), utc(2024, 6, 4), window(), pace(), -1)


def test_the_campaign_day_starts_at_the_first_midnight_of_a_night_read_twice() -> None:
    st_johns = ZoneInfo("America/St_Johns")
    # In 2010 Newfoundland went back from 00:01 to 23:01, so 23:01-00:01 happened twice.
    second_reading_of_saturday = datetime(2010, 11, 6, 23, 30, fold=1, tzinfo=st_johns)
    start, end = local_day_bounds(second_reading_of_saturday, st_johns)
    first_midnight = datetime(2010, 11, 7, tzinfo=st_johns).astimezone(UTC)
    assert (start, end) == (first_midnight, datetime(2010, 11, 8, tzinfo=st_johns))
    assert second_reading_of_saturday > first_midnight


# --- choosing a sender ---------------------------------------------------------------------------


def test_a_new_thread_goes_to_the_sender_with_the_fewest_sends_today() -> None:
    chosen = choose_sender(
        [SenderLoad("ada", 12, 40), SenderLoad("bob", 4, 40), SenderLoad("cy", 9, None)]
    )
    assert chosen == ("bob", "fewest sends today (4, cap 40)")


def test_a_tie_goes_to_the_sender_listed_first() -> None:
    assert choose_sender([SenderLoad("ada", 3, None), SenderLoad("bob", 3, 10)])[0] == "ada"
    assert choose_sender([SenderLoad("bob", 3, 10), SenderLoad("ada", 3, None)])[0] == "bob"


def test_paused_and_full_senders_are_passed_over() -> None:
    chosen = choose_sender(
        [
            SenderLoad("ada", 0, 10, usable=False),
            SenderLoad("bob", 10, 10),
            SenderLoad("cy", 30, 50),
        ]
    )
    assert chosen == ("cy", "fewest sends today (30, cap 50)")


@pytest.mark.parametrize(
    ("candidates", "reason"),
    [
        ([], "the campaign has no sender accounts"),
        ([SenderLoad("ada", 0, 10, usable=False)], "every sender is paused or failing"),
        (
            [SenderLoad("ada", 10, 10), SenderLoad("bob", 0, 0)],
            "every sender has reached its daily cap",
        ),
        (
            [SenderLoad("ada", 10, 10), SenderLoad("bob", 0, 5, usable=False)],
            "no sender can take a new thread (1 at the daily cap, 1 paused or failing)",
        ),
    ],
)
def test_no_sender_is_chosen_when_none_can_send_and_the_reason_says_why(
    candidates: list[SenderLoad], reason: str
) -> None:
    assert choose_sender(candidates) == (None, reason)


def test_a_day_of_new_threads_is_spread_evenly_until_the_caps_run_out() -> None:
    sent = Counter[str]()
    caps = {"ada": 10, "bob": 4, "cy": None}
    for _ in range(30):
        loads = [SenderLoad(name, sent[name], cap) for name, cap in caps.items()]
        chosen, _reason = choose_sender(loads)
        assert chosen is not None
        sent[chosen] += 1
    assert sent == {"ada": 10, "bob": 4, "cy": 16}


sender_loads = st.lists(
    st.builds(
        SenderLoad,
        sender_id=st.sampled_from(["ada", "bob", "cy", "dee", "eve"]),
        sent_today=st.integers(0, 60),
        daily_cap=st.none() | st.integers(0, 60),
        usable=st.booleans(),
    ),
    max_size=6,
)


@SOME
@given(sender_loads)
def test_the_chosen_sender_can_send_and_none_that_can_has_sent_less(
    candidates: list[SenderLoad],
) -> None:
    chosen, reason = choose_sender(candidates)
    able = [
        c for c in candidates if c.usable and (c.daily_cap is None or c.sent_today < c.daily_cap)
    ]
    assert reason
    if not able:
        assert chosen is None
        return
    fewest = min(c.sent_today for c in able)
    first_with_fewest = next(c for c in able if c.sent_today == fewest)
    assert chosen == first_with_fewest.sender_id


# --- properties over random windows, zones and instants ----------------------------------------


@functools.cache
def clock_changes(zone_key: str, year: int) -> tuple[datetime, ...]:
    """The instants in `year` at which `zone` changes its UTC offset, found from offsets alone."""
    zone = ZoneInfo(zone_key)
    found = []
    noon = utc(year, 1, 1, 12)
    previous = noon.astimezone(zone).utcoffset()
    for day in range(1, 367):
        probe = noon + timedelta(days=day)
        offset = probe.astimezone(zone).utcoffset()
        if offset == previous:
            continue
        before, after = int(probe.timestamp()) - 86_400, int(probe.timestamp())
        while after - before > 1:
            middle = (before + after) // 2
            if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
                after = middle
            else:
                before = middle
        found.append(datetime.fromtimestamp(after, UTC))
        previous = offset
    return tuple(found)


def minutes_to_time(minutes: int) -> time:
    return time(minutes // 60 % 24, minutes % 60)


@st.composite
def windows_and_instants(draw: st.DrawFn) -> tuple[SendWindow, datetime]:
    """A window and an instant, half of them close to a clock change, on a window that sends on
    the day of the change and whose start or end is near the wall-clock time of the change."""
    zone_key = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(zone_key)
    year = draw(st.integers(2000, 2039))
    changes = clock_changes(zone_key, year)
    minute_of_day = st.integers(0, 1439)
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    near_a_change = bool(changes) and draw(st.booleans())
    if near_a_change:
        change = draw(st.sampled_from(changes))
        minutes_away = st.integers(-180, 180) | st.integers(-3 * 1440, 3 * 1440)
        at = change + timedelta(minutes=draw(minutes_away))
        wall = change.astimezone(zone)
        near_change = st.integers(-90, 90).map(lambda m: wall.hour * 60 + wall.minute + m)
        start, end = draw(near_change | minute_of_day), draw(near_change | minute_of_day)
        days |= {wall.weekday()}
    else:
        at = utc(year, 1, 1) + timedelta(minutes=draw(st.integers(0, 365 * 1440)))
        start, end = draw(minute_of_day), draw(minute_of_day)
    at += timedelta(seconds=draw(st.integers(0, 59)))
    return SendWindow(minutes_to_time(start), minutes_to_time(end), days, zone), at


def wall_clock_reading(send_window: SendWindow, at: datetime) -> bool | None:
    """Whether the window is open at `at` by reading the local clock and calendar, or None when
    the local time happens twice and the clock alone cannot say which reading `at` is."""
    zone = send_window.timezone
    local = at.astimezone(zone)
    naive = local.replace(tzinfo=None)
    if (
        naive.replace(tzinfo=zone, fold=0).utcoffset()
        != naive.replace(tzinfo=zone, fold=1).utcoffset()
    ):
        return None
    clock, weekday = local.time(), local.weekday()
    if send_window.start < send_window.end:
        return weekday in send_window.days and send_window.start <= clock < send_window.end
    opened_today = weekday in send_window.days and clock >= send_window.start
    opened_yesterday = (weekday - 1) % 7 in send_window.days and clock < send_window.end
    return opened_today or opened_yesterday


def possible_openings(send_window: SendWindow, since: datetime, until: datetime) -> set[datetime]:
    """A superset of the instants in (since, until) at which the window can open: both readings
    of each day's start time, and every clock change (where a skipped start time opens)."""
    zone = send_window.timezone
    found = set()
    day = since.astimezone(zone).date() - timedelta(days=3)
    while day <= until.astimezone(zone).date() + timedelta(days=1):
        naive = datetime.combine(day, send_window.start)
        found |= {naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
        day += timedelta(days=1)
    for year in range(since.year, until.year + 1):
        found.update(clock_changes(zone.key, year))
    return {instant for instant in found if since < instant < until}


@MANY
@given(windows_and_instants())
def test_contains_agrees_with_the_local_clock_and_calendar(
    case: tuple[SendWindow, datetime],
) -> None:
    send_window, at = case
    expected = wall_clock_reading(send_window, at)
    if expected is not None:
        assert send_window.contains(at) == expected


@MANY
@given(windows_and_instants())
def test_the_next_opening_is_inside_the_window_and_not_before_the_instant_asked_about(
    case: tuple[SendWindow, datetime],
) -> None:
    send_window, at = case
    opens = send_window.next_open(at)
    assert opens is not None
    assert opens >= at
    assert opens.tzinfo is UTC
    assert send_window.contains(opens)
    assert (opens == at) == send_window.contains(at)


@MANY
@given(windows_and_instants())
def test_a_window_opens_at_the_first_reading_of_its_start_or_where_the_clocks_skip_it(
    case: tuple[SendWindow, datetime],
) -> None:
    send_window, at = case
    opens = send_window.next_open(at)
    assert opens is not None
    if opens == at:
        return
    zone = send_window.timezone
    local = opens.astimezone(zone)
    first_reading = datetime.combine(local.date(), send_window.start).replace(tzinfo=zone)
    clocks_skipped_the_start = opens in clock_changes(zone.key, opens.year)
    assert first_reading.astimezone(UTC) == opens or clocks_skipped_the_start


@SOME
@given(windows_and_instants(), st.sampled_from([*ZONES, "Asia/Tokyo"]))
def test_the_answers_do_not_depend_on_the_zone_an_instant_is_given_in(
    case: tuple[SendWindow, datetime], zone_key: str
) -> None:
    send_window, at = case
    elsewhere = at.astimezone(ZoneInfo(zone_key))
    assert send_window.contains(elsewhere) == send_window.contains(at)
    assert send_window.next_open(elsewhere) == send_window.next_open(at)
    assert send_window.describe(elsewhere) == send_window.describe(at)
    campaign_pace = pace(40, 40, last_sent_at=elsewhere, spacing_seconds=90)
    assert next_send(elsewhere, elsewhere, send_window, campaign_pace) == next_send(
        at, at, send_window, pace(40, 40, last_sent_at=at, spacing_seconds=90)
    )


@MANY
@given(windows_and_instants())
def test_nothing_between_the_instant_asked_about_and_the_next_opening_is_inside_the_window(
    case: tuple[SendWindow, datetime],
) -> None:
    send_window, at = case
    opens = send_window.next_open(at)
    assert opens is not None
    if opens == at:
        return
    assert not send_window.contains(at)
    for instant in possible_openings(send_window, at, opens):
        assert not send_window.contains(instant), instant


@st.composite
def scheduling_cases(
    draw: st.DrawFn,
) -> tuple[datetime, datetime, SendWindow, CampaignPace, int | None, int]:
    send_window, now = draw(windows_and_instants())
    due = now + timedelta(minutes=draw(st.integers(-14 * 1440, 14 * 1440)))
    last_sent_at = draw(
        st.none() | st.integers(0, 4 * 3600).map(lambda s: now - timedelta(seconds=s))
    )
    campaign_pace = CampaignPace(
        daily_limit=draw(st.integers(1, 100)),
        sent_today=draw(st.integers(0, 120)),
        last_sent_at=last_sent_at,
        spacing_seconds=draw(st.integers(0, 3600)),
        jitter_seconds=draw(st.floats(0, 600, allow_nan=False)),
        campaign_timezone=draw(st.sampled_from([send_window.timezone, *map(ZoneInfo, ZONES)])),
    )
    sender_cap = draw(st.none() | st.integers(1, 50))
    sender_sent_today = draw(st.integers(0, 60))
    return due, now, send_window, campaign_pace, sender_cap, sender_sent_today


Case = tuple[datetime, datetime, SendWindow, CampaignPace, int | None, int]


@SOME
@given(scheduling_cases())
def test_a_decided_send_is_inside_the_window_after_due_and_now_and_spaced(case: Case) -> None:
    due, now, send_window, campaign_pace, _sender_cap, _sender_sent_today = case
    send_at = next_send(*case).send_at
    assert send_at is not None
    assert send_at >= max(due, now)
    assert send_window.contains(send_at)
    if campaign_pace.last_sent_at is not None:
        spacing = campaign_pace.spacing_seconds + campaign_pace.jitter_seconds
        assert send_at >= campaign_pace.last_sent_at + timedelta(seconds=spacing)


@SOME
@given(scheduling_cases())
def test_a_used_up_day_sends_nothing_more(case: Case) -> None:
    _due, now, _window, campaign_pace, sender_cap, sender_sent_today = case
    send_at = next_send(*case).send_at
    assert send_at is not None
    if campaign_pace.sent_today >= campaign_pace.daily_limit:
        _, campaign_day_end = local_day_bounds(now, campaign_pace.campaign_timezone)
        assert send_at >= campaign_day_end
    if sender_cap is not None and sender_sent_today >= sender_cap:
        assert send_at.date() > now.astimezone(UTC).date()


@SOME
@given(scheduling_cases())
def test_asking_again_with_the_decided_time_as_due_gives_the_same_time(case: Case) -> None:
    _due, now, send_window, campaign_pace, sender_cap, sender_sent_today = case
    send_at = next_send(*case).send_at
    assert send_at is not None
    again = next_send(send_at, now, send_window, campaign_pace, sender_cap, sender_sent_today)
    assert again.send_at == send_at


@SOME
@given(scheduling_cases(), st.integers(1, 5 * 1440))
def test_a_later_due_time_never_sends_earlier(case: Case, later_by: int) -> None:
    due, now, send_window, campaign_pace, sender_cap, sender_sent_today = case
    sooner = next_send(*case).send_at
    later = next_send(
        due + timedelta(minutes=later_by),
        now,
        send_window,
        campaign_pace,
        sender_cap,
        sender_sent_today,
    ).send_at
    assert sooner is not None
    assert later is not None
    assert later >= sooner


# --- a simulated fortnight ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("send_window", "first_day", "daily_limit", "spacing", "sender_cap"),
    [
        pytest.param(
            window(zone="Europe/Berlin"),
            date(2024, 3, 25),
            40,
            120,
            45,
            id="berlin-weekdays-spring",
        ),
        pytest.param(
            window(time(1, 30), time(3, 30), EVERY_DAY, "Europe/Berlin"),
            date(2024, 3, 25),
            25,
            180,
            None,
            id="berlin-nights-across-the-skipped-hour",
        ),
        pytest.param(
            window(time(22), time(2, 30), EVERY_DAY, "America/New_York"),
            date(2024, 10, 28),
            30,
            300,
            28,
            id="new-york-overnight-fall-back",
        ),
    ],
)
def test_a_fortnight_of_sends_keeps_every_rule(
    send_window: SendWindow, first_day: date, daily_limit: int, spacing: int, sender_cap: int | None
) -> None:
    rng = random.Random(f"{send_window}{first_day}")
    zone = send_window.timezone
    start = wall_to_utc(first_day, time(0), zone)
    dues = sorted(start + timedelta(seconds=rng.uniform(0, 14 * 86_400)) for _ in range(500))
    campaign_days = Counter[datetime]()
    sender_days = Counter[date]()
    sends: list[tuple[datetime, datetime, float]] = []
    clock, last = start, None
    for due in dues:
        jitter = rng.uniform(0, 60)
        campaign_day, _ = local_day_bounds(clock, zone)
        campaign_pace = CampaignPace(
            daily_limit, campaign_days[campaign_day], last, spacing, jitter, campaign_timezone=zone
        )
        decision = next_send(
            due, clock, send_window, campaign_pace, sender_cap, sender_days[clock.date()]
        )
        assert decision.send_at is not None, decision.reason
        sends.append((due, decision.send_at, jitter))
        clock = last = decision.send_at
        campaign_days[local_day_bounds(clock, zone)[0]] += 1
        sender_days[clock.date()] += 1

    assert len(sends) == 500
    assert max(campaign_days.values()) <= daily_limit
    assert sender_cap is None or max(sender_days.values()) <= sender_cap
    limits_reached = daily_limit in campaign_days.values() or sender_cap in sender_days.values()
    assert limits_reached, "the fortnight should be busy enough to use up some days"
    for due, send_at, _ in sends:
        assert send_window.contains(send_at)
        assert send_at >= due
    for (_, earlier, _), (_, later, jitter) in itertools.pairwise(sends):
        assert later >= earlier + timedelta(seconds=spacing + jitter)


def test_a_zone_is_found_by_its_place_in_any_case_with_spaces_for_underscores() -> None:
    assert zones_matching("Berlin") == ["Europe/Berlin"]
    assert zones_matching("new york") == ["America/New_York"]
    assert zones_matching("  ") == []
    assert zones_matching("Mars") == []
    # A place that starts with the text comes before one that only holds it.
    assert zones_matching("kol")[0] == "Asia/Kolkata"
