"""Building a campaign in tests the way a user would, through the services."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign
from outreach.clock import Clock, FixedClock
from outreach.contacts import lists
from outreach.container import Container
from outreach.delivery import planning, taking
from outreach.delivery import queries as delivery_queries
from outreach.delivery.recording import RETRY_POLICY
from outreach.leases import Worker
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from tests.contact_files import import_text

PEOPLE = (
    "email,name,company,City\n"
    "ada@analytical.example,Ada Lovelace,Analytical Engines,London\n"
    "alan@bletchley.example,Alan Turing,Bletchley Park,Bletchley\n"
    "grace@navy.example,Grace Hopper,US Navy,Arlington\n"
)
COLLEAGUES = (
    "email,name,company,City\n"
    "ada@analytical.example,Ada Lovelace,Analytical Engines,London\n"
    "charles@analytical.example,Charles Babbage,Analytical Engines,London\n"
    "alan@bletchley.example,Alan Turing,Bletchley Park,Bletchley\n"
    "joan@gmail.com,Joan Clarke,Bletchley Park,Bletchley\n"
    "mavis@gmail.com,Mavis Batey,Bletchley Park,Bletchley\n"
)
"""Two at one company; two at a personal mailbox provider, which makes nobody a colleague."""
STEPS = (
    (
        "Hello from {{ company | default('us') }}, {{ first_name }}",
        "Hi {{ first_name }},\n\nHow is {{ city }}?",
        0,
    ),
    ("", "Hi {{ first_name }}, just following up.", 2),
    ("", "Last note, {{ first_name }}.", 3),
)


def outbox_sender(
    session: Session, container: Container, email: str = "me@ourco.example"
) -> SenderAccount:
    """A sender account that writes its emails to the local outbox folder."""
    return senders.add(
        session,
        kind=senders.SenderKind.outbox,
        email=email,
        display_name="Me",
        secret_key=container.settings.secret_key_value(),
        now=container.clock.now(),
    )


def smtp_sender(
    session: Session, clock: Clock, secret_key: str, port: int, email: str = "me@ourco.example"
) -> str:
    account = senders.add(
        session,
        kind=senders.SenderKind.smtp,
        email=email,
        display_name="Me at Ourco",
        secret_key=secret_key,
        smtp=senders.SmtpSettings(host="127.0.0.1", port=port, security="none"),
        now=clock.now(),
    )
    return str(account.id)


def wrong_password_account(
    session: Session, container: Container, clock: Clock, make_smtp_server: Any
) -> tuple[Any, SenderAccount]:
    """An SMTP account whose server refuses its password, and that server."""
    server = make_smtp_server(username="me@ourco.example", password="right")
    account = senders.add(
        session,
        kind=senders.SenderKind.smtp,
        email="me@ourco.example",
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        smtp=senders.SmtpSettings("127.0.0.1", server.port, "none", "me@ourco.example"),
        password="wrong",
        now=clock.now(),
    )
    return server, account


def three_step_campaign(
    session: Session,
    clock: Clock,
    folder: Path,
    sender_ids: list[str],
    *,
    people: str = PEOPLE,
    **settings: object,
) -> Campaign:
    audience = lists.create(session, "Pioneers", None, clock.now())
    import_text(session, clock, folder, people, list_id=audience.id)
    import uuid

    found = campaigns.create(
        session,
        name="Spring",
        list_id=audience.id,
        sender_ids=[uuid.UUID(s) for s in sender_ids],
        now=clock.now(),
    )
    for subject, body, days in STEPS:
        campaigns.add_step(session, found.id, subject=subject, body=body, delay_days=days)
    change = {
        "send_window_start": time(9),
        "send_window_end": time(18),
        "timezone": "UTC",
        "daily_limit": 50,
        "delay_between_emails_seconds": 0,
        "jitter_seconds": 0,
        **settings,
    }
    campaigns.update_settings(session, found.id, campaigns.SettingsChange(**change))  # type: ignore[arg-type]
    return found


MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def launched_from_outbox(
    session: Session,
    container: Container,
    clock: FixedClock,
    folder: Path,
    *,
    sender: str = "grace@acme.example",
    **settings: object,
) -> tuple[Campaign, SenderAccount]:
    """On a Monday at 9:00 UTC, a three-step campaign from an outbox account, launched, its
    first pass sent (what the pass sent is whatever the settings allow)."""
    clock.advance(MONDAY_9 - clock.now())
    account = senders.add(
        session,
        kind=senders.SenderKind.outbox,
        email=sender,
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        now=clock.now(),
    )
    found = three_step_campaign(session, clock, folder, [str(account.id)], **settings)
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    container.sending_pass()
    return found, account


def left_sending(
    session: Session,
    container: Container,
    clock: FixedClock,
    folder: Path,
    port: int,
    worker: Worker,
    *,
    lease: bool = True,
) -> None:
    """On a Monday at 9:00 UTC, the three first emails of a campaign from an SMTP account on
    `port` taken for sending by `worker`, which then says nothing more (it died, or its server
    is slow); with `lease`, it held a lease as it took them."""
    clock.advance(MONDAY_9 - clock.now())
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), port)
    found = three_step_campaign(session, clock, folder, [sender])
    campaigns.launch(session, found.id, clock.now())
    links = container.links
    if lease:
        delivery_queries.renew_lease(session, worker, clock.now(), clock.now() + RETRY_POLICY.lease)
    planning.queue_campaign(session, found.id, clock.now(), worker.name, links, random.Random(1))
    claims = taking.ready(session, clock.now(), links, 100)
    assert len(taking.start(session, claims, clock.now(), worker.name)) == 3
    session.commit()
