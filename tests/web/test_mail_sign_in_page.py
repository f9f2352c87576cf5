"""An SMTP account signed in with Google or Microsoft from the senders page ("Sign in with
Google" / "Sign in with Microsoft"): the browser goes to the fake sign-in on loopback with state
and PKCE and comes back; the account then sends over XOAUTH2 to aiosmtpd, its refresh token
sealed at rest."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx2
import pytest

from outreach.sealing import unseal
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from tests.app_settings import isolated_settings
from tests.campaign_setup import smtp_sender
from tests.fakes.oauth_server import (
    FakeOAuth,
)
from tests.smtp_server import RecordingSMTPServer
from tests.web_session import csrf_token

MAILBOX = "me@ourco.example"


@pytest.fixture
def settings(tmp_path, fake_oauth: FakeOAuth):
    return isolated_settings(
        tmp_path / "data",
        **fake_oauth.app_settings,
    )


@pytest.fixture
def oauth_smtp(fake_oauth: FakeOAuth):
    with RecordingSMTPServer(introspection_url=fake_oauth.introspection_url) as server:
        yield server


@pytest.fixture
def account(session, clock, container, oauth_smtp) -> SenderAccount:
    smtp_sender(session, clock, container.settings.secret_key_value(), oauth_smtp.port, MAILBOX)
    session.commit()
    return senders.by_email(session, MAILBOX)


def press_sign_in(client, account: SenderAccount, provider: str):
    """Press the account's button, pass the provider's page, and come back: the page the
    person then sees, and the address the provider was sent to."""
    page = client.get("/senders")
    assert f"/senders/{account.id}/oauth/{provider}" in page.text
    started = client.post(
        f"/senders/{account.id}/oauth/{provider}",
        data={"csrf_token": csrf_token(client, "/senders")},
    )
    assert started.status_code == 303, started.text
    provider_page = httpx2.get(started.headers["location"], follow_redirects=False)
    back = urlsplit(provider_page.headers["location"])
    assert back.path == "/senders/oauth/callback"
    return client.get(f"{back.path}?{back.query}"), started.headers["location"]


@pytest.mark.parametrize(("provider", "name"), [("google", "Google"), ("microsoft", "Microsoft")])
def test_signing_in_from_the_page_makes_the_account_send_with_oauth(
    signed_in, session, container, account, oauth_smtp, provider, name
):
    page, asked = press_sign_in(signed_in, account, provider)

    assert page.status_code == 200, page.text
    assert f"{MAILBOX} signs in with {name} from now on" in page.text
    assert f"signs in as {MAILBOX} with {name} (OAuth)" in page.text
    query = dict(part.split("=", 1) for part in urlsplit(asked).query.split("&"))
    assert query["code_challenge_method"] == "S256"
    assert query["state"]
    session.expire_all()
    stored = session.get(SenderAccount, account.id)
    assert (stored.settings["auth"], stored.settings["oauth_provider"]) == ("oauth", provider)
    assert unseal(container.settings.secret_key_value(), stored.secret)["refresh_token"]
    assert "refresh" not in (stored.secret or "")  # sealed, not readable in the row
    [sending] = container.check_account(stored)
    assert sending.ok, sending.text


def test_the_api_says_whose_sign_in_an_account_uses(signed_in, account, api_token):
    press_sign_in(signed_in, account, "google")

    signed_in.headers["Authorization"] = f"Bearer {api_token}"
    [listed] = signed_in.get("/api/v1/senders").json()["items"]

    assert (listed["signs_in_as"], listed["signs_in_with"]) == (MAILBOX, "google")


def test_signing_in_again_lets_an_account_that_needed_a_person_send_again(
    signed_in, session, account, fake_oauth
):
    press_sign_in(signed_in, account, "google")
    fake_oauth.revoke(MAILBOX)
    stored = session.get(SenderAccount, account.id)
    stored.state, stored.last_error = "failing", "Google ended the sign-in: sign in again"
    session.commit()

    page, _ = press_sign_in(signed_in, account, "google")

    assert "Sign in again with Google" in page.text
    session.expire_all()
    assert session.get(SenderAccount, account.id).state == "ok"


def test_declining_shows_why_and_leaves_the_account_as_it_was(
    signed_in, session, account, fake_oauth
):
    fake_oauth.decline_next()

    page, _ = press_sign_in(signed_in, account, "microsoft")

    assert page.status_code == 422
    assert "The sign-in did not complete: access_denied: The user declined." in page.text
    session.expire_all()
    assert "auth" not in session.get(SenderAccount, account.id).settings


def test_an_answer_arriving_without_its_sign_in_is_refused(signed_in, session, account):
    page = signed_in.get("/senders/oauth/callback?code=stolen&state=whatever")

    assert page.status_code == 422
    assert "This sign-in was not started in this browser" in page.text
    assert "Signing in for `outreach senders sign-in`? Paste this page&#39;s address" in page.text


def test_a_google_mailbox_added_by_signing_in_needs_that_sign_in_until_it_is_done(
    signed_in, session
):
    offered = signed_in.get("/senders?add=google").text
    assert 'formaction="/senders/oauth/google/new"' in offered
    started = signed_in.post(
        "/senders/oauth/google/new",
        data={
            "csrf_token": csrf_token(signed_in, "/senders"),
            "email": MAILBOX,
            "imap_host": "imap.gmail.com",
        },
    )
    assert started.status_code == 303, started.text
    row = signed_in.get("/senders").text.split(f'data-sender="{MAILBOX}"')[1].split("</tr>")[0]
    assert ">needs you</span>" in row
    assert "It has not signed in with Google yet" in row

    provider_page = httpx2.get(started.headers["location"], follow_redirects=False)
    back = urlsplit(provider_page.headers["location"])
    page = signed_in.get(f"{back.path}?{back.query}")

    assert f"{MAILBOX} signs in with Google from now on" in page.text
    stored = senders.by_email(session, MAILBOX)
    assert (stored.state, stored.settings["host"]) == ("ok", "smtp.gmail.com")
    assert stored.settings["imap"]["host"] == "imap.gmail.com"
