"""Storing what the inbox readers find: real-style messages parsed, matched to the emails a
campaign sent, and acted on, on both backends."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign, CampaignContact
from outreach.contacts import suppressions
from outreach.contacts.models import Contact, Suppression
from outreach.delivery import planning
from outreach.delivery.models import Delivery, SentEmail
from outreach.errors import ValidationFailed
from outreach.inbox import queries as inbox_queries
from outreach.inbox.models import Conversation, EmailReply, InboxAttachment, InboxMessage
from outreach.inbox.service import IngestOptions, IngestReport, ingest
from outreach.providers.graph.reader import GraphInboxReader
from outreach.providers.imap import ImapReader
from outreach.providers.inbox import InboundMessage, InboxPage
from outreach.senders import mailboxes
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from tests.campaign_setup import COLLEAGUES, launched_from_outbox, three_step_campaign
from tests.databases import ALSO_PARTITIONED
from tests.inbox_messages import (
    Thread,
    gmail_reply,
    mailing_list_message,
    outlook_auto_reply,
    plain_reply,
    postfix_dsn,
    reply_without_headers,
    with_attachment,
)

pytestmark = ALSO_PARTITIONED
MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SENDER = "grace@acme.example"
ADA, ALAN, GRACE = "ada@analytical.example", "alan@bletchley.example", "grace@navy.example"
provider_ids = itertools.count(1)


@dataclass
class Sent:
    """A launched three-step campaign whose first step went to all three contacts."""

    campaign: Campaign
    account: SenderAccount
    deliveries: dict[str, Delivery]

    def thread(self, to: str) -> Thread:
        return Thread(
            message_id=self.deliveries[to].message_id,
            subject=f"Hello from {to}",
            ours=SENDER,
            theirs=to,
        )


@pytest.fixture
def sent(session, container, clock, tmp_path) -> Sent:
    clock.advance(MONDAY_9 - clock.now())
    account = senders.add(
        session,
        kind=senders.SenderKind.outbox,
        email=SENDER,
        display_name="Grace",
        secret_key=container.settings.secret_key_value(),
        now=clock.now(),
    )
    found = three_step_campaign(session, clock, tmp_path, [str(account.id)])
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    assert len(container.sending_pass().sent) == 3
    rows = session.execute(
        sa.select(Contact.email, Delivery).join(Contact, Contact.id == Delivery.contact_id)
    )
    clock.advance(timedelta(hours=2))
    return Sent(found, account, dict(rows.all()))


def page(*raws: bytes, cursor: str = "c1", more: bool = False) -> InboxPage:
    return InboxPage(
        tuple(
            InboundMessage(f"7:{next(provider_ids)}", raw, MONDAY_9 + timedelta(hours=1))
            for raw in raws
        ),
        cursor,
        more,
    )


def read(
    session, sent: Sent, inbox: InboxPage, clock, options: IngestOptions = IngestOptions()
) -> IngestReport:
    report = ingest(session, sent.account, inbox, clock.now(), options)
    session.commit()
    session.expire_all()
    return report


def enrollment(session, sent: Sent, email: str) -> CampaignContact:
    return session.scalars(
        sa.select(CampaignContact)
        .join(Contact, Contact.id == CampaignContact.contact_id)
        .where(CampaignContact.campaign_id == sent.campaign.id, Contact.email == email)
    ).one()


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def recipients_of(report) -> list[str]:
    return sorted(label.split(" ")[0] for label in report.sent)


def test_a_reply_is_kept_whole_in_an_unread_conversation_that_needs_an_answer(session, clock, sent):
    read(session, sent, page(gmail_reply(sent.thread(ADA))), clock)

    [message] = session.scalars(sa.select(InboxMessage)).all()
    assert message.body_text is not None
    assert message.body_text.startswith("Hi Grace,\n\nThanks for reaching out.")
    assert "> I saw your talk on streaming ETL." in message.body_text
    assert message.body_html == (
        '<div dir="ltr">Hi Grace,<div><br></div><div>Thanks for reaching out.</div></div>\n'
    )
    [conversation] = session.scalars(sa.select(Conversation)).all()
    assert message.conversation_id == conversation.id
    assert conversation.contact_id == enrollment(session, sent, ADA).contact_id
    assert conversation.sender_account_id == sent.account.id
    assert conversation.unread
    assert conversation.needs_answer
    assert conversation.last_message_at == MONDAY_9 + timedelta(hours=1)


def test_an_auto_reply_joins_the_conversation_without_asking_for_anyone(session, clock, sent):
    read(session, sent, page(outlook_auto_reply(sent.thread(ADA))), clock)

    [conversation] = session.scalars(sa.select(Conversation)).all()
    assert not conversation.unread
    assert not conversation.needs_answer
    assert conversation.last_inbound_at == MONDAY_9 + timedelta(hours=1)


def test_two_replies_from_one_person_are_one_conversation_moved_to_the_later(session, clock, sent):
    first = gmail_reply(sent.thread(ADA))
    second = plain_reply("One more thing: Thursday is better.", sent.thread(ADA))
    read(session, sent, page(first), clock)
    later = InboxPage(
        (InboundMessage("7:later", second, MONDAY_9 + timedelta(days=1)),), "c2", more=False
    )
    read(session, sent, later, clock)

    [conversation] = session.scalars(sa.select(Conversation)).all()
    messages = session.scalars(sa.select(InboxMessage).order_by(InboxMessage.received_at)).all()
    assert [m.conversation_id for m in messages] == [conversation.id, conversation.id]
    assert conversation.last_message_at == MONDAY_9 + timedelta(days=1)


def test_attachments_are_listed_and_only_the_small_ones_kept(session, clock, sent):
    raw = with_attachment(
        with_attachment(gmail_reply(sent.thread(ADA)), "deck.pdf", "application/pdf", b"x" * 50),
        "tiny.txt",
        "text/plain",
        b"hi",
    )
    read(session, sent, page(raw), clock, IngestOptions(keep_attachments_up_to=10))

    attachments = session.scalars(
        sa.select(InboxAttachment).order_by(InboxAttachment.position)
    ).all()
    assert [(a.filename, a.content_type, a.size_bytes, a.data) for a in attachments] == [
        ("deck.pdf", "application/pdf", 50, None),
        ("tiny.txt", "text/plain", 2, b"hi"),
    ]


def test_a_reply_stops_the_follow_ups(session, container, clock, sent):
    report = read(session, sent, page(gmail_reply(sent.thread(ADA))), clock)

    assert report.acted == {"human_reply": 1}
    [reply] = session.scalars(sa.select(EmailReply)).all()
    assert reply.message_id == "<CAF=3kq8pLx9n+0fVwA@mail.gmail.com>"
    assert reply.subject == f"Re: Hello from {ADA}"
    assert reply.snippet
    assert reply.snippet.startswith("Hi Grace, Thanks for reaching out.")
    assert len(reply.snippet) <= 200
    assert reply.received_at == MONDAY_9 + timedelta(hours=1)
    assert reply.campaign_id == sent.campaign.id
    assert reply.sent_email_id == sent.deliveries[ADA].sent_email_id
    assert enrollment(session, sent, ADA).status == "replied"
    assert inbox_queries.cursor_of(session, sent.account.id).cursor == "c1"

    clock.advance(timedelta(days=2))
    follow_ups = container.sending_pass()
    assert len(follow_ups.sent) == 2
    assert not any(ADA in label for label in follow_ups.sent)


def test_a_reply_that_lost_its_headers_is_matched_by_its_sender(session, clock, sent):
    raw = reply_without_headers(sent.thread(ALAN))
    report = read(session, sent, page(raw), clock)

    assert report.acted == {"human_reply": 1}
    [stored] = session.scalars(sa.select(InboxMessage)).all()
    assert stored.matched_by == "sender"
    assert enrollment(session, sent, ALAN).status == "replied"


def test_a_graph_conversation_confirmed_by_the_sender_matches_a_reply_without_headers(
    session, clock, sent
):
    session.execute(
        sa.update(Delivery)
        .where(Delivery.id == sent.deliveries[ALAN].id)
        .values(conversation_id="AAQkADAwATM0MDAAMS1hYjAw")
    )
    raw = reply_without_headers(sent.thread(ALAN))
    inbox = page(raw)
    inbox = replace(
        inbox, messages=(replace(inbox.messages[0], conversation_id="AAQkADAwATM0MDAAMS1hYjAw"),)
    )

    read(session, sent, inbox, clock)

    [stored] = session.scalars(sa.select(InboxMessage)).all()
    assert stored.matched_by == "conversation"
    assert stored.delivery_id == sent.deliveries[ALAN].id


def test_polling_the_same_page_twice_stores_one_reply(session, clock, sent):
    inbox = page(gmail_reply(sent.thread(ADA)))

    first = read(session, sent, inbox, clock)
    again = read(session, sent, inbox, clock)

    assert first.acted == {"human_reply": 1}
    assert again.acted == {}
    assert again.duplicates == 1
    assert count(session, EmailReply) == 1
    assert count(session, InboxMessage) == 1


def test_an_interrupted_poll_is_read_again_and_stores_nothing_twice(session, clock, sent):
    session.add(inbox_queries.InboxCursor(sender_account_id=sent.account.id, cursor="c0"))
    session.commit()
    ada = gmail_reply(sent.thread(ADA))
    alan = plain_reply("Sounds good, call me.", sent.thread(ALAN))
    read(session, sent, page(ada, cursor="c1"), clock)

    doomed = session.begin_nested()
    ingest(session, sent.account, page(alan, cursor="c2"), clock.now())
    doomed.rollback()  # the worker died before the page's transaction committed
    session.expire_all()
    assert inbox_queries.cursor_of(session, sent.account.id).cursor == "c1"
    assert enrollment(session, sent, ALAN).status == "in_progress"

    # Read again from c1; a reader may hand back what it gave before (Graph's restart overlap).
    report = read(session, sent, page(ada, alan, cursor="c2"), clock)

    assert report.acted == {"human_reply": 1}
    assert report.duplicates == 1
    assert count(session, EmailReply) == 2
    assert inbox_queries.cursor_of(session, sent.account.id).cursor == "c2"
    assert enrollment(session, sent, ALAN).status == "replied"


def test_a_request_to_be_removed_suppresses_and_unsubscribes(session, clock, sent):
    raw = plain_reply("Please remove me from your list.", sent.thread(ADA))

    report = read(session, sent, page(raw), clock)

    assert report.acted == {"unsubscribe_request": 1}
    assert suppressions.is_suppressed(session, ADA)
    [entry] = session.scalars(sa.select(Suppression)).all()
    assert entry.reason == "unsubscribed"
    assert enrollment(session, sent, ADA).status == "unsubscribed"
    assert count(session, EmailReply) == 1


def test_a_hard_bounce_for_a_rejected_address_suppresses_and_marks_bounced(session, clock, sent):
    report = read(session, sent, page(postfix_dsn(sent.thread(GRACE), status="5.1.1")), clock)

    assert report.acted == {"bounce": 1}
    bounced = enrollment(session, sent, GRACE)
    assert bounced.status == "bounced"
    assert bounced.next_send_at is None
    assert bounced.stop_reason
    assert "5.1.1" in bounced.stop_reason
    [entry] = session.scalars(sa.select(Suppression)).all()
    assert (entry.email, entry.reason) == (GRACE, "bounced")
    assert count(session, EmailReply) == 0
    delivery = session.get(Delivery, sent.deliveries[GRACE].id)
    assert delivery.bounced_at == clock.now()
    assert session.get(SentEmail, delivery.sent_email_id).status == "bounced"


def test_a_policy_bounce_marks_bounced_but_keeps_the_address(session, clock, sent):
    read(session, sent, page(postfix_dsn(sent.thread(GRACE), status="5.7.1")), clock)

    assert enrollment(session, sent, GRACE).status == "bounced"
    assert not suppressions.is_suppressed(session, GRACE)


def test_a_soft_bounce_is_recorded_and_the_sequence_goes_on(session, clock, sent):
    report = read(session, sent, page(postfix_dsn(sent.thread(GRACE), status="4.2.2")), clock)

    assert report.acted == {"bounce": 1}
    assert enrollment(session, sent, GRACE).status == "in_progress"
    assert not suppressions.is_suppressed(session, GRACE)
    assert session.get(Delivery, sent.deliveries[GRACE].id).bounced_at is None


def test_a_tenant_limit_report_holds_the_sender_and_suppresses_nobody(session, clock, sent):
    """Graph accepts an email and reports Exchange's tenant limit (5.7.233) only by NDR."""
    report = read(session, sent, page(postfix_dsn(sent.thread(GRACE), status="5.7.233")), clock)

    assert report.lines[0].endswith(
        "not sent: grace@acme.example is held until Tue 03 Mar 11:00 UTC: its Microsoft 365 tenant "
        "has sent to as many external recipients as Exchange Online allows in 24 hours; its "
        "emails wait, nobody needs to act"
    )
    assert enrollment(session, sent, GRACE).status == "in_progress"
    assert not suppressions.is_suppressed(session, GRACE)
    assert session.get(Delivery, sent.deliveries[GRACE].id).bounced_at is None
    assert senders.get(session, sent.account.id).held_until == clock.now() + timedelta(hours=24)


