"""One contract for every inbox reader, then what only IMAP promises. The IMAP server is a real
Dovecot on loopback (tests/imap_server.py); the Graph reader reads a fake Graph on loopback
(tests/fakes/graph_server.py), and what only Graph promises is in test_graph.py."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

import pytest

from outreach.clock import FixedClock
from outreach.inbox.classify import Kind, classify
from outreach.inbox.match import KnownEmails, MatchedBy, SentEmail, match
from outreach.inbox.parse import parse
from outreach.providers.errors import AccountError, ProviderError, TransientError
from outreach.providers.graph.reader import GraphInboxReader
from outreach.providers.graph.tokens import GraphTokens
from outreach.providers.imap import ImapReader, ImapSettings
from outreach.providers.inbox import InboundMessage, InboxPage, InboxReader
from tests.fakes.graph_server import (
    FakeGraph,
    settings_for,
)
from tests.imap_server import (
    ImapAccount,
)
from tests.inbox_messages import (
    OUR_ID,
    gmail_reply,
    outlook_auto_reply,
    postfix_dsn,
    wire,
)
from tests.smtp_server import tls_files

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""The pure core's `now`, days after OUR_EMAIL went out, whatever the machine's clock says."""


def numbered(n: int) -> bytes:
    return wire(
        f"From: Ada <ada@example.com>\nTo: grace@acme.example\nSubject: Message {n}\n"
        f"Message-ID: <{n}.contract@example.com>\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n\n"
        f"Body {n}\n"
    )


def message_ids(messages: Sequence[InboundMessage]) -> list[str]:
    return [str(message_from_bytes(m.raw, policy=default_policy)["Message-ID"]) for m in messages]


@dataclass
class Inbox:
    """A reader, and the mailbox it reads from the other side."""

    reader: InboxReader
    deliver: Callable[[Sequence[bytes]], None]
    """Put messages into the mailbox, in order, as mail delivery would."""
    unread: Callable[[], int]
    """How many messages in the mailbox are still unread."""
    with_password: Callable[[str], InboxReader]
    """A reader for the same mailbox signing in with another password."""
    unreachable: Callable[[int], InboxReader]
    """A reader for the same mailbox whose server does not listen on the given port."""
    now: Callable[[], datetime]
    """The time on the mailbox's clock (a fake provider may keep a clock of its own)."""
    down: type[ProviderError]
    """What reading from a server that does not listen is: the account's fault for a server of
    its own (IMAP), a passing outage for Microsoft's (Graph)."""


@pytest.fixture(params=["imap", "graph"])
def inbox(request: pytest.FixtureRequest) -> Inbox:
    made: Inbox = request.getfixturevalue(f"{request.param}_inbox")
    return made


@pytest.fixture
def graph_inbox(fake_graph: FakeGraph) -> Iterator[Inbox]:
    """Graph stamps messages to the second, so the mailbox's clock is one the test moves: each
    delivery takes two seconds, and reads before and after it fall on either side."""
    tokens = GraphTokens(ssl_context=fake_graph.client_context())
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    made: list[GraphInboxReader] = []

    def reader(**changes: Any) -> GraphInboxReader:
        settings = settings_for(fake_graph, **changes)
        context = fake_graph.client_context()
        made.append(GraphInboxReader(settings, tokens, clock=clock, ssl_context=context))
        return made[-1]

    def deliver(messages: Sequence[bytes]) -> None:
        clock.advance(timedelta(seconds=1))
        for raw in messages:
            fake_graph.deliver_to_inbox(raw, received_at=clock.now())
        clock.advance(timedelta(seconds=1))

    yield Inbox(
        reader=reader(),
        deliver=deliver,
        unread=fake_graph.unread_in_inbox,
        with_password=lambda password: reader(client_secret=password),
        unreachable=lambda port: reader(
            graph_url=f"https://127.0.0.1:{port}/v1.0", authority_url=f"https://127.0.0.1:{port}"
        ),
        now=clock.now,
        down=TransientError,
    )
    for each in made:
        each.close()
    tokens.close()


