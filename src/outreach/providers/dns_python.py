"""The Resolver (providers/dns.py) over dnspython's stub resolver."""

from __future__ import annotations

import dns.exception
import dns.rdatatype
import dns.resolver
import dns.reversename

from outreach.providers.dns import MailExchanger
from outreach.providers.errors import ServerUnreachable


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
