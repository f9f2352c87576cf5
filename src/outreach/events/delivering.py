"""The webhook worker: numbers committed events (queuing them for their endpoints), then POSTs
each endpoint's due deliveries, signed (Standard Webhooks), claim / call / record (runner.py):
no transaction is open while an endpoint is called.

An endpoint's deliveries go one after another, endpoints side by side (a thread each, at most
ENDPOINTS_AT_ONCE), within a time budget per pass: a slow endpoint costs at most one timeout
per pass, and stops only its own deliveries (the rest of its claim goes back untried), never
another endpoint's nor anything else the worker does. A failed delivery is tried again with
backoff for about three days, then given up; an endpoint that failed every attempt in a row
for two days is disabled, saying why, until a person enables it again (its waiting deliveries
go then).
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from outreach.clock import Clock
from outreach.events import slack
from outreach.events.feed import number_committed
from outreach.events.kinds import envelope
from outreach.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from outreach.events.signing import headers
from outreach.events.webhooks import Format, disabled_words, secrets_of
from outreach.providers.errors import TransientError
from outreach.providers.hooks import Answer, Poster
from outreach.retry import RetryPolicy
from outreach.runner import Runner

log = logging.getLogger("outreach.webhooks")

ENDPOINTS_AT_ONCE = 4
TIMEOUT_SECONDS = 5.0
"""The longest an endpoint may take to answer: it should answer first and work after."""

RETRIES = RetryPolicy(
    lease=timedelta(minutes=5),
    first_delay_seconds=60,
    longest_delay_seconds=12 * 3600,
    max_attempts=15,
    jitter=0.1,
)
"""1, 2, 4 … minutes, then every 12 hours: the 15th attempt comes about 2.7 days after the
first, and is the last."""


@dataclass(frozen=True)
class WebhookPolicy:
    retries: RetryPolicy = RETRIES
    disable_after_failures: int = 5
    disable_after: timedelta = timedelta(days=2)
    """An endpoint is disabled once it has failed this many attempts in a row over this long."""
    per_endpoint: int = 20
    """Deliveries one endpoint is sent per pass."""
    budget_seconds: float = 20.0
    """No POST starts after this long into a pass."""

    def disables(self, failures: int, failing_since: datetime, now: datetime) -> bool:
        return failures >= self.disable_after_failures and now - failing_since >= self.disable_after


@dataclass
class HookReport:
    numbered: int = 0
    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.numbered + len(self.delivered) + len(self.retrying) + len(self.failed)

    def summary(self) -> str:
        return (
            f"{self.numbered} events, {len(self.delivered)} delivered, "
            f"{len(self.retrying)} retrying, {len(self.failed)} given up, "
            f"{len(self.disabled)} endpoints disabled"
        )

    def lines(self) -> list[str]:
        return (
            [f"delivered {text}" for text in self.delivered]
            + [f"retrying {text}" for text in self.retrying]
            + [f"given up {text}" for text in self.failed]
            + [f"disabled {text}" for text in self.disabled]
        )


@dataclass(frozen=True)
class _Claimed:
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    kind: str
    occurred_at: datetime
    data: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class _Target:
    endpoint_id: uuid.UUID
    url: str
    format: Format
    secrets: tuple[str, ...]


def delivery_pass(
    sessions: sessionmaker[Session],
    clock: Clock,
    poster: Poster,
    secret_key: str,
    *,
    policy: WebhookPolicy = WebhookPolicy(),
    rng: random.Random | None = None,
) -> HookReport:
    """Numbers committed events, then delivers what is due (see the module's docstring)."""
    report = HookReport()
    draw = (rng or random.Random()).random  # noqa: S311 (jitter, not secrets)
    started = time.monotonic()
    with Runner(sessions) as runner:
        report.numbered = runner.step(lambda session: number_committed(session, clock.now()))
        targets = runner.read(
            lambda session: _due_endpoints(session, clock.now(), secret_key, policy.retries)
        )
        if not targets:
            return report

        def one_endpoint(target: _Target) -> None:
            token = uuid.uuid4().hex
            claimed = runner.step(
                lambda session: _claim(session, target.endpoint_id, token, clock.now(), policy)
            )
            for n, item in enumerate(claimed):
                if time.monotonic() - started > policy.budget_seconds:
                    runner.step(partial(_release, claimed=claimed[n:], token=token))
                    return
                if not _deliver(runner, poster, target, item, token, clock, policy, draw, report):
                    # The endpoint is down or slow: the rest of its claim waits for a later pass.
                    runner.step(partial(_release, claimed=claimed[n + 1 :], token=token))
                    return

        with ThreadPoolExecutor(ENDPOINTS_AT_ONCE) as pool:
            list(pool.map(one_endpoint, targets))
    return report


def send_now(
    sessions: sessionmaker[Session],
    clock: Clock,
    poster: Poster,
    secret_key: str,
    delivery_id: uuid.UUID,
    *,
    policy: WebhookPolicy = WebhookPolicy(),
) -> Answer | str:
    """One delivery sent at once (a person's test): the endpoint's answer, or why none came."""
    report = HookReport()
    token = uuid.uuid4().hex
    with Runner(sessions) as runner:
        found = runner.read(
            partial(_target_of, delivery_id=delivery_id, secret_key=secret_key, now=clock.now())
        )
        claimed = runner.step(
            lambda session: _claim(
                session, found.endpoint_id, token, clock.now(), policy, only=delivery_id
            )
        )
        if not claimed:
            return "This delivery is being sent by the worker right now."
        _deliver(runner, poster, found, claimed[0], token, clock, policy, random.random, report)
        attempt = runner.read(lambda session: _last_attempt(session, delivery_id))
    if attempt.status_code is None:
        return attempt.response or "no answer"
    return Answer(attempt.status_code, attempt.response or "")


def _due_endpoints(
    session: Session, now: datetime, secret_key: str, retries: RetryPolicy
) -> list[_Target]:
    due = (
        sa.select(WebhookDelivery.id)
        .where(WebhookDelivery.endpoint_id == WebhookEndpoint.id, _claimable(now, retries))
        .exists()
    )
    found = session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.enabled, due))
    return [_target(endpoint, secret_key, now) for endpoint in found]


