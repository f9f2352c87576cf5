"""The interface every transport implements, and the errors that tell callers what to do.

Callers never read SMTP codes or HTTP statuses: a transport turns them into one of these
errors. A transient error is retried later (honouring retry_after when the provider said);
a permanent one fails this email (and suppresses the address when the recipient was refused);
an account error means the sender account cannot send at all: it is paused and its threads
wait, rather than each email failing in turn.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol, runtime_checkable

from outreach.providers.message import OutgoingMessage, SentMessage


class SendError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientSendError(SendError):
    """Try again later: timeouts, disconnects, 4xx replies, throttling."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """This email cannot be sent. `address_rejected`: the recipient does not exist (suppress)."""

    def __init__(self, reason: str, *, address_rejected: bool = False) -> None:
        super().__init__(reason)
        self.address_rejected = address_rejected


class DeliveryUncertain(PermanentSendError):
    """The connection broke after the whole email was handed over, before the provider said
    whether it took it: it may or may not have gone out.

    Permanent, so that nothing retries it (a retry could send a second copy, and a duplicate
    cold email costs more than a missed one) and nothing suppresses the address; the caller
    records the email as `unknown` for a person to decide.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, address_rejected=False)


class SenderAccountError(SendError):
    """The account cannot send anything: authentication refused, server unreachable, TLS
    failure. The reason is in plain words for the person who must fix the account."""


class Transport(Protocol):
    def send(self, message: OutgoingMessage) -> SentMessage:
        """Hand one message to the provider; raise one of the errors above when it was not."""
        ...

    def check(self) -> str:
        """Really connect (and authenticate) and say what was checked; raise SenderAccountError
        saying what failed, in plain words."""
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


def connection_problem(error: OSError, host: str, where: str, ports: str) -> SendError | None:
    """What a failure to reach a mail server (`where` is "host:port") means, in plain words,
    when it is the same for every protocol: a certificate, a TLS handshake, a refused
    connection, a host name; None for the rest, which the protocol's own code explains.
    `ports` names the protocol's usual ports ("TLS is usually port 465, STARTTLS port 587.")."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return SenderAccountError(
            f"The TLS certificate of {host} could not be verified ({error.verify_message})."
        )
    if isinstance(error, ssl.SSLError):
        return SenderAccountError(
            f"The TLS handshake with {where} failed ({error.reason or error}). Check the "
            f"security setting: {ports}"
        )
    if isinstance(error, ConnectionRefusedError):
        return SenderAccountError(f"Could not connect to {where}: connection refused.")
    if isinstance(error, socket.gaierror):
        if error.errno == socket.EAI_AGAIN:
            return TransientSendError(f"Could not look up {host} just now (temporary DNS failure).")
        return SenderAccountError(f"Could not connect to {where}: the host name {host} is unknown.")
    return None
