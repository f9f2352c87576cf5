"""Answering a conversation from the app: the answer goes from the same account in the same
thread, through the ledger campaign emails use, once; as a draft first, or at a chosen time."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import timedelta
from email import policy
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from outreach.contacts import suppressions
from outreach.delivery import answers as ledger
from outreach.delivery import dispatch, scheduled, taking
from outreach.delivery.models import Delivery, SentEmail
from outreach.errors import Conflict, ValidationFailed
from outreach.inbox import answers, conversations
from outreach.inbox.models import Conversation
from outreach.inbox.service import ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from tests.conversation_setup import ADA, THEIR_ID, replied_over_smtp
from tests.fakes.graph_server import MAILBOX
from tests.inbox_messages import Thread, gmail_reply
from tests.integration.test_graph_sending import graph_sender, launch, recipients
from tests.smtp_server import RecordingSMTPServer

BODY = "Thanks {{ first_name }}, Tuesday at 3pm it is."


def text_of(message: EmailMessage) -> str:
    return message.get_content().replace("\r\n", "\n").strip()


def answers_to_ada(server: RecordingSMTPServer) -> list[EmailMessage]:
    found = []
    for message in server.messages:
        parsed = email.message_from_bytes(message.data, policy=policy.default)
        if message.rcpt_tos == (ADA,) and str(parsed["Subject"]).startswith("Re:"):
            found.append(parsed)
    return found


@pytest.fixture
def replied(session, container, clock, tmp_path, smtp_server):
    return replied_over_smtp(session, container, clock, tmp_path, smtp_server.port)


def test_an_answer_goes_once_in_the_thread_with_merge_fields_and_the_signature(
    session, container, clock, smtp_server, replied
):
    clock.advance(timedelta(minutes=5))
    answers.send(session, replied.conversation_id, BODY, clock.now(), clock.now(), None)
    session.commit()

    container.sending_pass()
    container.sending_pass()

    [sent] = answers_to_ada(smtp_server)
    assert str(sent["Subject"]) == replied.subject
    assert str(sent["From"]).endswith("<me@ourco.example>")
    assert sent["In-Reply-To"] == THEIR_ID
    assert str(sent["References"]).split() == [replied.our_id, THEIR_ID]
    assert text_of(sent) == "Thanks Ada, Tuesday at 3pm it is.\n\nGrace Hopper\nAcme"
    thread = conversations.thread(
        session, replied.conversation_id, show_images=False, attachment_url=str
    )
    last = thread.entries[-1]
    assert (last.ours, last.subject) == (True, replied.subject)
    assert last.text.startswith("Thanks Ada, Tuesday")
    assert not session.get(Conversation, replied.conversation_id).needs_answer
    assert answers.waiting(session, replied.conversation_id) == []


def test_an_answer_to_a_reply_that_says_re_already_says_it_once():
    assert answers.reply_subject("RE: Hello") == "Re: Hello"
    assert answers.reply_subject("Re: Re: Hello") == "Re: Re: Hello"
    assert answers.reply_subject("AW: Hallo") == "Re: Hallo"
    assert answers.reply_subject("Hello") == "Re: Hello"
    assert answers.reply_subject(None) == "Re:"


def test_an_answer_to_a_suppressed_address_is_refused_with_the_reason(
    session, clock, smtp_server, replied
):
    suppressions.add(session, ADA, suppressions.Reason.manual, "asked by phone", clock.now())

    with pytest.raises(Conflict, match=r"ada@analytical\.example is on the suppression list"):
        answers.send(session, replied.conversation_id, BODY, clock.now(), clock.now(), None)


def test_a_draft_is_kept_then_sent_at_the_chosen_time_and_only_then(
    session, container, clock, smtp_server, replied
):
    draft = answers.draft(session, replied.conversation_id, "A first thought.", clock.now(), None)
    session.commit()
    [waiting] = answers.waiting(session, replied.conversation_id)
    assert (waiting.answer.id, waiting.status) == (draft.id, ledger.AnswerStatus.draft)

    later = clock.now() + timedelta(hours=2)
    answers.send_draft(
        session,
        replied.conversation_id,
        draft.id,
        later,
        clock.now(),
        body="Better: {{ company }}.",
    )
    session.commit()
    container.sending_pass()
    assert answers_to_ada(smtp_server) == []
    assert answers.waiting(session, replied.conversation_id)[0].status == "scheduled"

    clock.advance(timedelta(hours=2))
    container.sending_pass()

    [sent] = answers_to_ada(smtp_server)
    assert text_of(sent).startswith("Better: Analytical Engines.")
    assert ledger.standing_of(session, draft.id).status == ledger.AnswerStatus.sent
    with pytest.raises(Conflict, match="sent or scheduled already"):
        answers.send_draft(session, replied.conversation_id, draft.id, clock.now(), clock.now())


def test_a_scheduled_answer_can_be_taken_back_into_a_draft_before_its_time(
    session, container, clock, smtp_server, replied
):
    later = clock.now() + timedelta(days=1)
    answer = answers.send(session, replied.conversation_id, BODY, later, clock.now(), None)
    ledger.unschedule(session, answer.id)
    session.commit()

    assert ledger.standing_of(session, answer.id).status == ledger.AnswerStatus.draft
    clock.advance(timedelta(days=1))
    container.sending_pass()
    assert answers_to_ada(smtp_server) == []


def test_an_answer_whose_merge_field_is_unknown_is_refused_saying_which(
    session, clock, smtp_server, replied
):
    with pytest.raises(ValidationFailed, match="favourite_colour"):
        answers.send(
            session,
            replied.conversation_id,
            "Hi {{ favourite_colour }}",
            clock.now(),
            clock.now(),
            None,
        )


def test_an_answer_is_one_delivery_and_one_sent_email(
    session, container, clock, smtp_server, replied
):
    answers.send(session, replied.conversation_id, BODY, clock.now(), clock.now(), None)
    session.commit()
    container.sending_pass()

    rows = session.execute(
        sa.select(Delivery.status, SentEmail.subject)
        .join(SentEmail, SentEmail.id == Delivery.sent_email_id)
        .where(Delivery.scheduled_email_id.is_not(None))
    ).all()
    assert rows == [("sent", replied.subject)]


def test_a_graph_accounts_answer_is_a_createreply_to_their_message_in_its_conversation(
    session, clock, container, fake_graph, tmp_path
):
    graph = replace(container, tls_context=fake_graph.client_context())
    sender = graph_sender(session, clock, graph, fake_graph)
    launch(session, clock, tmp_path, sender)
    graph.sending_pass()
    [first] = [item for item in fake_graph.sent if recipients(item) == [ADA]]
    our_id = first["internetMessageId"]
    subject = str(first["subject"])
    reply = gmail_reply(Thread(our_id, subject, MAILBOX, ADA))
    clock.advance(timedelta(hours=1))
    theirs = fake_graph.deliver_to_inbox(
        reply, received_at=clock.now(), conversation_id=first["conversationId"]
    )
    graph.poll_mailboxes(force=True)
    conversation = session.scalars(sa.select(Conversation)).one()
    clock.advance(timedelta(minutes=5))

    answers.send(session, conversation.id, BODY, clock.now(), clock.now(), None)
    session.commit()
    graph.sending_pass()
    graph.close()

    replied_to = [r.path for r in fake_graph.graph_requests() if r.path.endswith("/createReply")]
    assert replied_to == [f"/v1.0/users/{MAILBOX}/messages/{theirs}/createReply"]
    answer = fake_graph.sent[-1]
    assert answer["conversationId"] == first["conversationId"]
    assert recipients(answer) == [ADA]
    delivered = email.message_from_bytes(fake_graph.delivered()[-1], policy=policy.default)
    assert str(delivered["Subject"]) == f"Re: {subject}"
    assert delivered["In-Reply-To"] == THEIR_ID
    assert str(delivered["References"]).split() == [our_id, THEIR_ID]
    assert "Thanks Ada, Tuesday at 3pm it is." in delivered.get_content()
    assert fake_graph.drafts == []


def test_an_answer_scheduled_for_later_answers_the_message_it_was_written_to(
    session, container, clock, smtp_server, replied
):
    later = clock.now() + timedelta(hours=2)
    answers.send(session, replied.conversation_id, BODY, later, clock.now(), None)
    session.commit()
    # Ada writes again, on a subject of her own, before the answer's time comes.
    clock.advance(timedelta(hours=1))
    newer = gmail_reply(
        Thread(replied.our_id, "Another thing", replied.account.email, ADA),
        text="Actually, could we make it Wednesday?",
    ).replace(b"CAF=3kq8pLx9n+0fVwA", b"CAF=newer")
    ingest(
        session,
        replied.account,
        InboxPage((InboundMessage("2", newer, clock.now()),), "2", False),
        clock.now(),
    )
    session.commit()
    thread = conversations.thread(
        session, replied.conversation_id, show_images=False, attachment_url=str
    )
    assert [e.subject for e in thread.entries if not e.ours][-1] == "Re: Another thing"

    clock.advance(timedelta(hours=1))
    container.sending_pass()

    [sent] = answers_to_ada(smtp_server)
    assert str(sent["Subject"]) == replied.subject
    assert sent["In-Reply-To"] == THEIR_ID
    assert str(sent["References"]).split() == [replied.our_id, THEIR_ID]


def test_an_answer_scheduled_for_later_whose_send_a_crash_cut_short_is_never_sent_twice(
    session, container, clock, smtp_server, replied
):
    later = clock.now() + timedelta(hours=2)
    answer = answers.send(session, replied.conversation_id, BODY, later, clock.now(), None)
    session.commit()
    clock.advance(timedelta(hours=2))
    # A worker that has since died wrote the answer's delivery and took it, then said nothing.
    scheduled.queue_due(session, clock.now(), 10)
    claims = taking.ready(session, clock.now(), container.links, 10)
    assert [claim.label for claim in claims] == [f"{ADA}: answer in its conversation"]
    [taken] = taking.start(session, claims, clock.now(), "gone:1:dead")
    session.commit()

    assert container.settle_lapsed() == [str(taken.delivery_id)]
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        container.sending_pass()

    assert answers_to_ada(smtp_server) == []
    assert ledger.standing_of(session, answer.id).status == ledger.AnswerStatus.unknown
    deliveries = session.scalars(
        sa.select(Delivery).where(Delivery.scheduled_email_id.is_not(None))
    )
    assert [(d.id, d.status) for d in deliveries] == [(taken.delivery_id, "unknown")]

    dispatch.send_again(session, taken.delivery_id, clock.now())  # a person: it did not go
    session.commit()
    container.sending_pass()
    container.sending_pass()

    [sent] = answers_to_ada(smtp_server)
    assert sent["In-Reply-To"] == THEIR_ID
    assert ledger.standing_of(session, answer.id).status == ledger.AnswerStatus.sent
