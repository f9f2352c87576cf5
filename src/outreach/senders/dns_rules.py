"""Whether a sender's domain is set up so that its email is delivered at all: pure rules over
DNS records already fetched (senders/dns_check.py fetches them).

Gmail's and Yahoo's bulk-sender rules (2024) and Outlook.com's (May 2025) ask of a sending
domain: SPF and DKIM, a DMARC record (p=none is enough) that SPF or DKIM aligns with, and, for
a server of one's own, reverse DNS and TLS. Each finding says what was found and, when it
fails, what to change, in words a founder can follow.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum

from outreach.senders.mail_providers import Provider

SPF_LOOKUP_LIMIT = 10
"""RFC 7208 4.6.4: a receiver stops after ten DNS lookups and treats the SPF record as broken."""

LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})


PROVIDER_SPF = {
    Provider.google: "_spf.google.com",
    Provider.microsoft: "spf.protection.outlook.com",
}
"""The include that authorises the provider's servers, as each provider documents it."""

PROVIDER_SELECTORS = {
    Provider.google: ("google",),
    Provider.microsoft: ("selector1", "selector2"),
}
COMMON_SELECTORS = ("default", "dkim", "mail", "k1", "s1", "s2", "selector1", "selector2")
"""Selectors tried for other providers when the user names none: those of cPanel, Mailchimp
(k1), Amazon SES-style and Microsoft-style set-ups. A domain signing under another selector
is found only when the user gives it."""


def selectors_to_try(provider: Provider, given: str | None) -> tuple[str, ...]:
    if given:
        return (given.strip(),)
    return PROVIDER_SELECTORS.get(provider, COMMON_SELECTORS)


def organisational_domain(domain: str) -> str:
    """Where DMARC is looked up when the From domain has no record of its own (RFC 7489 6.6.3).

    The last two labels: right for example.com and its subdomains, wrong for names under a
    two-label public suffix (example.co.uk); such a domain should publish its own record,
    which is always found first."""
    return ".".join(domain.split(".")[-2:])


# Parsing the records.


@dataclass(frozen=True)
class SpfTerm:
    qualifier: str
    """"+", "-", "~" or "?"; modifiers (redirect=) carry "+"."""
    name: str
    """The mechanism or modifier, lower case: include, a, mx, ip4, ip6, all, redirect, ..."""
    value: str


def is_spf(text: str) -> bool:
    return text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")


def spf_terms(record: str) -> list[SpfTerm]:
    return [_spf_term(word) for word in record.split()[1:]]


def _spf_term(word: str) -> SpfTerm:
    qualifier, body = (word[0], word[1:]) if word[0] in "+-~?" else ("+", word)
    modifier = _MODIFIER.match(body)
    if modifier:
        return SpfTerm("+", modifier[1].lower(), modifier[2])
    name, _, value = body.partition(":")
    return SpfTerm(qualifier, name.partition("/")[0].lower(), value)


_MODIFIER = re.compile(r"([a-z][a-z0-9_.-]*)=(.*)", re.IGNORECASE)


def is_dmarc(text: str) -> bool:
    return text.replace(" ", "").lower().startswith("v=dmarc1")


def tags(record: str) -> dict[str, str]:
    """A DMARC or DKIM record's tag=value pairs, tags in lower case."""
    pairs = (part.strip().partition("=") for part in record.split(";") if "=" in part)
    return {name.strip().lower(): value.strip() for name, _, value in pairs}


def dkim_key(record: str) -> str | None:
    """The public key of a DKIM record; "" when the key is revoked, None when not DKIM."""
    found = tags(record)
    if "p" not in found or found.get("v", "DKIM1") != "DKIM1":
        return None
    return found["p"].replace(" ", "")


# What the check fetched.


