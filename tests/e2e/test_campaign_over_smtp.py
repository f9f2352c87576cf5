"""A three-step campaign sent to a real SMTP server on loopback, with time travel."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.contacts.models import Contact
from tests.campaign_setup import smtp_sender, three_step_campaign
from tests.databases import ALSO_PARTITIONED
from tests.plain_sql import insert

pytestmark = ALSO_PARTITIONED
MONDAY_8 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def spring(session, container, clock, tmp_path, smtp_server):
    clock.advance(MONDAY_8 - clock.now())
    container.settings = container.settings.model_copy(
        update={"base_url_setting": "https://outreach.example"}
    )
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = three_step_campaign(session, clock, tmp_path, [sender])
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    return found


def received(smtp_server):
    return [email.message_from_bytes(m.data, policy=policy.default) for m in smtp_server.messages]


def pass_at(container, clock, at):
    clock.advance(at - clock.now())
    return container.sending_pass()


def test_a_three_step_campaign_runs_to_completion_in_one_thread(
    spring, container, clock, smtp_server, session
):
    early = pass_at(container, clock, MONDAY_8)
    assert early.sent == []
    assert {w.reason for w in early.waiting} == {"outside the send window until Mon 09:00 UTC"}

    first = pass_at(container, clock, MONDAY_8 + timedelta(hours=1))
    assert len(first.sent) == 3
    pass_at(container, clock, MONDAY_8 + timedelta(days=2, hours=1))
    saturday = pass_at(container, clock, MONDAY_8 + timedelta(days=5, hours=1))
    assert saturday.sent == []
    assert {w.reason for w in saturday.waiting} == {"outside the send window until Mon 09:00 UTC"}
    pass_at(container, clock, MONDAY_8 + timedelta(days=7, hours=1))

    messages = received(smtp_server)
    assert len(messages) == 9
    ada = [m for m in messages if m["To"].addresses[0].addr_spec == "ada@analytical.example"]
    assert [m["Subject"] for m in ada] == ["Hello from Analytical Engines, Ada"] + [
        "Re: Hello from Analytical Engines, Ada"
    ] * 2
    assert ada[1]["In-Reply-To"] == ada[0]["Message-ID"]
    assert ada[2]["In-Reply-To"] == ada[1]["Message-ID"]
    assert ada[2]["References"].split() == [ada[0]["Message-ID"], ada[1]["Message-ID"]]
    assert ada[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in ada[0]["List-Unsubscribe"]
    assert "Unsubscribe: https://outreach.example/unsubscribe/" in ada[0].get_content()
    assert "How is London?" in ada[0].get_content()

    counts = campaign_queries.enrollment_counts(session, spring.id)
    assert counts == {"completed": 3}
    session.expire_all()
    assert campaigns.get(session, spring.id).status == "completed"


def test_a_reply_mid_sequence_stops_that_contacts_follow_ups(
    spring, container, clock, smtp_server, session, connection
):
    pass_at(container, clock, MONDAY_8 + timedelta(hours=1))
    alan = session.scalars(
        sa.select(Contact.id).where(Contact.email == "alan@bletchley.example")
    ).one()
    insert(
        connection,
        "email_replies",
        contact_id=str(alan),
        campaign_id=str(spring.id),
        subject="Re: Hello",
    )
    pass_at(container, clock, MONDAY_8 + timedelta(days=2, hours=1))
    pass_at(container, clock, MONDAY_8 + timedelta(days=7, hours=1))
    to_alan = [
        m
        for m in received(smtp_server)
        if m["To"].addresses[0].addr_spec == "alan@bletchley.example"
    ]
    assert len(to_alan) == 1
    assert campaign_queries.enrollment_counts(session, spring.id) == {"completed": 2, "replied": 1}
