"""Sending through an SMTP server with the standard library's smtplib: submission with STARTTLS
(usually port 587), implicit TLS (usually 465), or a plain relay on a trusted network.

Every SMTP reply and socket failure becomes one of the transport errors, so callers never see
an SMTP code; the server's own words go into the reason, for the person reading it.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from typing import Literal

from outreach.providers.compose import envelope_address, needs_smtputf8, to_bytes
from outreach.providers.errors import (
    AccountError,
    DeliveryUncertain,
    PermanentError,
    ProviderError,
    ServerUnreachable,
    TenantLimitReached,
    TransientError,
    connection_problem,
    refuses_our_domain,
    tenant_limit_reached,
)
from outreach.providers.mail_oauth import (
    AccessTokens,
    error_acknowledgement,
    initial_response,
    oauth_mechanism,
    sign_in_with_token,
)
from outreach.providers.message import OutgoingMessage, SentMessage
from outreach.providers.throttle import SendingPace

__all__ = ["Security", "SmtpTransport"]

logger = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "none"]

_RETRY_HINT = re.compile(
    r"(?:try|retry)(?:\s+again)?\s+(?:in|after)\s+(\d+(?:\.\d+)?)\s*"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
_ENHANCED_CODE = re.compile(r"^\s*5\.(\d{1,3})\.(\d{1,3})\b")
_NOT_ABOUT_THE_RECIPIENT: dict[int, frozenset[int] | None] = {
    1: frozenset({7, 8}),
    3: None,
    5: None,
    6: None,
    7: None,
}
"""Enhanced status codes (RFC 3463) on a refused RCPT that say nothing about whether the
recipient exists: 5.1.7/5.1.8 are about our sender address (Postfix reports sender problems at
RCPT), 5.3 the receiving system, 5.5 protocol, 5.6 content, 5.7 policy (relay denied, spam
block, rate limits). None means every detail code of that class."""


class _NotSent(TransientError):
    """The connection failed before the server could have received the email's content: safe
    to try again, at once on a fresh connection when the old one had merely gone stale."""


class SmtpTransport:
    """The Transport for an SMTP server, keeping one connection open between sends.

    Not thread-safe: one instance is used by one thread at a time, and a caller sending from
    several threads makes one instance per thread. A connection the server closed while idle
    is replaced without the caller noticing: when a reused connection fails before the email's
    content was sent, the send is tried once more on a new connection. It is never tried again
    after the content was sent (see DeliveryUncertain).

    `timeout` bounds every network wait except the server's answer to the email's content,
    which RFC 5321 (4.5.3.2.6) asks clients to await for 10 minutes, because servers scan the
    content before answering: giving up earlier turns a delivered email into an uncertain one.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security,
        username: str | None,
        password: str | None,
        timeout: float = 30,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        final_reply_timeout: float = 600,
        pace: SendingPace | None = None,
        oauth: AccessTokens | None = None,
    ) -> None:
        """`oauth`: sign in as `username` with these access tokens (Google, Microsoft 365)
        rather than with the password, over SASL OAUTHBEARER where the server offers it, else
        XOAUTH2."""
        if not host:
            raise ValueError("an SMTP transport needs a host")
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"unknown SMTP security {security!r}")
        self._host = host
        self._port = port
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout
        self._local_hostname = local_hostname
        self._ssl_context = ssl_context
        self._final_reply_timeout = final_reply_timeout
        self._pace = pace
        self._oauth = oauth
        self._connection: smtplib.SMTP | None = None

    @property
    def _where(self) -> str:
        return f"{self._host}:{self._port}"

    def send(self, message: OutgoingMessage) -> SentMessage:
        try:
            data = to_bytes(message)
            sender = envelope_address(message.sender.email)
            recipient = envelope_address(message.recipient.email)
            smtputf8 = needs_smtputf8(message)
        except ValueError as error:
            raise PermanentError(f"The email could not be put together: {error}") from error
        envelope = _Envelope(sender, recipient, data, smtputf8)
        if self._pace is not None:
            self._pace.wait()
        reused = self._connection is not None
        try:
            self._transaction(self._connected(), envelope)
        except _NotSent as error:
            if not reused:
                raise TransientError(error.reason, error.retry_after) from error
            logger.info(
                "delivery.smtp_reconnecting",
                extra={"host": self._host, "port": self._port, "reason": error.reason},
            )
            try:
                self._transaction(self._connected(), envelope)
            except _NotSent as again:
                raise TransientError(again.reason, again.retry_after) from again
        return SentMessage(message_id=message.message_id)

    def check(self) -> str:
        """Connect, greet, STARTTLS and sign in as configured, then say goodbye. Uses its own
        connection, so it does not disturb the one kept for sending. Raises what a send would
        (ServerUnreachable, AccountError), so the caller knows whether a person must act."""
        connection = self._open()
        _quit(connection)
        encryption = {"starttls": "STARTTLS", "tls": "TLS", "none": "no encryption"}
        who = f"authenticated as {self._username}" if self._username else "without signing in"
        return f"Connected to {self._where}, {encryption[self._security]}, {who}."

    def close(self) -> None:
        """Say QUIT and let the connection go; the next send opens a new one."""
        connection, self._connection = self._connection, None
        if connection is not None:
            _quit(connection)

    # One email: MAIL FROM, RCPT TO, DATA, content.

    def _transaction(self, connection: smtplib.SMTP, envelope: _Envelope) -> None:
        options: list[str] = []
        if envelope.smtputf8:
            if not connection.has_extn("smtputf8"):
                raise PermanentError(
                    f"An address has non-ASCII characters before the @ and {self._where} "
                    "does not accept such addresses (no SMTPUTF8)."
                )
            options += ["SMTPUTF8", "BODY=8BITMIME"]
        if connection.has_extn("size"):
            options.append(f"SIZE={len(envelope.data)}")

        code, reply = self._command(connection, lambda: connection.mail(envelope.sender, options))
        if code != 250:
            raise self._refused(connection, f"the sender {envelope.sender}", code, reply)
        code, reply = self._command(connection, lambda: connection.rcpt(envelope.recipient))
        if code not in (250, 251):
            raise self._refused(
                connection, f"the recipient {envelope.recipient}", code, reply, recipient=True
            )
        code, reply = self._command(connection, lambda: connection.docmd("DATA"))
        if code != 354:
            raise self._refused(connection, "the email", code, reply)

        try:
            connection.send(_dot_stuffed(envelope.data))
        except OSError as error:
            # sendall() failed, so the final "." never left: no server accepts an email
            # without it, and sending again cannot duplicate it.
            self._drop(connection)
            raise TransientError(
                f"The connection to {self._where} broke while the email was being sent, "
                f"before its end, so it was not delivered ({_detail(error)})."
            ) from error

        try:
            if connection.sock is not None:
                connection.sock.settimeout(self._final_reply_timeout)
            code, reply = connection.getreply()
            if connection.sock is not None:
                connection.sock.settimeout(self._timeout)
        except OSError as error:
            self._drop(connection)
            raise DeliveryUncertain(
                f"The connection to {self._where} broke after the whole email was sent, before "
                f"the server confirmed it: it may or may not have been delivered "
                f"({_detail(error)})."
            ) from error
        if 200 <= code < 300:
            return
        if not 400 <= code < 600:
            self._drop(connection)
            raise DeliveryUncertain(
                f"{self._where} answered the whole email with something that is neither a yes "
                f"nor a no ({code} {_text(reply)}): it may or may not have been delivered."
            )
        raise self._refused(connection, "the email", code, reply)

    def _command(
        self, connection: smtplib.SMTP, command: Callable[[], tuple[int, bytes]]
    ) -> tuple[int, bytes]:
        """Run one command before the content; a broken connection or a 421 (the server is
        closing the connection) means the email was not sent."""
        try:
            code, reply = command()
        except OSError as error:
            self._drop(connection)
            raise _NotSent(
                f"The connection to {self._where} broke before the email was sent "
                f"({_detail(error)})."
            ) from error
        if code == 421:
            self._drop(connection)
            text = _text(reply)
            raise _NotSent(f"{self._where} is closing the connection: {text}", _retry_hint(text))
        return code, reply

    def _refused(
        self,
        connection: smtplib.SMTP,
        what: str,
        code: int,
        reply: bytes,
        *,
        recipient: bool = False,
    ) -> ProviderError:
        """The error for a refusal, after making the connection ready for the next email."""
        text = _text(reply)
        if code == 421:
            self._drop(connection)
        else:
            try:
                reset, _ = connection.rset()
            except OSError:
                reset = 0
            if reset != 250:
                self._drop(connection)
        reason = f"{self._where} refused {what}: {code} {text}"
        if 400 <= code < 500:
            return TransientError(reason, retry_after=_retry_hint(text))
        if code == 530:
            return AccountError(
                f"{self._where} wants the account to sign in before it takes email; add the "
                f"username and password ({code} {text})."
            )
        if 500 <= code < 600 and tenant_limit_reached(text):
            return TenantLimitReached(
                f"{self._where} refused {what}: the Microsoft 365 tenant has sent to as many "
                f"external recipients as Exchange Online allows in 24 hours ({code} {text})."
            )
        if 500 <= code < 600 and refuses_our_domain(text):
            return AccountError(
                f"{self._where} refused {what} because the receiving side does not accept how "
                f"this account's domain is authenticated (SPF, DKIM, DMARC): {code} {text}. "
                "Run Check DNS on the senders page (or `outreach senders check`), fix what it "
                "says, then resume the account; its emails wait meanwhile."
            )
        if recipient and 500 <= code < 600:
            return PermanentError(reason, address_rejected=_says_no_such_recipient(text))
        return PermanentError(reason)

    # The connection: open, greet, encrypt, sign in.

    def _connected(self) -> smtplib.SMTP:
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def _drop(self, connection: smtplib.SMTP) -> None:
        if self._connection is connection:
            self._connection = None
        connection.close()

    def _open(self) -> smtplib.SMTP:
        connection: smtplib.SMTP | None = None
        try:
            connection = self._connect()
            self._hello(connection)
            if self._security == "starttls":
                self._start_tls(connection)
            if self._username:  # a relay that takes mail without AUTH has none
                self._sign_in(connection, self._username)
        except ProviderError:
            if connection is not None:
                connection.close()
            raise
        except OSError as error:
            if connection is not None:
                connection.close()
            raise self._connection_error(error) from error
        except UnicodeError as error:  # raised by the IDNA encoding of a malformed host name
            raise AccountError(
                f"Could not connect to {self._where}: {self._host!r} is not a valid host name."
            ) from error
        return connection

    def _connect(self) -> smtplib.SMTP:
        if self._security == "tls":
            return smtplib.SMTP_SSL(
                self._host,
                self._port,
                local_hostname=self._local_hostname,
                timeout=self._timeout,
                context=self._tls_context(),
            )
        return smtplib.SMTP(
            self._host, self._port, local_hostname=self._local_hostname, timeout=self._timeout
        )

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _hello(self, connection: smtplib.SMTP) -> None:
        code, reply = connection.ehlo()
        if code != 250:
            code, reply = connection.helo()
        if code != 250:
            raise self._account_reply(f"{self._where} did not accept our greeting", code, reply)

    def _start_tls(self, connection: smtplib.SMTP) -> None:
        if not connection.has_extn("starttls"):
            raise AccountError(
                f"{self._where} does not offer STARTTLS, so the connection cannot be encrypted. "
                "Check the port and the security setting (TLS is usually port 465)."
            )
        try:
            connection.starttls(context=self._tls_context())
        except smtplib.SMTPResponseException as error:
            raise self._account_reply(
                f"{self._where} refused STARTTLS", error.smtp_code, error.smtp_error
            ) from error
        self._hello(connection)  # RFC 3207: greet again, over the encrypted connection

    def _sign_in(self, connection: smtplib.SMTP, username: str) -> None:
        if not connection.has_extn("auth"):
            raise AccountError(
                f"{self._where} does not offer signing in (no AUTH)"
                + (", perhaps only after STARTTLS." if self._security == "none" else ".")
            )
        if self._oauth is not None:
            self._sign_in_with_token(connection, username, self._oauth)
            return
        try:
            connection.login(username, self._password or "")
        except UnicodeEncodeError as error:  # smtplib sends credentials as ASCII only
            raise AccountError(
                "The username or password has non-ASCII characters, which this program cannot "
                "send to the server."
            ) from error
        except smtplib.SMTPAuthenticationError as error:
            text = _text(error.smtp_error)
            if 400 <= error.smtp_code < 500:
                raise TransientError(
                    f"{self._where} could not check the password just now: {text}",
                    _retry_hint(text),
                ) from error
            raise AccountError(
                f"The server refused the username or password ({error.smtp_code} {text})."
            ) from error
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException):
            raise
        except smtplib.SMTPException as error:
            offered = connection.esmtp_features.get("auth", "").strip()
            oauth = (
                " Sign the account in with Google or Microsoft instead (Sign in on the senders "
                f"page, or `outreach senders sign-in {username} --provider google|microsoft`)."
                if oauth_mechanism(offered.split()) is not None
                else ""
            )
            raise AccountError(
                f"{self._where} offers no sign-in method this program supports "
                f"(it offers: {offered or 'none'}).{oauth}"
            ) from error

    def _sign_in_with_token(
        self, connection: smtplib.SMTP, username: str, oauth: AccessTokens
    ) -> None:
        """SASL OAUTHBEARER or XOAUTH2 (mail_oauth.oauth_mechanism), a refused token replaced
        once (mail_oauth.sign_in_with_token)."""
        offered = connection.esmtp_features.get("auth", "").upper().split()
        mechanism = oauth_mechanism(offered)
        if mechanism is None:
            raise AccountError(
                f"{self._where} does not offer OAuth sign-in (OAUTHBEARER or XOAUTH2; it "
                f"offers: {' '.join(offered) or 'none'}): use a password instead."
            )

        def authenticate(token: str) -> None:
            first = initial_response(mechanism, username, token, self._host, self._port)
            try:
                # After a refusal the server sends its reasons as a challenge; the
                # acknowledgement ends the exchange, and the server then says 535.
                connection.auth(
                    mechanism,
                    lambda challenge=None: (
                        first if challenge is None else error_acknowledgement(mechanism)
                    ),
                )
            except smtplib.SMTPAuthenticationError as error:
                if 400 <= error.smtp_code < 500:
                    text = _text(error.smtp_error)
                    raise TransientError(
                        f"{self._where} could not check the sign-in just now: {text}",
                        _retry_hint(text),
                    ) from error
                raise

        try:
            sign_in_with_token(oauth, authenticate, smtplib.SMTPAuthenticationError)
        except smtplib.SMTPAuthenticationError as error:
            raise AccountError(
                f"{self._where} refused the OAuth sign-in of {username} "
                f"({error.smtp_code} {_text(error.smtp_error)}): sign in again on the senders "
                "page."
            ) from error

    def _account_reply(self, what: str, code: int, reply: bytes | str) -> ProviderError:
        text = _text(reply)
        if 400 <= code < 500:
            return TransientError(f"{what}: {code} {text}", _retry_hint(text))
        return AccountError(f"{what}: {code} {text}.")

    def _connection_error(self, error: OSError) -> ProviderError:
        where = self._where
        ports = "TLS is usually port 465, STARTTLS port 587."
        common = connection_problem(error, self._host, where, ports)
        if common is not None:
            return common
        if isinstance(error, smtplib.SMTPConnectError):
            return self._account_reply(
                f"{where} refused the connection", error.smtp_code, error.smtp_error
            )
        if isinstance(error, smtplib.SMTPResponseException):
            return self._account_reply(
                f"{where} answered unexpectedly", error.smtp_code, error.smtp_error
            )
        if _timed_out(error):
            hint = ""
            if (self._port == 465) != (self._security == "tls"):
                hint = f" Check the security setting: {ports}"
            return ServerUnreachable(
                f"Could not talk to {where}: no answer within {self._timeout:g} seconds.{hint}"
            )
        return ServerUnreachable(f"Could not talk to {where}: {_detail(error)}.")