@dataclass(frozen=True)
class SpfWalk:
    """The domain's SPF record and everything its includes and redirects authorise."""

    records: tuple[str, ...] = ()
    """Every `v=spf1` TXT record at the domain (more than one is an error)."""
    lookups: int = 0
    included: tuple[str, ...] = ()
    """Every domain reached through include: and redirect=, at any depth."""
    networks: tuple[str, ...] = ()
    """Every address range authorised (ip4:, ip6:, and the addresses a: and mx: name)."""
    missing: tuple[str, ...] = ()
    """Included domains that publish no SPF record (receivers then fail the whole check)."""

    @property
    def record(self) -> str | None:
        return self.records[0] if len(self.records) == 1 else None


@dataclass(frozen=True)
class ServerFacts:
    """A custom SMTP server: its addresses, their reverse names, and what it offers."""

    host: str
    security: str
    addresses: tuple[str, ...] = ()
    reverse: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Address → the names its PTR records give, kept only when they point back to it."""
    reverse_unconfirmed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Address → PTR names that do not resolve back to it."""
    offers_starttls: bool | None = None
    """None: the server could not be asked."""


@dataclass(frozen=True)
class DomainFacts:
    email: str
    provider: Provider
    mail_exchangers: tuple[tuple[int, str], ...]
    spf: SpfWalk
    dkim: dict[str, tuple[str, ...]]
    """Selector → the TXT records at <selector>._domainkey.<domain>."""
    dmarc: tuple[str, ...]
    """The DMARC records found, at the domain or else at its organisational domain."""
    dmarc_at: str
    server: ServerFacts | None = None

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()


# Judging them.


class Verdict(StrEnum):
    passed = "pass"
    warning = "warn"
    failed = "fail"


@dataclass(frozen=True)
class Finding:
    topic: str
    verdict: Verdict
    text: str


def judge(facts: DomainFacts) -> list[Finding]:
    """Every finding about a sender's domain, in the order a person fixes them."""
    findings = [_mx(facts), _spf(facts), _dkim(facts), *_dmarc(facts)]
    if facts.server is not None:
        findings += [_reverse_dns(facts.server), _encryption(facts.server)]
    return findings


def _mx(facts: DomainFacts) -> Finding:
    domain = facts.domain
    if not facts.mail_exchangers:
        return Finding(
            "MX",
            Verdict.failed,
            f"{domain} has no MX record, so replies and bounces to {facts.email} have nowhere "
            "to go. Add the MX records your email provider gives you.",
        )
    if all(host == "" for _, host in facts.mail_exchangers):
        return Finding(
            "MX",
            Verdict.failed,
            f"{domain} publishes a null MX: it says it takes no email, so no reply can reach "
            "you. Replace it with your email provider's MX records.",
        )
    hosts = ", ".join(host for _, host in facts.mail_exchangers)
    return Finding("MX", Verdict.passed, f"Replies reach {domain} through {hosts}.")


def _spf(facts: DomainFacts) -> Finding:
    spf, domain = facts.spf, facts.domain
    suggestion = f"v=spf1 include:{PROVIDER_SPF.get(facts.provider, '<your provider>')} ~all"
    if not spf.records:
        return _spf_fails(f"{domain} has no SPF record. Add a TXT record at {domain}: {suggestion}")
    if spf.record is None:
        return _spf_fails(
            f"{domain} has {len(spf.records)} SPF records; receivers treat that as an error. "
            "Merge them into one TXT record."
        )
    if spf.lookups > SPF_LOOKUP_LIMIT:
        return _spf_fails(
            f"The SPF record needs {spf.lookups} DNS lookups; receivers stop at "
            f"{SPF_LOOKUP_LIMIT} and fail it. Remove includes you no longer send through, or "
            "replace some with the ip4: ranges they stand for."
        )
    if spf.missing:
        return _spf_fails(
            f"The SPF record includes {', '.join(spf.missing)}, which publishes no SPF record; "
            "receivers fail the whole check. Remove that include or correct its name."
        )
    ending = _spf_ending(spf.record)
    if ending == "+":
        return _spf_fails("The SPF record ends in +all: anyone may send as you. End it in ~all.")
    uncovered = _uncovered_by_spf(facts)
    if uncovered:
        return _spf_fails(uncovered)
    if ending not in ("~", "-"):
        return Finding(
            "SPF",
            Verdict.warning,
            "The SPF record ends in ?all or has no all: it tells receivers nothing about other "
            "senders. End it in ~all (or -all).",
        )
    return Finding("SPF", Verdict.passed, f"SPF authorises your sending servers: {spf.record}")


