"""One sending pass: enroll, claim, send, record — each its own short transaction."""

from __future__ import annotations

import logging
import os
import random
import socket
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.container import Container
from outreach.delivery import dispatch, queries
from outreach.delivery.dispatch import Links, PassReport

log = logging.getLogger("outreach.worker")
LANES_PER_SENDER = 4
"""Connections per sender account in one pass; providers throttle more than this."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def sending_pass(
    container: Container, *, dry_run: bool = False, rng: random.Random | None = None
) -> PassReport:
    """Sends every campaign step that may go now. With dry_run, decides the same way and says
    what would go and why the rest waits, but writes and sends nothing."""
    report = PassReport()
    now = container.clock.now()
    links = Links(container.settings.secret_key_value(), container.settings.base_url)
    chooser = rng or random.Random()  # noqa: S311 (jitter, not secrets)
    with container.sessions() as session:
        finish = session.rollback if dry_run else session.commit
        if not dry_run:
            report.unknown += dispatch.recover(session, now)
            finish()
        _enroll_list_additions(session, now)
        finish()
        claims = dispatch.claim_retries(session, now, worker_name(), links)
        finish()
        for campaign_id in campaign_queries.due_campaigns(session, now):
            claimed, waits = dispatch.claim_campaign(
                session, campaign_id, now, worker_name(), links, chooser
            )
            claims += claimed
            report.waiting += waits
            finish()
        if dry_run:
            report.would_send = [claim.label for claim in claims]
            return report
        accounts = {sender.id: sender for sender in queries.all_senders(session)}
    outcomes = dispatch.send_all(
        claims, lambda sender_id: container.transport_for(accounts[sender_id]), LANES_PER_SENDER
    )
    _record_all(container, outcomes, report)
    _finish_campaigns(container)
    return report


def _enroll_list_additions(session: Session, now: datetime) -> None:
    """Contacts added to an active campaign's list since the last pass join it."""
    for found in campaign_queries.active_campaigns(session):
        campaigns.enroll_new_members(session, found, now)


def _record_all(container: Container, outcomes: list[dispatch.Outcome], report: PassReport) -> None:
    with container.sessions() as session:
        for outcome in outcomes:
            try:
                dispatch.record(session, outcome, container.clock.now(), report)
                session.commit()
            except Exception:
                session.rollback()
                log.exception(
                    "delivery.record_failed", extra={"delivery_id": str(outcome.claim.delivery_id)}
                )


def _finish_campaigns(container: Container) -> None:
    """Active campaigns whose every enrollment has ended are completed."""
    with container.sessions() as session:
        for found in campaign_queries.active_campaigns(session):
            if campaigns.finish_if_done(session, found):
                log.info("campaigns.completed", extra={"campaign_id": str(found.id)})
        session.commit()
