"""Sending in batches: limits that run out in the middle of a batch, batches cut by the pass's
size, a connection whose next email another worker took, and a worker that dies between
sending a batch's emails and recording them."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from outreach.campaigns import enrollments as campaign_enrollments
from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.states import EnrollmentStatus
from outreach.db import session_factory
from outreach.delivery import lanes, planning, recording, taking
from outreach.delivery import queries as delivery_queries
from outreach.delivery.recovery import Heartbeat
from outreach.errors import InvalidTransition
from outreach.leases import Worker
from outreach.providers.base import Transport
from outreach.providers.message import OutgoingMessage, SentMessage
from outreach.runner import Runner
from outreach.senders import queries as sender_queries
from outreach.senders import service as senders
from outreach.worker.jobs import sending_report
from tests.campaign_setup import smtp_sender, three_step_campaign

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ELSEWHERE = Worker("doomed", "another-host", 1)
"""A worker on another host: only its lease tells whether it is there."""


def people(count: int) -> str:
    return "email,name,company,City\n" + "".join(
        f"p{n}@example.com,Person {n},Firm {n},Town\n" for n in range(count)
    )


def launch(session, clock, tmp_path, sender_ids, count, **settings):
    clock.advance(MONDAY_9 - clock.now())
    found = three_step_campaign(
        session, clock, tmp_path, sender_ids, people=people(count), **settings
    )
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    return found


def recipients(server) -> Counter[str]:
    return Counter(message.rcpt_tos[0] for message in server.messages)


def links_of(container) -> planning.Links:
    return container.links


def test_a_dry_run_counts_every_step_a_daily_limit_holds(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    launch(session, clock, tmp_path, [sender], 12, daily_limit=5)

    said = sending_report(container.sending_pass(dry_run=True))

    assert said.summary == "dry run: 5 would be sent, 7 waiting"
    assert said.lines[-1] == (
        "waiting Spring: the rest of its due steps (7): "
        "daily limit reached (5 of 5 today); next at Tue 09:00 UTC"
    )
    assert smtp_server.messages == []


def test_a_daily_limit_that_runs_out_inside_a_batch_lets_exactly_that_many_go(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = launch(session, clock, tmp_path, [sender], 12, daily_limit=5)
    report = container.sending_pass()
    assert len(report.sent) == 5
    assert [w.reason for w in report.waiting] == [
        "daily limit reached (5 of 5 today); next at Tue 09:00 UTC"
    ]
    assert len(smtp_server.messages) == 5
    assert container.sending_pass().sent == []
    clock.advance(timedelta(days=1))
    assert len(container.sending_pass().sent) == 5
    assert campaign_queries.enrollment_counts(session, found.id) == {
        "in_progress": 10,
        "pending": 2,
    }


def test_sender_caps_that_run_out_inside_a_batch_hold_for_each_sender(
    session, container, clock, tmp_path, smtp_server
):
    capped = []
    for email, cap in (("a@ourco.example", 3), ("b@ourco.example", 4)):
        account = senders.add(
            session,
            kind=senders.SenderKind.smtp,
            email=email,
            display_name=None,
            secret_key=container.settings.secret_key_value(),
            smtp=senders.SmtpSettings("127.0.0.1", smtp_server.port, "none"),
            daily_cap=cap,
            now=clock.now(),
        )
        capped.append(str(account.id))
    launch(session, clock, tmp_path, capped, 10)
    report = container.sending_pass()
    assert len(report.sent) == 7
    assert {w.reason for w in report.waiting} == {"every sender has reached its daily cap"}
    assert Counter(m.mail_from for m in smtp_server.messages) == {
        "a@ourco.example": 3,
        "b@ourco.example": 4,
    }


def test_a_pass_cut_short_by_its_size_leaves_the_rest_for_the_next_and_sends_each_once(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    launch(session, clock, tmp_path, [sender], 7)
    links = links_of(container)
    planning.queue_campaign(session, *_campaign_and_now(session, clock), "w", links, _rng())
    session.commit()
    report = recording.PassReport()
    for size in (3, 3, 3):
        claims = taking.ready(session, clock.now(), links, size)
        assert len(claims) == min(size, 7 - len(report.sent))
        _deliver(session, container, claims, report, connections=2)
    assert len(report.sent) == 7
    assert set(recipients(smtp_server).values()) == {1}
    assert len(recipients(smtp_server)) == 7
    assert taking.ready(session, clock.now(), links, 10) == []


def test_a_connection_whose_next_email_another_worker_took_moves_on_to_the_one_after(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    launch(session, clock, tmp_path, [sender], 6)
    links = links_of(container)
    planning.queue_campaign(session, *_campaign_and_now(session, clock), "w", links, _rng())
    session.commit()
    claims = taking.ready(session, clock.now(), links, 10)
    elsewhere = [claims[0], claims[2]]  # the heads of both connections' lanes
    assert taking.start(session, elsewhere, clock.now(), "another worker") == elsewhere
    session.commit()
    report = recording.PassReport()
    _deliver(session, container, claims, report, connections=2)
    assert len(report.sent) == 4
    sent_to = set(recipients(smtp_server))
    assert not sent_to & {claim.message.recipient.email for claim in elsewhere}
    assert len(sent_to) == 4


class _Crash(BaseException):
    """The worker dies: nothing after it runs, as with a kill."""


class _DiesAfterSending:
    """A real transport whose worker dies right after the `fatal`-th email of the pass went
    out, before anything could record it."""

    def __init__(self, transport: Transport, sent: list[int], lock: threading.Lock, fatal: int):
        self._transport = transport
        self._sent = sent
        self._lock = lock
        self._fatal = fatal

    def send(self, message: OutgoingMessage) -> SentMessage:
        result = self._transport.send(message)
        with self._lock:
            self._sent[0] += 1
            if self._sent[0] == self._fatal:
                raise _Crash
        return result

    def close(self) -> None:
        self._transport.close()


def test_a_worker_dying_between_sending_and_recording_a_batch_never_sends_a_step_twice(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = launch(session, clock, tmp_path, [sender], 12)
    links = links_of(container)
    planning.queue_campaign(session, *_campaign_and_now(session, clock), "doomed", links, _rng())
    session.commit()
    claims = taking.ready(session, clock.now(), links, 100)
    sent, lock = [0], threading.Lock()
    account = sender_queries.sender(session, claims[0].sender_id)

    def dying(sender_id):
        return _DiesAfterSending(container.transport_for(account), sent, lock, fatal=7)

    session.commit()  # so that rolling the test's session back cannot undo the worker's rounds
    with pytest.raises(_Crash), Runner(container.sessions) as runner:
        lanes.deliver(
            runner,
            claims,
            dying,
            lambda sender_id: 3,
            container.clock,
            Heartbeat(ELSEWHERE, recording.RETRY_POLICY.lease, container.clock),
            recording.PassReport(),
        )
    session.rollback()
    left_sending = len(delivery_queries.deliveries_in(session, "sending"))
    assert 1 <= left_sending <= 3, "at most one email per connection is taken and unrecorded"
    clock.advance(recording.RETRY_POLICY.lease + timedelta(seconds=1))
    report = container.sending_pass()
    assert len(report.unknown) == left_sending
    assert max(recipients(smtp_server).values()) == 1
    assert len(smtp_server.messages) == 12 - left_sending + _sent_but_unrecorded(
        smtp_server, session
    )
    counts = campaign_queries.enrollment_counts(session, found.id)
    assert counts == {"in_progress": 12 - left_sending, "pending": left_sending}


def _sent_but_unrecorded(server, session) -> int:
    """Unknown deliveries whose email did reach the server (the one the worker died after, and
    any other connection's that finished as it died)."""
    unknown = {recipient for _, recipient in delivery_queries.unknown_with_recipients(session)}
    return len(unknown & set(recipients(server)))


def _campaign_and_now(session, clock):
    (found,) = campaign_queries.active_campaigns(session)
    return found.id, clock.now()


def _rng() -> random.Random:
    return random.Random(1)


def _deliver(session, container, claims, report, *, connections: int) -> None:
    accounts = {
        claim.sender_id: sender_queries.sender(session, claim.sender_id) for claim in claims
    }
    with Runner(container.sessions) as runner:
        lanes.deliver(
            runner,
            claims,
            lambda sender_id: container.transport_for(accounts[sender_id]),
            lambda sender_id: connections,
            container.clock,
            Heartbeat(container.worker, recording.RETRY_POLICY.lease, container.clock),
            report,
        )


def test_workers_taking_overlapping_emails_skip_what_the_other_is_taking_instead_of_waiting(
    databases, clock, tmp_path
):
    """Two workers' batches of claims overlap in different orders: waiting for each other's row
    locks deadlocked PostgreSQL (one worker's pass failed with its sends unrecorded)."""
    engine = sa.create_engine(databases.fresh_url("postgresql"))
    sessions = session_factory(engine)
    links = planning.Links("k" * 40, "http://outreach.example")
    with sessions() as setup:
        sender = smtp_sender(setup, clock, "k" * 40, 2525)
        launch(setup, clock, tmp_path, [sender], 4)
        planning.queue_campaign(setup, *_campaign_and_now(setup, clock), "w", links, _rng())
        setup.commit()
        first, second = taking.ready(setup, clock.now(), links, 10)[:2]
    with sessions() as one, sessions() as other:
        assert taking.start(one, [first], clock.now(), "one") == [first]  # not committed yet
        other.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
        assert taking.start(other, [second, first], clock.now(), "other") == [second]
        other.commit()
        one.commit()
    engine.dispose()


def test_a_reply_that_lands_while_its_step_is_sent_keeps_the_enrollment_replied(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = launch(session, clock, tmp_path, [sender], 3)
    links = links_of(container)
    planning.queue_campaign(session, *_campaign_and_now(session, clock), "w", links, _rng())
    session.commit()
    claims = taking.ready(session, clock.now(), links, 10)
    assert taking.start(session, claims, clock.now(), "w") == claims
    session.commit()
    replier = claims[0].recording.enrollment_id
    campaign_enrollments.record_stopped(session, replier, EnrollmentStatus.replied, "a reply")
    session.commit()
    report = recording.PassReport()
    outcomes = [recording.Outcome(c, sent=SentMessage(c.message.message_id)) for c in claims]
    recording.record(session, outcomes, clock.now(), report, {})
    session.commit()
    assert len(report.sent) == 3
    session.expire_all()
    enrollments = {e.id: e for e, _ in campaign_queries.enrollments_of(session, found.id)}
    assert enrollments[replier].status == "replied"
    assert enrollments[replier].current_sequence_step == 1
    assert enrollments[replier].next_send_at is None
    others = [e for key, e in enrollments.items() if key != replier]
    assert [(e.status, e.current_sequence_step) for e in others] == [("in_progress", 1)] * 2
    assert all(e.next_send_at is not None and e.waiting_reason is None for e in others)
    assert len(delivery_queries.deliveries_in(session, "sent")) == 3


def test_recording_a_send_twice_is_refused_and_writes_nothing(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    launch(session, clock, tmp_path, [sender], 2)
    links = links_of(container)
    planning.queue_campaign(session, *_campaign_and_now(session, clock), "w", links, _rng())
    session.commit()
    claims = taking.ready(session, clock.now(), links, 10)
    taking.start(session, claims, clock.now(), "w")
    session.commit()
    outcomes = [recording.Outcome(c, sent=SentMessage(c.message.message_id)) for c in claims]
    recording.record(session, outcomes[:1], clock.now(), recording.PassReport(), {})
    session.commit()
    with pytest.raises(InvalidTransition, match=r"The delivery is already sent\."):
        recording.record(session, outcomes, clock.now(), recording.PassReport(), {})
    session.rollback()
    assert len(delivery_queries.deliveries_in(session, "sent")) == 1
    assert len(delivery_queries.deliveries_in(session, "sending")) == 1
