"""One contract for every transport, then what only the outbox and only SMTP promise. Every
server here is a real one on loopback (Microsoft Graph a fake one speaking its wire format; what
only Graph promises is in test_graph.py)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from outreach.providers.base import Transport
from outreach.providers.compose import new_message_id, to_bytes
from outreach.providers.errors import (
    AccountError,
    DeliveryUncertain,
    PermanentError,
    ServerUnreachable,
    TransientError,
)
from outreach.providers.graph.tokens import GraphTokens
from outreach.providers.graph.transport import GraphTransport
from outreach.providers.message import Mailbox, OutgoingMessage, SentMessage
from outreach.providers.outbox import OutboxTransport
from outreach.providers.smtp import Security, SmtpTransport
from outreach.providers.throttle import SendingPace
from tests.fakes.graph_server import (
    FakeGraph,
    settings_for,
)
from tests.smtp_server import (
    RecordingSMTPServer,
    tls_files,
)

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MakeServer = Callable[..., RecordingSMTPServer]


def a_message(n: int = 0, **changes: object) -> OutgoingMessage:
    at = AT + timedelta(seconds=n)
    message = OutgoingMessage(
        message_id=new_message_id("acme.example", at),
        sender=Mailbox("grace@acme.example", "Grace Hopper"),
        recipient=Mailbox("ada@example.com", "Ada Lovelace"),
        subject=f"Grüße, Ada ({n})",
        text=f"Hi Ada,\n\nemail number {n}.\n.\nFrom Grace\n",
        date=at,
    )
    return replace(message, **changes)  # type: ignore[arg-type]


def parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@dataclass
class Harness:
    """A transport and a way to see what reached the other side."""

    transport: Transport
    delivered: Callable[[], list[bytes]]
    connections: Callable[[], int] | None = None
    rewrites_mime: bool = False
    """The provider writes the MIME itself from the email's fields (Exchange, behind Graph),
    so it arrives equivalent, not byte for byte, and the provider adds ids of its own."""


MakeTransport = Callable[..., SmtpTransport]


@pytest.fixture
def smtp_transport() -> Iterator[MakeTransport]:
    """Make SMTP transports for a test server (no TLS, no AUTH unless told); all are closed
    after the test."""
    made: list[SmtpTransport] = []

    def make(
        server: RecordingSMTPServer,
        *,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        **options: Any,
    ) -> SmtpTransport:
        transport = SmtpTransport(
            server.host,
            server.port,
            security=security,
            username=username,
            password=password,
            local_hostname="outreach.test",
            **options,
        )
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


@pytest.fixture(params=["outbox", "smtp", "graph"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "outbox":
        folder = tmp_path / "outbox"
        yield Harness(
            OutboxTransport(folder),
            lambda: [path.read_bytes() for path in sorted(folder.glob("*.eml"))],
        )
        return
    if request.param == "graph":
        graph: FakeGraph = request.getfixturevalue("fake_graph")
        tokens = GraphTokens(ssl_context=graph.client_context())
        transport = GraphTransport(settings_for(graph), tokens, ssl_context=graph.client_context())
        yield Harness(transport, graph.delivered, rewrites_mime=True)
        transport.close()
        tokens.close()
        return
    server: RecordingSMTPServer = request.getfixturevalue("smtp_server")
    make: MakeTransport = request.getfixturevalue("smtp_transport")
    yield Harness(
        make(server),
        lambda: [message.data for message in server.messages],
        lambda: server.connections,
    )


# The contract: every transport.


def test_a_sent_email_arrives_byte_for_byte_with_its_message_id_and_thread(
    harness: Harness,
) -> None:
    first = a_message(0)
    follow_up = a_message(
        1,
        subject="Re: Grüße, Ada (0)",
        in_reply_to=first.message_id,
        references=(first.message_id,),
        unsubscribe_url="https://acme.example/u/1",
    )

    sent = harness.transport.send(follow_up)

    assert sent.message_id == follow_up.message_id
    if not harness.rewrites_mime:
        assert sent == SentMessage(message_id=follow_up.message_id)
        assert harness.delivered() == [to_bytes(follow_up)]
    arrived = parsed(harness.delivered()[0])
    assert arrived["Message-ID"] == follow_up.message_id
    assert arrived["In-Reply-To"] == first.message_id
    assert str(arrived["References"]) == first.message_id
    assert arrived["Subject"] == "Re: Grüße, Ada (0)"
    assert arrived.get_content() == "Hi Ada,\r\n\r\nemail number 1.\r\n.\r\nFrom Grace\r\n"


def test_an_email_with_an_html_version_arrives_with_both_parts(harness: Harness) -> None:
    harness.transport.send(a_message(html="<p>Hi Ada,</p>\n<p>.</p>\n"))

    [data] = harness.delivered()
    parts = [part.get_content_type() for part in parsed(data).iter_parts()]
    assert parts == ["text/plain", "text/html"]


def test_several_emails_in_a_row_go_over_one_transport(harness: Harness) -> None:
    messages = [a_message(n) for n in range(3)]

    for message in messages:
        harness.transport.send(message)

    delivered = [parsed(data)["Message-ID"] for data in harness.delivered()]
    assert delivered == [message.message_id for message in messages]
    if harness.connections is not None:
        assert harness.connections() == 1


def test_a_closed_transport_sends_again(harness: Harness) -> None:
    harness.transport.send(a_message(0))
    harness.transport.close()
    harness.transport.send(a_message(1))
    harness.transport.close()

    assert len(harness.delivered()) == 2


def test_check_says_what_it_checked(harness: Harness) -> None:
    said = harness.transport.check()

    assert said.endswith(".")
    assert harness.delivered() == []


def test_an_email_that_cannot_be_written_fails_without_reaching_anyone(harness: Harness) -> None:
    with pytest.raises(PermanentError) as refused:
        harness.transport.send(a_message(message_id="not an id"))

    assert not refused.value.address_rejected
    assert harness.delivered() == []


# The outbox.


def test_the_outbox_writes_one_eml_file_per_email_named_by_time_and_message_id(
    tmp_path: Path,
) -> None:
    message = a_message(message_id="<0123456789ab.cdef/0123@acme.example>")

    OutboxTransport(tmp_path).send(message)

    [path] = list(tmp_path.iterdir())
    assert path.name.startswith("20260302T100000000000Z-0123456789ab.cdef_0123_acme.example-")
    assert path.suffix == ".eml"


def test_sending_the_same_email_to_the_outbox_again_replaces_its_file(tmp_path: Path) -> None:
    message = a_message()
    outbox = OutboxTransport(tmp_path)

    outbox.send(message)
    outbox.send(message)

    assert len(list(tmp_path.iterdir())) == 1


def test_the_outbox_creates_its_folder_and_says_where_emails_go(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "outbox"

    said = OutboxTransport(folder).check()

    assert str(folder) in said
    assert folder.is_dir()
    assert list(folder.iterdir()) == []


def test_an_outbox_folder_that_cannot_exist_is_an_account_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    outbox = OutboxTransport(tmp_path / "a-file" / "outbox")

    with pytest.raises(AccountError, match="Cannot write emails into"):
        outbox.send(a_message())
    with pytest.raises(AccountError, match="Cannot write emails into"):
        outbox.check()


# SMTP: refusals.


def test_a_recipient_the_server_does_not_know_is_rejected_for_good(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(reject_recipients={"nobody@example.com"})
    transport = smtp_transport(server)

    with pytest.raises(PermanentError) as refused:
        transport.send(a_message(recipient=Mailbox("nobody@example.com")))
    transport.send(a_message(1))

    assert refused.value.address_rejected
    assert "No such user here" in refused.value.reason
    assert [message.rcpt_tos for message in server.messages] == [("ada@example.com",)]
    assert server.connections == 1


def test_a_policy_refusal_of_a_recipient_does_not_say_the_address_is_bad(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(recipient_replies={"ada@example.com": "550 5.7.1 Relaying denied"})

    with pytest.raises(PermanentError) as refused:
        smtp_transport(server).send(a_message())

    assert not refused.value.address_rejected
    assert "Relaying denied" in refused.value.reason


def test_a_refusal_of_our_domains_authentication_is_an_account_error_saying_to_check_dns(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    refusal = "550 5.7.26 Unauthenticated email from example.com is not accepted (DMARC)"
    server = make_smtp_server(recipient_replies={"ada@example.com": refusal})

    with pytest.raises(AccountError) as refused:
        smtp_transport(server).send(a_message())

    assert "5.7.26" in refused.value.reason
    assert "Check DNS" in refused.value.reason
    assert server.messages == []


def test_a_paced_account_waits_for_room_in_its_minute(
    smtp_server: RecordingSMTPServer, smtp_transport: MakeTransport
) -> None:
    slept: list[float] = []
    transport = smtp_transport(
        smtp_server, pace=SendingPace(2, now=lambda: 100.0, sleep=slept.append)
    )

    transport.send(a_message(1))
    transport.send(a_message(2))
    assert slept == []
    transport.send(a_message(3))

    assert slept == [60.0]
    assert len(smtp_server.messages) == 3


def test_a_deferred_recipient_is_tried_again_later_when_the_server_says(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(defer_recipients={"ada@example.com"})

    with pytest.raises(TransientError) as deferred:
        smtp_transport(server).send(a_message())

    assert not isinstance(deferred.value, PermanentError)
    assert deferred.value.retry_after == 300
    assert server.messages == []


def test_an_email_refused_as_spam_fails_without_blaming_the_address(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(data_reply="554 5.7.1 Message rejected as spam")

    with pytest.raises(PermanentError) as refused:
        smtp_transport(server).send(a_message())

    assert not refused.value.address_rejected
    assert not isinstance(refused.value, DeliveryUncertain)
    assert "rejected as spam" in refused.value.reason


def test_an_email_the_server_defers_after_its_content_is_retried_later(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(data_reply="452 4.3.1 Insufficient system storage")

    with pytest.raises(TransientError) as deferred:
        smtp_transport(server).send(a_message())

    assert deferred.value.retry_after is None


# SMTP: the account.


def test_a_wrong_password_is_an_account_error_that_says_so(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(username="grace", password="right")
    transport = smtp_transport(server, username="grace", password="wrong")

    with pytest.raises(AccountError, match="refused the username or password"):
        transport.send(a_message())
    with pytest.raises(AccountError, match="password"):
        transport.check()
    assert server.messages == []


def test_the_right_password_signs_in_and_sends(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(username="grace", password="right")
    transport = smtp_transport(server, username="grace", password="right")

    said = transport.check()
    transport.send(a_message())

    assert said == f"Connected to 127.0.0.1:{server.port}, no encryption, authenticated as grace."
    assert len(server.messages) == 1


def test_a_password_smtp_cannot_carry_is_an_account_error(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(username="grace", password="right")
    transport = smtp_transport(server, username="grace", password="pässwörd")

    with pytest.raises(AccountError, match="non-ASCII"):
        transport.send(a_message())


def test_a_server_that_wants_a_sign_in_nobody_configured_is_an_account_error(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(username="grace", password="right")

    with pytest.raises(AccountError, match="sign in"):
        smtp_transport(server).send(a_message())


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening, so connecting is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def test_nothing_listening_is_an_unreachable_server_saying_connection_refused(
    closed_port: int,
) -> None:
    transport = SmtpTransport(
        "127.0.0.1", closed_port, security="starttls", username="grace", password="x"
    )

    with pytest.raises(ServerUnreachable) as failed:
        transport.send(a_message())
    with pytest.raises(ServerUnreachable, match="connection refused"):
        transport.check()

    assert (
        failed.value.reason == f"Could not connect to 127.0.0.1:{closed_port}: connection refused."
    )


def test_an_unknown_host_is_an_unreachable_server_tried_again_later() -> None:
    transport = SmtpTransport(
        "no-such-host.invalid", 587, security="starttls", username=None, password=None
    )

    # A machine with no DNS server at all says "try again later" instead of "no such name".
    with pytest.raises(ServerUnreachable, match=r"is unknown|temporary DNS failure"):
        transport.check()


def test_check_says_what_it_did(
    smtp_server: RecordingSMTPServer, smtp_transport: MakeTransport
) -> None:
    said = smtp_transport(smtp_server).check()

    assert said == f"Connected to 127.0.0.1:{smtp_server.port}, no encryption, without signing in."


def test_a_server_that_does_not_answer_in_time_is_tried_again_later(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(reply_delay_ms=5000)
    transport = smtp_transport(server, timeout=0.2)

    with pytest.raises(ServerUnreachable, match=r"no answer within 0\.2 seconds"):
        transport.send(a_message())
    with pytest.raises(ServerUnreachable, match="no answer"):
        transport.check()


# SMTP: encryption.


def test_starttls_required_but_not_offered_is_an_account_error(
    smtp_server: RecordingSMTPServer, smtp_transport: MakeTransport
) -> None:
    transport = smtp_transport(smtp_server, security="starttls")

    with pytest.raises(AccountError, match="does not offer STARTTLS"):
        transport.send(a_message())
    with pytest.raises(AccountError, match="STARTTLS"):
        transport.check()
    assert smtp_server.messages == []


def test_starttls_encrypts_then_signs_in_and_sends(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    tls = tls_files()
    server = make_smtp_server(
        starttls_context=tls.server_context(), username="grace", password="right"
    )
    transport = smtp_transport(
        server,
        security="starttls",
        username="grace",
        password="right",
        ssl_context=tls.client_context(),
    )

    message = a_message()

    said = transport.check()
    transport.send(message)

    assert said == f"Connected to 127.0.0.1:{server.port}, STARTTLS, authenticated as grace."
    assert server.messages[0].data == to_bytes(message)


def test_a_certificate_nobody_vouches_for_is_an_account_error(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    server = make_smtp_server(starttls_context=tls_files().server_context())
    transport = smtp_transport(server, security="starttls")

    with pytest.raises(AccountError, match=r"certificate .* could not be verified"):
        transport.send(a_message())


def test_implicit_tls_sends(make_smtp_server: MakeServer, smtp_transport: MakeTransport) -> None:
    tls = tls_files()
    server = make_smtp_server(tls_context=tls.server_context())
    transport = smtp_transport(server, security="tls", ssl_context=tls.client_context())

    transport.send(a_message())

    assert transport.check().startswith(f"Connected to 127.0.0.1:{server.port}, TLS,")
    assert len(server.messages) == 1


def test_tls_against_a_plain_server_is_an_account_error(
    smtp_server: RecordingSMTPServer, smtp_transport: MakeTransport
) -> None:
    transport = smtp_transport(smtp_server, security="tls")

    with pytest.raises(AccountError, match="TLS handshake"):
        transport.send(a_message())


# SMTP: broken connections, and never sending twice.


def test_a_connection_the_server_closed_while_idle_is_replaced_without_fuss(
    smtp_server: RecordingSMTPServer, smtp_transport: MakeTransport
) -> None:
    transport = smtp_transport(smtp_server)
    transport.send(a_message(0))

    smtp_server.disconnect_clients()
    transport.send(a_message(1))
    smtp_server.disconnect_clients(farewell="421 4.4.2 smtp.test Idle timeout, closing")
    transport.send(a_message(2))

    assert len(smtp_server.messages) == 3
    assert smtp_server.connections == 3


def test_a_connection_that_drops_after_the_content_is_uncertain_and_not_retried(
    smtp_server: RecordingSMTPServer, smtp_transport: MakeTransport
) -> None:
    transport = smtp_transport(smtp_server)
    transport.send(a_message(0))
    smtp_server.drop_connection_after_next_data()

    with pytest.raises(DeliveryUncertain) as uncertain:
        transport.send(a_message(1))

    assert isinstance(uncertain.value, PermanentError)
    assert not uncertain.value.address_rejected
    assert "may or may not have been delivered" in uncertain.value.reason
    # The server did get it: sending it again would have made a duplicate.
    assert len(smtp_server.messages) == 2
    transport.send(a_message(2))
    assert len(smtp_server.messages) == 3


def test_no_answer_after_the_content_is_uncertain_too(
    smtp_server: RecordingSMTPServer, smtp_transport: MakeTransport
) -> None:
    transport = smtp_transport(smtp_server, final_reply_timeout=0.2)
    smtp_server.hold_reply_after_next_data()

    with pytest.raises(DeliveryUncertain):
        transport.send(a_message())

    smtp_server.release_held_reply()
    assert len(smtp_server.messages) == 1


def test_a_failure_before_the_content_is_retried_once_on_a_fresh_connection_at_most(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    closing = "421 4.3.2 smtp.test Service shutting down"
    server = make_smtp_server(recipient_replies={"bob@example.com": closing})
    transport = smtp_transport(server)

    with pytest.raises(TransientError) as fresh:
        transport.send(a_message(recipient=Mailbox("bob@example.com")))
    assert server.connections == 1
    transport.send(a_message(1))
    with pytest.raises(TransientError) as reused:
        transport.send(a_message(2, recipient=Mailbox("bob@example.com")))

    assert not isinstance(fresh.value, PermanentError)
    assert not isinstance(reused.value, PermanentError)
    assert "Service shutting down" in reused.value.reason
    assert server.connections == 3  # the first try, the ordinary email's, one retry
    assert len(server.messages) == 1


# SMTP: international addresses.


def test_an_international_domain_goes_out_in_ascii(
    smtp_server: RecordingSMTPServer, smtp_transport: MakeTransport
) -> None:
    smtp_transport(smtp_server).send(a_message(recipient=Mailbox("info@müller.de")))

    assert smtp_server.messages[0].rcpt_tos == ("info@xn--mller-kva.de",)


def test_a_non_ascii_mailbox_name_needs_a_server_that_accepts_it(
    make_smtp_server: MakeServer, smtp_transport: MakeTransport
) -> None:
    message = a_message(recipient=Mailbox("jürgen@example.com"))
    accepting = make_smtp_server(smtputf8=True)
    refusing = make_smtp_server(smtputf8=False)

    smtp_transport(accepting).send(message)
    with pytest.raises(PermanentError, match="SMTPUTF8") as refused:
        smtp_transport(refusing).send(message)

    assert accepting.messages[0].rcpt_tos == ("jürgen@example.com",)
    assert not refused.value.address_rejected
