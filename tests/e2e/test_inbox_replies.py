"""The issue's end to end: a three-step campaign sent through SMTP (to aiosmtpd, replies read
over IMAP from Dovecot) and through (a fake) Microsoft Graph. Between step 1 and step 2 a reply,
an out-of-office and a bounce arrive in the sending mailbox: the reply stops step 2, the
out-of-office does not, the bounce suppresses. The worker's jobs run in their order: the inbox
is read before anything is sent. The same story, with an unsubscribe, is what the Analytics
page, the API and the CSV downloads count."""

from __future__ import annotations

import csv
import email
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.contacts import suppressions
from outreach.contacts.models import Contact
from outreach.container import Container
from outreach.delivery.models import Delivery
from outreach.events.models import Event
from outreach.inbox.models import Conversation, EmailReply, InboxMessage
from outreach.senders import mailboxes
from outreach.senders import service as senders
from outreach.worker.jobs import poll_inboxes
from tests.analytics_rows import COUNTS, raw_by_step
from tests.campaign_setup import smtp_sender, three_step_campaign
from tests.databases import ALSO_PARTITIONED
from tests.fakes.graph_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    MAILBOX,
    TENANT,
    FakeGraph,
)
from tests.html_tables import tables
from tests.inbox_messages import Thread, gmail_reply, outlook_auto_reply, postfix_dsn
from tests.web_session import post

pytestmark = ALSO_PARTITIONED
MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADA, ALAN, GRACE = "ada@analytical.example", "alan@bletchley.example", "grace@navy.example"


@dataclass
class Route:
    """One way of sending and reading: the container, the sending mailbox, and the other side."""

    container: Container
    mailbox: str
    deliver: Callable[[bytes, Delivery, datetime], None]
    """Put a message into the sending mailbox, as mail delivery would at the given time."""
    sent_to: Callable[[], list[str]]
    """Whom each email that went out was addressed to, in order."""


@pytest.fixture(params=["smtp", "graph"])
def route(request, session, container, clock) -> Iterator[Route]:
    key = container.settings.secret_key_value()
    if request.param == "smtp":
        smtp_server = request.getfixturevalue("smtp_server")
        imap = request.getfixturevalue("imap_account")
        smtp_sender(session, clock, key, smtp_server.port)
        sender = senders.by_email(session, "me@ourco.example")
        mailbox = mailboxes.ImapMailbox("127.0.0.1", imap.server.port, "none", imap.username)
        mailboxes.set_imap(session, sender.id, mailbox, secret_key=key, password=imap.password)
        session.commit()
        yield Route(
            container,
            sender.email,
            lambda raw, _, at: imap.append(raw, received_at=at),
            lambda: [
                email.message_from_bytes(m.data, policy=policy.default)["To"].addresses[0].addr_spec
                for m in smtp_server.messages
            ],
        )
        return
    fake_graph: FakeGraph = request.getfixturevalue("fake_graph")
    built = replace(container, tls_context=fake_graph.client_context())
    senders.add(
        session,
        kind=senders.SenderKind.graph,
        email=MAILBOX,
        display_name="Grace at Acme",
        secret_key=key,
        graph=senders.GraphAccount(
            TENANT, CLIENT_ID, graph_url=fake_graph.graph_url, authority_url=fake_graph.base_url
        ),
        password=CLIENT_SECRET,
        now=clock.now(),
    )
    session.commit()
    yield Route(
        built,
        MAILBOX,
        lambda raw, delivery, at: fake_graph.deliver_to_inbox(
            raw, received_at=at, conversation_id=delivery.conversation_id
        ),
        lambda: [item["toRecipients"][0]["emailAddress"]["address"] for item in fake_graph.sent],
    )
    built.close()


def worker_pass(route: Route, clock, at: datetime) -> None:
    """The worker's jobs that matter here, in the worker's order."""
    clock.advance(at - clock.now())
    poll_inboxes(route.container)
    route.container.sending_pass()


def sent_to(session, campaign_id) -> dict[str, Delivery]:
    rows = session.execute(
        sa.select(Contact.email, Delivery)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Delivery.campaign_id == campaign_id, Delivery.sequence_step == 1)
    )
    return dict(rows.all())


