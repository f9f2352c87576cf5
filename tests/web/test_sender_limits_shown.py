"""What the senders page and the API say of an account's limits beyond its daily cap: a tenant
held after Exchange refused its limit (5.7.233) shows on every account of the tenant, and a
person changes an account's tenant, licences, ramp and gap."""

from __future__ import annotations

import html

import pytest

from outreach.senders import service as senders
from tests.web_session import followed, post

RELAY = senders.SmtpSettings("127.0.0.1", 2525, "none")
"""A relay: a local outbox sends nothing out, so the page offers it no limits."""
REFUSAL = "127.0.0.1:2525 refused the recipient: 550 5.7.233 tenant limit exceeded"


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def tenant_of_two(session, container, clock):
    accounts = [
        senders.add(
            session,
            kind=senders.SenderKind.smtp,
            smtp=RELAY,
            email=email,
            display_name=None,
            secret_key=container.settings.secret_key_value(),
            limits=senders.Limits(tenant="ourco.example", tenant_licences=3),
            now=clock.now(),
        )
        for email in ("a@ourco.example", "b@ourco.example")
    ]
    senders.hold_tenant(session, accounts[0].id, REFUSAL, clock.now())
    session.commit()
    return accounts


def row_of(page: str, email: str) -> str:
    return html.unescape(page.split(f'data-sender="{email}"')[1].split('class="subrow"')[1])


def test_a_held_tenant_shows_on_each_of_its_accounts(signed_in, session, container, clock):
    tenant_of_two(session, container, clock)

    page = signed_in.get("/senders").text

    for email in ("a@ourco.example", "b@ourco.example"):
        assert 'data-testid="held">held</span>' in page.split(f'data-sender="{email}"')[1]
        assert (
            "Limits: held until Tue 03 Mar 10:00 UTC: its Microsoft 365 tenant ourco.example has "
            "sent to as many external recipients as Exchange Online allows in 24 hours; its "
            "emails wait, nobody needs to act; tenant ourco.example (3 licences): 0 of 10,578 "
            "external recipients in 24 hours"
        ) in row_of(page, email)


def test_the_api_lists_the_hold_and_changes_the_tenants_licences_for_all_its_accounts(
    api, session, container, clock
):
    a, _ = tenant_of_two(session, container, clock)

    changed = api.put(
        f"/api/v1/senders/{a.id}/limits",
        json={"tenant_name": "ourco.example", "tenant_licences": 100, "ramp": None,
              "min_gap_seconds": 90},
    )  # fmt: skip

    assert changed.status_code == 200, changed.text
    listed = {s["email"]: s for s in api.get("/api/v1/senders").json()["items"]}
    for email in ("a@ourco.example", "b@ourco.example"):
        assert listed[email]["tenant_licences"] == 100
        assert listed[email]["held_until"] == "2026-03-03T10:00:00Z"
        assert "5.7.233" in listed[email]["hold_reason"]
    assert listed["a@ourco.example"]["min_gap_seconds"] == 90
    assert listed["a@ourco.example"]["ramp"] is None
    assert "90 to 135 s between sends, at random" in listed["a@ourco.example"]["limits"]
    refused = api.put(
        f"/api/v1/senders/{a.id}/limits", json={"ramp": {"start": 40, "step": 2, "target": 30}}
    )
    assert refused.status_code == 422
    assert "its target is at least where it starts" in refused.json()["error"]["message"]


def test_the_page_changes_an_accounts_ramp_and_tenant(signed_in, session, container, clock):
    account = senders.add(
        session,
        kind=senders.SenderKind.smtp,
        smtp=RELAY,
        email="me@ourco.example",
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        now=clock.now(),
    )
    session.commit()
    assert "Limits: no ramp, no tenant, no gap between sends" in signed_in.get("/senders").text

    saved = post(
        signed_in, f"/senders/{account.id}/limits", "/senders", ramp="true", ramp_start="5",
        ramp_step="5", ramp_target="25", min_gap_seconds="0", tenant="Contoso.example",
        tenant_licences="1",
    )  # fmt: skip

    page = html.unescape(followed(signed_in, saved).text)
    assert "me@ourco.example's limits are saved." in page
    assert (
        "Limits: ramping up: 5 a day today (sending day 1), 25 from Fri 06 Mar if it sends every "
        "day; tenant contoso.example (1 licence): 0 of 10,000 external recipients in 24 hours"
    ) in page


def test_a_reader_in_berlin_reads_the_end_of_the_hold_in_berlin_time(
    signed_in, session, container, clock, admin
):
    tenant_of_two(session, container, clock)
    admin.time_zone = "Europe/Berlin"
    session.commit()

    row = row_of(signed_in.get("/senders").text, "a@ourco.example")

    # Held until 10:00 UTC, which is 11:00 in Berlin in March.
    assert "Limits: held until Tue 03 Mar 11:00 Europe/Berlin: its Microsoft 365 tenant" in row
    assert "UTC" not in row