class _Envelope:
    __slots__ = ("data", "recipient", "sender", "smtputf8")

    def __init__(self, sender: str, recipient: str, data: bytes, smtputf8: bool) -> None:
        self.sender = sender
        self.recipient = recipient
        self.data = data
        self.smtputf8 = smtputf8


def _quit(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except OSError:
        pass  # the server went first; there is nothing left to close politely
    finally:
        connection.close()


def _dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 4.5.2: a line starting with "." gets another, and "." alone ends the content.
    `data` comes from compose, so its lines already end in CRLF."""
    stuffed = re.sub(rb"(?m)^\.", b"..", data)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def _says_no_such_recipient(text: str) -> bool:
    """Whether a permanent refusal of RCPT TO is about the recipient's address. Without an
    enhanced status code it is taken to be; with one, only unless the code is about something
    else (see _NOT_ABOUT_THE_RECIPIENT)."""
    found = _ENHANCED_CODE.match(text)
    if found is None:
        return True
    subject, detail = int(found.group(1)), int(found.group(2))
    if subject not in _NOT_ABOUT_THE_RECIPIENT:
        return True
    details = _NOT_ABOUT_THE_RECIPIENT[subject]
    return details is not None and detail not in details


def _retry_hint(text: str) -> float | None:
    """Seconds to wait when the server said so ("try again in 5 minutes"), else None."""
    found = _RETRY_HINT.search(text)
    if found is None:
        return None
    return float(found.group(1)) * _UNIT_SECONDS[found.group(2)[0].lower()]


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _timed_out(error: BaseException) -> bool:
    return any(
        isinstance(cause, TimeoutError) for cause in (error, error.__context__, error.__cause__)
    )


def _detail(error: BaseException) -> str:
    if _timed_out(error):
        return "no answer in time"
    return str(error) or type(error).__name__


def offers_starttls(host: str, port: int, timeout: float = 10.0) -> bool:
    """Whether the SMTP server at host:port offers STARTTLS after EHLO (the DNS check of a
    server of one's own). Signs in to nothing and sends nothing."""
    try:
        connection = smtplib.SMTP(host, port, timeout=timeout)
    except (OSError, UnicodeError) as error:
        raise ServerUnreachable(f"Could not reach {host}:{port}: {_detail(error)}") from error
    try:
        connection.ehlo()
        return bool(connection.has_extn("starttls"))
    except OSError as error:
        raise ServerUnreachable(f"{host}:{port} broke off: {_detail(error)}") from error
    finally:
        _quit(connection)