def a_reply_an_out_of_office_and_a_bounce(route: Route, session, clock, tmp_path):
    """Step 1 goes out to Ada, Alan and Grace; three hours later Ada's reply, Alan's
    out-of-office and Grace's bounce arrive; two days later the worker reads them and sends
    what is due."""
    clock.advance(MONDAY_9 - clock.now())
    sender = senders.by_email(session, route.mailbox)
    spring = three_step_campaign(session, clock, tmp_path, [str(sender.id)])
    campaigns.launch(session, spring.id, clock.now())
    session.commit()

    worker_pass(route, clock, MONDAY_9)
    assert sorted(route.sent_to()) == [ADA, ALAN, GRACE]

    clock.advance(timedelta(hours=3))
    first = sent_to(session, spring.id)

    def thread(to: str) -> Thread:
        return Thread(first[to].message_id, "Hello", ours=route.mailbox, theirs=to)

    route.deliver(gmail_reply(thread(ADA)), first[ADA], clock.now())
    route.deliver(outlook_auto_reply(thread(ALAN), back="3 March 2026"), first[ALAN], clock.now())
    route.deliver(postfix_dsn(thread(GRACE), status="5.1.1"), first[GRACE], clock.now())

    worker_pass(route, clock, MONDAY_9 + timedelta(days=2))
    return spring


def test_a_reply_stops_step_2_an_out_of_office_does_not_and_a_bounce_suppresses(
    route: Route, session, clock, tmp_path
):
    spring = a_reply_an_out_of_office_and_a_bounce(route, session, clock, tmp_path)
    first = sent_to(session, spring.id)

    went = route.sent_to()
    assert went.count(ADA) == 1, "the reply stopped step 2"
    assert went.count(ALAN) == 2, "the out-of-office did not"
    assert went.count(GRACE) == 1, "the bounce stopped step 2"
    session.expire_all()
    assert campaign_queries.enrollment_counts(session, spring.id) == {
        "replied": 1,
        "in_progress": 1,
        "bounced": 1,
    }
    assert suppressions.is_suppressed(session, GRACE)
    assert not suppressions.is_suppressed(session, ADA)
    [reply] = session.scalars(sa.select(EmailReply)).all()
    assert reply.sent_email_id == first[ADA].sent_email_id
    kinds = session.scalars(sa.select(InboxMessage.kind).order_by(InboxMessage.kind)).all()
    assert kinds == ["auto_reply", "bounce", "human_reply"]

    # Read again (the worker's next pass): nothing new, nothing twice.
    worker_pass(route, clock, MONDAY_9 + timedelta(days=2, hours=1))
    assert session.scalar(sa.select(sa.func.count()).select_from(EmailReply)) == 1
    # The events match what happened, each once.
    happened = session.execute(sa.select(Event.kind, Event.data)).all()
    assert len({(kind, json.dumps(data, sort_keys=True)) for kind, data in happened}) == len(
        happened
    )
    assert sorted(kind for kind, _ in happened if kind in WHAT_HAPPENED_TO_EMAILS) == [
        "campaign.launched", "email.bounced", "email.sent", "email.sent", "email.sent",
        "email.sent", "reply.received",
    ]  # fmt: skip
    by_kind = dict(happened)
    assert by_kind["reply.received"]["email"] == ADA
    bounced = by_kind["email.bounced"]
    assert (bounced["recipient"], bounced["address_suppressed"]) == (GRACE, True)


WHAT_HAPPENED_TO_EMAILS = {"campaign.launched", "email.sent", "email.bounced", "reply.received"}
"""The events this story is about (a category and the lead statuses it moves have theirs)."""


def reply_before_the_first_read(route: Route, session, clock, tmp_path, *, read_after: timedelta):
    """Step 1 goes out with the mailbox never read; Ada answers three hours later; the mailbox
    is first read `read_after` the sending, then the worker sends what is due."""
    clock.advance(MONDAY_9 - clock.now())
    sender = senders.by_email(session, route.mailbox)
    spring = three_step_campaign(session, clock, tmp_path, [str(sender.id)])
    campaigns.launch(session, spring.id, clock.now())
    session.commit()
    route.container.sending_pass()
    first = sent_to(session, spring.id)
    thread = Thread(first[ADA].message_id, "Hello", ours=route.mailbox, theirs=ADA)
    route.deliver(gmail_reply(thread), first[ADA], MONDAY_9 + timedelta(hours=3))

    worker_pass(route, clock, MONDAY_9 + read_after)
    session.expire_all()
    return spring


