"""The one shape of an email on its way out, shared by composition and every transport."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Mailbox:
    email: str
    name: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """Everything a transport needs to send one email, decided before any network call.

    `message_id` is ours, fixed when the delivery row is written, with angle brackets
    (`<...@sender-domain>`), so a retry or a crash recovery sends or finds the same message.
    `in_reply_to` and `references` thread follow-ups under the first email of the sequence.
    """

    message_id: str
    sender: Mailbox
    recipient: Mailbox
    subject: str
    text: str
    date: datetime
    html: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    unsubscribe_url: str | None = None
    """https URL for RFC 8058 one-click unsubscribe (POST) and for people (GET)."""
    unsubscribe_mailto: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """Headers of our own, each named X-…"""


@dataclass(frozen=True)
class SentMessage:
    """What the provider told us: our Message-ID, and its own id for the message if it has one
    (Microsoft Graph's immutable id), to ask later whether it went out."""

    message_id: str
    provider_id: str | None = None
    conversation_id: str | None = None
