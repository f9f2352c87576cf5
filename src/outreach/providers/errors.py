"""The errors every provider raises, sending or reading, so that callers know what to do.

Callers never read SMTP codes, IMAP responses or HTTP statuses: a provider turns them into one
of these. A transient error is retried later (honouring retry_after when the provider said); a
permanent one fails this email (and suppresses the address when the recipient was refused); an
account error means the account cannot be used at all until a person acts: its emails wait,
rather than each failing in turn; a tenant's limit reached means every mailbox of the account's
Microsoft 365 tenant waits for the rolling day to free room, and nobody needs to act.
"""

from __future__ import annotations

import re
import socket
import ssl


class ProviderError(Exception):
    """What went wrong, in plain words (`reason`), for the log and the person reading it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(ProviderError):
    """Try again later: timeouts, disconnects, 4xx replies, throttling."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class ServerUnreachable(TransientError):
    """The server could not be reached or broke off before any email was handed over (refused,
    reset, no answer, its name not found): nothing was sent, so trying again is safe, and the
    account heals by itself once the server answers; no person needs to act."""


class PermanentError(ProviderError):
    """This email cannot be sent. `address_rejected`: the recipient does not exist (suppress)."""

    def __init__(self, reason: str, *, address_rejected: bool = False) -> None:
        super().__init__(reason)
        self.address_rejected = address_rejected


class DeliveryUncertain(PermanentError):
    """The connection broke after the whole email was handed over, before the provider said
    whether it took it: it may or may not have gone out.

    Permanent, so that nothing retries it (a retry could send a second copy, and a duplicate
    cold email costs more than a missed one) and nothing suppresses the address; the caller
    records the email as `unknown` for a person to decide.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, address_rejected=False)


class AccountError(ProviderError):
    """The account cannot be used at all, for sending or reading, until a person acts:
    authentication refused, a grant revoked, a TLS failure. The reason is in plain words for the
    person who must fix it. (A server that cannot be reached is ServerUnreachable: it passes.)"""


class TenantLimitReached(ProviderError):
    """The account's Microsoft 365 tenant has sent to as many external recipients as Exchange
    Online allows in 24 hours (550 5.7.233): no mailbox of the tenant can send until the rolling
    day frees room. Nothing is wrong with this email, its recipient or the account: the email
    waits, nobody is suppressed and no person needs to act."""


_TENANT_LIMIT = re.compile(r"^\s*5\.7\.233\b")
"""Exchange Online's "tenant has exceeded its external recipient limit" (TERRL)."""


def tenant_limit_reached(text: str) -> bool:
    """Whether a refusal ("5.7.233 ...") says the sending tenant's external recipient limit is
    used up, rather than anything about this email."""
    return bool(_TENANT_LIMIT.match(text))


_OUR_DOMAIN_CODES = re.compile(r"^\s*5\.7\.(?:2[0-7]|509|515)\b")
"""Enhanced status codes that refuse an email for how the sending domain is authenticated:
RFC 7372's 5.7.20-5.7.26 (no passing DKIM signature, SPF failed, reverse DNS failed, DMARC),
5.7.27 (RFC 7505; Gmail also uses it for SPF), and Microsoft's 5.7.509 (DMARC reject) and
5.7.515 (the domain does not meet Outlook.com's authentication requirements, May 2025)."""
_OUR_DOMAIN_WORDS = re.compile(r"\b(?:DMARC|SPF|DKIM|unauthenticated)\b", re.IGNORECASE)


def refuses_our_domain(text: str) -> bool:
    """Whether a permanent refusal ("5.7.26 Unauthenticated email ...") is about the sending
    domain's SPF, DKIM or DMARC rather than about the recipient or this one email: then no
    other email from the domain will be accepted either until its DNS is fixed."""
    policy = text.lstrip().startswith("5.7.")
    return bool(_OUR_DOMAIN_CODES.match(text)) or (policy and bool(_OUR_DOMAIN_WORDS.search(text)))


def connection_problem(error: OSError, host: str, where: str, ports: str) -> ProviderError | None:
    """What a failure to reach a mail server (`where` is "host:port") means, in plain words,
    when it is the same for every protocol: a certificate, a TLS handshake (a person must fix
    the settings), a refused connection, a host name (the server may answer again: a name
    wrongly typed keeps failing, saying so); None for the rest, which the protocol's own code
    explains.
    `ports` names the protocol's usual ports ("TLS is usually port 465, STARTTLS port 587.")."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return AccountError(
            f"The TLS certificate of {host} could not be verified ({error.verify_message})."
        )
    if isinstance(error, ssl.SSLError):
        return AccountError(
            f"The TLS handshake with {where} failed ({error.reason or error}). Check the "
            f"security setting: {ports}"
        )
    if isinstance(error, ConnectionRefusedError):
        return ServerUnreachable(f"Could not connect to {where}: connection refused.")
    if isinstance(error, socket.gaierror):
        if error.errno == socket.EAI_AGAIN:
            return ServerUnreachable(f"Could not look up {host} just now (temporary DNS failure).")
        return ServerUnreachable(f"Could not connect to {where}: the host name {host} is unknown.")
    return None