def _spf_fails(text: str) -> Finding:
    return Finding("SPF", Verdict.failed, text)


def _spf_ending(record: str) -> str | None:
    """The qualifier of the record's `all` (or of the redirect's, which we cannot see: None)."""
    for term in spf_terms(record):
        if term.name == "all":
            return term.qualifier
    return None


def _uncovered_by_spf(facts: DomainFacts) -> str | None:
    """What the SPF record leaves out of the servers this account sends through, or None."""
    required = PROVIDER_SPF.get(facts.provider)
    if required is not None and required not in facts.spf.included:
        return (
            f"The SPF record does not include {required}, so receivers cannot tell that "
            f"{facts.provider.value.title()}'s servers may send as {facts.domain}. Add "
            f"include:{required} before the all."
        )
    if facts.server is None or not facts.server.addresses:
        return None
    networks = [ipaddress.ip_network(network, strict=False) for network in facts.spf.networks]
    outside = [
        address
        for address in facts.server.addresses
        if not any(ipaddress.ip_address(address) in network for network in networks)
    ]
    if not outside:
        return None
    return (
        f"The SPF record does not cover {facts.server.host} ({', '.join(outside)}). Add "
        f"ip4:{outside[0]} (or your provider's include) before the all."
    )


def _dkim(facts: DomainFacts) -> Finding:
    domain = facts.domain
    keys = {
        selector: key
        for selector, records in facts.dkim.items()
        for key in map(dkim_key, records)
        if key is not None
    }
    published = [selector for selector, key in keys.items() if key]
    if published:
        where = ", ".join(f"{selector}._domainkey.{domain}" for selector in published)
        return Finding("DKIM", Verdict.passed, f"A DKIM key is published at {where}.")
    if keys:
        selector = next(iter(keys))
        return Finding(
            "DKIM",
            Verdict.failed,
            f"The DKIM key at {selector}._domainkey.{domain} is revoked (empty p=). Publish the "
            "current key your provider gives you.",
        )
    tried = ", ".join(facts.dkim) or "none"
    return Finding(
        "DKIM",
        Verdict.failed,
        f"No DKIM key found (selectors tried: {tried}). " + _dkim_advice(facts),
    )


def _dkim_advice(facts: DomainFacts) -> str:
    if facts.provider is Provider.google:
        return (
            "Turn on DKIM in the Google Admin console (Apps → Google Workspace → Gmail → "
            "Authenticate email), publish the TXT record it shows, then start authentication."
        )
    if facts.provider is Provider.microsoft:
        return (
            "Turn on DKIM in the Microsoft Defender portal (Email authentication settings → "
            "DKIM) and publish the two CNAME records it shows (selector1 and selector2)."
        )
    return (
        "Ask your email provider which selector it signs with and run the check again with "
        "that selector."
    )


def _dmarc(facts: DomainFacts) -> list[Finding]:
    records = [record for record in facts.dmarc if is_dmarc(record)]
    if not records:
        return [
            Finding(
                "DMARC",
                Verdict.failed,
                f"{facts.domain} has no DMARC record; Gmail and Yahoo require one of bulk "
                f"senders. Add a TXT record at _dmarc.{facts.domain}: "
                f'"v=DMARC1; p=none; rua=mailto:dmarc@{facts.domain}".',
            )
        ]
    if len(records) > 1:
        return [
            Finding(
                "DMARC",
                Verdict.failed,
                f"_dmarc.{facts.dmarc_at} has {len(records)} DMARC records; receivers then "
                "ignore them all. Keep one.",
            )
        ]
    policy = tags(records[0]).get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return [
            Finding(
                "DMARC",
                Verdict.failed,
                f"The DMARC record at _dmarc.{facts.dmarc_at} has no valid policy (p=none, "
                "quarantine or reject). Add p=none to start.",
            )
        ]
    return [_dmarc_policy(facts, policy), _alignment(facts)]


