"""The interface every transport implements, and what a mailbox owner's sign-in leaves; what
providers raise is in providers/errors.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from outreach.providers.message import OutgoingMessage, SentMessage


class Transport(Protocol):
    def send(self, message: OutgoingMessage) -> SentMessage:
        """Hand one message to the provider; raise one of providers.errors when it was not."""
        ...

    def check(self) -> str:
        """Really connect (and authenticate) and say what was checked; raise what failed, in
        plain words: AccountError when a person must act, a TransientError (ServerUnreachable)
        when it may pass by itself."""
        ...

    def close(self) -> None:
        """Let go of connections. The transport may be used again afterwards."""
        ...


class ProviderStatus(StrEnum):
    """What a provider that keeps its own ids says about one of our emails."""

    draft = "draft"
    """Still a draft in the mailbox: it was not sent, and may be sent again."""
    sent = "sent"
    """Submitted: no longer a draft."""
    missing = "missing"
    """No such email: deleted, or (just after a send) not yet filed."""


OnDraft = Callable[[str], None]
"""Told the provider's id for an email before it is sent, so the caller can store it."""


@runtime_checkable
class ProviderThreads(Protocol):
    """A transport whose provider keeps its own id for every email (Microsoft Graph): it says
    the id before sending (so a crash can be resolved by asking, not guessing), threads a
    follow-up as a reply to the earlier email's id, and answers what became of an id."""

    def send(self, message: OutgoingMessage, *, on_draft: OnDraft | None = None) -> SentMessage: ...

    def send_reply(
        self, message: OutgoingMessage, earlier_provider_id: str, *, on_draft: OnDraft | None = None
    ) -> SentMessage: ...

    def status(self, provider_id: str) -> ProviderStatus: ...

    def discard(self, provider_id: str) -> None:
        """Delete a draft that will not be sent; best effort."""
        ...


@dataclass(frozen=True)
class SignedIn:
    """A mailbox's owner signed in to their provider (OAuth): which mailbox, their name, and the
    token cache to seal on the sender account."""

    mailbox: str
    name: str | None
    token_cache: str
