"""What only Microsoft Graph promises, for sending and for reading replies, against a fake
Graph on loopback that speaks Microsoft's documented wire format (tests/fakes/graph_server.py).
The shared send assertions run for Graph in test_transports.py."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest

from outreach.clock import FixedClock
from outreach.providers.base import ProviderStatus
from outreach.providers.compose import new_message_id
from outreach.providers.errors import (
    AccountError,
    DeliveryUncertain,
    PermanentError,
    TransientError,
)
from outreach.providers.graph.reader import GraphInboxReader
from outreach.providers.graph.session import retry_after_seconds
from outreach.providers.graph.settings import GraphSettings
from outreach.providers.graph.tokens import GraphTokens
from outreach.providers.graph.transport import GraphTransport
from outreach.providers.inbox import InboxPage
from outreach.providers.limits import GRAPH_DEFAULT_LIMITS
from outreach.providers.message import Mailbox, OutgoingMessage
from outreach.providers.throttle import SendingPace
from tests.fakes.graph_server import (
    MAILBOX,
    TENANT,
    FakeGraph,
    settings_for,
)

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ADA = Mailbox("ada@example.com", "Ada Lovelace")


def a_message(n: int = 0, **changes: Any) -> OutgoingMessage:
    at = AT + timedelta(seconds=n)
    message = OutgoingMessage(
        message_id=new_message_id("acme.example", at),
        sender=Mailbox(MAILBOX, "Grace Hopper"),
        recipient=ADA,
        subject=f"Grüße, Ada ({n})",
        text=f"Hi Ada,\n\nemail number {n}.\nFrom Grace\n",
        date=at,
    )
    return replace(message, **changes)


def parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


MakeTransport = Callable[..., GraphTransport]


@pytest.fixture
def tokens(fake_graph: FakeGraph) -> Iterator[GraphTokens]:
    """One cache of sign-ins for the test, as the container keeps one for the app."""
    kept = GraphTokens(ssl_context=fake_graph.client_context())
    yield kept
    kept.close()


@pytest.fixture
def graph_transport(fake_graph: FakeGraph, tokens: GraphTokens) -> Iterator[MakeTransport]:
    made: list[GraphTransport] = []

    def make(settings: GraphSettings | None = None, **options: Any) -> GraphTransport:
        transport = GraphTransport(
            settings or settings_for(fake_graph),
            tokens,
            ssl_context=fake_graph.client_context(),
            **options,
        )
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


@pytest.fixture
def transport(graph_transport: MakeTransport) -> GraphTransport:
    return graph_transport()


# Sending: ids, threads and headers.


def test_a_sent_email_comes_back_with_its_immutable_id_and_conversation(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    message = a_message()

    sent = transport.send(message)

    [in_sent_items] = fake_graph.sent
    assert sent.provider_id == in_sent_items["id"]
    assert sent.conversation_id == in_sent_items["conversationId"]
    assert sent.message_id == in_sent_items["internetMessageId"] == message.message_id
    mail_requests = [r for r in fake_graph.graph_requests() if "/messages" in r.path]
    assert [r.headers["prefer"] for r in mail_requests] == ['IdType="ImmutableId"'] * 2


def test_the_id_kept_for_the_draft_still_finds_the_email_once_it_is_sent(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    drafts: list[str] = []

    sent = transport.send(a_message(), on_draft=drafts.append)

    assert drafts == [sent.provider_id]
    assert sent.provider_id is not None
    assert transport.status(sent.provider_id) is ProviderStatus.sent


def test_a_follow_up_is_a_reply_in_the_same_conversation_to_the_contact_only(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    first = a_message(0)
    follow_up = a_message(
        1,
        subject="Re: Grüße, Ada (0)",
        in_reply_to=first.message_id,
        references=(first.message_id,),
    )

    earlier = transport.send(first)
    assert earlier.provider_id is not None
    sent = transport.send_reply(follow_up, earlier.provider_id)

    reply = fake_graph.sent[1]
    assert sent.conversation_id == earlier.conversation_id == reply["conversationId"]
    assert reply["toRecipients"] == [
        {"emailAddress": {"address": "ada@example.com", "name": "Ada Lovelace"}}
    ]
    assert sent.message_id == follow_up.message_id
    arrived = parsed(fake_graph.delivered()[1])
    assert arrived["Message-ID"] == follow_up.message_id
    assert arrived["In-Reply-To"] == first.message_id
    assert arrived["To"] == "Ada Lovelace <ada@example.com>"
    assert arrived["Subject"] == "Re: Grüße, Ada (0)"
    assert arrived.get_content() == "Hi Ada,\r\n\r\nemail number 1.\r\nFrom Grace\r\n"
    replied_to = [r.path for r in fake_graph.requests if r.path.endswith("/createReply")]
    assert replied_to == [f"/v1.0/users/{MAILBOX}/messages/{earlier.provider_id}/createReply"]


def test_a_follow_up_whose_earlier_email_was_deleted_still_goes_in_the_thread(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    first = a_message(0)
    follow_up = a_message(1, in_reply_to=first.message_id, references=(first.message_id,))
    earlier = transport.send(first)
    assert earlier.provider_id is not None
    fake_graph.delete(earlier.provider_id)

    transport.send_reply(follow_up, earlier.provider_id)

    arrived = parsed(fake_graph.delivered()[1])
    assert arrived["Message-ID"] == follow_up.message_id
    assert arrived["In-Reply-To"] == first.message_id
    assert str(arrived["References"]) == first.message_id


def test_list_unsubscribe_goes_as_the_mapi_property_graph_accepts_with_one_click(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    message = a_message(
        unsubscribe_url="https://acme.example/u/1", unsubscribe_mailto="leave@acme.example"
    )

    sent = transport.send(message)

    assert sent.provider_id is not None
    assert fake_graph.extended_properties(sent.provider_id) == {
        "String 0x1045": "<https://acme.example/u/1>, <mailto:leave@acme.example>",
        "String {00020386-0000-0000-C000-000000000046} Name List-Unsubscribe-Post": (
            "List-Unsubscribe=One-Click"
        ),
    }
    [created] = [r.json() for r in fake_graph.requests if r.path.endswith("/messages")]
    assert "internetMessageHeaders" not in created
    arrived = parsed(fake_graph.delivered()[0])
    assert arrived["List-Unsubscribe"] == "<https://acme.example/u/1>, <mailto:leave@acme.example>"
    assert arrived["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert transport.one_click_unsubscribe


def test_a_sender_told_not_to_ask_for_one_click_unsubscribe_says_it_cannot_offer_it(
    fake_graph: FakeGraph, graph_transport: MakeTransport
) -> None:
    transport = graph_transport(settings_for(fake_graph, one_click_unsubscribe=False))

    sent = transport.send(a_message(unsubscribe_url="https://acme.example/u/1"))

    assert not transport.one_click_unsubscribe
    assert sent.provider_id is not None
    assert fake_graph.extended_properties(sent.provider_id) == {
        "String 0x1045": "<https://acme.example/u/1>"
    }


def test_only_our_x_headers_go_as_internet_message_headers(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    first = a_message(0)

    transport.send(
        a_message(
            1,
            in_reply_to=first.message_id,
            references=(first.message_id,),
            extra_headers=(("X-Outreach-Campaign", "spring"),),
        )
    )

    [created] = [r.json() for r in fake_graph.requests if r.path.endswith("/messages")]
    assert created["internetMessageHeaders"] == [{"name": "X-Outreach-Campaign", "value": "spring"}]
    assert parsed(fake_graph.delivered()[0])["X-Outreach-Campaign"] == "spring"


def test_an_html_email_goes_as_html_and_exchange_writes_the_text_part(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    transport.send(a_message(html="<p>Hi Ada,</p>"))

    [created] = [r.json() for r in fake_graph.requests if r.path.endswith("/messages")]
    assert created["body"] == {"contentType": "html", "content": "<p>Hi Ada,</p>"}


# Sending: throttling and refusals.


def test_throttling_with_retry_after_in_seconds_is_tried_again_later_without_a_draft_left(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    fake_graph.fail_next(
        "POST", "/send", 429, code="ApplicationThrottled", message="Too many", retry_after="7"
    )

    with pytest.raises(TransientError) as throttled:
        transport.send(a_message())

    assert not isinstance(throttled.value, PermanentError)
    assert throttled.value.retry_after == 7
    assert "ApplicationThrottled" in throttled.value.reason
    assert fake_graph.sent == []
    assert fake_graph.drafts == []


def test_retry_after_as_an_http_date_becomes_seconds_from_now(
    fake_graph: FakeGraph, graph_transport: MakeTransport
) -> None:
    transport = graph_transport(clock=FixedClock(AT))
    fake_graph.fail_next(
        "POST",
        "/messages",
        503,
        code="ServiceUnavailable",
        retry_after=format_datetime(AT + timedelta(minutes=2), usegmt=True),
    )

    with pytest.raises(TransientError) as unavailable:
        transport.send(a_message())

    assert unavailable.value.retry_after == 120


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        ("Mon, 02 Mar 2026 10:00:45 GMT", 45.0),
        ("Mon, 02 Mar 2026 09:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    value: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(value, AT) == seconds


def test_a_recipient_graph_will_not_resolve_is_rejected_for_good(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    fake_graph.reject_recipient("nobody@example.com")

    with pytest.raises(PermanentError) as refused:
        transport.send(a_message(recipient=Mailbox("nobody@example.com")))
    transport.send(a_message(1))

    assert refused.value.address_rejected
    assert "isn't resolved" in refused.value.reason
    assert len(fake_graph.sent) == 1


def test_another_refusal_fails_the_email_in_graphs_words(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    fake_graph.fail_next(
        "POST",
        "/messages",
        413,
        code="ErrorMessageSizeExceeded",
        message="The message exceeds the maximum supported size.",
    )

    with pytest.raises(PermanentError) as refused:
        transport.send(a_message())

    assert not refused.value.address_rejected
    assert "exceeds the maximum supported size" in refused.value.reason


# Sending: signing in.


def test_one_token_per_tenant_is_shared_by_every_transport_and_reused(
    fake_graph: FakeGraph, graph_transport: MakeTransport
) -> None:
    other_tenant = "9a8b7c6d-0000-4000-8000-000000000001"
    fake_graph.add_app(other_tenant, "other-app", "other-secret")
    other = settings_for(
        fake_graph, tenant_id=other_tenant, client_id="other-app", client_secret="other-secret"
    )
    first, second, third = graph_transport(), graph_transport(), graph_transport(other)

    for n in range(3):
        first.send(a_message(n))
        second.send(a_message(10 + n))
        third.send(a_message(20 + n))

    assert fake_graph.token_requests(TENANT) == 1
    assert fake_graph.token_requests(other_tenant) == 1
    assert len(fake_graph.sent) == 9


def test_a_revoked_token_is_replaced_once_and_sending_goes_on(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    transport.send(a_message(0))
    fake_graph.revoke_tokens()

    transport.send(a_message(1))

    assert fake_graph.token_requests() == 2
    assert len(fake_graph.sent) == 2


def test_connections_that_meet_the_same_revoked_token_sign_in_again_once(
    fake_graph: FakeGraph, tokens: GraphTokens
) -> None:
    settings = settings_for(fake_graph)
    old = tokens.token(settings)  # handed to two connections
    fake_graph.revoke_tokens()

    tokens.forget(settings, old)  # the first meets the refusal
    new = tokens.token(settings)
    tokens.forget(settings, old)  # the second meets it too, a moment later

    assert tokens.token(settings) == new
    assert fake_graph.token_requests() == 2


def test_a_revoked_secret_is_an_account_error_that_says_so(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    transport.send(a_message(0))
    fake_graph.revoke_tokens()
    fake_graph.revoke_secret()

    with pytest.raises(AccountError, match="client secret is wrong, has expired") as failed:
        transport.send(a_message(1))
    with pytest.raises(AccountError, match="AADSTS7000215"):
        transport.check()

    assert "invalid_client" in failed.value.reason
    assert len(fake_graph.sent) == 1


def test_graph_refusing_even_a_fresh_token_is_an_account_error(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    fake_graph.fail_next(
        "POST", "/messages", 401, code="InvalidAuthenticationToken", message="Bad token", times=2
    )

    with pytest.raises(AccountError, match="consent or secret was revoked"):
        transport.send(a_message())

    assert fake_graph.token_requests() == 2


def test_a_mailbox_the_app_may_not_use_is_an_account_error(
    fake_graph: FakeGraph, graph_transport: MakeTransport
) -> None:
    with pytest.raises(AccountError, match=r"no mailbox nobody@acme\.example"):
        graph_transport(settings_for(fake_graph, mailbox="nobody@acme.example")).send(a_message())

    fake_graph.deny_access()
    with pytest.raises(AccountError, match=r"Mail\.Send"):
        graph_transport().send(a_message())


def test_an_unknown_tenant_is_an_account_error(
    fake_graph: FakeGraph, graph_transport: MakeTransport
) -> None:
    transport = graph_transport(settings_for(fake_graph, tenant_id="no-such-tenant"))

    with pytest.raises(AccountError, match="does not know the tenant no-such-tenant"):
        transport.check()


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def test_graph_out_of_reach_before_the_send_is_tried_again_later(
    fake_graph: FakeGraph, graph_transport: MakeTransport, closed_port: int
) -> None:
    transport = graph_transport(
        settings_for(fake_graph, graph_url=f"https://127.0.0.1:{closed_port}/v1.0")
    )

    with pytest.raises(TransientError, match="was not sent") as failed:
        transport.send(a_message())

    assert not isinstance(failed.value, PermanentError)


def test_check_signs_in_and_opens_the_inbox(transport: GraphTransport) -> None:
    said = transport.check()

    assert said == (
        f"Signed in as app {transport.settings.client_id} in tenant {TENANT} and opened the "
        f"inbox of {MAILBOX} (0 emails)."
    )


# Sending: after a crash.


class Crash(Exception):
    """The process dying between two steps."""


def test_status_tells_a_draft_from_a_sent_email_and_a_missing_one(
    fake_graph: FakeGraph, transport: GraphTransport
) -> None:
    kept: list[str] = []

    def crash(provider_id: str) -> None:
        kept.append(provider_id)
        raise Crash

    with pytest.raises(Crash):
        transport.send(a_message(0), on_draft=crash)
    sent = transport.send(a_message(1))

    assert sent.provider_id is not None
    assert transport.status(kept[0]) is ProviderStatus.draft
    assert transport.status(sent.provider_id) is ProviderStatus.sent
    fake_graph.delete(kept[0])
    assert transport.status(kept[0]) is ProviderStatus.missing


def test_a_send_with_no_answer_in_time_is_uncertain_and_status_tells_it_went(
    fake_graph: FakeGraph, graph_transport: MakeTransport
) -> None:
    transport = graph_transport(send_timeout=0.3)
    fake_graph.hold_next_send(10)
    kept: list[str] = []

    with pytest.raises(DeliveryUncertain) as uncertain:
        transport.send(a_message(), on_draft=kept.append)

    assert not uncertain.value.address_rejected
    assert "may or may not have been sent" in uncertain.value.reason
    assert transport.status(kept[0]) is ProviderStatus.sent


def test_sends_over_the_per_minute_limit_wait_for_the_minute_to_pass_shared_by_connections(
    fake_graph: FakeGraph, graph_transport: MakeTransport
) -> None:
    slept: list[float] = []
    pace = SendingPace(2, now=lambda: 100.0, sleep=slept.append)
    first, second = graph_transport(pace=pace), graph_transport(pace=pace)

    first.send(a_message(1))
    second.send(a_message(2))
    assert slept == []
    first.send(a_message(3))

    assert slept == [60.0]
    assert len(fake_graph.sent) == 3


def test_the_default_limits_stay_under_what_microsoft_enforces() -> None:
    assert GRAPH_DEFAULT_LIMITS.per_minute < 30
    assert GRAPH_DEFAULT_LIMITS.per_day < 10_000
    assert GRAPH_DEFAULT_LIMITS.connections < 4


# Reading replies: the Inbox delta query.


MakeReader = Callable[..., GraphInboxReader]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
def graph_reader(
    fake_graph: FakeGraph, tokens: GraphTokens, clock: FixedClock
) -> Iterator[MakeReader]:
    made: list[GraphInboxReader] = []

    def make(**options: Any) -> GraphInboxReader:
        reader = GraphInboxReader(
            settings_for(fake_graph),
            tokens,
            clock=clock,
            ssl_context=fake_graph.client_context(),
            **options,
        )
        made.append(reader)
        return reader

    yield make
    for reader in made:
        reader.close()


def a_reply(n: int) -> bytes:
    return (
        f"From: Ada Lovelace <ada@example.com>\r\nTo: Grace Hopper <{MAILBOX}>\r\n"
        f"Subject: RE: Grüße ({n})\r\nMessage-ID: <reply-{n}@example.com>\r\n"
        f"In-Reply-To: <first@acme.example>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\nSounds good ({n}).\r\n"
    ).encode()


def read_all(reader: GraphInboxReader, cursor: str | None) -> tuple[list[InboxPage], str]:
    """Every page the reader has now, following nextLinks; and the cursor to store."""
    pages = [reader.read(cursor)]
    while pages[-1].more:
        pages.append(reader.read(pages[-1].cursor))
    return pages, pages[-1].cursor


def ids(pages: list[InboxPage]) -> list[str]:
    return [parsed(m.raw)["Message-ID"] for page in pages for m in page.messages]


def test_the_first_read_returns_nothing_already_in_the_inbox(
    fake_graph: FakeGraph, graph_reader: MakeReader
) -> None:
    for n in range(3):
        fake_graph.deliver_to_inbox(a_reply(n), received_at=AT - timedelta(days=1, minutes=n))

    page = graph_reader().read(None)

    assert page.messages == ()
    assert not page.more


def test_a_reply_after_the_first_read_comes_next_as_mime_with_its_conversation(
    fake_graph: FakeGraph, graph_reader: MakeReader
) -> None:
    reader = graph_reader()
    cursor = reader.read(None).cursor
    raw = a_reply(1)
    provider_id = fake_graph.deliver_to_inbox(
        raw, received_at=AT + timedelta(minutes=5), conversation_id="AAQkAGI2conversation="
    )

    page = reader.read(cursor)

    [message] = page.messages
    assert message.provider_id == provider_id
    assert message.raw == raw
    assert message.received_at == AT + timedelta(minutes=5)
    assert message.conversation_id == "AAQkAGI2conversation="
    assert not page.more


def test_many_replies_come_in_pages_following_next_links_oldest_first(
    fake_graph: FakeGraph, graph_reader: MakeReader
) -> None:
    reader = graph_reader(page_size=2)
    cursor = reader.read(None).cursor
    for n in (4, 2, 0, 3, 1):
        fake_graph.deliver_to_inbox(a_reply(n), received_at=AT + timedelta(minutes=n))

    pages, _ = read_all(reader, cursor)

    assert [len(page.messages) for page in pages] == [2, 2, 1]
    assert [page.more for page in pages] == [True, True, False]
    assert sorted(ids(pages)) == [f"<reply-{n}@example.com>" for n in range(5)]
    for page in pages:
        assert list(page.messages) == sorted(page.messages, key=lambda m: m.received_at)
    delta_requests = [r for r in fake_graph.requests if r.path.endswith("/messages/delta")]
    assert {r.headers["prefer"] for r in delta_requests} == {
        'IdType="ImmutableId", odata.maxpagesize=2'
    }


def test_the_stored_delta_link_resumes_where_the_last_round_ended(
    fake_graph: FakeGraph, graph_reader: MakeReader
) -> None:
    reader = graph_reader(page_size=2)
    cursor = reader.read(None).cursor
    for n in range(3):
        fake_graph.deliver_to_inbox(a_reply(n), received_at=AT + timedelta(minutes=n))
    _, cursor = read_all(reader, cursor)
    fake_graph.deliver_to_inbox(a_reply(3), received_at=AT + timedelta(minutes=3))

    pages, _ = read_all(graph_reader(page_size=2), cursor)

    assert ids(pages) == ["<reply-3@example.com>"]


def test_reading_again_from_the_same_cursor_adds_nothing_new_and_read_mail_stays_away(
    fake_graph: FakeGraph, graph_reader: MakeReader
) -> None:
    reader = graph_reader()
    cursor = reader.read(None).cursor
    first = fake_graph.deliver_to_inbox(a_reply(1), received_at=AT + timedelta(minutes=1))

    again = reader.read(cursor)
    once_more = reader.read(cursor)
    fake_graph.mark_read(first)
    after = reader.read(once_more.cursor)

    assert [m.provider_id for m in again.messages] == [first]
    assert [m.provider_id for m in once_more.messages] == [first]
    assert after.messages == ()


@pytest.mark.parametrize("status", [410, 400])
def test_an_expired_delta_token_starts_over_from_the_last_round_and_says_so(
    fake_graph: FakeGraph,
    graph_reader: MakeReader,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    reader = graph_reader()
    cursor = reader.read(None).cursor
    fake_graph.deliver_to_inbox(a_reply(1), received_at=AT + timedelta(minutes=10))
    clock.advance(timedelta(hours=1))
    _, cursor = read_all(reader, cursor)
    fake_graph.deliver_to_inbox(a_reply(2), received_at=AT + timedelta(minutes=70))
    fake_graph.expire_sync_states(status)
    clock.advance(timedelta(hours=1))

    with caplog.at_level(logging.WARNING):
        pages, cursor = read_all(reader, cursor)

    # The round at 11:00 had everything up to then: the restart reads from 10:45.
    assert ids(pages) == ["<reply-2@example.com>"]
    ours = [r.message for r in caplog.records if r.name.startswith("outreach")]
    assert ours == ["inbox.graph_delta_restarted"]
    fake_graph.deliver_to_inbox(a_reply(3), received_at=AT + timedelta(minutes=130))
    pages, _ = read_all(reader, cursor)
    assert ids(pages) == ["<reply-3@example.com>"]


def test_throttled_reading_is_tried_again_later(
    fake_graph: FakeGraph, graph_reader: MakeReader
) -> None:
    reader = graph_reader()
    fake_graph.fail_next(
        "GET", "/messages/delta", 429, code="ApplicationThrottled", retry_after="30"
    )

    with pytest.raises(TransientError) as throttled:
        reader.read(None)

    assert throttled.value.retry_after == 30
    assert reader.read(None).messages == ()


def test_a_reply_deleted_before_its_mime_was_read_is_left_out(
    fake_graph: FakeGraph, graph_reader: MakeReader
) -> None:
    reader = graph_reader()
    cursor = reader.read(None).cursor
    for n in (1, 2):
        fake_graph.deliver_to_inbox(a_reply(n), received_at=AT + timedelta(minutes=n))
    # Deleted between the delta query listing it and the reader fetching its MIME:
    fake_graph.fail_next("GET", "/$value", 404, code="ErrorItemNotFound")

    page = reader.read(cursor)

    assert len(page.messages) == 1
    assert not page.more


def test_the_reader_checks_by_opening_the_inbox(
    fake_graph: FakeGraph, graph_reader: MakeReader
) -> None:
    fake_graph.deliver_to_inbox(a_reply(1), received_at=AT)

    said = graph_reader().check()

    assert said.endswith(f"opened the inbox of {MAILBOX} (1 email).")


def test_a_revoked_secret_stops_the_reader_with_an_account_error(
    fake_graph: FakeGraph, graph_reader: MakeReader
) -> None:
    reader = graph_reader()
    cursor = reader.read(None).cursor
    fake_graph.revoke_tokens()
    fake_graph.revoke_secret()

    with pytest.raises(AccountError, match="client secret"):
        reader.read(cursor)