@pytest.fixture
def imap_inbox(request: pytest.FixtureRequest) -> Iterator[Inbox]:
    made: list[ImapReader] = []

    def reader(settings: ImapSettings) -> ImapReader:
        made.append(ImapReader(settings, timeout=5))
        return made[-1]

    account: ImapAccount = request.getfixturevalue("imap_account")
    settings = account.settings("none")

    def unread() -> int:
        with account.client() as client:
            client.select_folder("INBOX", readonly=True)
            return len(client.search(["UNSEEN"]))

    def deliver(messages: Sequence[bytes]) -> None:
        account.append_many(messages)

    yield Inbox(
        reader=reader(settings),
        deliver=deliver,
        unread=unread,
        with_password=lambda password: reader(
            ImapSettings(settings.host, settings.port, "none", account.username, password)
        ),
        unreachable=lambda port: reader(
            ImapSettings(settings.host, port, "none", account.username, account.password)
        ),
        now=lambda: datetime.now(UTC),  # Dovecot's clock is this machine's
        down=TransientError,
    )
    for each in made:
        each.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening, so connecting is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def read_all(reader: InboxReader, cursor: str | None) -> tuple[list[InboxPage], str]:
    """Read until the reader says there is no more; every page, and the last cursor."""
    pages = [reader.read(cursor)]
    while pages[-1].more:
        assert len(pages) < 100, "the reader keeps saying there is more"
        pages.append(reader.read(pages[-1].cursor))
    return pages, pages[-1].cursor


# The contract: every reader.


def test_a_first_read_returns_nothing_that_was_already_there(inbox: Inbox) -> None:
    inbox.deliver([numbered(1), numbered(2)])

    first = inbox.reader.read(None)

    assert first.messages == ()
    assert not first.more
    assert inbox.reader.read(first.cursor).messages == ()


def test_what_arrives_later_comes_oldest_first_as_the_mime_it_was(inbox: Inbox) -> None:
    start = inbox.reader.read(None).cursor
    sent = [numbered(n) for n in range(3)]
    inbox.deliver(sent)

    page = inbox.reader.read(start)

    assert [m.raw for m in page.messages] == sent
    assert message_ids(page.messages) == [f"<{n}.contract@example.com>" for n in range(3)]
    assert not page.more
    assert len({m.provider_id for m in page.messages}) == 3
    for message in page.messages:
        assert message.received_at.tzinfo == UTC
        # The mailbox's own clock, not NOW: delivered a moment ago.
        assert abs(message.received_at - inbox.now()) < timedelta(minutes=5)


def test_reading_again_from_the_returned_cursor_returns_nothing_twice(inbox: Inbox) -> None:
    start = inbox.reader.read(None).cursor
    inbox.deliver([numbered(1)])
    first = inbox.reader.read(start)

    again = inbox.reader.read(first.cursor)
    inbox.deliver([numbered(2)])
    then = inbox.reader.read(again.cursor)

    assert message_ids(first.messages) == ["<1.contract@example.com>"]
    assert again.messages == ()
    assert message_ids(then.messages) == ["<2.contract@example.com>"]


def test_a_poll_interrupted_before_its_cursor_was_stored_reads_the_same_again(
    inbox: Inbox,
) -> None:
    start = inbox.reader.read(None).cursor
    inbox.deliver([numbered(1), numbered(2)])
    lost = inbox.reader.read(start)  # ... and the worker died before storing lost.cursor

    resumed = inbox.reader.read(start)

    # The same messages; the cursor may be a new token for the same place (Graph's are).
    assert (resumed.messages, resumed.more) == (lost.messages, lost.more)
    assert inbox.reader.read(resumed.cursor).messages == ()


def test_many_messages_come_in_pages_until_the_reader_says_done(inbox: Inbox) -> None:
    start = inbox.reader.read(None).cursor
    inbox.deliver([numbered(n) for n in range(250)])

    pages, last = read_all(inbox.reader, start)

    assert [page.more for page in pages] == [True] * (len(pages) - 1) + [False]
    assert len(pages) >= 3
    received = [m for page in pages for m in page.messages]
    assert message_ids(received) == [f"<{n}.contract@example.com>" for n in range(250)]
    assert inbox.reader.read(last).messages == ()


def test_reading_leaves_the_messages_unread(inbox: Inbox) -> None:
    start = inbox.reader.read(None).cursor
    inbox.deliver([numbered(1), numbered(2)])

    assert len(inbox.reader.read(start).messages) == 2
    assert inbox.unread() == 2


