"""Sender health: an account's week of sends, bounces and replies, and the account paused when
too many of its emails bounce, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from outreach.analytics import senders as sender_weeks
from outreach.campaigns import service as campaigns
from outreach.delivery import queries as delivery_queries
from outreach.delivery.models import Delivery, SentEmail
from outreach.senders import health
from outreach.senders.models import SenderAccount
from outreach.senders.states import SenderState
from outreach.worker.jobs import check_senders
from tests.campaign_setup import smtp_sender, three_step_campaign

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = health.BouncePolicy(rate=0.05, minimum_sends=50)


def pause_bouncing(session, now: datetime) -> list[str]:
    """What the worker's bounce check does, in the test's session."""
    return health.pause_bouncing(session, sender_weeks.bouncing(session, now), now, POLICY)


def people(count: int) -> str:
    rows = [f"person{n}@example.org,Person {n},Firm {n},Town" for n in range(count)]
    return "email,name,company,City\n" + "\n".join(rows) + "\n"


def send_first_step(session, container, clock, tmp_path, server, count: int) -> SenderAccount:
    clock.advance(MONDAY_9 - clock.now())
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), server.port)
    found = three_step_campaign(
        session, clock, tmp_path, [sender], people=people(count), daily_limit=1000
    )
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    container.sending_pass()
    session.expire_all()
    return session.get(SenderAccount, sender)


@pytest.mark.parametrize(("refused", "paused"), [(4, True), (3, False)])
def test_an_account_whose_emails_bounce_too_often_is_paused_and_says_why(
    session, container, clock, tmp_path, make_smtp_server, refused, paused
):
    server = make_smtp_server(reject_recipients=[f"person{n}@example.org" for n in range(refused)])
    account = send_first_step(session, container, clock, tmp_path, server, 60)

    week = sender_weeks.of_senders(session, clock.now())[account.id]
    assert (week.sent, week.hard_bounces) == (60, refused)
    report = check_senders(container)
    session.expire_all()
    if paused:
        assert report.summary == "1 paused"
        assert account.state == SenderState.paused
        assert account.last_error == (
            "paused: 4 of its last 60 emails bounced (6.7%, over the 5% allowed in 7 days); "
            "clean the list, then resume"
        )
    else:
        assert report.summary == "0 paused"
        assert account.state == SenderState.ok


def test_a_few_bounces_among_the_first_sends_do_not_pause_an_account(
    session, container, clock, tmp_path, make_smtp_server
):
    server = make_smtp_server(reject_recipients=["person0@example.org", "person1@example.org"])
    account = send_first_step(session, container, clock, tmp_path, server, 10)
    assert pause_bouncing(session, clock.now()) == []
    assert sender_weeks.of_senders(session, clock.now())[account.id].bounce_rate == 0.2


def test_bounces_older_than_a_week_no_longer_count(
    session, container, clock, tmp_path, make_smtp_server
):
    server = make_smtp_server(reject_recipients=[f"person{n}@example.org" for n in range(5)])
    account = send_first_step(session, container, clock, tmp_path, server, 60)
    clock.advance(timedelta(days=7, minutes=1))
    assert pause_bouncing(session, clock.now()) == []
    assert sender_weeks.of_senders(session, clock.now())[account.id] == health.SenderHealth()


def test_a_bounce_read_from_the_mailbox_counts_and_marks_the_sent_email(
    session, container, clock, tmp_path, make_smtp_server
):
    account = send_first_step(session, container, clock, tmp_path, make_smtp_server(), 60)
    sent = session.scalars(sa.select(Delivery).order_by(Delivery.id).limit(4)).all()
    for delivery in sent:
        delivery_queries.mark_bounced(session, delivery.id, delivery.sent_email_id, clock.now())
    session.commit()
    statuses = session.scalars(
        sa.select(SentEmail.status).where(SentEmail.id.in_([d.sent_email_id for d in sent]))
    ).all()
    assert statuses == ["bounced"] * 4
    assert len(pause_bouncing(session, clock.now())) == 1
    assert session.get(SenderAccount, account.id).state == SenderState.paused


def test_a_week_counts_what_went_out_and_what_was_refused_at_once_but_not_what_failed_otherwise(
    session, container, clock, tmp_path, make_smtp_server
):
    server = make_smtp_server(reject_recipients=["person0@example.org", "person1@example.org"])
    account = send_first_step(session, container, clock, tmp_path, server, 10)
    kept = session.scalars(
        sa.select(Delivery.id).where(Delivery.bounced_at.is_(None)).order_by(Delivery.id).limit(2)
    ).all()
    session.execute(sa.update(Delivery).where(Delivery.id == kept[0]).values(status="failed"))
    session.execute(
        sa.update(Delivery)
        .where(Delivery.id == kept[1])
        .values(claimed_at=clock.now() - timedelta(days=8))
    )
    week = sender_weeks.of_senders(session, clock.now())[account.id]
    assert (week.sent, week.hard_bounces) == (8, 2)
    assert sender_weeks.bouncing(session, clock.now())[account.id].sent == 8