def test_a_report_that_our_domain_failed_authentication_stops_the_account_not_the_recipient(
    session, clock, sent
):
    """Microsoft 365 or Gmail took the email, then the recipient's server refused it for our
    DMARC: the account waits for a person, the recipient is neither suppressed nor bounced."""
    report = read(session, sent, page(postfix_dsn(sent.thread(GRACE), status="5.7.26")), clock)

    assert (
        "not delivered; the sender account needs you: a receiving server refused"
        in (report.lines[0])
    )
    account = senders.get(session, sent.account.id)
    assert (account.state, account.retry_at) == ("failing", None)
    assert "Run Check DNS on the senders page" in account.last_error
    assert enrollment(session, sent, GRACE).status == "in_progress"
    assert not suppressions.is_suppressed(session, GRACE)
    assert session.get(Delivery, sent.deliveries[GRACE].id).bounced_at is None


def test_an_auto_reply_with_a_return_date_postpones_and_does_not_stop(
    session, container, clock, sent
):
    raw = outlook_auto_reply(sent.thread(ADA), back="16 March 2026")

    report = read(session, sent, page(raw), clock)

    assert report.acted == {"auto_reply": 1}
    waiting = enrollment(session, sent, ADA)
    assert waiting.status == "in_progress"
    assert waiting.next_send_at == datetime(2026, 3, 16, tzinfo=UTC)
    assert waiting.waiting_reason == "out of office until 2026-03-16"
    assert count(session, EmailReply) == 0
    [stored] = session.scalars(sa.select(InboxMessage)).all()
    assert (stored.kind, str(stored.returns_on)) == ("auto_reply", "2026-03-16")

    clock.advance(timedelta(days=2))
    assert len(container.sending_pass().sent) == 2
    clock.advance(datetime(2026, 3, 16, 9, 30, tzinfo=UTC) - clock.now())
    assert any(ADA in label for label in container.sending_pass().sent)


