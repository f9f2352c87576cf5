"""Delivery reports (bounces, delay warnings, delivery confirmations) read from a message.

Delivery reports (bounces) are read from their RFC 3464 structure (message/delivery-status with
the original in message/rfc822 or text/rfc822-headers) and, failing that, from the bodies that
older mail servers write (Exim, qmail, Exchange's plain text): who failed, why, and the
Message-ID of the original, which is what ties a bounce to the email we sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from typing import TYPE_CHECKING

from outreach.inbox import mime

if TYPE_CHECKING:
    from outreach.inbox.parse import ParsedMessage


@dataclass(frozen=True)
class Recipient:
    """One recipient of a delivery report: what happened to the email for this address."""

    address: str
    """The address we sent to, lowercased (Original-Recipient when the report has it, since a
    forwarded mailbox reports its forwarding target as Final-Recipient)."""
    action: str | None
    """RFC 3464 Action, lowercased: failed, delayed, delivered, relayed, expanded."""
    status: str | None
    """The enhanced status code (RFC 3463), such as 5.1.1."""
    diagnostic: str | None
    """What the refusing server said, on one line (Diagnostic-Code without its type)."""


@dataclass(frozen=True)
class DeliveryReport:
    standard: bool
    """True for an RFC 3464 report (message/delivery-status); False for one read from the text
    of a non-standard bounce."""
    recipients: tuple[Recipient, ...]
    original_message_ids: tuple[str, ...]
    """Message-IDs of the email the report is about, found in the attached original, its
    attached headers, or a quoted header block in the text."""


_ORIGINAL_TYPES = ("message/rfc822", "message/global")
_ORIGINAL_HEADER_TYPES = ("text/rfc822-headers", "message/global-headers")
_STATUS_CODE = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")
_MAX_DIAGNOSTIC = 500
_MAX_RECIPIENTS = 20


def standard_report(message: Message) -> DeliveryReport | None:
    """The RFC 3464 report in ``message``, None when it has no delivery-status part."""
    status_parts = [
        part
        for part, attached in mime.parts(message)
        if not attached and part.get_content_type() in mime.STATUS_TYPES
    ]
    if not status_parts:
        return None
    recipients: dict[str, Recipient] = {}
    ids: list[str] = []
    for part in status_parts:
        for fields in _field_blocks(part):
            # Gmail names the original in the report itself, which survives a report sent
            # without the original's headers.
            ids.extend(mime.ids(fields.get("x-original-message-id", "")))
            recipient = _recipient(fields)
            if recipient is not None:
                recipients.setdefault(recipient.address, recipient)
    ids.extend(_original_ids(message))
    return DeliveryReport(
        standard=True,
        recipients=tuple(recipients.values())[:_MAX_RECIPIENTS],
        original_message_ids=tuple(dict.fromkeys(ids))[: mime.MAX_IDS],
    )


def _field_blocks(part: Message) -> Iterator[dict[str, str]]:
    """The report's blocks of fields (the per-message block, then one per recipient), names
    lowercased, first occurrence kept."""
    if not part.is_multipart():
        yield from _text_blocks(mime.part_text(part))
        return
    payload = part.get_payload()
    # message/delivery-status: the email package parsed each block as a header block.
    # message/global-delivery-status (RFC 6533): it parsed the first block as headers and
    # left the rest as that block's body.
    for block in payload:
        if isinstance(block, Message):
            fields: dict[str, str] = {}
            for key, value in block.raw_items():
                fields.setdefault(key.lower(), mime.unfold(mime.unsurrogate(str(value))))
            yield fields
            if not block.is_multipart():
                yield from _text_blocks(mime.part_text(block))


def _text_blocks(text: str) -> Iterator[dict[str, str]]:
    for chunk in re.split(r"\n[ \t]*\n", text[: mime.MAX_TEXT]):
        yield _fields(chunk)


def _fields(chunk: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = None
    for line in chunk.split("\n"):
        if line[:1] in (" ", "\t") and name is not None:
            fields[name] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            name = key.strip().lower()
            fields.setdefault(name, value.strip())
    return {key: mime.unfold(value) for key, value in fields.items()}


def _recipient(fields: dict[str, str]) -> Recipient | None:
    # Original-Recipient is the address we sent to; Final-Recipient may be where a
    # forwarding mailbox sent it on.
    address = _report_address(fields.get("original-recipient")) or _report_address(
        fields.get("final-recipient")
    )
    if address is None:
        return None
    status = _STATUS_CODE.search(fields.get("status", ""))
    diagnostic = fields.get("diagnostic-code", "")
    _, separator, after_type = diagnostic.partition(";")
    diagnostic = (after_type if separator else diagnostic).strip()
    return Recipient(
        address=address,
        action=fields.get("action", "").strip().lower() or None,
        status=status.group(0) if status else None,
        diagnostic=diagnostic[:_MAX_DIAGNOSTIC] or None,
    )


def _report_address(value: str | None) -> str | None:
    """`rfc822; ada@example.com` (or `utf-8; ...`) → ada@example.com."""
    if not value:
        return None
    _, separator, address = value.partition(";")
    address = (address if separator else value).strip().strip("<>").strip().lower()
    return address if mime.ADDRESS.fullmatch(address) else None


_QUOTED_ID = re.compile(
    r"^[ \t>]*Message-ID[ \t]*:[ \t]*\n?[ \t]*(<[\x21-\x3b\x3d\x3f-\x7e]+>)", re.I | re.M
)


def _original_ids(message: Message) -> tuple[str, ...]:
    """Message-IDs of the message a report is about: of attached originals, of attached
    header blocks, and of header blocks quoted in the report's text parts."""
    ids: list[str] = []
    for part, attached in mime.parts(message):
        if attached:
            continue
        content_type = part.get_content_type()
        if content_type in _ORIGINAL_TYPES or content_type in _ORIGINAL_HEADER_TYPES:
            ids.extend(_attached_ids(part))
        elif content_type == "text/plain" and not part.is_multipart():
            ids.extend(_QUOTED_ID.findall(mime.part_text(part)[: mime.MAX_TEXT]))
    return tuple(dict.fromkeys(ids))[: mime.MAX_IDS]


