"""Asking DNS: the records a sender domain's check reads (senders/dns_check.py).

One narrow interface, `Resolver`, so that the check runs against any resolver: the system's,
a chosen one (OUTREACH_DNS_SERVER), or a test's DNS server on loopback. A name that does not
exist or has no record of the type asked for answers with an empty list, because to a check
"no SPF record" is a finding, not an error; only a resolver that does not answer raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import dns.exception
import dns.rdatatype
import dns.resolver
import dns.reversename

from outreach.providers.errors import ServerUnreachable


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


class DnsPythonResolver:
    """dnspython's stub resolver: the system's name servers, or the given ones."""

    def __init__(
        self, nameservers: list[str] | None = None, port: int = 53, timeout: float = 5.0
    ) -> None:
        self._resolver = dns.resolver.Resolver(configure=nameservers is None)
        if nameservers is not None:
            self._resolver.nameservers = list(nameservers)
            self._resolver.port = port
        self._resolver.lifetime = timeout

    def texts(self, name: str) -> list[str]:
        return [
            b"".join(record.strings).decode("utf-8", "replace")
            for record in self._answer(name, "TXT")
        ]

    def mail_exchangers(self, name: str) -> list[MailExchanger]:
        return sorted(
            MailExchanger(record.preference, record.exchange.to_text(omit_final_dot=True))
            for record in self._answer(name, "MX")
        )

    def addresses(self, name: str) -> list[str]:
        return [record.address for kind in ("A", "AAAA") for record in self._answer(name, kind)]

    def pointer(self, address: str) -> list[str]:
        reverse = dns.reversename.from_address(address).to_text()
        return [
            record.target.to_text(omit_final_dot=True) for record in self._answer(reverse, "PTR")
        ]

    def _answer(self, name: str, kind: str) -> list:  # type: ignore[type-arg]
        try:
            return list(self._resolver.resolve(name, dns.rdatatype.from_text(kind)))
        except dns.exception.Timeout as error:
            raise ServerUnreachable(f"DNS did not answer for {name} ({kind}).") from error
        except dns.exception.DNSException:
            # No such name, no record of the type, a name DNS cannot carry (an empty or
            # overlong label), or every server failing for this name (SERVFAIL): to a check,
            # the record is not there.
            return []