def test_an_auto_reply_holds_a_step_already_queued_for_its_retry(session, container, clock, sent):
    clock.advance(timedelta(days=2))
    links = container.links
    planning.queue_campaign(session, sent.campaign.id, clock.now(), "w", links, random.Random(1))
    session.commit()

    read(session, sent, page(outlook_auto_reply(sent.thread(ADA), back="16 March 2026")), clock)

    held = session.scalars(
        sa.select(Delivery).where(
            Delivery.campaign_contact_id == enrollment(session, sent, ADA).id,
            Delivery.sequence_step == 2,
        )
    ).one()
    assert (held.status, held.next_attempt_at) == ("queued", datetime(2026, 3, 16, tzinfo=UTC))
    assert not any(ADA in label for label in container.sending_pass().sent)


def test_a_reply_to_an_email_the_original_system_sent_is_matched_by_its_message_id(
    session, clock, sent
):
    ada = enrollment(session, sent, ADA)
    old = SentEmail(
        contact_id=ada.contact_id,
        sender_account_id=sent.account.id,
        campaign_id=sent.campaign.id,
        draft_type="first_outreach",
        subject="Hello from before",
        body="Sent by the original system.",
        recipient_email=ADA,
        sent_at=MONDAY_9 - timedelta(days=30),
        message_id="<original-1@acme.example>",
        sequence_step=1,
    )
    session.add(old)
    session.commit()

    report = read(
        session, sent, page(gmail_reply(Thread(old.message_id, "Hi", SENDER, ADA))), clock
    )

    assert report.acted == {"human_reply": 1}
    [reply] = session.scalars(sa.select(EmailReply)).all()
    assert reply.sent_email_id == old.id
    [stored] = session.scalars(sa.select(InboxMessage)).all()
    assert (stored.matched_by, stored.delivery_id) == ("in_reply_to", None)
    assert enrollment(session, sent, ADA).status == "replied"


