"""The worker loop waits until the next due moment, not a whole interval: a campaign's
spacing and windows are kept to the second."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

import sqlalchemy as sa

from outreach.campaigns import service as campaigns
from outreach.delivery.models import SentEmail
from outreach.worker.loop import run_until_stopped
from tests.campaign_setup import smtp_sender, three_step_campaign

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def run_until_sent(container, clock, smtp_server, emails):
    """Runs the worker loop, its waits moving the clock instead of sleeping, until `emails`
    have gone (or it waited 50 times). Returns the waits."""
    stop = threading.Event()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(timedelta(seconds=seconds))
        if len(smtp_server.messages) >= emails or len(waits) >= 50:
            stop.set()

    run_until_stopped(container, stop, pretending=True, wait=wait)
    return waits


def sent_at(session):
    session.rollback()
    return sorted(session.scalars(sa.select(SentEmail.sent_at)))


def test_emails_five_seconds_apart_go_five_seconds_apart(
    session, container, clock, tmp_path, smtp_server
):
    clock.advance(MONDAY_9 - clock.now())
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = three_step_campaign(session, clock, tmp_path, [sender], delay_between_emails_seconds=5)
    campaigns.launch(session, found.id, MONDAY_9)
    session.commit()
    waits = run_until_sent(container, clock, smtp_server, 3)
    times = sent_at(session)
    assert times[0] == MONDAY_9
    assert [later - earlier for earlier, later in pairwise(times)] == [timedelta(seconds=5)] * 2
    assert waits[:2] == [5, 5], "then nothing is due before the interval ends"


def test_the_first_email_goes_as_the_window_opens(session, container, clock, tmp_path, smtp_server):
    clock.advance(MONDAY_9 - clock.now())
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = three_step_campaign(
        session, clock, tmp_path, [sender], send_window_start=time(9, 0, 10)
    )
    campaigns.launch(session, found.id, MONDAY_9)
    session.commit()
    run_until_sent(container, clock, smtp_server, 1)
    assert sent_at(session)[0] == MONDAY_9 + timedelta(seconds=10)
