"""A real SMTP server on loopback (aiosmtpd) that records what it receives, for contract tests
and benchmarks.

    with RecordingSMTPServer(reject_recipients={"nobody@example.com"}) as server:
        transport = SmtpTransport(server.host, server.port, security="none", ...)
        ...
        server.messages  # [ReceivedMessage(mail_from, rcpt_tos, data)]

It runs its own event loop in a daemon thread and listens on a free port. Misbehaviour on
demand: refuse or defer chosen recipients, require AUTH, offer STARTTLS or speak implicit TLS,
delay every reply, drop the connection (or hold the answer) after the next email's content,
and close every open connection as an idle timeout would.

The `smtp_server` and `make_smtp_server` fixtures reach every test through tests/conftest.py's
`pytest_plugins`.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import ipaddress
import json
import shutil
import ssl
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Self

import pytest
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.loopback import LoopbackServer

__all__ = [
    "ReceivedMessage",
    "RecordingSMTPServer",
    "SignIn",
    "TlsFiles",
    "make_smtp_server_fixture",
    "smtp_server_fixture",
    "tls_files",
]

REJECTED = "550 5.1.1 No such user here"
DEFERRED = "451 4.3.0 Mailbox temporarily unavailable, try again in 5 minutes"


@dataclass(frozen=True)
class SignIn:
    mechanism: str
    reply: int
    """235 signed in; 535 token refused; 501 the client did not end the refused exchange as
    the mechanism says (XOAUTH2 an empty line, OAUTHBEARER ^A)."""


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    """The content exactly as the client sent it, dot-stuffing undone."""


class RecordingSMTPServer(LoopbackServer):
    """An SMTP server on `host`, port chosen by the system (`.port` once started).

    `recipient_replies` answers RCPT TO for the given addresses with the given reply;
    `reject_recipients` / `defer_recipients` are shorthands for a 550 / a 451. With `username`
    the server requires AUTH (over plain text too when it offers no STARTTLS). `starttls_context` makes it offer
    STARTTLS; `tls_context` makes it speak TLS from the first byte (implicit TLS, like 465).
    `data_reply` answers every email's content (after recording it) instead of 250.
    `reply_delay_ms` delays every reply, for benchmarks that want a realistic round trip.
    With `introspection_url` the server requires OAuth sign-in, offering only the SASL
    `oauth_mechanisms` (XOAUTH2, OAUTHBEARER), the bearer token checked by POSTing it there
    (RFC 7662), as Dovecot's oauth2 passdb does; `sign_ins` records each attempt.
    Started again after `stop()`, it listens on the same port: a server that went away and came
    back.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        username: str | None = None,
        password: str | None = None,
        reject_recipients: Collection[str] = (),
        defer_recipients: Collection[str] = (),
        recipient_replies: Mapping[str, str] | None = None,
        reply_delay_ms: float = 0,
        data_reply: str | None = None,
        smtputf8: bool = True,
        starttls_context: ssl.SSLContext | None = None,
        tls_context: ssl.SSLContext | None = None,
        introspection_url: str | None = None,
        oauth_mechanisms: Collection[str] = ("XOAUTH2",),
    ) -> None:
        self.host = host
        self.port = 0
        self._credentials = None if username is None else (username, password or "")
        self._replies = dict.fromkeys(reject_recipients, REJECTED)
        self._replies |= dict.fromkeys(defer_recipients, DEFERRED)
        self._replies |= dict(recipient_replies or {})
        self._delay = reply_delay_ms / 1000
        self._data_reply = data_reply
        self._smtputf8 = smtputf8
        self._starttls_context = starttls_context
        self._tls_context = tls_context
        self._introspection_url = introspection_url
        self._oauth_mechanisms = frozenset(oauth_mechanisms)
        self._sign_ins: list[SignIn] = []
        self._lock = threading.Condition()
        self._messages: list[ReceivedMessage] = []
        self._connections = 0
        self._drop_next = False
        self._hold_next = False
        self._open: set[_RecordingSMTP] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._release: asyncio.Event | None = None

    # Life cycle.

    def start(self) -> Self:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="smtp-server", daemon=True)
        self._thread.start()
        self._server = self._call(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._call(self._shut_down())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = self._thread = None

    # What it saw.

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def sign_ins(self) -> list[SignIn]:
        with self._lock:
            return list(self._sign_ins)

    @property
    def connections(self) -> int:
        """How many TCP connections clients have opened so far."""
        with self._lock:
            return self._connections

    def wait_for_messages(self, count: int, timeout: float = 10) -> list[ReceivedMessage]:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"expected {count} messages, got {len(self._messages)}")
            return list(self._messages)

    # Misbehaviour on demand.

    def wait_for_messages_while(
        self, count: int, alive: Callable[[], bool], timeout: float = 30
    ) -> int:
        """Waits until `count` messages have arrived or `alive()` turns false (the sender
        finished), checking `alive` every 50 ms; returns how many arrived."""
        end = time.monotonic() + timeout
        with self._lock:
            while len(self._messages) < count and alive():
                if time.monotonic() > end:
                    raise TimeoutError(f"expected {count} messages, got {len(self._messages)}")
                self._lock.wait(0.05)
            return len(self._messages)

    def accept_credentials(self, username: str, password: str) -> None:
        """From now on AUTH takes this username and password (a password changed on the
        server, or fixed in the account)."""
        with self._lock:
            self._credentials = (username, password)

    def answer_normally(self, recipient: str) -> None:
        """Stop refusing or deferring this recipient (their mailbox is back)."""
        with self._lock:
            self._replies.pop(recipient, None)

    def drop_connection_after_next_data(self) -> None:
        """Record the next email, then close its connection without answering the content."""
        with self._lock:
            self._drop_next = True

    def hold_reply_after_next_data(self) -> None:
        """Record the next email, then keep its client waiting for the answer to the content
        until `release_held_reply()` (or `stop()`)."""
        self._call(self._arm_hold())
        with self._lock:
            self._hold_next = True

    def release_held_reply(self) -> None:
        loop, release = self._loop, self._release
        if loop is not None and release is not None:
            loop.call_soon_threadsafe(release.set)

    def disconnect_clients(self, farewell: str | None = None) -> None:
        """Close every open connection, as a server does with idle ones, after sending
        `farewell` (say "421 4.4.2 Idle timeout") if given. Returns once they are closed."""
        self._call(self._disconnect(farewell))

    # Inside the server's event loop.

    def _call(self, coroutine: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _listen(self) -> asyncio.Server:
        self._release = asyncio.Event()
        loop = asyncio.get_running_loop()
        return await loop.create_server(
            self._new_connection, host=self.host, port=self.port, ssl=self._tls_context
        )

    def _new_connection(self) -> _RecordingSMTP:
        with self._lock:
            self._connections += 1
        options: dict[str, Any] = {}
        handler = _Handler(self)
        if self._introspection_url is not None:
            handler = _OAuthHandler(self, self._introspection_url)
            options |= {
                "authenticator": self._authenticate,
                "auth_exclude_mechanism": [
                    "PLAIN",
                    "LOGIN",
                    *({"XOAUTH2", "OAUTHBEARER"} - self._oauth_mechanisms),
                ],
                "auth_required": True,
                "auth_require_tls": self._starttls_context is not None,
            }
        elif self._credentials is not None:
            options |= {
                "authenticator": self._authenticate,
                "auth_required": True,
                # Only after STARTTLS when it is offered, as real servers do.
                "auth_require_tls": self._starttls_context is not None,
            }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # AUTH without TLS: fine on loopback
            return _RecordingSMTP(
                self,
                handler,
                hostname="smtp.test",
                enable_SMTPUTF8=self._smtputf8,
                tls_context=self._starttls_context,
                loop=asyncio.get_running_loop(),
                **options,
            )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        if self._credentials is None:
            return AuthResult(success=False, handled=False)
        username, password = self._credentials
        ok = (
            isinstance(data, LoginPassword)
            and data.login == username.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    async def _arm_hold(self) -> None:
        assert self._release is not None
        self._release.clear()

    async def _disconnect(self, farewell: str | None) -> None:
        closing = list(self._open)
        for protocol in closing:
            if farewell is not None:
                await protocol.push(farewell)
            if protocol.transport is not None:
                protocol.transport.close()
        await asyncio.gather(*(protocol.closed for protocol in closing))

    async def _shut_down(self) -> None:
        assert self._server is not None
        assert self._release is not None
        self._server.close()
        self._release.set()
        for protocol in list(self._open):
            if protocol.transport is not None:
                protocol.transport.close()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _received(self, envelope: Envelope) -> tuple[bool, bool]:
        """Record an email; say whether to drop the connection or hold the reply."""
        content = envelope.original_content
        assert isinstance(content, bytes)
        assert envelope.mail_from is not None
        with self._lock:
            self._messages.append(
                ReceivedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), content)
            )
            drop, hold = self._drop_next, self._hold_next
            self._drop_next = self._hold_next = False
            self._lock.notify_all()
        return drop, hold