def test_an_auto_reply_postpones_nothing_when_the_setting_is_off(session, clock, sent):
    raw = outlook_auto_reply(sent.thread(ADA), back="16 March 2026")
    due = enrollment(session, sent, ADA).next_send_at

    report = read(session, sent, page(raw), clock, IngestOptions(postpone_auto_replies=False))

    assert report.acted == {"auto_reply": 1}
    assert enrollment(session, sent, ADA).next_send_at == due


def test_unmatched_and_other_messages_are_counted_and_left_alone(session, clock, sent):
    stranger = Thread(message_id="<nothing-of-ours@example.net>", theirs="who@example.net")
    session.add(inbox_queries.InboxCursor(sender_account_id=sent.account.id))
    session.commit()

    report = read(
        session, sent, page(mailing_list_message(), gmail_reply(stranger), cursor="c9"), clock
    )

    assert (report.ignored, report.unmatched, report.acted) == (1, 1, {})
    assert count(session, EmailReply) == count(session, InboxMessage) == 0
    assert campaign_queries.enrollment_counts(session, sent.campaign.id) == {"in_progress": 3}
    assert inbox_queries.cursor_of(session, sent.account.id).cursor == "c9"


# Which mailbox an account reads.


@pytest.mark.parametrize("one_per_company", [True, False])
def test_a_reply_stops_the_colleagues_when_the_campaign_keeps_one_conversation_per_company(
    session, container, clock, tmp_path, one_per_company
):
    found, account = launched_from_outbox(
        session,
        container,
        clock,
        tmp_path,
        sender=SENDER,
        people=COLLEAGUES,
        skip_replied_companies=one_per_company,
    )
    rows = session.execute(
        sa.select(Contact.email, Delivery).join(Contact, Contact.id == Delivery.contact_id)
    )
    sent = Sent(found, account, dict(rows.all()))

    report = read(
        session,
        sent,
        page(gmail_reply(sent.thread(ADA)), gmail_reply(sent.thread("joan@gmail.com"))),
        clock,
    )

    statuses = {
        email: enrollment(session, sent, email).status
        for email in ("charles@analytical.example", ALAN, "mavis@gmail.com")
    }
    # People at a personal mailbox provider are nobody's colleagues.
    if one_per_company:
        assert statuses == {
            "charles@analytical.example": "stopped",
            ALAN: "in_progress",
            "mavis@gmail.com": "in_progress",
        }
        charles = enrollment(session, sent, "charles@analytical.example")
        assert charles.stop_reason == f"a colleague ({ADA}) replied"
        assert "a colleague's sequence stops too" in " ".join(report.lines)
    else:
        assert set(statuses.values()) == {"in_progress"}