def _target(endpoint: WebhookEndpoint, secret_key: str, now: datetime) -> _Target:
    secrets = tuple(secrets_of(endpoint, secret_key, now))
    return _Target(endpoint.id, endpoint.url, Format(endpoint.format), secrets)


def _target_of(session: Session, delivery_id: uuid.UUID, secret_key: str, now: datetime) -> _Target:
    endpoint = session.scalars(
        sa.select(WebhookEndpoint)
        .join(WebhookDelivery, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
        .where(WebhookDelivery.id == delivery_id)
    ).one()
    return _target(endpoint, secret_key, now)


def _claimable(now: datetime, retries: RetryPolicy) -> sa.ColumnElement[bool]:
    """Due, or claimed by a worker that stopped before recording what came of it."""
    return sa.or_(
        sa.and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
        sa.and_(
            WebhookDelivery.status == "delivering",
            WebhookDelivery.claimed_at < retries.stale_before(now),
        ),
    )


def _claim(
    session: Session,
    endpoint_id: uuid.UUID,
    token: str,
    now: datetime,
    policy: WebhookPolicy,
    only: uuid.UUID | None = None,
) -> list[_Claimed]:
    """Takes up to `per_endpoint` of the endpoint's due deliveries (or the one `only`, due or
    not) for this pass, the earliest first: FOR UPDATE SKIP LOCKED on PostgreSQL, so two
    workers take different ones; SQLite has one writer already."""
    wanted = sa.select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id)
    if only is None:
        wanted = wanted.where(_claimable(now, policy.retries))
    else:
        wanted = wanted.where(WebhookDelivery.id == only, WebhookDelivery.status != "delivering")
    wanted = wanted.order_by(WebhookDelivery.next_attempt_at).limit(policy.per_endpoint)
    if session.get_bind().dialect.name == "postgresql":
        wanted = wanted.with_for_update(skip_locked=True)
    ids = list(session.scalars(wanted))
    if not ids:
        return []
    session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(status="delivering", claimed_by=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        sa.select(WebhookDelivery.id, WebhookDelivery.attempts, Event)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.claimed_by == token)
        .order_by(WebhookDelivery.next_attempt_at)
    ).all()
    return [
        _Claimed(delivery_id, event.id, event.kind, event.occurred_at, event.data, attempts)
        for delivery_id, attempts, event in rows
    ]


def _release(session: Session, claimed: Sequence[_Claimed], token: str) -> None:
    """Claimed deliveries this pass did not try go back as they were."""
    session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_([item.delivery_id for item in claimed]),
            WebhookDelivery.claimed_by == token,
        )
        .values(status="pending", claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )


