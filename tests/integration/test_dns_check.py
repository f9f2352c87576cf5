"""A sender's domain checked in DNS, against a DNS server on loopback serving zones for a good
domain and for each kind of bad one: what `outreach senders check` and the senders page say."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from outreach.cli.main import app as cli
from outreach.config import load_settings
from outreach.container import Container
from outreach.errors import ValidationFailed
from outreach.senders import dns_check
from outreach.senders import service as senders
from outreach.senders.dns_rules import Verdict
from outreach.senders.models import SenderAccount
from tests.smtp_server import tls_files

DKIM_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 300
"""Longer than one 255-byte TXT string, as real keys are."""


def google_zone() -> dict[str, dict[str, list[str]]]:
    """ourco.example on Google Workspace, set up as Google says."""
    return {
        "ourco.example": {
            "MX": ["1 smtp.google.com."],
            "TXT": ["v=spf1 include:_spf.google.com ~all", "google-site-verification=abc"],
        },
        "_spf.google.com": {"TXT": ["v=spf1 include:_netblocks.google.com ~all"]},
        "_netblocks.google.com": {
            "TXT": ["v=spf1 ip4:35.190.247.0/24 ip6:2001:4860:4000::/36 ~all"]
        },
        "google._domainkey.ourco.example": {"TXT": [f"v=DKIM1; k=rsa; p={DKIM_KEY}"]},
        "_dmarc.ourco.example": {"TXT": ["v=DMARC1; p=quarantine; rua=mailto:d@ourco.example"]},
    }


def smtp_account(session, clock, container, host: str, port: int = 587) -> SenderAccount:
    """me@ourco.example, sending over SMTP through `host` with STARTTLS."""
    return senders.add(
        session,
        kind=senders.SenderKind.smtp,
        email="me@ourco.example",
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        smtp=senders.SmtpSettings(host, port, "starttls", "me@ourco.example"),
        password="app-password",
        now=clock.now(),
    )


def gmail_account(session, clock, container) -> SenderAccount:
    return smtp_account(session, clock, container, "smtp.gmail.com")


@pytest.fixture
def checking(container: Container, dns_server) -> Container:
    """The container, asking the test's DNS server."""
    settings = container.settings.model_copy(update={"dns_server": f"127.0.0.1:{dns_server.port}"})
    container.settings = settings
    return container


def findings(check: dns_check.DomainCheck) -> dict[str, Verdict]:
    return {finding.topic: finding.verdict for finding in check.findings}


def said(check: dns_check.DomainCheck, topic: str) -> str:
    return next(finding.text for finding in check.findings if finding.topic == topic)


def test_a_google_domain_set_up_as_google_says_passes(session, clock, checking, dns_server):
    dns_server.zone.update(google_zone())
    account = gmail_account(session, clock, checking)
    check = checking.check_sender_domain(account.id)
    assert check.passed
    assert set(findings(check).values()) == {Verdict.passed}
    assert "google._domainkey.ourco.example" in said(check, "DKIM")


@pytest.mark.parametrize(
    ("change", "topic", "words"),
    [
        (lambda zone: zone["ourco.example"].pop("MX"), "MX", "has no MX record"),
        (lambda zone: zone["ourco.example"].pop("TXT"), "SPF", "has no SPF record"),
        (
            lambda zone: zone["ourco.example"].update(
                TXT=["v=spf1 include:spf.mailgun.example ~all"]
            ),
            "SPF",
            "publishes no SPF record",
        ),
        (
            lambda zone: zone.pop("google._domainkey.ourco.example"),
            "DKIM",
            "No DKIM key found (selectors tried: google)",
        ),
        (lambda zone: zone.pop("_dmarc.ourco.example"), "DMARC", "has no DMARC record"),
    ],
    ids=["no-mx", "no-spf", "broken-include", "no-dkim", "no-dmarc"],
)
def test_each_kind_of_bad_domain_is_named_with_what_to_change(
    session, clock, checking, dns_server, change, topic, words
):
    zone = google_zone()
    change(zone)
    dns_server.zone.update(zone)
    check = checking.check_sender_domain(gmail_account(session, clock, checking).id)
    assert not check.passed
    assert findings(check)[topic] is Verdict.failed
    assert words in said(check, topic)


def test_spf_lookups_are_counted_through_nested_includes(session, clock, checking, dns_server):
    zone = google_zone()
    includes = [f"include:i{n}.example" for n in range(6)]
    zone["ourco.example"]["TXT"] = [
        f"v=spf1 include:_spf.google.com {' '.join(includes)} mx a ~all"
    ]
    for n in range(6):
        zone[f"i{n}.example"] = {"TXT": [f"v=spf1 include:j{n}.example -all"]}
        zone[f"j{n}.example"] = {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]}
    dns_server.zone.update(zone)
    check = checking.check_sender_domain(gmail_account(session, clock, checking).id)
    assert findings(check)["SPF"] is Verdict.failed
    assert "receivers stop at 10" in said(check, "SPF")


def test_an_spf_include_loop_ends(session, clock, checking, dns_server):
    zone = google_zone()
    zone["ourco.example"]["TXT"] = ["v=spf1 include:_spf.google.com include:loop.example ~all"]
    zone["loop.example"] = {"TXT": ["v=spf1 include:ourco.example ~all"]}
    dns_server.zone.update(zone)
    check = checking.check_sender_domain(gmail_account(session, clock, checking).id)
    assert findings(check)["SPF"] is Verdict.passed


