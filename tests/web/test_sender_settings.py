"""A sender account's name, daily cap, signature and connections at once, changed after it was
added: from the senders page (kept as typed when refused, post/redirect/get), over the API
(PATCH); `outreach senders edit` is in tests/integration/test_senders_cli.py."""

from __future__ import annotations

import html

import pytest

from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from tests.web_session import followed, post

SIGNATURE = "Grace Hopper\nAcme Ltd\n+44 20 7946 0000"


@pytest.fixture
def account(session, container, clock) -> SenderAccount:
    added = senders.add(
        session,
        kind=senders.SenderKind.outbox,
        email="me@ourco.example",
        display_name="Me",
        secret_key=container.settings.secret_key_value(),
        daily_cap=50,
        now=clock.now(),
    )
    session.commit()
    return added


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def edit(signed_in, account, **fields):
    form = {
        "display_name": "Grace at Acme",
        "daily_cap": "40",
        "max_connections": "2",
        "signature": SIGNATURE,
        **fields,
    }
    return post(signed_in, f"/senders/{account.id}/edit", "/senders", **form)


def test_the_senders_page_changes_an_accounts_name_cap_signature_and_connections(
    signed_in, session, account
):
    shown = followed(signed_in, edit(signed_in, account, signature=SIGNATURE.replace("\n", "\r\n")))

    assert "Saved the settings of me@ourco.example." in shown.text
    assert "sends as Grace at Acme, cap of 40 a day, signs answers" in shown.text
    session.refresh(account)
    assert (account.display_name, account.daily_cap, account.signature) == (
        "Grace at Acme",
        40,
        SIGNATURE,
    )
    assert senders.connections_of(account) == 2
    assert f">{html.escape(SIGNATURE)}</textarea>" in shown.text
    cleared = followed(signed_in, edit(signed_in, account, daily_cap="", signature=" "))
    assert "no daily cap, no signature" in cleared.text


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"daily_cap": "0"}, "A daily cap is between 1 and 1,000,000 (leave it empty for none)."),
        ({"daily_cap": "lots"}, "The daily cap is a whole number, not &#39;lots&#39;."),
        ({"max_connections": "99"}, "Connections at once are between 1 and 20."),
        ({"signature": "x" * 2001}, "A signature is at most 2,000 characters."),
    ],
)
def test_a_refused_change_is_said_and_the_form_keeps_what_was_typed(
    signed_in, session, account, fields, says
):
    refused = edit(signed_in, account, **fields)

    assert refused.status_code == 422
    assert says in refused.text
    assert 'value="Grace at Acme"' in refused.text  # as typed, in its open form
    assert f">{html.escape(SIGNATURE)}</textarea>" in refused.text or "signature" in fields
    session.refresh(account)
    assert (account.display_name, account.daily_cap, account.signature) == ("Me", 50, None)


def test_the_api_changes_only_the_fields_given(api, session, account):
    changed = api.patch(
        f"/api/v1/senders/{account.id}", json={"signature": SIGNATURE, "daily_cap": None}
    )

    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["display_name"], body["daily_cap"], body["signature"]) == ("Me", None, SIGNATURE)
    assert body["max_connections"] == senders.DEFAULT_CONNECTIONS
    named = api.patch(f"/api/v1/senders/{account.id}", json={"display_name": "Grace"}).json()
    assert (named["display_name"], named["signature"]) == ("Grace", SIGNATURE)


@pytest.mark.parametrize(
    "body",
    [{"daily_cap": 0}, {"max_connections": None}, {"email": "other@ourco.example"}],
)
def test_the_api_refuses_a_change_it_cannot_make_with_422(api, account, body):
    refused = api.patch(f"/api/v1/senders/{account.id}", json=body)
    assert refused.status_code == 422
