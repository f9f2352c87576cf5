"""Composing an OutgoingMessage into the bytes every transport hands over.

Cold email should read like personal mail: plain text unless an HTML version is given,
no tracking, a From with the sender's name. Threading headers (Message-ID, In-Reply-To,
References) are written by hand, never RFC 2047-encoded and folded only between ids:
Outlook drops encoded threading headers, and Python's email package encodes ids it finds
too long to fold. Subject, display names and X- headers are written by hand too, because
the email package decodes anything that looks like an encoded word (`=?utf-8?q?...?=`) in
a value it is given, so such a subject would not arrive as written.

Pure: no I/O, no clock (the date and the Message-ID's time come in).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from email import policy as email_policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import idna

from outreach.providers.message import Mailbox, OutgoingMessage

__all__ = ["envelope_address", "needs_smtputf8", "new_message_id", "to_bytes", "to_mime"]

_FOLD_AT = 78
_MIME_HEADERS = frozenset({"mime-version", "content-type", "content-transfer-encoding"})


class _Headers(HeaderRegistry):
    """The email package's header classes, except that the MIME headers set_content writes
    stay the strings it gives when they fit on one line: parsing them into header objects and
    refolding them cost more than composing the rest of a message, and the bytes are the same."""

    def __call__(self, name: str, value: str) -> Any:
        if name.lower() in _MIME_HEADERS and len(name) + 2 + len(value) <= _FOLD_AT:
            return value
        return super().__call__(name, value)


_POLICY = email_policy.SMTP.clone(cte_type="7bit", refold_source="none", header_factory=_Headers())
"""CRLF, lines folded at 78, bodies in quoted-printable or base64 when not plain ASCII (so no
server needs 8BITMIME), and headers we set raw are written exactly as we folded them."""

_POLICY_UTF8 = _POLICY.clone(utf8=True)
"""For the rare address whose local part is not ASCII: such a message needs SMTPUTF8."""

_LONGEST_LINE = 998
_ENCODED_WORD_MAX = 75
_LINE_WITH_ENCODED_WORDS_MAX = 76

_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
"""`<`, printable ASCII without space, `<` or `>`, then `>`: lenient, because In-Reply-To and
References may carry ids other mailers made, but never anything that could break a header."""

_HEADER_NAME = re.compile(r"[Xx]-[A-Za-z0-9][A-Za-z0-9-]*")
_NOT_IN_LOCAL_PART = re.compile(r'[\s<>()\[\]\\,;:"@]')
"""Characters that would need a quoted local part, which nobody's contact list has and which
could break out of `<...>` in a header or an SMTP command."""
_URI = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]+")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*")
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
"""Characters RFC 2047 allows unencoded in a Q encoded word anywhere, including in phrases."""


def new_message_id(domain: str, at: datetime) -> str:
    """A fresh Message-ID: `<time.random@domain>`.

    The left part is the time in milliseconds (12 hex digits, so ids sort by time) and 64
    random bits; nothing in it says who the email is for. `domain` is the sender's domain,
    IDNA-encoded when it is not ASCII.
    """
    if at.tzinfo is None:
        raise ValueError("new_message_id needs a timezone-aware time")
    milliseconds = int(at.timestamp() * 1000)
    return f"<{milliseconds:012x}.{secrets.token_hex(8)}@{_ascii_domain(domain)}>"


def to_bytes(message: OutgoingMessage) -> bytes:
    """The message as it goes over SMTP or into an .eml file: CRLF line ends, no line over 998
    bytes, and ASCII only unless an address needs SMTPUTF8. Raises ValueError for a message
    that cannot be written safely (a malformed id, a line break in a URL, a naive date)."""
    mime = to_mime(message)
    return mime.as_bytes(policy=mime.policy)


def to_mime(message: OutgoingMessage) -> EmailMessage:
    """The message as an EmailMessage: text/plain, or multipart/alternative (text, then
    HTML) when `html` is given. Line breaks and control characters in the subject and the
    display names become single spaces, and both are trimmed."""
    if message.date.tzinfo is None:
        raise ValueError("an email's date must be timezone-aware")
    policy = _POLICY_UTF8 if needs_smtputf8(message) else _POLICY
    mime = EmailMessage(policy=policy)
    mime.set_raw("From", _mailbox("From", message.sender))
    mime.set_raw("To", _mailbox("To", message.recipient))
    mime.set_raw("Subject", _unstructured("Subject", message.subject))
    mime.set_raw("Date", format_datetime(message.date))
    mime.set_raw("Message-ID", _ids("Message-ID", [message.message_id]))
    if message.in_reply_to is not None:
        mime.set_raw("In-Reply-To", _ids("In-Reply-To", [message.in_reply_to]))
    if message.references:
        mime.set_raw("References", _ids("References", message.references))
    for name, value in _unsubscribe_headers(message):
        mime.set_raw(name, value)
    for name, value in message.extra_headers:
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"extra header {name!r}: our own headers are named X-...")
        mime.set_raw(name, _unstructured(name, value))
    mime.set_content(message.text, subtype="plain", charset="utf-8")
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html", charset="utf-8")
        for part in mime.iter_parts():
            del part["MIME-Version"]  # belongs to the message, not to each part
    return mime


def envelope_address(address: str) -> str:
    """The address for SMTP's MAIL FROM / RCPT TO: a non-ASCII domain IDNA-encoded, so only a
    non-ASCII local part needs SMTPUTF8."""
    local, at, domain = address.rpartition("@")
    if not at or not local or _CONTROLS.search(address) or _NOT_IN_LOCAL_PART.search(local):
        raise ValueError(f"not an email address: {address!r}")
    return f"{local}@{_ascii_domain(domain)}"


def needs_smtputf8(message: OutgoingMessage) -> bool:
    """Whether an address's local part is not ASCII (the domain can always be encoded)."""
    addresses = (message.sender.email, message.recipient.email)
    return any(not envelope_address(address).isascii() for address in addresses)


