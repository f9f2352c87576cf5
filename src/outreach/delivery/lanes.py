"""The connection lanes: a long-lived thread per connection sends the emails it is handed, one
at a time, while the calling thread records what finished and takes each free lane's next.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from outreach.campaigns.models import CampaignSequence
from outreach.clock import Clock
from outreach.delivery import queries
from outreach.delivery.recording import Outcome, PassReport, record
from outreach.delivery.recovery import Heartbeat
from outreach.delivery.taking import Claim, start
from outreach.providers.base import ProviderThreads, Transport
from outreach.providers.errors import (
    AccountError,
    ProviderError,
    ServerUnreachable,
    TenantLimitReached,
)
from outreach.runner import Runner
from outreach.senders import service as senders


def _send(transport: Transport, claim: Claim, remember: Callable[[str], None]) -> Outcome:
    try:
        if not isinstance(transport, ProviderThreads):
            return Outcome(claim, sent=transport.send(claim.message))
        if claim.earlier_provider_id:
            sent = transport.send_reply(claim.message, claim.earlier_provider_id, on_draft=remember)
        else:
            sent = transport.send(claim.message, on_draft=remember)
        return Outcome(claim, sent=sent)
    except ProviderError as error:
        return Outcome(claim, error=error)


def deliver(
    runner: Runner,
    claims: Sequence[Claim],
    transport_for: Callable[[uuid.UUID], Transport],
    connections: Callable[[uuid.UUID], int],
    clock: Clock,
    heartbeat: Heartbeat,
    report: PassReport,
) -> None:
    """Sends the claims over up to `connections(sender)` connections per sender account, in
    parallel, one email at a time on each. The database work runs on the calling thread while
    the connections send: whenever sends finish, one short step records all of their outcomes
    and takes the next email of each of those connections (start), and it is committed before
    those emails are handed to their connections; providers that keep ids get one more step as
    the id is known, from the sending thread (the runner runs one step at a time). The worker's
    lease is renewed in those steps, and in one of its own while no send finishes for a
    heartbeat's time (a slow server)."""
    lanes: dict[tuple[uuid.UUID, int], list[Claim]] = defaultdict(list)
    for position, claim in enumerate(claims):
        lanes[(claim.sender_id, position % connections(claim.sender_id))].append(claim)
    steps: dict[uuid.UUID, list[CampaignSequence]] = {}
    transports = _transports(runner, lanes, transport_for, clock.now())

    def remember(delivery_id: uuid.UUID, provider_id: str) -> None:
        runner.step(lambda session: queries.remember_provider_id(session, delivery_id, provider_id))

    def one_round(
        outcomes: list[Outcome], free: Iterable[tuple[uuid.UUID, int]], session: Session
    ) -> dict[tuple[uuid.UUID, int], Claim]:
        """Records what finished and takes the next email of each freed lane; a lane whose
        next one another worker took first moves on to the one after."""
        heartbeat.beat(session)
        record(session, outcomes, clock.now(), report, steps)
        taken: dict[tuple[uuid.UUID, int], Claim] = {}
        waiting = [key for key in free if lanes[key]]
        while waiting:
            heads = {key: lanes[key].pop(0) for key in waiting}
            won = {
                c.delivery_id
                for c in start(session, list(heads.values()), clock.now(), heartbeat.worker.name)
            }
            taken.update((key, claim) for key, claim in heads.items() if claim.delivery_id in won)
            waiting = [key for key in waiting if key not in taken and lanes[key]]
        return taken

    # A long-lived thread per connection, fed its next email through its own queue and handing
    # back outcomes through one shared queue: cheaper than a future per email, whose pool,
    # locks and waiters cost the interpreter more than composing the email.
    inboxes: dict[tuple[uuid.UUID, int], queue.SimpleQueue[Claim | None]] = {}
    finished: queue.SimpleQueue[tuple[tuple[uuid.UUID, int], Outcome | BaseException]] = (
        queue.SimpleQueue()
    )
    threads = []
    try:
        for key, transport in transports.items():
            inboxes[key] = queue.SimpleQueue()
            thread = threading.Thread(
                target=_connection,
                args=(key, transport, inboxes[key], finished, remember),
                name=f"outreach-send-{key[1]}",
            )
            thread.start()
            threads.append(thread)
        free: Iterable[tuple[uuid.UUID, int]] = list(transports)
        outcomes: list[Outcome] = []
        running = 0
        while True:
            taken = runner.step(partial(one_round, outcomes, free))
            for key, claim in taken.items():
                inboxes[key].put(claim)
            running += len(taken)
            if not running:
                break
            done = dict([_next_finished(finished, runner, heartbeat)])
            with suppress(queue.Empty):
                while True:
                    key, result = finished.get_nowait()
                    done[key] = result
            running -= len(done)
            for result in done.values():
                if isinstance(result, BaseException):
                    raise result
                _stop_lanes(lanes, result)
            free = list(done)
            outcomes = [result for result in done.values() if isinstance(result, Outcome)]
    finally:
        for inbox in inboxes.values():
            inbox.put(None)
        for thread in threads:
            thread.join()
        for transport in transports.values():
            transport.close()


def _stop_lanes(lanes: dict[tuple[uuid.UUID, int], list[Claim]], outcome: Outcome) -> None:
    """An account that cannot send leaves its other emails queued for it; a tenant's limit
    reached leaves those of every account of the tenant."""
    error, claim = outcome.error, outcome.claim
    if not isinstance(error, AccountError | ServerUnreachable | TenantLimitReached):
        return
    tenant = claim.tenant if isinstance(error, TenantLimitReached) else None
    for (sender_id, _), waiting in lanes.items():
        if sender_id == claim.sender_id or (tenant and waiting and waiting[0].tenant == tenant):
            waiting.clear()


def _next_finished(
    finished: queue.SimpleQueue[tuple[tuple[uuid.UUID, int], Outcome | BaseException]],
    runner: Runner,
    heartbeat: Heartbeat,
) -> tuple[tuple[uuid.UUID, int], Outcome | BaseException]:
    """The next send to finish, the lease renewed while waiting for it."""
    while True:
        try:
            return finished.get(timeout=heartbeat.every_seconds)
        except queue.Empty:
            runner.step(heartbeat.beat)


def _connection(
    key: tuple[uuid.UUID, int],
    transport: Transport,
    inbox: queue.SimpleQueue[Claim | None],
    finished: queue.SimpleQueue[tuple[tuple[uuid.UUID, int], Outcome | BaseException]],
    remember: Callable[[uuid.UUID, str], None],
) -> None:
    """One connection's thread: sends each email it is handed, one at a time, until None."""
    while (claim := inbox.get()) is not None:
        try:
            outcome: Outcome | BaseException = _send(
                transport, claim, partial(remember, claim.delivery_id)
            )
        except BaseException as error:  # raised again on the calling thread
            outcome = error
        finished.put((key, outcome))


def _transports(
    runner: Runner,
    lanes: dict[tuple[uuid.UUID, int], list[Claim]],
    transport_for: Callable[[uuid.UUID], Transport],
    now: datetime,
) -> dict[tuple[uuid.UUID, int], Transport]:
    """A transport per lane; an account that cannot even be set up (a Graph account without its
    app's credentials) is marked failing and its emails stay queued."""
    built = {}
    for key in lanes:
        try:
            built[key] = transport_for(key[0])
        except AccountError as error:
            runner.step(partial(senders.record_failure, sender_id=key[0], error=error, now=now))
    return built