def _dmarc_policy(facts: DomainFacts, policy: str) -> Finding:
    where = f"_dmarc.{facts.dmarc_at}"
    if policy == "none":
        return Finding(
            "DMARC",
            Verdict.passed,
            f"DMARC at {where} with policy none: enough for Gmail's and Yahoo's rules; it only "
            "monitors. Move to quarantine once its reports show only your own email.",
        )
    return Finding("DMARC", Verdict.passed, f"DMARC at {where} with policy {policy}.")


def _alignment(facts: DomainFacts) -> Finding:
    """DMARC passes when SPF or DKIM passes for the From domain itself.

    We send with the From address as the envelope sender, so a passing SPF is aligned; a key
    published under the From domain signs with d= that domain, so a found key is aligned."""
    spf_aligned = _spf(facts).verdict is not Verdict.failed
    dkim_aligned = _dkim(facts).verdict is Verdict.passed
    both = {(True, True): "SPF and DKIM", (True, False): "SPF only", (False, True): "DKIM only"}
    if not (spf_aligned or dkim_aligned):
        return Finding(
            "Alignment",
            Verdict.failed,
            f"Neither SPF nor DKIM passes for {facts.domain}, so DMARC fails for every email "
            "you send. Fix SPF or DKIM above.",
        )
    verdict = Verdict.passed if spf_aligned and dkim_aligned else Verdict.warning
    text = f"DMARC passes for {facts.domain} through {both[spf_aligned, dkim_aligned]}"
    if verdict is Verdict.warning:
        text += "; set up both, so that a forwarded email (which breaks SPF) still passes"
    return Finding("Alignment", verdict, text + ".")


def _reverse_dns(server: ServerFacts) -> Finding:
    if not server.addresses:
        return Finding(
            "Reverse DNS",
            Verdict.failed,
            f"{server.host} has no address in DNS. Check the SMTP host name.",
        )
    missing = [address for address in server.addresses if address not in server.reverse]
    if not missing:
        names = ", ".join(name for names in server.reverse.values() for name in names)
        return Finding("Reverse DNS", Verdict.passed, f"{server.host} has reverse DNS ({names}).")
    address = missing[0]
    if address in server.reverse_unconfirmed:
        names = ", ".join(server.reverse_unconfirmed[address])
        problem = f"the reverse name of {address} ({names}) does not point back to it"
    else:
        problem = f"{address} has no reverse DNS (PTR) name"
    return Finding(
        "Reverse DNS",
        Verdict.warning,
        f"For {server.host}, {problem}; many receivers distrust such a server. Ask whoever "
        f"runs it to set the PTR record of {address} to {server.host}.",
    )


def _encryption(server: ServerFacts) -> Finding:
    if server.security == "tls":
        return Finding("Encryption", Verdict.passed, f"{server.host} is reached over TLS.")
    if server.offers_starttls is None:
        return Finding(
            "Encryption",
            Verdict.warning,
            f"{server.host} could not be asked whether it offers STARTTLS; test the connection "
            "on the senders page.",
        )
    if not server.offers_starttls:
        return Finding(
            "Encryption",
            Verdict.failed,
            f"{server.host} offers no STARTTLS, so your emails travel unencrypted and Gmail "
            "marks them so. Use your provider's TLS port (usually 465 or 587).",
        )
    if server.security == "none":
        return Finding(
            "Encryption",
            Verdict.warning,
            f"{server.host} offers STARTTLS but this account sends without encryption. Set "
            "its security to STARTTLS.",
        )
    return Finding("Encryption", Verdict.passed, f"{server.host} offers STARTTLS.")
