"""Which email of ours an inbound message answers (or, for a bounce, reports on).

Pure: the caller looks up what `lookups` asks for in the database, hands the answers in as a
`Known` (KnownEmails is the plain implementation), and gets back a Match saying how it matched,
or None. The order is the order of confidence:

1. In-Reply-To, then References newest first: the reply names our Message-ID.
2. Graph's conversationId, only when confirmed: one of the conversation's emails went to an
   address the reply comes from, or the reply's headers name one of them. Graph is known to put
   unrelated messages with the same subject into one conversation, so the id alone is not
   enough.
3. The sender's address (From, then Reply-To, then Sender): the latest active enrollment's
   email to that address, for replies whose mailer dropped the threading headers.

A delivery report matches only by the Message-ID of the original it carries, then by the
address it says failed; never by its own headers or sender (a mailer daemon).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from outreach.inbox.bounces import DeliveryReport
    from outreach.inbox.parse import ParsedMessage

__all__ = ["Known", "KnownEmails", "Lookups", "Match", "MatchedBy", "SentEmail", "lookups", "match"]


@dataclass(frozen=True)
class SentEmail:
    """One email of ours, as much of it as matching needs."""

    id: uuid.UUID
    message_id: str
    recipient: str
    """The address it went to, lowercased."""


class Known(Protocol):
    """What the database knows, asked one key at a time."""

    def by_message_id(self, message_id: str) -> SentEmail | None:
        """Our email with this Message-ID (with its angle brackets)."""
        ...

    def by_conversation(self, conversation_id: str) -> Sequence[SentEmail]:
        """Our emails in this Graph conversation, newest first."""
        ...

    def by_address(self, address: str) -> SentEmail | None:
        """The latest email of the latest active enrollment to this address (lowercased)."""
        ...


@dataclass(frozen=True)
class KnownEmails:
    """A Known filled in advance: the caller runs one query per mapping for a whole page of
    messages, with the keys `lookups` lists, rather than three per message."""

    message_ids: Mapping[str, SentEmail] = field(default_factory=dict)
    conversations: Mapping[str, Sequence[SentEmail]] = field(default_factory=dict)
    addresses: Mapping[str, SentEmail] = field(default_factory=dict)

    def by_message_id(self, message_id: str) -> SentEmail | None:
        return self.message_ids.get(message_id)

    def by_conversation(self, conversation_id: str) -> Sequence[SentEmail]:
        return self.conversations.get(conversation_id, ())

    def by_address(self, address: str) -> SentEmail | None:
        return self.addresses.get(address)


@dataclass(frozen=True)
class Lookups:
    """The keys `match` may ask a Known about for one message."""

    message_ids: tuple[str, ...]
    conversation_ids: tuple[str, ...]
    addresses: tuple[str, ...]


class MatchedBy(StrEnum):
    in_reply_to = "in_reply_to"
    references = "references"
    conversation = "conversation"
    sender = "sender"
    original_message_id = "original_message_id"
    """A delivery report carried the Message-ID of our email."""
    failed_recipient = "failed_recipient"
    """A delivery report named no email of ours, but an address we are writing to."""


@dataclass(frozen=True)
class Match:
    sent_email: SentEmail
    by: MatchedBy
    evidence: str
    """What matched, in words: "In-Reply-To <...>", "conversation AAQk... confirmed by the
    sender ada@example.com"."""


def lookups(parsed: ParsedMessage, conversation_id: str | None) -> Lookups:
    """Everything `match` may look up for this message."""
    if parsed.report is not None:
        return Lookups(
            message_ids=parsed.report.original_message_ids,
            conversation_ids=(),
            addresses=tuple(dict.fromkeys(r.address for r in parsed.report.recipients)),
        )
    return Lookups(
        message_ids=parsed.thread_ids,
        conversation_ids=(conversation_id,) if conversation_id else (),
        addresses=parsed.addresses,
    )


def match(parsed: ParsedMessage, conversation_id: str | None, known: Known) -> Match | None:
    """Our email this message answers or reports on (see the module's docstring for the
    order), None when it is about nothing of ours."""
    if parsed.report is not None:
        return _report_match(parsed.report, known)
    in_reply_to = set(parsed.in_reply_to)
    for message_id in parsed.thread_ids:
        sent = known.by_message_id(message_id)
        if sent is not None:
            header = "In-Reply-To" if message_id in in_reply_to else "References"
            by = MatchedBy.in_reply_to if message_id in in_reply_to else MatchedBy.references
            return Match(sent, by, f"{header} {message_id}")
    if conversation_id:
        found = _confirmed_conversation(parsed, conversation_id, known)
        if found is not None:
            return found
    for address in parsed.addresses:
        sent = known.by_address(address)
        if sent is not None:
            return Match(sent, MatchedBy.sender, f"the sender's address {address}")
    return None


def _confirmed_conversation(
    parsed: ParsedMessage, conversation_id: str, known: Known
) -> Match | None:
    thread_ids = set(parsed.thread_ids)
    for sent in known.by_conversation(conversation_id):
        if sent.message_id in thread_ids:
            how = f"a header naming {sent.message_id}"
        elif sent.recipient in parsed.addresses:
            how = f"the sender {sent.recipient}"
        else:
            continue
        return Match(
            sent, MatchedBy.conversation, f"conversation {conversation_id} confirmed by {how}"
        )
    return None


def _report_match(report: DeliveryReport, known: Known) -> Match | None:
    for message_id in report.original_message_ids:
        sent = known.by_message_id(message_id)
        if sent is not None:
            return Match(
                sent, MatchedBy.original_message_id, f"the original's Message-ID {message_id}"
            )
    for recipient in report.recipients:
        sent = known.by_address(recipient.address)
        if sent is not None:
            return Match(
                sent, MatchedBy.failed_recipient, f"the failed recipient {recipient.address}"
            )
    return None
