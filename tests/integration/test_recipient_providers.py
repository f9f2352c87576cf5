"""Recipient providers: the worker resolves each new recipient domain's MX records once, on
the test's DNS server, and what the domain's emails counted as unknown moves to its provider."""

from __future__ import annotations

from datetime import date

from outreach.analytics import rollups
from outreach.analytics.figures import Scope, providers
from outreach.worker.jobs import resolve_recipient_domains
from tests.analytics_rows import Campaigns
from tests.databases import PARTITIONED_AT

ADDRESSES = ["ann@gmail.example", "bob@corp.example", "cy@corp.example", "di@own.example"]
ZONE = {
    "gmail.example": {"MX": ["5 gmail-smtp-in.l.google.com.", "10 alt1.aspmx.l.google.com."]},
    "corp.example": {"MX": ["0 corp-example.mail.protection.outlook.com."]},
    "own.example": {"MX": ["10 mx.own.example."]},
}


def figures(session) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    return [(p.provider, p.sent, p.positive) for p in providers(session, Scope(date.min, date.max))]


def test_the_worker_resolves_each_new_domain_once_and_moves_its_counts(
    session, container, dns_server
):
    dns_server.zone.update(ZONE)
    container.settings = container.settings.model_copy(
        update={"dns_server": f"127.0.0.1:{dns_server.port}", "recipient_providers": True}
    )
    world = Campaigns.made(session.connection(), PARTITIONED_AT, ADDRESSES)
    for which in range(4):
        world.send(which, 0, 1)
    world.reply(0, 2, "interested")
    assert figures(session) == [("unknown", 4, 1)]

    report = resolve_recipient_domains(container)
    assert report.summary == "3 resolved, 0 to try again"
    assert figures(session) == [("google", 1, 1), ("microsoft", 2, 0), ("other", 1, 0)]
    assert rollups.differences(session.connection()) == []

    asked = len(dns_server.questions)
    world.send(1, 1, 5)  # a follow-up to a domain already resolved: counted under it at once
    assert resolve_recipient_domains(container).summary == "0 resolved"
    assert len(dns_server.questions) == asked
    assert figures(session) == [("google", 1, 1), ("microsoft", 3, 0), ("other", 1, 0)]


def test_resolving_is_off_unless_turned_on(session, container):
    Campaigns.made(session.connection(), PARTITIONED_AT, ADDRESSES).send(0, 0, 1)
    report = resolve_recipient_domains(container)
    assert report.summary == "off (OUTREACH_RECIPIENT_PROVIDERS)"