def body_of(target_format: Format, item: _Claimed) -> bytes:
    """What is POSTed: the event's JSON, or a Slack message."""
    if target_format is Format.slack:
        document: dict[str, Any] = slack.message(item.kind, item.data)
    else:
        document = envelope(item.kind, item.occurred_at, item.data)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def message_id(event_id: uuid.UUID) -> str:
    """The `webhook-id`: the event's, the same on every attempt, so receivers can drop repeats."""
    return f"evt_{event_id.hex}"


def _deliver(
    runner: Runner,
    poster: Poster,
    target: _Target,
    item: _Claimed,
    token: str,
    clock: Clock,
    policy: WebhookPolicy,
    draw: Callable[[], float],
    report: HookReport,
) -> bool:
    """POSTs one claimed delivery and records what came of it; whether it was delivered."""
    body = body_of(target.format, item)
    sent_at = clock.now()
    signed = headers(target.secrets, message_id(item.event_id), int(sent_at.timestamp()), body)
    started = time.monotonic()
    answer: Answer | None = None
    problem = None
    try:
        answer = poster.post(target.url, body, signed)
    except TransientError as error:
        problem = error.reason
    duration_ms = int((time.monotonic() - started) * 1000)
    outcome = _Outcome(answer, problem, duration_ms)
    label = f"{item.kind} to {target.url}"
    runner.step(
        lambda session: _record(
            session, target, item, token, outcome, clock.now(), policy, draw(), label, report
        )
    )
    return answer is not None and answer.ok


@dataclass(frozen=True)
class _Outcome:
    answer: Answer | None
    problem: str | None
    duration_ms: int

    @property
    def why(self) -> str:
        if self.answer is None:
            return self.problem or "no answer"
        return f"answered {self.answer.status}"


def _record(
    session: Session,
    target: _Target,
    item: _Claimed,
    token: str,
    outcome: _Outcome,
    now: datetime,
    policy: WebhookPolicy,
    draw: float,
    label: str,
    report: HookReport,
) -> None:
    answer = outcome.answer
    if session.get(WebhookDelivery, item.delivery_id) is None:
        return  # its endpoint was removed while it was being sent
    session.add(
        WebhookAttempt(
            delivery_id=item.delivery_id,
            attempted_at=now,
            status_code=answer.status if answer else None,
            response=answer.text if answer else outcome.problem,
            duration_ms=outcome.duration_ms,
        )
    )
    mine = (WebhookDelivery.id == item.delivery_id, WebhookDelivery.claimed_by == token)
    common = {
        "claimed_by": None,
        "claimed_at": None,
        "attempts": item.attempts + 1,
        "last_status_code": answer.status if answer else None,
    }
    endpoint = session.get(WebhookEndpoint, target.endpoint_id)
    if answer is not None and answer.ok:
        _update(session, mine, status="delivered", delivered_at=now, last_error=None, **common)
        if endpoint is not None:
            endpoint.failures, endpoint.failing_since = 0, None
        report.delivered.append(label)
        session.flush()
        return
    retry_at = policy.retries.retry_at(now, item.attempts + 1, draw=draw)
    if retry_at is None:
        _update(session, mine, status="failed", last_error=outcome.why, **common)
        report.failed.append(f"{label}: {outcome.why}")
    else:
        _update(
            session,
            mine,
            status="pending",
            next_attempt_at=retry_at,
            last_error=outcome.why,
            **common,
        )
        report.retrying.append(f"{label}: {outcome.why}")
    if endpoint is not None:
        _count_failure(endpoint, outcome.why, now, policy, report)
    session.flush()


def _update(session: Session, where: tuple[sa.ColumnElement[bool], ...], **values: Any) -> None:
    session.execute(
        sa.update(WebhookDelivery)
        .where(*where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _count_failure(
    endpoint: WebhookEndpoint, why: str, now: datetime, policy: WebhookPolicy, report: HookReport
) -> None:
    endpoint.failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    if endpoint.enabled and policy.disables(endpoint.failures, endpoint.failing_since, now):
        endpoint.enabled = False
        endpoint.disabled_reason = why
        report.disabled.append(f"{endpoint.url}: {disabled_words(endpoint)}")
        log.warning(
            "webhooks.endpoint_disabled",
            extra={"endpoint_id": str(endpoint.id), "failures": endpoint.failures},
        )


def _last_attempt(session: Session, delivery_id: uuid.UUID) -> WebhookAttempt:
    return session.scalars(
        sa.select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.attempted_at.desc(), WebhookAttempt.created_at.desc())
        .limit(1)
    ).one()