def _ascii_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".")
    try:
        ascii_domain = domain.lower() if domain.isascii() else idna.encode(domain, uts46=True)
    except idna.IDNAError as error:
        raise ValueError(f"not a domain name: {domain!r} ({error})") from error
    if isinstance(ascii_domain, bytes):
        ascii_domain = ascii_domain.decode("ascii")
    if not _DOMAIN.fullmatch(ascii_domain):
        raise ValueError(f"not a domain name: {domain!r}")
    return ascii_domain


def _ids(name: str, ids: Iterable[str]) -> str:
    """`<id> <id> ...` folded only at the spaces between ids; each id kept whole."""
    ids = list(ids)
    for msg_id in ids:
        if not _MSG_ID.fullmatch(msg_id):
            raise ValueError(f"{name}: not a message id: {msg_id!r}")
    return _fold_tokens(name, ids)


def _fold_tokens(name: str, tokens: list[str]) -> str:
    """Tokens separated by single spaces, a new line started (with a space) before a token that
    would pass 78 characters. Raises ValueError when a token alone passes 998."""
    lines = [f"{name}: {tokens[0]}"]
    for token in tokens[1:]:
        if len(lines[-1]) + 1 + len(token) > _FOLD_AT:
            lines.append(f" {token}")
        else:
            lines[-1] += f" {token}"
    if any(len(line) > _LONGEST_LINE for line in lines):
        raise ValueError(f"{name}: a value too long for one line")
    lines[0] = lines[0].removeprefix(f"{name}: ")
    return "\r\n".join(lines)


def _unsubscribe_headers(message: OutgoingMessage) -> list[tuple[str, str]]:
    """List-Unsubscribe with the https URL first, and RFC 8058's one-click POST only when
    there is an https URL to POST to."""
    uris = []
    if message.unsubscribe_url is not None:
        if not message.unsubscribe_url.startswith(("https://", "http://")):
            raise ValueError("the unsubscribe URL must be http(s)")
        uris.append(message.unsubscribe_url)
    if message.unsubscribe_mailto is not None:
        mailto = message.unsubscribe_mailto
        uris.append(mailto if mailto.startswith("mailto:") else f"mailto:{mailto}")
    for uri in uris:
        if not _URI.fullmatch(uri):
            raise ValueError(f"List-Unsubscribe: not a URI without spaces or brackets: {uri!r}")
    if not uris:
        return []
    value = _fold_tokens("List-Unsubscribe", [f"<{uri}>," for uri in uris]).removesuffix(",")
    headers = [("List-Unsubscribe", value)]
    if message.unsubscribe_url is not None and message.unsubscribe_url.startswith("https://"):
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return headers


