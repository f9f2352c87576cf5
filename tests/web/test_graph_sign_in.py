"""A mailbox's owner signs in with Microsoft from the senders page (delegated permissions), the
browser going to the fake identity platform on loopback and back."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import httpx2
import pytest
import sqlalchemy as sa

from outreach.sealing import unseal
from outreach.senders.models import SenderAccount
from tests.app_settings import isolated_settings
from tests.fakes.graph_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    MAILBOX,
    FakeGraph,
)
from tests.web_session import csrf_token


@pytest.fixture
def settings(tmp_path, fake_graph: FakeGraph):
    """The original system's app, and Microsoft's addresses pointed at the fake."""
    return isolated_settings(
        tmp_path / "data",
        OUTLOOK_CLIENT_ID=CLIENT_ID,
        OUTLOOK_CLIENT_SECRET=CLIENT_SECRET,
        OUTREACH_GRAPH_URL=fake_graph.graph_url,
        OUTREACH_GRAPH_AUTHORITY_URL=fake_graph.base_url,
    )


@pytest.fixture
def container(container, fake_graph: FakeGraph):
    return replace(container, tls_context=fake_graph.client_context())


def sign_in_with_microsoft(client, fake_graph: FakeGraph, email: str = MAILBOX):
    """Press the button, pass Microsoft's page, and come back; the page the person sees."""
    started = client.post(
        "/senders/graph/sign-in",
        data={"email": email, "csrf_token": csrf_token(client, "/senders")},
    )
    assert started.status_code == 303, started.text
    with httpx2.Client(verify=fake_graph.client_context()) as browser:
        microsoft = browser.get(started.headers["location"])
    back = urlsplit(microsoft.headers["location"])
    assert back.path == "/senders/graph/callback"
    return client.get(f"{back.path}?{back.query}")


def test_the_owner_signs_in_and_the_mailbox_sends_as_them(
    signed_in, fake_graph, session, container
):
    page = sign_in_with_microsoft(signed_in, fake_graph)

    assert page.status_code == 200
    assert f"{MAILBOX} signed in: it sends and reads its replies as its owner." in page.text
    assert "signed in by its owner" in page.text
    account = session.scalars(sa.select(SenderAccount)).one()
    assert (account.kind, account.settings["auth"], account.daily_cap) == (
        "graph",
        "delegated",
        9000,
    )
    sealed = unseal(container.settings.secret_key_value(), account.secret)
    assert "refresh" in sealed["token_cache"].lower()
    assert [c.ok for c in container.check_account(account)] == [True, True]
    said = container.check_account(account)[0].text
    assert said.startswith(f"Signed in as {MAILBOX} (through app {CLIENT_ID})")


def test_signing_in_again_renews_the_sign_in_and_resumes_the_mailbox(
    signed_in, fake_graph, session
):
    sign_in_with_microsoft(signed_in, fake_graph)
    account = session.scalars(sa.select(SenderAccount)).one()
    account.state, account.last_error = "failing", "Microsoft ended the sign-in"
    session.commit()

    page = sign_in_with_microsoft(signed_in, fake_graph)

    assert f"{MAILBOX} signed in again; it sends again." in page.text
    session.expire_all()
    assert session.scalars(sa.select(SenderAccount.state)).all() == ["ok"]


def test_declining_consent_shows_what_microsoft_said_and_adds_nothing(
    signed_in, fake_graph, session
):
    fake_graph.sign_in_next_as(MAILBOX, decline=True)

    page = sign_in_with_microsoft(signed_in, fake_graph)

    assert page.status_code == 422
    assert "User declined to consent to access the app" in page.text
    assert session.scalars(sa.select(SenderAccount)).all() == []


def test_an_answer_arriving_without_its_sign_in_is_refused(signed_in, session):
    page = signed_in.get("/senders/graph/callback?code=stolen&state=whatever")

    assert page.status_code == 422
    assert "This sign-in was not started in this browser" in page.text
    assert session.scalars(sa.select(SenderAccount)).all() == []


def test_the_senders_page_names_the_redirect_uri_to_register(signed_in):
    shown = signed_in.get("/senders?add=microsoft").text
    assert "http://127.0.0.1:8000/senders/graph/callback" in shown