class _RecordingSMTP(SMTP):
    """aiosmtpd's SMTP session, tracked so the server can close it, with optional delays."""

    def __init__(self, owner: RecordingSMTPServer, handler: _Handler, **options: Any) -> None:
        super().__init__(handler, **options)
        self._owner = owner
        self.closed: asyncio.Future[None] = self.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._owner._open.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._owner._open.discard(self)
        super().connection_lost(error)
        if not self.closed.done():
            self.closed.set_result(None)

    async def push(self, status: Any) -> None:
        if self._owner._delay:
            await asyncio.sleep(self._owner._delay)  # a simulated round trip, not a test wait
        await super().push(status)


class _Handler:
    def __init__(self, owner: RecordingSMTPServer) -> None:
        self._owner = owner

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        reply = self._owner._replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        drop, hold = self._owner._received(envelope)
        if drop:
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            await asyncio.Future()  # cancelled when aiosmtpd sees the connection gone
        if hold:
            assert self._owner._release is not None
            await self._owner._release.wait()
        if self._owner._data_reply is not None:
            return self._owner._data_reply
        return f"250 2.0.0 OK: queued as {len(self._owner.messages)}"


class _OAuthHandler(_Handler):
    """SASL XOAUTH2 as Google and Microsoft speak it, and OAUTHBEARER (RFC 7628). The initial
    response: XOAUTH2 base64("user=..\x01auth=Bearer ..\x01\x01"), OAUTHBEARER
    base64("n,a=..,\x01host=..\x01port=..\x01auth=Bearer ..\x01\x01"). A refused token gets a
    334 challenge with the error as JSON, the client answers (XOAUTH2 empty, OAUTHBEARER
    ^A), then 535 (developers.google.com/gmail/imap/xoauth2-protocol, RFC 7628 3.2.3)."""

    def __init__(self, owner: RecordingSMTPServer, introspection_url: str) -> None:
        super().__init__(owner)
        self._introspection_url = introspection_url

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._sign_in(server, args, "XOAUTH2", b"")

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._sign_in(server, args, "OAUTHBEARER", b"\x01")

    async def _sign_in(
        self, server: SMTP, args: list[str], mechanism: str, acknowledgement: bytes
    ) -> AuthResult:
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        else:
            blob = base64.b64decode(args[1])
        assert isinstance(blob, bytes)
        header, _, pairs = blob.decode().partition("\x01")
        fields = dict(part.split("=", 1) for part in pairs.split("\x01") if "=" in part)
        if mechanism == "XOAUTH2":
            user = header.removeprefix("user=")
        else:
            user = header.removeprefix("n,a=").removesuffix(",")
            user = user.replace("=2C", ",").replace("=3D", "=")
        token = fields.get("auth", "").removeprefix("Bearer ")
        owner = await asyncio.get_running_loop().run_in_executor(None, self._introspect, token)
        if owner == user and user:
            self._record(SignIn(mechanism, 235))
            return AuthResult(success=True, auth_data=user)
        error = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
        answer = await server.challenge_auth(json.dumps(error))
        if answer is MISSING:  # "*" or not base64: aiosmtpd has answered 501 itself
            self._record(SignIn(mechanism, 501))
            return AuthResult(success=False, handled=True)
        if answer != acknowledgement:
            self._record(SignIn(mechanism, 501))
            return AuthResult(
                success=False, handled=False, message="501 5.5.2 Unexpected answer to the error"
            )
        self._record(SignIn(mechanism, 535))
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted."
        )

    def _record(self, sign_in: SignIn) -> None:
        with self._owner._lock:
            self._owner._sign_ins.append(sign_in)

    def _introspect(self, token: str) -> str | None:
        request = urllib.request.Request(  # noqa: S310 (a loopback http URL of the test's)
            self._introspection_url, data=urllib.parse.urlencode({"token": token}).encode()
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
            said = json.loads(answer.read())
        return said.get("email") if said.get("active") else None


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for localhost and 127.0.0.1, and contexts that use it."""

    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.certificate))


@cache
def tls_files() -> TlsFiles:
    """Made once per test run, in a temporary folder."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="outreach-tls-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    files = TlsFiles(folder / "certificate.pem", folder / "key.pem")
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[RecordingSMTPServer]:
    """A well-behaved server with no AUTH and no TLS."""
    with RecordingSMTPServer() as server:
        yield server


@pytest.fixture(name="make_smtp_server")
def make_smtp_server_fixture() -> Iterator[Callable[..., RecordingSMTPServer]]:
    """Start servers with RecordingSMTPServer's options; all are stopped after the test."""
    servers: list[RecordingSMTPServer] = []

    def make(**options: Any) -> RecordingSMTPServer:
        server = RecordingSMTPServer(**options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
