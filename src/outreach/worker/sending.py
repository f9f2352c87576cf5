"""One sending pass: enroll, claim, send, record — each its own short transaction."""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.container import Container
from outreach.delivery import dispatch, scheduled
from outreach.delivery.dispatch import PassReport
from outreach.providers.base import Transport
from outreach.senders import queries as sender_queries
from outreach.senders import service as senders

log = logging.getLogger("outreach.worker")
SENDS_PER_PASS = 1000


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def sending_pass(
    container: Container, *, dry_run: bool = False, rng: random.Random | None = None
) -> PassReport:
    """Sends every campaign step that may go now. With dry_run, decides the same way and says
    what would go and why the rest waits, but writes and sends nothing."""
    report = PassReport(dry_run=dry_run)
    now = container.clock.now()
    links = container.links
    chooser = rng or random.Random()  # noqa: S311 (jitter, not secrets)
    worker = worker_name()
    with container.sessions() as session:
        finish = session.rollback if dry_run else session.commit
        accounts = {sender.id: sender for sender in sender_queries.all_senders(session)}

        def transport_for(sender_id: uuid.UUID) -> Transport:
            return container.transport_for(accounts[sender_id])

        if not dry_run:
            report.unknown += dispatch.recover(session, now, transport_for)
            report.moved += dispatch.move_first_emails(session, now)
            finish()
        _enroll_list_additions(session, now)
        finish()
        queued_once = scheduled.queue_due(session, now, SENDS_PER_PASS)
        report.would_send += queued_once if dry_run else []
        finish()
        for campaign_id in campaign_queries.due_campaigns(session, now):
            queued, waits = dispatch.queue_campaign(
                session, campaign_id, now, worker, links, chooser
            )
            report.waiting += waits
            report.would_send += queued if dry_run else []
            finish()
        report.waiting += dispatch.held_by_senders(session)
        if dry_run:
            return report
        claims = dispatch.ready(session, now, links, SENDS_PER_PASS)
        # The claims carry all that sending needs: with nothing loaded left in the session,
        # each round's commit and status updates have no loaded rows to look through.
        session.expunge_all()
        dispatch.deliver(
            session,
            claims,
            transport_for,
            lambda sender_id: senders.connections_of(accounts[sender_id]),
            container.clock,
            worker,
            report,
        )
    _finish_campaigns(container)
    return report


def _enroll_list_additions(session: Session, now: datetime) -> None:
    """Contacts added to an active campaign's list since the last pass join it."""
    for found in campaign_queries.active_campaigns(session):
        campaigns.enroll_new_members(session, found, now)


def _finish_campaigns(container: Container) -> None:
    """Active campaigns whose every enrollment has ended are completed."""
    with container.sessions() as session:
        for found in campaign_queries.active_campaigns(session):
            if campaigns.finish_if_done(session, found):
                log.info("campaigns.completed", extra={"campaign_id": str(found.id)})
        session.commit()
