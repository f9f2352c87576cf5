"""One-click unsubscribe needs an https OUTREACH_BASE_URL: the senders page says so when it
is not, and says nothing when it is; a launch names a Microsoft 365 mailbox that cannot carry
it."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from outreach.container import Container
from outreach.db import session_factory
from outreach.senders import service as senders
from outreach.web.app import create_app
from tests.app_settings import isolated_settings
from tests.campaign_setup import MONDAY_9, three_step_campaign
from tests.web_session import followed, post, sign_in

WARNING = "no one-click unsubscribe (RFC 8058)"


@pytest.fixture
def behind_https(tmp_path, engine, connection, clock, admin):
    settings = isolated_settings(
        tmp_path / "https", OUTREACH_BASE_URL="https://outreach.ourco.example"
    )
    container = Container(
        settings=settings, engine=engine, sessions=session_factory(connection), clock=clock
    )
    with TestClient(create_app(container), follow_redirects=False) as client:
        sign_in(client)
        yield client


def test_the_senders_page_warns_when_the_base_url_is_http(signed_in):
    page = signed_in.get("/senders").text
    assert "OUTREACH_BASE_URL is http://" in page
    assert WARNING in page


def test_the_senders_page_says_nothing_when_the_base_url_is_https(behind_https):
    assert WARNING not in behind_https.get("/senders").text


def test_a_launch_names_a_microsoft_mailbox_that_cannot_offer_one_click_unsubscribe(
    behind_https, session, clock, container, tmp_path
):
    clock.advance(MONDAY_9 - clock.now())
    account = senders.add(
        session,
        kind=senders.SenderKind.graph,
        email="me@ourco.example",
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        graph=senders.GraphAccount("tenant", "client", one_click_unsubscribe=False),
        password="app secret",
        now=clock.now(),
    )
    found = three_step_campaign(session, clock, tmp_path, [str(account.id)])
    page = f"/campaigns/{found.id}"

    launched = html.unescape(
        followed(behind_https, post(behind_https, page + "/launch", page)).text
    )

    assert "Launched: 3 contacts enrolled." in launched
    assert "me@ourco.example sends without one-click unsubscribe" in launched
    assert "OUTREACH_BASE_URL" not in launched