def test_a_wrong_password_is_an_account_error(inbox: Inbox) -> None:
    with pytest.raises(AccountError):
        inbox.with_password("wrong").read(None)
    with pytest.raises(AccountError):
        inbox.with_password("wrong").check()


def test_a_server_that_is_down_says_so_without_reading_anything(
    inbox: Inbox, closed_port: int
) -> None:
    reader = inbox.unreachable(closed_port)

    with pytest.raises(inbox.down):
        reader.read(None)
    # A person testing the account wants to hear that it cannot work now, whoever's fault.
    with pytest.raises(AccountError):
        reader.check()


def test_the_inbox_core_classifies_and_matches_what_the_reader_returns(inbox: Inbox) -> None:
    ours = SentEmail(uuid.uuid4(), OUR_ID, "ada@example.com")
    known = KnownEmails(message_ids={OUR_ID: ours}, addresses={"ada@example.com": ours})
    start = inbox.reader.read(None).cursor
    inbox.deliver([outlook_auto_reply(), postfix_dsn(), gmail_reply()])

    results = []
    for message in inbox.reader.read(start).messages:
        parsed = parse(message.raw)
        classification = classify(parsed, NOW)
        found = match(parsed, message.conversation_id, known)
        assert found is not None
        assert found.sent_email == ours
        results.append((classification.kind, found.by))

    assert results == [
        (Kind.auto_reply, MatchedBy.in_reply_to),
        (Kind.bounce, MatchedBy.original_message_id),
        (Kind.human_reply, MatchedBy.in_reply_to),
    ]


# IMAP only.


def imap_reader(account: ImapAccount, **options: object) -> ImapReader:
    security = options.pop("security", "none")
    folder = options.pop("folder", "INBOX")
    return ImapReader(account.settings(security, folder), timeout=5, **options)  # type: ignore[arg-type]


def test_imap_says_in_plain_words_what_is_wrong_with_the_account(
    imap_account: ImapAccount, closed_port: int
) -> None:
    wrong = ImapReader(replace(imap_account.settings(), password="wrong"), timeout=5)
    down = ImapReader(replace(imap_account.settings(), port=closed_port), timeout=5)

    with pytest.raises(AccountError) as refused:
        wrong.read(None)
    with pytest.raises(AccountError) as unreachable:
        down.check()

    assert refused.value.reason == (
        f"127.0.0.1:{imap_account.server.port} refused the username or password "
        "([AUTHENTICATIONFAILED] Authentication failed)."
    )
    assert unreachable.value.reason == (
        f"Could not connect to 127.0.0.1:{closed_port}: connection refused."
    )


def test_the_cursor_is_uidvalidity_and_the_last_uid(imap_account: ImapAccount) -> None:
    reader = imap_reader(imap_account)
    first = reader.read(None)
    uid = imap_account.append(numbered(1))

    page = reader.read(first.cursor)

    validity = first.cursor.split(":")[0]
    assert first.cursor == f"{validity}:0"
    assert page.cursor == f"{validity}:{uid}"
    assert page.messages[0].provider_id == f"{validity}:{uid}"


def test_a_changed_uidvalidity_starts_again_from_the_top_and_reads_nothing_old(
    imap_account: ImapAccount, caplog: pytest.LogCaptureFixture
) -> None:
    reader = imap_reader(imap_account)
    start = reader.read(None).cursor
    imap_account.append_many([numbered(1), numbered(2)])
    before = reader.read(start)

    validity = imap_account.change_uidvalidity()
    restarted = reader.read(before.cursor)
    imap_account.append(numbered(3))
    after = reader.read(restarted.cursor)

    assert restarted.messages == ()
    assert not restarted.more
    assert restarted.cursor == f"{validity}:2"
    assert "inbox.uidvalidity_changed" in caplog.text
    assert message_ids(after.messages) == ["<3.contract@example.com>"]


def test_internaldate_comes_back_as_the_same_instant_in_utc(imap_account: ImapAccount) -> None:
    reader = imap_reader(imap_account)
    start = reader.read(None).cursor
    at = datetime(2026, 3, 2, 11, 30, 5, tzinfo=timezone(timedelta(hours=1)))
    imap_account.append(numbered(1), received_at=at)

    (message,) = reader.read(start).messages

    assert message.received_at == at
    assert message.received_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_tls_read_the_same_as_plain(imap_account: ImapAccount, security: str) -> None:
    reader = imap_reader(imap_account, security=security, ssl_context=tls_files().client_context())
    start = reader.read(None).cursor
    imap_account.append(numbered(1))

    page = reader.read(start)
    said = reader.check()

    assert message_ids(page.messages) == ["<1.contract@example.com>"]
    name = {"starttls": "STARTTLS", "tls": "TLS"}[security]
    port = imap_account.settings(security).port  # type: ignore[arg-type]
    assert said == (
        f"Connected to 127.0.0.1:{port}, {name}, signed in as {imap_account.username}; "
        "INBOX holds 1 message."
    )


