"""Reading a mailbox over IMAP with imapclient: UID polling of one folder (INBOX by default).

The cursor is `<UIDVALIDITY>:<last UID read>`. Each read selects the folder read-only (so
nothing we do can change it), asks for the UIDs above the last one, and fetches the messages
with BODY.PEEK[] (which, unlike BODY[], leaves \\Seen alone: the person who reads this mailbox
still sees the replies as new).

UIDs only grow within one UIDVALIDITY, so "above the last UID" is exactly what arrived since.
A first read (no cursor) starts at the top of the folder, or with a lookback, just below the
first message received since the lookback's day (SEARCH SINCE: IMAP dates have no time of
day), so the replies already there are read like new ones.

When the server changes UIDVALIDITY (a mailbox rebuilt or restored from a backup) every UID
is new and means nothing, and the reader starts again from the top of the mailbox instead of
reading it all: matching by Message-ID would make a re-read harmless, but a rebuilt mailbox may
hold years of mail. (Only a first read looks back: what a rebuilt mailbox held was read.)

Sizes are capped twice: each message is fetched up to `max_message_bytes` (a partial fetch,
BODY.PEEK[]<0.N>: headers and the first text parts come first in a MIME message, and they are
all the inbox core reads; attachments past the cap are cut off), and one page holds at most
`batch_size` messages and about `page_bytes`, from the sizes the server reports before the
bodies are fetched.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar

from imapclient import IMAPClient  # type: ignore[import-untyped]
from imapclient.exceptions import (  # type: ignore[import-untyped]
    CapabilityError,
    LoginError,
)

from outreach.clock import Clock, SystemClock
from outreach.providers.errors import (
    AccountError,
    ProviderError,
    TransientError,
    connection_problem,
)
from outreach.providers.inbox import InboundMessage, InboxPage
from outreach.providers.mail_oauth import AccessTokens, oauth_mechanism, sign_in_with_token
from outreach.words import counted

__all__ = ["ImapReader", "ImapSettings", "Security"]

logger = logging.getLogger(__name__)

Security = Literal["tls", "starttls", "none"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: Security
    """"tls": TLS from the first byte (usually port 993); "starttls": plain, then STARTTLS
    (usually 143); "none": no encryption, for a server on a trusted network or loopback."""
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"


class ImapReader:
    """The InboxReader for an IMAP mailbox, keeping one connection open between reads.

    Not thread-safe: one instance serves one thread. A kept connection the server has closed
    (idle timeout, a restart: BYE) is replaced once without the caller noticing; reading is
    read-only, so trying again can never do anything twice.
    """

    def __init__(
        self,
        settings: ImapSettings,
        *,
        timeout: float = 30,
        batch_size: int = 100,
        max_message_bytes: int = 1 << 20,
        page_bytes: int = 16 << 20,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
        lookback: timedelta = timedelta(0),
        oauth: AccessTokens | None = None,
    ) -> None:
        """`oauth`: sign in with these access tokens (Google, Microsoft 365) rather than with
        the password, over SASL OAUTHBEARER where the server offers it, else XOAUTH2."""
        if not settings.host:
            raise ValueError("an IMAP reader needs a host")
        if settings.security not in ("tls", "starttls", "none"):
            raise ValueError(f"unknown IMAP security {settings.security!r}")
        if batch_size < 1 or max_message_bytes < 1 or page_bytes < 1:
            raise ValueError("batch_size, max_message_bytes and page_bytes must be positive")
        self._settings = settings
        self._timeout = timeout
        self._batch_size = batch_size
        self._max_message_bytes = max_message_bytes
        self._page_bytes = page_bytes
        self._ssl_context = ssl_context
        self._clock = clock or SystemClock()
        self._lookback = lookback
        self._oauth = oauth
        self._client: Any = None

    @property
    def _where(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    # The InboxReader interface.

    def read(self, cursor: str | None) -> InboxPage:
        position = _parse_cursor(cursor)
        return self._on_connection(lambda client: self._read(client, position))

    def check(self) -> str:
        """Connect on a fresh connection, sign in, open the folder and say how many messages
        it holds. Every failure is an account error here: a person is waiting for a yes or a
        no."""
        self.close()
        try:
            exists = self._on_connection(lambda client: self._select(client)[b"EXISTS"])
        except TransientError as error:
            raise AccountError(error.reason) from error
        finally:
            self.close()
        security = {"tls": "TLS", "starttls": "STARTTLS", "none": "no encryption"}
        folder = self._settings.folder
        return (
            f"Connected to {self._where}, {security[self._settings.security]}, signed in as "
            f"{self._settings.username}; {folder} holds {counted(int(exists), 'message')}."
        )

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()  # closes the socket too
        except (imaplib.IMAP4.error, OSError):
            _shut(client)  # the server went first; there is nothing left to close politely

    # Reading.

    def _read(self, client: Any, position: tuple[int, int] | None) -> InboxPage:
        selected = self._select(client)
        validity = int(selected[b"UIDVALIDITY"])
        top = self._top(client, selected)
        if position is None:
            return self._first(client, validity, top)
        known_validity, last = position
        if known_validity != validity:
            logger.warning(
                "inbox.uidvalidity_changed",
                extra={
                    "mailbox": self._where,
                    "folder": self._settings.folder,
                    "was": known_validity,
                    "now": validity,
                    "restart_at_uid": top,
                },
            )
            return InboxPage((), f"{validity}:{top}", more=False)
        # "N:*" also returns the newest message when N is past it (RFC 3501 6.4.8): filter.
        uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
        if not uids:
            return InboxPage((), f"{validity}:{last}", more=False)
        batch = self._within_page_bytes(client, uids[: self._batch_size])
        messages = self._fetch(client, validity, batch)
        return InboxPage(messages, f"{validity}:{batch[-1]}", more=len(uids) > len(batch))

    def _first(self, client: Any, validity: int, top: int) -> InboxPage:
        """A first read: a cursor just below the first message within the lookback, and more
        to read; at the top when there is no lookback or nothing within it."""
        if self._lookback > timedelta(0):
            since = (self._clock.now() - self._lookback).date()
            within = [int(uid) for uid in client.search(["SINCE", since])]
            if within:
                return InboxPage((), f"{validity}:{min(within) - 1}", more=True)
        return InboxPage((), f"{validity}:{top}", more=False)

    def _select(self, client: Any) -> dict[bytes, Any]:
        try:
            selected: dict[bytes, Any] = client.select_folder(self._settings.folder, readonly=True)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as error:
            raise AccountError(
                f"{self._where} would not open the folder {self._settings.folder!r}: "
                f"{_text(error)}. Check the folder name."
            ) from error
        return selected

    def _top(self, client: Any, selected: dict[bytes, Any]) -> int:
        """The highest UID in the folder now (UIDNEXT - 1; asked for when the server did not
        say, as RFC 3501 allows)."""
        if b"UIDNEXT" in selected:
            return max(0, int(selected[b"UIDNEXT"]) - 1)
        uids = client.search(["ALL"])
        return max((int(uid) for uid in uids), default=0)

    def _within_page_bytes(self, client: Any, uids: list[int]) -> list[int]:
        """The longest run of `uids` whose capped sizes fit in a page (at least one)."""
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        kept: list[int] = []
        total = 0
        for uid in uids:
            size = min(int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)), self._max_message_bytes)
            if kept and total + size > self._page_bytes:
                break
            kept.append(uid)
            total += size
        return kept

    def _fetch(self, client: Any, validity: int, uids: list[int]) -> tuple[InboundMessage, ...]:
        body = f"BODY.PEEK[]<0.{self._max_message_bytes}>"
        fetched = client.fetch(uids, [body, "INTERNALDATE"])
        messages = []
        for uid in uids:
            data = fetched.get(uid)
            if data is None:
                continue  # expunged between the search and the fetch
            raw = next((v for k, v in data.items() if k.startswith(b"BODY[]")), None)
            if not isinstance(raw, bytes):
                raw = b""
            messages.append(
                InboundMessage(
                    provider_id=f"{validity}:{uid}",
                    raw=raw,
                    received_at=self._received_at(data.get(b"INTERNALDATE"), raw),
                )
            )
        return tuple(messages)

    def _received_at(self, internal_date: object, raw: bytes) -> datetime:
        if isinstance(internal_date, datetime):
            if internal_date.tzinfo is None:  # never with normalise_times off; be sure
                return internal_date.replace(tzinfo=UTC)
            return internal_date.astimezone(UTC)
        # A server that left INTERNALDATE out: the Date header, else the time we read it.
        try:
            head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
            date_line = next(
                line for line in head.split("\r\n") if line.lower().startswith("date:")
            )
            when = parsedate_to_datetime(date_line[5:].strip())
            return when.replace(tzinfo=when.tzinfo or UTC).astimezone(UTC)
        except (StopIteration, ValueError, TypeError, IndexError, OverflowError):
            return self._clock.now()

    # The connection: open, encrypt, sign in; errors in plain words.

    def _on_connection(self, work: Callable[[Any], _T]) -> _T:
        reused = self._client is not None
        try:
            return self._translated(lambda: work(self._connected()))
        except TransientError:
            if not reused:
                raise
            # A kept connection the server has closed since: once more on a fresh one.
            self.close()
            return self._translated(lambda: work(self._connected()))

    def _translated(self, step: Callable[[], _T]) -> _T:
        try:
            return step()
        except ProviderError:
            self.close()
            raise
        except LoginError as error:
            self.close()
            raise AccountError(
                f"{self._where} refused the username or password ({_text(error)})."
            ) from error
        except CapabilityError as error:
            self.close()
            raise AccountError(
                f"{self._where} does not offer STARTTLS, so the connection cannot be "
                "encrypted. Check the port and the security setting (TLS is usually port 993)."
            ) from error
        except imaplib.IMAP4.abort as error:  # BYE, or the connection closed mid-command
            self.close()
            raise TransientError(f"{self._where} closed the connection: {_text(error)}.") from error
        except imaplib.IMAP4.error as error:
            self.close()
            raise TransientError(f"{self._where} refused a command: {_text(error)}.") from error
        except OSError as error:
            self.close()
            raise self._connection_error(error) from error
        except UnicodeError as error:  # the IDNA encoding of a malformed host name
            self.close()
            raise AccountError(
                f"Could not connect to {self._where}: {self._settings.host!r} is not a valid "
                "host name."
            ) from error

    def _connected(self) -> Any:
        if self._client is None:
            self._client = self._open()
        return self._client

    def _open(self) -> Any:
        settings = self._settings
        client = IMAPClient(
            settings.host,
            port=settings.port,
            ssl=settings.security == "tls",
            ssl_context=self._context() if settings.security == "tls" else None,
            timeout=self._timeout,
        )
        # Aware datetimes for INTERNALDATE, rather than naive ones in this machine's zone.
        client.normalise_times = False
        try:
            if settings.security == "starttls":
                client.starttls(self._context())
            if self._oauth is None:
                client.login(settings.username, settings.password)
            else:
                self._sign_in_with_token(client, self._oauth)
        except BaseException:
            _shut(client)
            raise
        return client

    def _sign_in_with_token(self, client: Any, oauth: AccessTokens) -> None:
        username = self._settings.username
        offered = (
            capability.removeprefix(b"AUTH=").decode("ascii", "replace")
            for capability in client.capabilities()
            if capability.startswith(b"AUTH=")
        )
        # XOAUTH2 also when the server offers neither: its refusal says what it takes.
        login = (
            client.oauthbearer_login
            if oauth_mechanism(offered) == "OAUTHBEARER"
            else client.oauth2_login
        )
        try:
            sign_in_with_token(oauth, lambda token: login(username, token), LoginError)
        except LoginError as error:
            raise AccountError(
                f"{self._where} refused the OAuth sign-in of {username} ({_text(error)}): "
                "sign in again on the senders page."
            ) from error

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _connection_error(self, error: OSError) -> ProviderError:
        where = self._where
        ports = "TLS is usually port 993, STARTTLS port 143."
        common = connection_problem(error, self._settings.host, where, ports)
        if common is not None:
            return common
        if isinstance(error, TimeoutError):
            return TransientError(
                f"Could not talk to {where}: no answer within {self._timeout:g} seconds."
            )
        return TransientError(f"Could not talk to {where}: {error.strerror or error}.")


def _parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    if cursor is None:
        return None
    validity, separator, last = cursor.partition(":")
    if not separator or not validity.isdigit() or not last.isdigit():
        raise ValueError(f"not an IMAP cursor (UIDVALIDITY:UID): {cursor!r}")
    return int(validity), int(last)


def _shut(client: Any) -> None:
    with contextlib.suppress(OSError):
        client.shutdown()


def _text(error: BaseException) -> str:
    text = str(error)
    if text.startswith("b'") or text.startswith('b"'):  # imaplib quotes the server's bytes
        text = text[2:-1]
    return " ".join(text.split()).rstrip(".") or type(error).__name__
