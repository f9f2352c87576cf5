"""Recovery: deliveries a crash left `sending`, found through their workers' leases.

A worker that sends holds a lease (outreach/leases.py), renewed by its Heartbeat; a delivery it
left `sending` is settled as soon as its lease says it is gone, and never while it is there,
however old the claim. An SMTP server cannot be asked whether an email went, and a duplicate
cold email costs more than a missed one: such a delivery becomes `unknown` for a person. A
provider that keeps its own ids (Graph) was told the email's id before sending, and is asked
instead. Nothing goes back to `queued` unless that provider says it still holds a draft.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session

from outreach.clock import Clock
from outreach.delivery import queries
from outreach.delivery.models import Delivery, WorkerLease
from outreach.delivery.recording import record_sent, requeue
from outreach.delivery.states import DELIVERIES, DeliveryStatus
from outreach.delivery.taking import recording_of
from outreach.errors import InvalidTransition
from outreach.leases import Lease, Worker, lapsed, process_running
from outreach.providers.base import ProviderStatus, ProviderThreads, Transport
from outreach.providers.errors import AccountError, ProviderError
from outreach.providers.message import SentMessage
from outreach.runner import Runner
from outreach.states import transition


@dataclass(frozen=True)
class _Stale:
    """A delivery a crash left `sending`, as read before its provider is asked."""

    delivery_id: uuid.UUID
    sender_id: uuid.UUID
    message_id: str
    provider_id: str | None
    claimed_at: datetime | None


LEASE_FORGOTTEN_AFTER = timedelta(days=1)
"""A gone worker's lease row is deleted this long after it ran out (its deliveries, if any are
still `sending`, count as having no lease: the same)."""


@dataclass
class Heartbeat:
    """A worker's lease, renewed by `beat` in a step of its own or of the work: at most every
    quarter of its length, so a pass of many rounds does not pay for a write each."""

    worker: Worker
    length: timedelta
    clock: Clock
    _renewed: datetime | None = None

    @property
    def every_seconds(self) -> float:
        return self.length.total_seconds() / 4

    def beat(self, session: Session) -> None:
        now = self.clock.now()
        if self._renewed is not None and (now - self._renewed).total_seconds() < self.every_seconds:
            return
        queries.renew_lease(session, self.worker, now, now + self.length)
        self._renewed = now


def recover(
    runner: Runner,
    now: datetime,
    me: Worker,
    transport_for: Callable[[uuid.UUID], Transport] | None = None,
    *,
    mine_ended: bool = False,
) -> list[str]:
    """Deliveries left `sending` by a worker that is gone, as `me` sees it (leases.lapsed), and
    with `mine_ended` my own too (a pass of mine that failed left them: no pass of mine is in
    flight as the next begins). Where the provider keeps ids and we stored this email's, it is
    asked (with no transaction open): sent is recorded as sent, a draft is deleted and the
    email queued again. Every other one becomes `unknown` for a person to decide (send again
    or mark sent): nothing is resent blindly. One settled meanwhile by its worker or another is
    left to it. Returns the unknown ones."""

    def left(delivery: Delivery, lease: WorkerLease | None) -> bool:
        if mine_ended and delivery.claimed_by == me.name:
            return True
        return lapsed(_seen(lease), me, now, process_running)

    stale = runner.read(
        lambda session: [
            _Stale(d.id, d.sender_account_id, d.message_id, d.provider_id, d.claimed_at)
            for d, lease in queries.sending_with_leases(session)
            if left(d, lease)
        ]
    )
    found = []
    for delivery in stale:
        status = _asked(delivery, transport_for) if transport_for else None
        try:
            runner.step(partial(_settle, delivery, status, now))
        except InvalidTransition:
            continue
        if status is None:
            found.append(str(delivery.delivery_id))
    return found


def forget_ended_leases(runner: Runner, me: Worker, now: datetime) -> None:
    """Deletes the leases of workers gone since long ago (LEASE_FORGOTTEN_AFTER). Looks first
    without writing: a page that lists sends in doubt takes no write lock when there is
    nothing to forget (on SQLite it would wait behind the worker)."""

    def gone(session: Session) -> list[str]:
        ended = queries.leases_ended_before(session, now - LEASE_FORGOTTEN_AFTER)
        return [lease.worker for lease in ended if lapsed(_seen(lease), me, now, process_running)]

    workers = runner.read(gone)
    if workers:
        runner.step(partial(queries.forget_leases, workers=workers))


def _seen(lease: WorkerLease | None) -> Lease | None:
    return None if lease is None else Lease(lease.worker, lease.host, lease.pid, lease.lease_until)


def _asked(
    delivery: _Stale, transport_for: Callable[[uuid.UUID], Transport]
) -> ProviderStatus | None:
    """What the provider says of a stale delivery: sent, or a draft (now deleted, so that it
    can be sent again); None when it cannot tell or was never told the email's id."""
    if delivery.provider_id is None:
        return None
    try:
        transport = transport_for(delivery.sender_id)
    except AccountError:
        return None
    try:
        if not isinstance(transport, ProviderThreads):
            return None
        status = transport.status(delivery.provider_id)
        if status is ProviderStatus.draft:
            transport.discard(delivery.provider_id)
        return status if status in (ProviderStatus.sent, ProviderStatus.draft) else None
    except ProviderError:
        return None
    finally:
        transport.close()


def _settle(
    delivery: _Stale, status: ProviderStatus | None, now: datetime, session: Session
) -> None:
    """Records what the provider said of a stale delivery, or that nobody can tell."""
    if status is ProviderStatus.sent:
        sent = SentMessage(delivery.message_id, delivery.provider_id)
        record_sent(
            session,
            [(recording_of(session, delivery.delivery_id), sent)],
            delivery.claimed_at or now,
            {},
        )
    elif status is ProviderStatus.draft:
        requeue(
            session,
            delivery.delivery_id,
            now,
            "the worker stopped before sending; the provider still held it as a draft, "
            "so it is sent again",
            provider_id=None,
        )
    else:
        transition(
            session,
            Delivery,
            delivery.delivery_id,
            DeliveryStatus.unknown,
            DELIVERIES,
            # This very claim: not one taken again since it was read.
            where=(Delivery.claimed_at.is_not_distinct_from(delivery.claimed_at),),
            last_error="the worker stopped while sending: it may or may not have gone out",
        )
