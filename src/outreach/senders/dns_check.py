"""Checking a sender account's domain in DNS: fetching the records (through a Resolver), then
judging them (senders/dns_rules.py), and keeping the result a day.

The fetching talks to DNS and, for a custom SMTP server, to the server: entry points call
`fetch` with no transaction open, then `keep` the result in a short one.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from outreach.errors import ValidationFailed
from outreach.providers.dns import Resolver
from outreach.providers.errors import ProviderError
from outreach.senders import dns_rules as rules
from outreach.senders import queries as sender_queries
from outreach.senders.dns_rules import DomainFacts, Finding, ServerFacts, SpfWalk, Verdict
from outreach.senders.mail_providers import Provider, provider_of
from outreach.senders.models import SenderAccount, SenderDnsCheck

KEPT_FOR = timedelta(days=1)

StartTlsProbe = Callable[[str, int], bool]
"""Whether the SMTP server at (address, port) offers STARTTLS; raises ProviderError when it cannot
be asked."""


@dataclass(frozen=True)
class DomainCheck:
    """What the check of one sender account found."""

    email: str
    selector: str | None
    checked_at: datetime
    findings: list[Finding]

    @property
    def passed(self) -> bool:
        return all(finding.verdict is not Verdict.failed for finding in self.findings)

    @property
    def failures(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.verdict is Verdict.failed]


_SELECTOR = re.compile(r"[A-Za-z0-9._-]{1,63}")


def checked_selector(selector: str | None) -> str | None:
    """The DKIM selector a person gave, trimmed; None for none; ValidationFailed for a name DNS
    cannot carry as one label."""
    given = (selector or "").strip()
    if given and not _SELECTOR.fullmatch(given):
        raise ValidationFailed(
            f"{given!r} is not a DKIM selector: letters, digits, dots, hyphens and underscores.",
            field="selector",
        )
    return given or None


def fetch(
    resolver: Resolver,
    account: SenderAccount,
    selector: str | None,
    probe_starttls: StartTlsProbe,
    now: datetime,
) -> DomainCheck:
    """Ask DNS (and a custom SMTP server) everything the rules judge. Raises ServerUnreachable
    when DNS does not answer at all."""
    settings = account.settings or {}
    provider = provider_of(account.kind, settings.get("host"))
    domain = account.email.rpartition("@")[2].lower()
    dmarc_at, dmarc = _dmarc_records(resolver, domain)
    facts = DomainFacts(
        email=account.email,
        provider=provider,
        mail_exchangers=tuple(
            (exchanger.preference, exchanger.host) for exchanger in resolver.mail_exchangers(domain)
        ),
        spf=walk_spf(resolver, domain),
        dkim={
            name: tuple(resolver.texts(f"{name}._domainkey.{domain}"))
            for name in rules.selectors_to_try(provider, selector)
        },
        dmarc=dmarc,
        dmarc_at=dmarc_at,
        server=_server(resolver, settings, probe_starttls) if provider is Provider.smtp else None,
    )
    return DomainCheck(account.email, selector or None, now, rules.judge(facts))


def _dmarc_records(resolver: Resolver, domain: str) -> tuple[str, tuple[str, ...]]:
    for where in dict.fromkeys((domain, rules.organisational_domain(domain))):
        found = tuple(text for text in resolver.texts(f"_dmarc.{where}") if rules.is_dmarc(text))
        if found:
            return where, found
    return domain, ()


def walk_spf(resolver: Resolver, domain: str) -> SpfWalk:
    """The domain's SPF record followed through its includes and redirect, counting the DNS
    lookups a receiver makes (RFC 7208 4.6.4) and collecting the address ranges authorised.
    Stops following once past the limit: the record fails either way."""
    records = tuple(text for text in resolver.texts(domain) if rules.is_spf(text))
    walk = _SpfWalker(resolver)
    if len(records) == 1:
        walk.follow(domain, records[0])
    return SpfWalk(
        records=records,
        lookups=walk.lookups,
        included=tuple(walk.included),
        networks=tuple(walk.networks),
        missing=tuple(walk.missing),
    )


class _SpfWalker:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.lookups = 0
        self.included: list[str] = []
        self.networks: list[str] = []
        self.missing: list[str] = []

    def follow(self, domain: str, record: str) -> None:
        for term in rules.spf_terms(record):
            if term.name in rules.LOOKUP_MECHANISMS:
                self.lookups += 1
            if self.lookups > rules.SPF_LOOKUP_LIMIT:
                return
            self._term(domain, term)

    def _term(self, domain: str, term: rules.SpfTerm) -> None:
        target = term.value.partition("/")[0] or domain
        if term.name in ("ip4", "ip6"):
            self.networks.append(term.value)
        elif term.name == "a":
            self.networks += self.resolver.addresses(target)
        elif term.name == "mx":
            for exchanger in self.resolver.mail_exchangers(target):
                self.networks += self.resolver.addresses(exchanger.host)
        elif term.name in ("include", "redirect") and target not in self.included:
            self.included.append(target)
            found = [text for text in self.resolver.texts(target) if rules.is_spf(text)]
            if len(found) == 1:
                self.follow(target, found[0])
            else:
                self.missing.append(target)


def _server(
    resolver: Resolver, settings: dict[str, object], probe_starttls: StartTlsProbe
) -> ServerFacts:
    host = str(settings.get("host", ""))
    security = str(settings.get("security", "starttls"))
    addresses = (host,) if _is_address(host) else tuple(resolver.addresses(host))
    confirmed: dict[str, tuple[str, ...]] = {}
    unconfirmed: dict[str, tuple[str, ...]] = {}
    for address in addresses:
        names = tuple(resolver.pointer(address))
        pointing_back = tuple(name for name in names if address in resolver.addresses(name))
        if pointing_back:
            confirmed[address] = pointing_back
        elif names:
            unconfirmed[address] = names
    offers: bool | None = None
    if security != "tls" and addresses:
        try:
            # The address DNS gave, not the name: the system resolver may know another.
            offers = probe_starttls(addresses[0], int(str(settings.get("port", 587))))
        except ProviderError:
            offers = None
    return ServerFacts(host, security, addresses, confirmed, unconfirmed, offers)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# Keeping the result a day.


def keep(session: Session, account_id: uuid.UUID, check: DomainCheck) -> None:
    row = session.get(SenderDnsCheck, account_id) or SenderDnsCheck(sender_account_id=account_id)
    row.selector = check.selector
    row.checked_at = check.checked_at
    row.passed = check.passed
    row.findings = [
        {"topic": f.topic, "verdict": f.verdict.value, "text": f.text} for f in check.findings
    ]
    session.add(row)
    session.flush()


def kept(
    session: Session, account: SenderAccount, now: datetime, selector: str | None = None
) -> DomainCheck | None:
    """The account's check of the last day with the same selector, or None."""
    row = session.get(SenderDnsCheck, account.id)
    if row is None or row.checked_at <= now - KEPT_FOR or row.selector != (selector or None):
        return None
    return _check(account.email, row)


def kept_for_all(session: Session, now: datetime) -> dict[uuid.UUID, DomainCheck]:
    """Every account's check of the last day, whatever its selector (the senders page)."""
    rows = sender_queries.dns_checks_since(session, now - KEPT_FOR)
    return {row.sender_account_id: _check(email, row) for row, email in rows}


def _check(email: str, row: SenderDnsCheck) -> DomainCheck:
    findings = [Finding(f["topic"], Verdict(f["verdict"]), f["text"]) for f in row.findings]
    return DomainCheck(email, row.selector, row.checked_at, findings)