def test_microsoft_dkim_is_found_through_its_cnames(session, clock, checking, dns_server):
    zone = google_zone()
    zone.pop("google._domainkey.ourco.example")
    zone["ourco.example"]["TXT"] = ["v=spf1 include:spf.protection.outlook.com -all"]
    zone["spf.protection.outlook.com"] = {"TXT": ["v=spf1 ip4:40.92.0.0/15 -all"]}
    zone["selector1._domainkey.ourco.example"] = {
        "CNAME": ["selector1-ourco-example._domainkey.ourco.onmicrosoft.com."]
    }
    zone["selector1-ourco-example._domainkey.ourco.onmicrosoft.com"] = {
        "TXT": [f"v=DKIM1; k=rsa; p={DKIM_KEY}"]
    }
    dns_server.zone.update(zone)
    account = smtp_account(session, clock, checking, "smtp.office365.com")
    check = checking.check_sender_domain(account.id)
    assert check.passed, check.findings
    assert "selector1._domainkey.ourco.example" in said(check, "DKIM")


def test_a_server_of_ones_own_is_checked_for_reverse_dns_and_starttls(
    session, clock, checking, dns_server, make_smtp_server
):
    server = make_smtp_server(starttls_context=tls_files().server_context())
    zone = google_zone()
    zone["ourco.example"]["TXT"] = ["v=spf1 a:mail.ourco.example -all"]
    zone["mail.ourco.example"] = {"A": ["127.0.0.1"]}
    zone["1.0.0.127.in-addr.arpa"] = {"PTR": ["mail.ourco.example."]}
    zone["default._domainkey.ourco.example"] = zone.pop("google._domainkey.ourco.example")
    dns_server.zone.update(zone)
    account = smtp_account(session, clock, checking, "mail.ourco.example", server.port)
    check = checking.check_sender_domain(account.id)
    assert findings(check) == {
        "MX": Verdict.passed,
        "SPF": Verdict.passed,
        "DKIM": Verdict.passed,
        "DMARC": Verdict.passed,
        "Alignment": Verdict.passed,
        "Reverse DNS": Verdict.passed,
        "Encryption": Verdict.passed,
    }
    assert server.messages == []


def test_a_server_of_ones_own_without_starttls_or_reverse_dns_is_told_so(
    session, clock, checking, dns_server, smtp_server
):
    zone = google_zone()
    zone["ourco.example"]["TXT"] = ["v=spf1 ip4:127.0.0.0/8 -all"]
    zone["mail.ourco.example"] = {"A": ["127.0.0.1"]}
    dns_server.zone.update(zone)
    account = smtp_account(session, clock, checking, "mail.ourco.example", smtp_server.port)
    check = checking.check_sender_domain(account.id, selector="google")
    assert findings(check)["Reverse DNS"] is Verdict.warning
    assert "127.0.0.1 has no reverse DNS (PTR) name" in said(check, "Reverse DNS")
    assert findings(check)["Encryption"] is Verdict.failed


def test_a_check_is_kept_a_day_for_the_same_selector(session, clock, checking, dns_server):
    dns_server.zone.update(google_zone())
    account = gmail_account(session, clock, checking)
    first = checking.check_sender_domain(account.id)
    asked = len(dns_server.questions)
    assert checking.check_sender_domain(account.id) == first
    assert len(dns_server.questions) == asked
    checking.check_sender_domain(account.id, selector="s1")
    assert ("s1._domainkey.ourco.example", "TXT") in dns_server.questions
    clock.advance(timedelta(days=1, seconds=1))
    checking.check_sender_domain(account.id, selector="s1")
    assert dns_server.questions.count(("s1._domainkey.ourco.example", "TXT")) == 2


def test_senders_check_prints_each_finding_and_fails_when_the_domain_does(
    backend, databases, tmp_path, monkeypatch, dns_server
):
    zone = google_zone()
    zone.pop("_dmarc.ourco.example")
    dns_server.zone.update(zone)
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OUTREACH_DNS_SERVER", f"127.0.0.1:{dns_server.port}")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["senders", "add", "smtp", "me@ourco.example", "--host", "smtp.gmail.com"],
        input="app-password\n",
    )
    assert added.exit_code == 0, added.output

    checked = runner.invoke(cli, ["senders", "check", "me@ourco.example"])

    assert checked.exit_code == 1, checked.output
    assert "DMARC (fail): ourco.example has no DMARC record" in checked.output
    assert "MX (pass): Replies reach ourco.example through smtp.google.com." in checked.output
    assert "me@ourco.example's domain fails the check" in checked.output


def test_a_dns_server_given_wrongly_is_refused_in_a_line(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OUTREACH_DNS_SERVER", "127.0.0.1:port")
    with pytest.raises(ValidationFailed, match="Invalid settings: OUTREACH_DNS_SERVER"):
        load_settings()


def test_a_selector_dns_cannot_carry_is_refused_saying_what_one_is(session, clock, checking):
    account = gmail_account(session, clock, checking)
    with pytest.raises(ValidationFailed, match="'a b' is not a DKIM selector"):
        checking.check_sender_domain(account.id, "a b")