def test_a_certificate_nobody_vouches_for_is_an_account_error(
    imap_account: ImapAccount,
) -> None:
    for security in ("starttls", "tls"):
        with pytest.raises(AccountError, match=r"certificate .* could not be verified"):
            imap_reader(imap_account, security=security).read(None)


def test_tls_against_the_plain_port_is_an_account_error(imap_account: ImapAccount) -> None:
    settings = imap_account.settings("none")
    reader = ImapReader(
        ImapSettings(settings.host, settings.port, "tls", settings.username, settings.password),
        timeout=5,
        ssl_context=tls_files().client_context(),
    )

    with pytest.raises(AccountError, match="TLS handshake"):
        reader.read(None)


def test_check_says_what_it_checked(imap_account: ImapAccount) -> None:
    imap_account.append_many([numbered(1), numbered(2)])

    said = imap_reader(imap_account).check()

    assert said == (
        f"Connected to 127.0.0.1:{imap_account.server.port}, no encryption, signed in as "
        f"{imap_account.username}; INBOX holds 2 messages."
    )


def test_another_folder_is_read_when_configured(imap_account: ImapAccount) -> None:
    imap_account.create_folder("Replies")
    reader = imap_reader(imap_account, folder="Replies")
    start = reader.read(None).cursor
    imap_account.append(numbered(1))  # INBOX
    imap_account.append(numbered(2), folder="Replies")

    assert message_ids(reader.read(start).messages) == ["<2.contract@example.com>"]


def test_a_folder_that_does_not_exist_is_an_account_error(imap_account: ImapAccount) -> None:
    reader = imap_reader(imap_account, folder="Nowhere")

    with pytest.raises(AccountError, match="would not open the folder 'Nowhere'"):
        reader.read(None)


def test_a_connection_the_server_closed_is_replaced_without_fuss(
    imap_account: ImapAccount,
) -> None:
    reader = imap_reader(imap_account)
    start = reader.read(None).cursor
    imap_account.kick()  # BYE on the reader's open connection
    imap_account.append(numbered(1))

    assert message_ids(reader.read(start).messages) == ["<1.contract@example.com>"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        yield listening.getsockname()[1]


def test_a_server_that_does_not_answer_in_time_is_tried_again_later(silent_port: int) -> None:
    reader = ImapReader(
        ImapSettings("127.0.0.1", silent_port, "none", "ada", "secret"), timeout=0.3
    )

    with pytest.raises(TransientError, match=r"no answer within 0\.3 seconds"):
        reader.read(None)
    with pytest.raises(AccountError, match="no answer"):
        reader.check()


def test_a_message_larger_than_the_cap_arrives_cut_to_it_headers_first(
    imap_account: ImapAccount,
) -> None:
    reader = imap_reader(imap_account, max_message_bytes=2000)
    start = reader.read(None).cursor
    large = gmail_reply() + b"x" * 10_000
    imap_account.append(large)

    (message,) = reader.read(start).messages

    assert message.raw == large[:2000]
    assert parse(message.raw).in_reply_to == (OUR_ID,)


def test_a_page_stops_at_its_byte_budget_but_holds_at_least_one_message(
    imap_account: ImapAccount,
) -> None:
    reader = imap_reader(imap_account, page_bytes=300)
    start = reader.read(None).cursor
    imap_account.append_many([numbered(n) for n in range(5)])  # about 170 bytes each

    pages, _ = read_all(reader, start)

    assert [len(page.messages) for page in pages] == [1, 1, 1, 1, 1]


def test_a_cursor_that_is_not_ours_is_refused(imap_account: ImapAccount) -> None:
    with pytest.raises(ValueError, match="not an IMAP cursor"):
        imap_reader(imap_account).read("https://graph.microsoft.com/v1.0/me/delta?token=x")
