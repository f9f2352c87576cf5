"""The rules that judge a sender's domain from its DNS records: what a founder is told."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.senders.dns_rules import (
    DomainFacts,
    ServerFacts,
    SpfWalk,
    Verdict,
    judge,
    organisational_domain,
    selectors_to_try,
    spf_terms,
    tags,
)
from outreach.senders.mail_providers import Provider, provider_of

KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx"


def google_domain(**changes: object) -> DomainFacts:
    """ourco.example on Google Workspace, set up as Google says."""
    facts = DomainFacts(
        email="me@ourco.example",
        provider=Provider.google,
        mail_exchangers=((1, "smtp.google.com"),),
        spf=SpfWalk(
            records=("v=spf1 include:_spf.google.com ~all",),
            lookups=4,
            included=("_spf.google.com", "_netblocks.google.com"),
            networks=("35.190.247.0/24",),
        ),
        dkim={"google": (f"v=DKIM1; k=rsa; p={KEY}",)},
        dmarc=("v=DMARC1; p=none; rua=mailto:dmarc@ourco.example",),
        dmarc_at="ourco.example",
    )
    return dataclasses.replace(facts, **changes)


def verdicts(facts: DomainFacts) -> dict[str, Verdict]:
    return {finding.topic: finding.verdict for finding in judge(facts)}


def text_of(facts: DomainFacts, topic: str) -> str:
    return next(finding.text for finding in judge(facts) if finding.topic == topic)


def test_a_domain_set_up_as_google_says_passes_everything():
    assert set(verdicts(google_domain()).values()) == {Verdict.passed}


def test_no_mx_means_replies_have_nowhere_to_go():
    facts = google_domain(mail_exchangers=())
    assert verdicts(facts)["MX"] is Verdict.failed
    assert "replies and bounces to me@ourco.example have nowhere to go" in text_of(facts, "MX")


def test_a_null_mx_says_the_domain_takes_no_email():
    assert "takes no email" in text_of(google_domain(mail_exchangers=((0, ""),)), "MX")


def test_no_spf_record_is_told_the_record_to_add():
    facts = google_domain(spf=SpfWalk())
    assert verdicts(facts)["SPF"] is Verdict.failed
    assert "v=spf1 include:_spf.google.com ~all" in text_of(facts, "SPF")


def test_two_spf_records_are_an_error_to_merge():
    spf = SpfWalk(records=("v=spf1 -all", "v=spf1 include:_spf.google.com ~all"))
    assert "Merge them into one" in text_of(google_domain(spf=spf), "SPF")


def test_an_spf_record_past_ten_lookups_fails():
    spf = dataclasses.replace(google_domain().spf, lookups=11)
    assert "needs 11 DNS lookups; receivers stop at 10" in text_of(google_domain(spf=spf), "SPF")


def test_spf_that_leaves_out_the_provider_fails_and_names_the_include():
    spf = SpfWalk(
        records=("v=spf1 include:mailgun.org ~all",), lookups=1, included=("mailgun.org",)
    )
    facts = google_domain(spf=spf)
    assert verdicts(facts)["SPF"] is Verdict.failed
    assert "Add include:_spf.google.com" in text_of(facts, "SPF")


def test_an_include_without_spf_fails_the_whole_record():
    spf = dataclasses.replace(google_domain().spf, missing=("typo.example",))
    assert "typo.example, which publishes no SPF record" in text_of(google_domain(spf=spf), "SPF")


@pytest.mark.parametrize(
    ("ending", "verdict"),
    [
        ("-all", Verdict.passed),
        ("~all", Verdict.passed),
        ("?all", Verdict.warning),
        ("", Verdict.warning),
        ("+all", Verdict.failed),
        ("all", Verdict.failed),
    ],
)
def test_how_the_spf_record_ends_decides_its_verdict(ending, verdict):
    spf = dataclasses.replace(
        google_domain().spf, records=(f"v=spf1 include:_spf.google.com {ending}".strip(),)
    )
    assert verdicts(google_domain(spf=spf))["SPF"] is verdict


def test_a_custom_server_outside_the_spf_ranges_is_named():
    server = ServerFacts(
        "mail.ourco.example",
        "starttls",
        ("203.0.113.9",),
        {"203.0.113.9": ("mail.ourco.example",)},
        offers_starttls=True,
    )
    spf = SpfWalk(records=("v=spf1 ip4:198.51.100.0/24 -all",), networks=("198.51.100.0/24",))
    facts = google_domain(provider=Provider.smtp, spf=spf, server=server)
    assert "does not cover mail.ourco.example (203.0.113.9)" in text_of(facts, "SPF")
    covered = dataclasses.replace(spf, networks=("203.0.113.0/24",))
    assert verdicts(dataclasses.replace(facts, spf=covered))["SPF"] is Verdict.passed


def test_no_dkim_key_tells_a_google_user_where_to_turn_it_on():
    facts = google_domain(dkim={"google": ()})
    assert verdicts(facts)["DKIM"] is Verdict.failed
    assert "Google Admin console" in text_of(facts, "DKIM")
    assert "selectors tried: google" in text_of(facts, "DKIM")


def test_a_revoked_dkim_key_fails():
    facts = google_domain(dkim={"google": ("v=DKIM1; p=",)})
    assert "revoked" in text_of(facts, "DKIM")


def test_no_dmarc_is_told_the_record_to_start_with():
    facts = google_domain(dmarc=())
    assert verdicts(facts)["DMARC"] is Verdict.failed
    assert '"v=DMARC1; p=none; rua=mailto:dmarc@ourco.example"' in text_of(facts, "DMARC")


def test_dmarc_none_passes_but_says_it_only_monitors():
    assert "it only monitors" in text_of(google_domain(), "DMARC")
    reject = google_domain(dmarc=("v=DMARC1; p=reject",))
    assert text_of(reject, "DMARC") == "DMARC at _dmarc.ourco.example with policy reject."


def test_a_dmarc_record_without_a_policy_fails():
    assert (
        verdicts(google_domain(dmarc=("v=DMARC1; rua=mailto:x@y.example",)))["DMARC"]
        is Verdict.failed
    )


def test_dmarc_fails_for_every_email_when_neither_spf_nor_dkim_passes():
    facts = google_domain(spf=SpfWalk(), dkim={"google": ()})
    assert verdicts(facts)["Alignment"] is Verdict.failed
    assert "DMARC fails for every email" in text_of(facts, "Alignment")


def test_alignment_through_one_of_the_two_is_a_warning():
    facts = google_domain(dkim={"google": ()})
    assert verdicts(facts)["Alignment"] is Verdict.warning
    assert "through SPF only" in text_of(facts, "Alignment")


def custom_server(**changes: object) -> ServerFacts:
    server = ServerFacts(
        "mail.ourco.example",
        "starttls",
        ("203.0.113.9",),
        {"203.0.113.9": ("mail.ourco.example",)},
        offers_starttls=True,
    )
    return dataclasses.replace(server, **changes)


def test_a_server_without_reverse_dns_is_a_warning_saying_what_to_ask_for():
    facts = google_domain(provider=Provider.smtp, server=custom_server(reverse={}))
    assert verdicts(facts)["Reverse DNS"] is Verdict.warning
    assert "set the PTR record of 203.0.113.9 to mail.ourco.example" in text_of(
        facts, "Reverse DNS"
    )


def test_a_reverse_name_that_does_not_point_back_is_named():
    server = custom_server(reverse={}, reverse_unconfirmed={"203.0.113.9": ("host.isp.example",)})
    facts = google_domain(provider=Provider.smtp, server=server)
    assert "(host.isp.example) does not point back" in text_of(facts, "Reverse DNS")


@pytest.mark.parametrize(
    ("security", "offers", "verdict"),
    [
        ("tls", None, Verdict.passed),
        ("starttls", True, Verdict.passed),
        ("starttls", False, Verdict.failed),
        ("none", True, Verdict.warning),
        ("none", False, Verdict.failed),
        ("starttls", None, Verdict.warning),
    ],
)
def test_encryption_of_a_custom_server(security, offers, verdict):
    server = custom_server(security=security, offers_starttls=offers)
    assert verdicts(google_domain(provider=Provider.smtp, server=server))["Encryption"] is verdict


def test_providers_are_told_apart_by_how_the_account_sends():
    assert provider_of("graph", None) is Provider.microsoft
    assert provider_of("smtp", "smtp.gmail.com") is Provider.google
    assert provider_of("smtp", "smtp.office365.com") is Provider.microsoft
    assert provider_of("smtp", "mail.ourco.example") is Provider.smtp
    assert provider_of("outbox", None) is Provider.outbox


def test_selectors_are_the_given_one_or_the_providers_usual_ones():
    assert selectors_to_try(Provider.microsoft, None) == ("selector1", "selector2")
    assert selectors_to_try(Provider.google, " s2024 ") == ("s2024",)
    assert "k1" in selectors_to_try(Provider.smtp, None)


def test_dmarc_falls_back_to_the_organisational_domain():
    assert organisational_domain("mail.ourco.example") == "ourco.example"


def test_spf_terms_read_qualifiers_mechanisms_and_modifiers():
    terms = spf_terms(
        "v=spf1 ip6:2001:db8::/32 -a/24 mx:mail.example include:x.example redirect=_spf.example ~all"
    )
    assert [(t.qualifier, t.name, t.value) for t in terms] == [
        ("+", "ip6", "2001:db8::/32"),
        ("-", "a", ""),
        ("+", "mx", "mail.example"),
        ("+", "include", "x.example"),
        ("+", "redirect", "_spf.example"),
        ("~", "all", ""),
    ]


def test_tags_read_dmarc_records_loosely():
    assert tags("v=DMARC1;p=quarantine ; ADKIM = s;") == {
        "v": "DMARC1",
        "p": "quarantine",
        "adkim": "s",
    }


@given(st.text(max_size=200))
def test_any_record_text_is_judged_without_an_error(text):
    facts = google_domain(
        spf=SpfWalk(records=("v=spf1 " + text,)), dkim={"google": (text,)}, dmarc=(text,)
    )
    assert len(judge(facts)) >= 4
