"""One-click unsubscribe needs an https OUTREACH_BASE_URL: the senders page says so when it
is not, and says nothing when it is."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from outreach.container import Container
from outreach.db import session_factory
from outreach.web.app import create_app
from tests.app_settings import isolated_settings
from tests.web_session import sign_in

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
