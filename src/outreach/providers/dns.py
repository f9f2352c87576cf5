"""Asking DNS: the records a sender domain's check reads (senders/dns_check.py).

One narrow interface, `Resolver`, so that the check runs against any resolver: the system's,
a chosen one (OUTREACH_DNS_SERVER), or a test's DNS server on loopback. dnspython's is in
providers/dns_python.py, imported only when a check runs (it costs every command 30 ms). A name
that does not exist or has no record of the type asked for answers with an empty list, because
to a check "no SPF record" is a finding, not an error; only a resolver that does not answer
raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, order=True)
class MailExchanger:
    preference: int
    host: str
    """Without the trailing dot; "" for a null MX (RFC 7505: the domain takes no email)."""


class Resolver(Protocol):
    def texts(self, name: str) -> list[str]:
        """The TXT records at `name`, each one's strings joined, as RFC 7208 reads SPF."""
        ...

    def mail_exchangers(self, name: str) -> list[MailExchanger]: ...

    def addresses(self, name: str) -> list[str]:
        """IPv4 and IPv6 addresses of `name` (A and AAAA)."""
        ...

    def pointer(self, address: str) -> list[str]:
        """The names the reverse zone gives for an IP address (PTR), without trailing dots."""
        ...
