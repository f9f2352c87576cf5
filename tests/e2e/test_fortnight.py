"""A fortnight of sending across the spring DST change: limits and windows hold."""

from __future__ import annotations

import email
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from email import policy
from email.utils import parsedate_to_datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from outreach.campaigns import service as campaigns
from tests.campaign_setup import smtp_sender, three_step_campaign

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 20, 7, 0, tzinfo=UTC)  # a Friday; clocks go forward on Sunday 29 March


def test_limits_and_windows_hold_for_a_fortnight_across_a_dst_change(
    session, container, clock, tmp_path, smtp_server
):
    clock.advance(START - clock.now())
    people = "email,name,company,City\n" + "".join(
        f"p{n}@example.com,Person {n},Company {n},Town {n}\n" for n in range(30)
    )
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = three_step_campaign(
        session,
        clock,
        tmp_path,
        [sender],
        people=people,
        timezone="Europe/Berlin",
        send_window_start=time(9),
        send_window_end=time(12),
        daily_limit=7,
        delay_between_emails_seconds=900,
        jitter_seconds=60,
    )
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    while clock.now() < START + timedelta(days=14):
        container.sending_pass()
        clock.advance(timedelta(minutes=20))

    sent_at = sorted(
        parsedate_to_datetime(
            email.message_from_bytes(m.data, policy=policy.default)["Date"]
        ).astimezone(BERLIN)
        for m in smtp_server.messages
    )
    per_day = Counter(moment.date() for moment in sent_at)
    assert max(per_day.values()) == 7
    assert all(moment.weekday() < 5 and time(9) <= moment.time() < time(12) for moment in sent_at)
    assert all(later - earlier >= timedelta(seconds=900) for earlier, later in pairwise(sent_at))
    before, after = START.date().replace(day=27), START.date().replace(day=30)
    assert per_day[before] == 7
    assert per_day[after] == 7
