"""A sender's domain checked from the senders page, and a campaign's launch saying (or
refusing) when one of its senders' domains fails, against a DNS server on loopback."""

from __future__ import annotations

import html

from outreach.config import LaunchDnsCheck
from outreach.senders import service as senders
from tests.campaign_setup import MONDAY_9, three_step_campaign
from tests.integration.test_dns_check import gmail_account, google_zone
from tests.web_session import followed, post


def asking(container, dns_server, launch: str = "warn") -> None:
    container.settings = container.settings.model_copy(
        update={
            "dns_server": f"127.0.0.1:{dns_server.port}",
            "launch_dns_check": LaunchDnsCheck(launch),
        }
    )


def test_check_dns_shows_each_finding_and_the_row_keeps_the_verdict(
    signed_in, session, clock, container, dns_server
):
    zone = google_zone()
    zone.pop("_dmarc.ourco.example")
    dns_server.zone.update(zone)
    asking(container, dns_server)
    account = gmail_account(session, clock, container)

    page = html.unescape(
        followed(signed_in, post(signed_in, f"/senders/{account.id}/dns-check", "/senders")).text
    )

    assert "DNS check of me@ourco.example" in page
    assert "MX:</strong> passes. Replies reach ourco.example through smtp.google.com." in page
    assert "DMARC:</strong> fails. ourco.example has no DMARC record" in page
    again = html.unescape(signed_in.get("/senders").text)
    assert "DNS check of" not in again
    assert "domain fails the DNS check: DMARC, Alignment" not in again
    assert "domain fails the DNS check: DMARC" in again


def campaign_from_gmail(session, clock, container, tmp_path):
    clock.advance(MONDAY_9 - clock.now())
    account = gmail_account(session, clock, container)
    return three_step_campaign(session, clock, tmp_path, [str(account.id)])


def test_a_launch_warns_when_a_senders_domain_fails(
    signed_in, session, clock, container, dns_server, tmp_path
):
    zone = google_zone()
    zone["ourco.example"]["TXT"] = ["v=spf1 include:mailgun.example ~all"]
    zone["mailgun.example"] = {"TXT": ["v=spf1 ip4:192.0.2.0/24 ~all"]}
    dns_server.zone.update(zone)
    asking(container, dns_server, "warn")
    found = campaign_from_gmail(session, clock, container, tmp_path)
    page = f"/campaigns/{found.id}"

    launched = html.unescape(followed(signed_in, post(signed_in, page + "/launch", page)).text)

    assert "Launched: 3 contacts enrolled." in launched
    assert "me@ourco.example's domain fails the DNS check (SPF): see Check DNS" in launched


def test_a_launch_is_refused_while_a_senders_domain_fails_when_set_to_refuse(
    signed_in, session, clock, container, dns_server, tmp_path
):
    zone = google_zone()
    zone.pop("google._domainkey.ourco.example")
    dns_server.zone.update(zone)
    asking(container, dns_server, "refuse")
    found = campaign_from_gmail(session, clock, container, tmp_path)
    page = f"/campaigns/{found.id}"

    refused = post(signed_in, page + "/launch", page)

    assert refused.status_code == 422
    assert "me@ourco.example&#39;s domain fails the DNS check (DKIM)" in refused.text
    assert ">draft<" in refused.text
    dns_server.zone.update(google_zone())
    post(
        signed_in,
        f"/senders/{senders.by_email(session, 'me@ourco.example').id}/dns-check",
        "/senders",
    )
    relaunched = html.unescape(followed(signed_in, post(signed_in, page + "/launch", page)).text)
    assert "Launched: 3 contacts enrolled." in relaunched


def test_the_api_launch_lists_the_dns_warnings(
    client, api_token, session, clock, container, dns_server, tmp_path
):
    zone = google_zone()
    zone["ourco.example"].pop("MX")
    dns_server.zone.update(zone)
    asking(container, dns_server, "warn")
    found = campaign_from_gmail(session, clock, container, tmp_path)
    client.headers["Authorization"] = f"Bearer {api_token}"

    launched = client.post(f"/api/v1/campaigns/{found.id}/launch")

    assert launched.status_code == 200, launched.text
    assert launched.json()["warnings"][-1] == (
        "me@ourco.example's domain fails the DNS check (MX): see Check DNS on the senders page."
    )


def test_with_the_launch_check_off_dns_is_not_asked(
    client, api_token, session, clock, container, dns_server, tmp_path
):
    asking(container, dns_server, "off")
    found = campaign_from_gmail(session, clock, container, tmp_path)
    client.headers["Authorization"] = f"Bearer {api_token}"

    warnings = client.post(f"/api/v1/campaigns/{found.id}/launch").json()["warnings"]
    assert not [warning for warning in warnings if "DNS" in warning]
    assert dns_server.questions == []


def test_the_api_checks_a_senders_domain_with_a_chosen_selector(
    client, api_token, session, clock, container, dns_server
):
    zone = google_zone()
    zone["s2024._domainkey.ourco.example"] = zone.pop("google._domainkey.ourco.example")
    dns_server.zone.update(zone)
    asking(container, dns_server)
    account = gmail_account(session, clock, container)
    client.headers["Authorization"] = f"Bearer {api_token}"

    usual = client.post(f"/api/v1/senders/{account.id}/dns-check").json()
    chosen = client.post(f"/api/v1/senders/{account.id}/dns-check?selector=s2024").json()

    assert usual["passed"] is False
    assert [f["topic"] for f in usual["findings"] if f["verdict"] == "fail"] == ["DKIM"]
    assert chosen["passed"] is True
    assert chosen["selector"] == "s2024"
    bad = client.post(f"/api/v1/senders/{account.id}/dns-check?selector=a%20b")
    assert bad.status_code == 422


def test_the_api_says_503_when_dns_does_not_answer(
    client, api_token, session, clock, container, dns_server
):
    dns_server.stop()  # nothing answers on its port now
    container.settings = container.settings.model_copy(
        update={"dns_server": f"127.0.0.1:{dns_server.port}"}
    )
    account = gmail_account(session, clock, container)
    client.headers["Authorization"] = f"Bearer {api_token}"

    answer = client.post(f"/api/v1/senders/{account.id}/dns-check")

    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "upstream_unavailable"
    assert "DNS did not answer" in answer.json()["error"]["message"]
