"""What a person reads of an inbound message: its text, its HTML (unsanitised; see
`outreach.inbox.sanitise`) and its attachments, from the raw MIME a reader hands over.

`parse` reads what classifying and matching need and bounds it tightly; this reads what is
kept to be shown, so its bounds are wider (``MAX_BODY``). Like `parse` it never raises: a part
it cannot read is left out, and a charset it does not know is guessed (charset-normalizer)
rather than read as mojibake. It reads no clock and does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

from charset_normalizer import from_bytes

from outreach.inbox import mime

MAX_BODY = 1_000_000
"""Characters of text and of HTML kept for reading: a 10 MB body (a pasted log, a newsletter
with inline images) is cut there, and the message says it was."""

MAX_ATTACHMENTS = 50
"""Attachments listed: a real reply has a few; a crafted one can carry thousands of parts."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    """Decoded (RFC 2231 / 2047); "" when the part names none."""
    content_type: str
    size: int
    """Bytes after transfer decoding."""
    content_id: str | None
    """For an inline image the HTML refers to as ``cid:``, without angle brackets."""
    data: bytes | None
    """The bytes, when no larger than the caller's limit; else None and only listed."""


@dataclass(frozen=True)
class MessageContent:
    text: str
    """The first text/plain part; "" when the message has only HTML."""
    html: str
    """The first text/html part, as sent: to be shown only through `sanitise.safe_html`."""
    attachments: tuple[Attachment, ...]
    truncated: bool
    """True when text or HTML was longer than ``MAX_BODY`` and was cut."""


EMPTY = MessageContent(text="", html="", attachments=(), truncated=False)


def read_content(raw: bytes, *, keep_attachments_up_to: int) -> MessageContent:
    """The readable content of a message; attachments larger than ``keep_attachments_up_to``
    bytes are listed without their bytes. Never raises."""
    try:
        message = message_from_bytes(raw, policy=compat32)
        return _content(message, keep_attachments_up_to)
    except Exception:  # garbage can exhaust the feed parser; a poll must go on
        return EMPTY


def _content(message: Message, keep_up_to: int) -> MessageContent:
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    for part, attached in mime.parts(message):
        if attached or part.is_multipart():
            continue
        content_type = part.get_content_type()
        if _is_attachment(part) or not content_type.startswith("text/"):
            if len(attachments) < MAX_ATTACHMENTS:
                attachments.append(_attachment(part, content_type, keep_up_to))
        elif content_type == "text/plain" and text is None:
            text = _part_text(part)
        elif content_type == "text/html" and html is None:
            html = _part_text(part)
    text, html = text or "", html or ""
    return MessageContent(
        text=text[:MAX_BODY],
        html=html[:MAX_BODY],
        attachments=tuple(attachments),
        truncated=len(text) > MAX_BODY or len(html) > MAX_BODY,
    )


def _is_attachment(part: Message) -> bool:
    disposition = mime.header(part, "Content-Disposition") or ""
    return disposition.strip().lower().startswith("attachment") or bool(
        mime.safe(part.get_filename, None)
    )


def _attachment(part: Message, content_type: str, keep_up_to: int) -> Attachment:
    payload = mime.safe(lambda: part.get_payload(decode=True), None)
    data = payload if isinstance(payload, bytes) else b""
    content_id = mime.ids(mime.header(part, "Content-ID") or "")
    return Attachment(
        filename=mime.decode(mime.safe(part.get_filename, None)),
        content_type=content_type,
        size=len(data),
        content_id=content_id[0][1:-1] if content_id else None,
        data=data if len(data) <= keep_up_to else None,
    )


def _part_text(part: Message) -> str:
    payload = mime.safe(lambda: part.get_payload(decode=True), None)
    if not isinstance(payload, bytes):
        return ""
    payload = payload[: MAX_BODY * 4 + 4]  # enough bytes for MAX_BODY characters and a cut
    declared = mime.safe(part.get_content_charset, None)
    text = _decoded(payload, declared if isinstance(declared, str) else None)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decoded(data: bytes, charset: str | None) -> str:
    """In the declared charset when Python knows it; else the likeliest one, else UTF-8 with
    what cannot be read replaced."""
    if charset:
        try:
            return data.decode(charset.strip().strip('"').lower(), "replace")
        except (LookupError, ValueError, TypeError):  # unknown or non-text codec
            pass
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        guess = from_bytes(data).best()
        if guess is not None:
            return str(guess)
    return data.decode("utf-8", "replace")
