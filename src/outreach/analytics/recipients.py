"""Recipient providers: each recipient domain's MX records resolved once, cached in
recipient_domains, and what its emails counted while unknown moved to its provider.

A worker job reads the domains `unresolved`, `resolve`s them with no transaction open and
`record`s what DNS said; a web request never resolves anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.analytics import rollups
from outreach.analytics.models import RecipientDomain
from outreach.providers.dns import MailExchanger, Resolver
from outreach.providers.errors import ProviderError
from outreach.senders.mail_providers import Provider, provider_of

BATCH = 100
"""Domains resolved by one pass: a new campaign's first day brings a few hundred at most."""


class RecipientProvider(StrEnum):
    google = "google"
    microsoft = "microsoft"
    other = "other"
    unknown = "unknown"
    """Not resolved yet."""


def provider_of_exchangers(exchangers: list[MailExchanger]) -> tuple[RecipientProvider, str]:
    """The provider a domain's preferred mail exchanger belongs to, and that host ("" for none:
    a domain without MX records, or with a null MX, takes email from no provider we know)."""
    hosts = [mx.host for mx in sorted(exchangers) if mx.host]
    if not hosts:
        return RecipientProvider.other, ""
    provider = provider_of("smtp", hosts[0])
    if provider is Provider.google:
        return RecipientProvider.google, hosts[0]
    if provider is Provider.microsoft:
        return RecipientProvider.microsoft, hosts[0]
    return RecipientProvider.other, hosts[0]


@dataclass
class Resolved:
    """What DNS said about a batch of domains."""

    providers: dict[str, tuple[RecipientProvider, str]] = field(default_factory=dict)
    """Each domain resolved: its provider and preferred mail exchanger."""
    failed: list[str] = field(default_factory=list)
    """"domain: why" for each domain DNS did not answer for, tried again next pass."""

    def lines(self) -> list[str]:
        done = [f"{domain}: {provider}" for domain, (provider, _) in self.providers.items()]
        return done + [f"not resolved {text}" for text in self.failed]


def unresolved(session: Session, batch: int = BATCH) -> list[str]:
    """Recipient domains not resolved yet, oldest first (ix_recipient_domains_unresolved)."""
    return list(
        session.scalars(
            sa.select(RecipientDomain.domain)
            .where(RecipientDomain.resolved_at.is_(None))
            .order_by(RecipientDomain.created_at)
            .limit(batch)
        )
    )


def resolve(resolver: Resolver, domains: list[str]) -> Resolved:
    """Asks DNS for each domain's MX records: run with no transaction open."""
    resolved = Resolved()
    for domain in domains:
        try:
            resolved.providers[domain] = provider_of_exchangers(resolver.mail_exchangers(domain))
        except ProviderError as error:
            resolved.failed.append(f"{domain}: {error.reason}")
    return resolved


def record(session: Session, resolved: Resolved, now: datetime) -> None:
    """Keeps what DNS said and moves what the domains' emails counted as `unknown` to their
    provider, in one transaction (a domain resolved meanwhile by another pass is left as is)."""
    done = []
    for domain, (provider, host) in resolved.providers.items():
        moved = session.execute(
            sa.update(RecipientDomain)
            .where(RecipientDomain.domain == domain, RecipientDomain.resolved_at.is_(None))
            .values(provider=provider.value, mail_exchanger=host, resolved_at=now)
        )
        if moved.rowcount:  # type: ignore[attr-defined]
            done.append(domain)
    rollups.move_resolved(session.connection(), done)
    session.flush()
