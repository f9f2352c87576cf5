"""Reading a message's headers and parts leniently, for `parse` and `bounces`.

Every reading here bounds what it keeps (``MAX_TEXT``, ``MAX_PARTS``, ``MAX_IDS``) and
tolerates what broken mailers write: raw UTF-8 in headers, malformed encoded words and charset
parameters, ids without angle brackets. It reads no clock and does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import TypeVar

MAX_TEXT = 100_000
"""Characters of body text kept: a reply's meaning is at its top, and every rule that reads the
text runs in time proportional to it."""


MAX_PARTS = 200
"""MIME parts looked at: a real message has a handful; a crafted one can nest thousands."""


MAX_IDS = 50
"""Message-IDs kept from one References header or one report: a long thread has a few dozen."""


_T = TypeVar("_T")


def safe(read: Callable[[], _T], default: _T) -> _T:
    """One field's reading; a failure there leaves that field at its default and the rest of
    the message readable."""
    try:
        return read()
    except Exception:
        return default


_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
"""As compose writes them, and leniently enough for other mailers' ids."""
_BARE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+")
ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+")
"""An address as the inbox accepts one: no spaces, brackets or separators, one "@"."""
_MAX_ADDRESSES = 10


def raw_values(message: Message, name: str) -> list[str]:
    """The header's values as they arrived, unfolded, with raw UTF-8 (RFC 6532) decoded.

    raw_items, because compat32 turns a value with 8-bit bytes into a Header object whose
    str() is not the text."""
    wanted = name.lower()
    values = [value for key, value in message.raw_items() if key.lower() == wanted]
    return [unfold(unsurrogate(str(value))) for value in values]


def unsurrogate(text: str) -> str:
    """Text the email package decoded as ASCII with surrogateescape, decoded as UTF-8."""
    try:
        return text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:  # real non-ASCII characters: it was text already
        return text


def unfold(text: str) -> str:
    """One line: control characters and runs of whitespace become one space, trimmed."""
    return " ".join(_CONTROLS.sub(" ", text).split())


def decode(value: str | None) -> str:
    """An unstructured header's text, RFC 2047 encoded words decoded."""
    if not value:
        return ""
    try:
        pieces = decode_header(value)
    except Exception:  # a malformed encoded word: the text as it came
        return unfold(value)
    text = "".join(
        _bytes_text(piece, charset) if isinstance(piece, bytes) else piece
        for piece, charset in pieces
    )
    return unfold(text)


def header(message: Message, name: str) -> str | None:
    """The header's first value as ``raw_values`` reads it, None when absent."""
    values = raw_values(message, name)
    return values[0] if values else None


def _bytes_text(data: bytes, charset: str | None) -> str:
    """Bytes in their declared charset, else UTF-8, undecodable bytes replaced."""
    if charset:
        try:
            return data.decode(charset.strip().strip('"').lower(), "replace")
        except (LookupError, ValueError, TypeError):  # unknown or non-text codec
            pass
    return data.decode("utf-8", "replace")


def ids(text: str) -> tuple[str, ...]:
    """The Message-IDs in ``text``, with their angle brackets, without repeats, at most
    ``MAX_IDS`` of them."""
    found = _MSG_ID.findall(text)
    if not found:
        # Some mailers write ids without their angle brackets.
        found = [f"<{token}>" for token in text.split() if _BARE_ID.fullmatch(token)]
    unique = list(dict.fromkeys(found))
    if len(unique) > MAX_IDS:
        # The root (the first email of the thread) and the newest ids say the most.
        unique = [unique[0], *unique[-(MAX_IDS - 1) :]]
    return tuple(unique)


def ids_in(message: Message, name: str) -> tuple[str, ...]:
    """The Message-IDs in the header's values; none when it cannot be read."""
    return safe(lambda: ids(" ".join(raw_values(message, name))), ())


def addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(address lowercased, display name decoded) for each address in the header."""

    def read() -> list[tuple[str, str]]:
        found = []
        for display, address in getaddresses(raw_values(message, name))[:_MAX_ADDRESSES]:
            address = address.strip().strip("<>").lower()
            if ADDRESS.fullmatch(address):
                found.append((address, decode(display)))
        return found

    return safe(read, [])


def param(message: Message, name: str) -> str | None:
    """A Content-Type parameter, lowercased (RFC 2231 values decoded), None when absent."""
    value = message.get_param(name)
    if isinstance(value, tuple):  # RFC 2231: (charset, language, text)
        value = value[2]
    return str(value).strip().lower() if value else None


def date(value: str | None) -> datetime | None:
    """A Date header's moment in UTC (no zone taken as UTC), None when empty; raises when
    unreadable."""
    if not value:
        return None
    when = parsedate_to_datetime(value)
    if when.tzinfo is None:  # "-0000": the sender did not know its zone (RFC 5322 3.3)
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")


def parts(message: Message) -> Iterator[tuple[Message, bool]]:
    """Every part in order, the message itself first, each with whether it lies inside an
    attached message (message/rfc822: a bounce's original, a forwarded email)."""
    stack: list[tuple[Message, bool]] = [(message, False)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, attached = stack.pop()
        seen += 1
        yield part, attached
        content_type = part.get_content_type()
        if content_type in STATUS_TYPES:
            continue  # its "parts" are the report's field blocks, read by bounces
        # Only a multipart's payload is asked for: get_payload() on a single part with 8-bit
        # bytes and a malformed charset parameter raises inside the email package.
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            inside = attached or content_type.startswith("message/")
            stack.extend(
                (child, inside) for child in reversed(payload) if isinstance(child, Message)
            )


def part_text(part: Message) -> str:
    """A single part's decoded text with ``\\n`` line endings (at most ``MAX_TEXT * 4`` bytes
    read); "" when it has no bytes."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset: object = safe(part.get_content_charset, None)
    # A malformed RFC 2231 charset parameter comes back as a tuple.
    text = _bytes_text(payload[: MAX_TEXT * 4], charset if isinstance(charset, str) else None)
    return text.replace("\r\n", "\n").replace("\r", "\n")
