"""The interface every inbox reader implements (IMAP, Microsoft Graph), and what it hands back.

A reader knows nothing of our tables: it returns the messages that arrived since a cursor,
and a new cursor. The caller stores the cursor only after it has stored the messages, so a
poll interrupted halfway is read again from the old cursor, and matching by Message-ID keeps
a message read twice from becoming two replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class InboundMessage:
    provider_id: str
    """The provider's id for the message: `<UIDVALIDITY>:<UID>` on IMAP, the immutable id on
    Graph."""
    raw: bytes
    """The message as MIME (RFC 5322), as the provider holds it; parsing and classifying it is
    the pure core's work, the same for every reader."""
    received_at: datetime
    """When the mailbox received it (timezone-aware UTC)."""
    conversation_id: str | None = None
    """Graph's conversationId: a hint only, confirmed by headers or the sender's address."""


@dataclass(frozen=True)
class InboxPage:
    messages: tuple[InboundMessage, ...]
    cursor: str
    """Opaque text to store and hand back to `read` (IMAP: UIDVALIDITY and last UID; Graph:
    the deltaLink or nextLink)."""
    more: bool
    """True when the provider has more right now: call `read` again with `cursor`."""


class InboxReader(Protocol):
    def read(self, cursor: str | None) -> InboxPage:
        """Messages that arrived after `cursor`, oldest first. None is a mailbox's first read:
        it starts at the reader's lookback (messages received within it come first, so replies
        that arrived before the mailbox was connected are matched), or from now without one.

        Raises outreach.providers.errors.AccountError when the mailbox cannot be reached or
        refuses the credentials, TransientError when the provider throttles (with
        retry_after)."""
        ...

    def check(self) -> str:
        """Really connect, log in and open the inbox; say what was checked."""
        ...

    def close(self) -> None: ...