def _one_line(text: str) -> str:
    return _CONTROLS.sub(" ", text).strip()


def _mailbox(name: str, mailbox: Mailbox) -> str:
    address = envelope_address(mailbox.email)
    display = _one_line(mailbox.name or "")
    prefix = f"{name}: "
    if not display:
        return address
    if _plain_ascii(display):
        quoted = display.replace("\\", "\\\\").replace('"', '\\"')
        phrase = display if _ATOMS.fullmatch(display) else f'"{quoted}"'
        if len(prefix) + len(phrase) + len(address) + 3 <= _FOLD_AT:
            return f"{phrase} <{address}>"
    words = _encoded_words(display, first_room=_LINE_WITH_ENCODED_WORDS_MAX - len(prefix))
    last_line = words[-1] if len(words) > 1 else prefix + words[-1]
    separator = " " if len(last_line) + len(address) + 3 <= _FOLD_AT else "\r\n "
    return "\r\n ".join(words) + f"{separator}<{address}>"


def _unstructured(name: str, text: str) -> str:
    """A free-text header value: plain ASCII folded at spaces when that keeps lines to 78
    characters, otherwise encoded words (RFC 2047) that decode to exactly `text`."""
    value = _one_line(text)
    if not value:
        return ""
    if _plain_ascii(value):
        folded = _fold_at_spaces(f"{name}: {value}")
        if folded is not None:
            return folded.removeprefix(f"{name}: ")
    prefix = f"{name}: "
    return "\r\n ".join(_encoded_words(value, _LINE_WITH_ENCODED_WORDS_MAX - len(prefix)))


def _plain_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable() and "=?" not in text


def _fold_at_spaces(line: str) -> str | None:
    """`line` with CRLF inserted before single spaces so that no line passes 78 characters, or
    None when that is impossible. Unfolding (removing the CRLFs) gives `line` back."""
    lines: list[str] = []
    rest = line
    while len(rest) > _FOLD_AT:
        # Fold before a space that follows a non-space, so no line is only whitespace.
        cut = max(
            (i for i in range(1, _FOLD_AT + 1) if rest[i] == " " and rest[i - 1] != " "),
            default=None,
        )
        if cut is None or (not lines and cut <= line.index(":") + 1):
            return None
        lines.append(rest[:cut])
        rest = rest[cut:]
    lines.append(rest)
    return "\r\n".join(lines)


def _encoded_words(text: str, first_room: int) -> list[str]:
    """`text` as UTF-8 encoded words of at most 75 characters, split between characters; the
    first no longer than `first_room`. Q encoding for mostly-ASCII text, B otherwise."""
    data = text.encode("utf-8")
    q_length = sum(1 if byte in _Q_SAFE or byte == 0x20 else 3 for byte in data)
    use_q = q_length <= len(base64.b64encode(data)) * 1.2
    prefix, suffix = ("=?utf-8?q?", "?=") if use_q else ("=?utf-8?b?", "?=")
    words: list[str] = []
    chunk = b""
    room = max(first_room, len(prefix) + len(suffix) + 12)
    for char in text:
        candidate = chunk + char.encode("utf-8")
        if chunk and len(prefix) + len(_encode(candidate, use_q)) + len(suffix) > room:
            words.append(prefix + _encode(chunk, use_q) + suffix)
            chunk = char.encode("utf-8")
            room = _ENCODED_WORD_MAX
        else:
            chunk = candidate
    words.append(prefix + _encode(chunk, use_q) + suffix)
    return words


def _encode(data: bytes, use_q: bool) -> str:
    if not use_q:
        return base64.b64encode(data).decode("ascii")
    return "".join(
        chr(byte) if byte in _Q_SAFE else "_" if byte == 0x20 else f"={byte:02X}" for byte in data
    )