def test_a_reply_that_arrived_before_the_mailbox_was_first_read_stops_the_sequence(
    route: Route, session, clock, tmp_path
):
    spring = reply_before_the_first_read(
        route, session, clock, tmp_path, read_after=timedelta(days=2)
    )

    went = route.sent_to()
    assert went.count(ADA) == 1, "her reply, there before the first read, stopped step 2"
    assert went.count(ALAN) == 2
    assert campaign_queries.enrollment_counts(session, spring.id) == {
        "replied": 1,
        "in_progress": 2,
    }


def test_a_reply_older_than_the_first_reads_lookback_is_not_matched(
    route: Route, session, clock, tmp_path
):
    spring = reply_before_the_first_read(
        route, session, clock, tmp_path, read_after=timedelta(days=21)
    )

    assert session.scalar(sa.select(sa.func.count()).select_from(EmailReply)) == 0
    assert route.sent_to().count(ADA) > 1
    assert "replied" not in campaign_queries.enrollment_counts(session, spring.id)


@pytest.mark.parametrize("route", ["smtp"], indirect=True)
def test_the_analytics_page_the_api_and_the_csv_count_what_happened_to_the_emails(
    route: Route, session, clock, tmp_path, smtp_server, signed_in, api_token
):
    """Step 1 to three people: Ada replies (a person categorizes it a meeting request), Alan's
    out-of-office is no reply, Grace bounces; step 2 to Alan, who unsubscribes with its
    one-click link. Every figure on the Analytics page, in the API and in both CSVs is the
    count over the raw rows."""
    route.container.settings = route.container.settings.model_copy(
        update={"base_url_setting": "https://outreach.example"}
    )
    spring = a_reply_an_out_of_office_and_a_bounce(route, session, clock, tmp_path)

    to_alan = [
        message
        for message in map(email.message_from_bytes, (m.data for m in smtp_server.messages))
        if ALAN in message["To"]
    ]
    link = to_alan[-1]["List-Unsubscribe"].split("<")[1].split(">")[0]
    one_click = signed_in.post(
        link.removeprefix("https://outreach.example"), content=b"List-Unsubscribe=One-Click"
    )
    assert one_click.status_code == 200
    ada = session.scalars(sa.select(Contact.id).where(Contact.email == ADA)).one()
    conversation = session.scalars(
        sa.select(Conversation.id).where(Conversation.contact_id == ada)
    ).one()
    page = f"/inbox/conversations/{conversation}"
    categorized = post(signed_in, f"{page}/category", page, category="meeting_request")
    assert categorized.status_code == 303

    raw = raw_by_step(session.connection(), spring.id)
    assert raw == {
        1: {"sent": 3, "replied": 1, "positive": 1, "bounced": 1, "unsubscribed": 0},
        2: {"sent": 1, "replied": 0, "positive": 0, "bounced": 0, "unsubscribed": 1},
    }
    scope = {"campaign_id": str(spring.id), "days": "30"}
    shown = tables(signed_in.get("/analytics", params=scope).text)
    headings = {"sent": "Sent", "replied": "Replies", "positive": "Positive",
                "bounced": "Bounces", "unsubscribed": "Unsubscribes"}  # fmt: skip
    assert {
        int(row["Step"].split()[0]): {name: int(row[heading]) for name, heading in headings.items()}
        for row in shown["steps-table"]
    } == raw
    assert sum(int(day["Sent"]) for day in shown["daily-table"]) == 4
    assert sum(int(day["Replies"]) for day in shown["daily-table"]) == 1
    assert sum(int(day["Bounces"]) for day in shown["daily-table"]) == 1
    [provider] = shown["providers-table"]
    assert (provider["Sent"], provider["Replies"], provider["Unsubscribes"]) == ("4", "1", "1")

    api = {"Authorization": f"Bearer {api_token}"}
    lifetime = signed_in.get(f"/api/v1/campaigns/{spring.id}/analytics", headers=api).json()
    assert {step["step"]: {c: step[c] for c in COUNTS} for step in lifetime["steps"]} == raw
    year = {"start": "2026-01-01", "end": "2026-12-31", "campaign_id": str(spring.id)}
    steps = signed_in.get("/api/v1/analytics/steps", params=year, headers=api).json()["items"]
    assert {step["step"]: {c: step[c] for c in COUNTS} for step in steps} == raw
    for download in (
        signed_in.get("/analytics/steps.csv", params=scope),
        signed_in.get("/api/v1/analytics/steps", params={**year, "format": "csv"}, headers=api),
    ):
        rows = csv.DictReader(io.StringIO(download.text))
        assert {int(row["step"]): {c: int(row[c]) for c in COUNTS} for row in rows} == raw