def test_each_account_kind_gets_its_own_reader(session, container, clock):
    key = container.settings.secret_key_value()
    smtp = senders.add(
        session,
        kind=senders.SenderKind.smtp,
        email="me@ourco.example",
        display_name=None,
        secret_key=key,
        smtp=senders.SmtpSettings(host="smtp.ourco.example", username="me"),
        password="smtp-secret",
        now=clock.now(),
    )
    graph = senders.add(
        session,
        kind=senders.SenderKind.graph,
        email="grace@acme.example",
        display_name=None,
        secret_key=key,
        graph=senders.GraphAccount("tenant", "client"),
        password="app-secret",
        now=clock.now(),
    )
    assert container.inbox_reader_for(smtp) is None

    mailboxes.set_imap(
        session, smtp.id, mailboxes.ImapMailbox("imap.ourco.example"), secret_key=key
    )
    imap = container.imap_settings(smtp)
    assert imap is not None
    assert (imap.host, imap.port, imap.security, imap.username, imap.password) == (
        "imap.ourco.example",
        993,
        "tls",
        "me",
        "smtp-secret",
    )
    mailboxes.set_imap(
        session,
        smtp.id,
        mailboxes.ImapMailbox("imap.ourco.example", 143, "starttls", "box"),
        secret_key=key,
        password="imap-secret",
    )
    imap = container.imap_settings(smtp)
    assert imap is not None
    assert (imap.username, imap.password) == ("box", "imap-secret")
    reader = container.inbox_reader_for(smtp)
    assert isinstance(reader, ImapReader)
    graph_reader = container.inbox_reader_for(graph)
    assert isinstance(graph_reader, GraphInboxReader)
    graph_reader.close()

    with pytest.raises(ValidationFailed, match="port"):
        mailboxes.set_imap(session, smtp.id, mailboxes.ImapMailbox("h", 0), secret_key=key)
    with pytest.raises(ValidationFailed, match="Security"):
        mailboxes.set_imap(session, smtp.id, mailboxes.ImapMailbox("h", 993, "ssl"), secret_key=key)
    with pytest.raises(ValidationFailed, match="only SMTP accounts"):
        mailboxes.set_imap(session, graph.id, mailboxes.ImapMailbox("h"), secret_key=key)
    mailboxes.clear_imap(session, smtp.id, secret_key=key)
    assert container.inbox_reader_for(smtp) is None