def _attached_ids(part: Message) -> tuple[str, ...]:
    if part.is_multipart():
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        return mime.ids_in(inner, "Message-ID") if isinstance(inner, Message) else ()
    head = HeaderParser(policy=compat32).parsestr(mime.part_text(part)[: mime.MAX_TEXT])
    return mime.ids_in(head, "Message-ID")


_DAEMON = re.compile(
    r"(?:mailer-daemon|mailer_daemon|mailerdaemon|mail-daemon|maildaemon|postmaster)@", re.I
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|returned to sender|delivery (?:status notification|failure"
    r"|has failed|failed|notification|problem)|mail delivery (?:failed|failure|system)"
    r"|failure notice|could not be delivered|not delivered|(?:un|nicht )zustellbar"
    r"|non remis|non distribuable|échec (?:de|du) (?:la )?(?:remise|distribution)",
    re.I,
)
_ORIGINAL_FOLLOWS = re.compile(
    r"^.*(?:this is a copy of|copy of the (?:original )?message|original message"
    r"|below this line is a copy|headers? of the original|message headers? follow"
    r"|ursprüngliche nachricht|kopie der nachricht|message d'origine|en-têtes du message)"
    r"|^(?:return-path|received|message-id|date|subject|x-[a-z-]+)[ \t]*:",
    re.I | re.M,
)
_SMTP_REPLY = re.compile(
    r"(?<![\d.])[45]\d\d(?:[ -]+[245]\.\d{1,3}\.\d{1,3}\b|[ -](?=[A-Za-z<#(]))", re.M
)
_DELAYED = re.compile(
    r"\bdelayed\b|\bwill (?:retry|continue trying|keep trying)|still trying|not yet been"
    r" delivered|\bverzögert|\bretardé",
    re.I,
)


def non_standard_report(message: Message, parsed: ParsedMessage) -> DeliveryReport | None:
    """The bounce an older server wrote as text, judged from what ``parse`` read of ``message``
    (sender, subject, text, X-Failed-Recipients) and the original's ids; None when it does not
    look like one."""
    from_daemon = any(_DAEMON.match(address) for address in parsed.addresses) or (
        "mail delivery" in parsed.sender_name.lower()
    )
    failed_header = parsed.header("x-failed-recipients")
    bounce_subject = _BOUNCE_SUBJECT.search(parsed.subject) is not None
    ids = _original_ids(message)
    evidence = bool(failed_header) or bool(ids) or bounce_subject
    if not ((from_daemon and evidence) or failed_header or (bounce_subject and ids)):
        return None
    follows = _ORIGINAL_FOLLOWS.search(parsed.text)
    explanation = parsed.text if follows is None else parsed.text[: follows.start()]
    if failed_header:
        addresses = [a.lower() for a in mime.ADDRESS.findall(failed_header)]
    else:
        found = (a.lower().strip(".") for a in mime.ADDRESS.findall(explanation))
        addresses = [a for a in found if not _DAEMON.match(a) and a not in parsed.addresses]
    reply = _SMTP_REPLY.search(explanation)
    diagnostic = None
    status = None
    if reply is not None:
        line_end = explanation.find("\n", reply.start())
        line = explanation[reply.start() : None if line_end < 0 else line_end]
        diagnostic = mime.unfold(line)[:_MAX_DIAGNOSTIC]
        enhanced = _STATUS_CODE.search(diagnostic)
        status = enhanced.group(0) if enhanced else f"{diagnostic[0]}.0.0"
    action = "delayed" if _DELAYED.search(f"{parsed.subject}\n{explanation}") else "failed"
    recipients = tuple(
        Recipient(address, action, status, diagnostic)
        for address in dict.fromkeys(addresses[:_MAX_RECIPIENTS])
    )
    return DeliveryReport(standard=False, recipients=recipients, original_message_ids=ids)
