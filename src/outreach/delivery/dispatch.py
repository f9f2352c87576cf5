"""Sending campaign steps: claim what is due, send it with no transaction open, record the outcome.

Short transactions, each for a batch of emails (convention 3), one module for each part:
1. plan (planning.py) — under the campaign's lock, decide with the pure rules (campaigns.schedule)
   whether each due step may go now, one after another against the counts the ones before left;
   write the drafts and the deliveries (unique per enrollment and step) as `queued`, one
   statement per table, and move the others' next_send_at to when they may, with the reason;
2. take (taking.py) — the next delivery of each free connection becomes `sending`, in one
   statement, committed before any of them is handed to its connection: at most one per
   connection;
3. send (lanes.py) — the transport, on a long-lived thread per connection, outside any
   transaction, while the calling thread does 2 and 4 for the other connections;
4. record (recording.py) — sent (sent_emails rows, the seed's analytics trigger, enrollments
   advanced), retry later, failed (bounced addresses suppressed), the sender account failing, or
   unknown; every send that finished is recorded in the transaction that takes its connection's
   next.
A crash between 2 and 4 leaves those deliveries `sending`; recovery.py turns them into `unknown`
for a person, because an SMTP server cannot be asked whether it went and a duplicate cold email
costs more than a missed one. A provider that keeps its own ids (Graph) tells us the email's id
before sending it; that id is stored at once, and recovery asks the provider instead. A person
then decides about each unknown send (decisions.py): send it again, or mark it sent.

A pass (sending_pass) runs these under one Runner (outreach/runner.py), which owns the
transactions: sender accounts whose server could not be reached tried again (retrying.py),
recovery, first emails moved off sender accounts that cannot send, list additions
enrolled, one-off emails and each campaign's due steps queued, then the lanes; campaigns whose
enrollments have all ended are completed. This module also names the rest of what the entry
points use.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.clock import Clock
from outreach.delivery import queries, scheduled
from outreach.delivery.decisions import mark_sent, send_again
from outreach.delivery.lanes import deliver
from outreach.delivery.planning import (
    Links,
    held_by_senders,
    move_first_emails,
    next_sends,
    queue_campaign,
    sender_holds,
    unsubscribe_footer,
)
from outreach.delivery.recording import RETRY_POLICY, PassReport
from outreach.delivery.recovery import Heartbeat, forget_ended_leases, recover
from outreach.delivery.retrying import retry_senders
from outreach.delivery.taking import ready
from outreach.leases import Worker
from outreach.providers.base import Transport
from outreach.runner import Runner
from outreach.senders import queries as sender_queries
from outreach.senders.models import SenderAccount
from outreach.senders.service import connections_of

__all__ = [
    "Links",
    "PassReport",
    "mark_sent",
    "next_sends",
    "send_again",
    "sender_holds",
    "sending_pass",
    "settle_lapsed",
    "unsubscribe_footer",
]

log = logging.getLogger("outreach.delivery")
SENDS_PER_PASS = 1000


def sending_pass(
    sessions: sessionmaker[Session],
    clock: Clock,
    links: Links,
    transport_for: Callable[[SenderAccount], Transport],
    *,
    worker: Worker,
    dry_run: bool = False,
    rng: random.Random | None = None,
) -> PassReport:
    """Sends every campaign step and one-off email that may go now, as `worker`, under its
    lease (renewed first, and by a heartbeat while it sends). With dry_run, decides the same
    way in one transaction rolled back at the end, and says what would go and why the rest
    waits: nothing is written or sent."""
    report = PassReport(dry_run=dry_run)
    chooser = rng or random.Random()  # noqa: S311 (jitter, not secrets)
    if dry_run:
        with sessions() as session:
            try:
                _queue_due(Runner.inside(session), clock.now(), worker.name, links, chooser, report)
            finally:
                session.rollback()
        return report
    now = clock.now()
    heartbeat = Heartbeat(worker, RETRY_POLICY.lease, clock)
    with Runner(sessions) as runner:
        runner.step(heartbeat.beat)  # the lease is there before anything is taken
        accounts, transport_of = _transports_of(runner, transport_for)
        report.senders += retry_senders(runner, now, transport_of)
        report.unknown += recover(runner, now, worker, transport_of, mine_ended=True)
        report.moved += runner.step(lambda session: move_first_emails(session, now))
        _queue_due(runner, now, worker.name, links, chooser, report)
        claims = runner.read(lambda session: ready(session, now, links, SENDS_PER_PASS))
        deliver(
            runner,
            claims,
            transport_of,
            lambda sender_id: connections_of(accounts[sender_id]),
            clock,
            heartbeat,
            report,
        )
        for campaign_id in runner.step(partial(campaigns.finish_done, now=clock.now())):
            log.info("campaigns.completed", extra={"campaign_id": str(campaign_id)})
        # After the pass's start, not its end: what fell due while it ran goes on the next.
        report.next_due = runner.read(partial(_next_due, report=report, after=now))
    return report


def _next_due(session: Session, report: PassReport, after: datetime) -> datetime | None:
    """The earliest moment after `after` that something may go: what this pass's waits said,
    and the next step, retry or one-off email written down."""
    moments = [wait.until for wait in report.waiting] + [
        campaign_queries.next_step_after(session, after),
        queries.next_attempt_after(session, after),
    ]
    return min((m for m in moments if m is not None and m > after), default=None)


def settle_lapsed(
    sessions: sessionmaker[Session],
    clock: Clock,
    transport_for: Callable[[SenderAccount], Transport],
    *,
    me: Worker,
) -> list[str]:
    """What anyone who looks for sends in doubt does first (a worker starting, the sends page,
    the API, `outreach sends unknown`): deliveries whose worker is gone are settled now, and
    leases long ended forgotten. Returns the ones that became unknown."""
    with Runner(sessions) as runner:
        _, transport_of = _transports_of(runner, transport_for)
        now = clock.now()
        unknown = recover(runner, now, me, transport_of)
        forget_ended_leases(runner, me, now)
    return unknown


def _transports_of(
    runner: Runner, transport_for: Callable[[SenderAccount], Transport]
) -> tuple[dict[uuid.UUID, SenderAccount], Callable[[uuid.UUID], Transport]]:
    """Every sender account, and the transport of one by its id."""
    accounts = runner.read(
        lambda session: {sender.id: sender for sender in sender_queries.all_senders(session)}
    )

    def transport_of(sender_id: uuid.UUID) -> Transport:
        return transport_for(accounts[sender_id])

    return accounts, transport_of


def _queue_due(
    runner: Runner,
    now: datetime,
    worker: str,
    links: Links,
    rng: random.Random,
    report: PassReport,
) -> None:
    """List additions enrolled, then one-off emails and each campaign's due steps queued (a
    step each), and why the rest waits."""
    runner.step(lambda session: campaigns.enroll_list_additions(session, now))
    queued_once = runner.step(lambda session: scheduled.queue_due(session, now, SENDS_PER_PASS))
    report.would_send += queued_once if report.dry_run else []
    for campaign_id in runner.read(lambda session: campaign_queries.due_campaigns(session, now)):
        queued, waits = runner.step(
            partial(
                queue_campaign,
                campaign_id=campaign_id,
                now=now,
                worker=worker,
                links=links,
                rng=rng,
            )
        )
        report.waiting += waits
        report.would_send += queued if report.dry_run else []
    report.waiting += runner.read(partial(held_by_senders, now=now))
