"""SMTP and IMAP signed in with OAuth 2.0 (SASL OAUTHBEARER where offered, else XOAUTH2) for
Google and Microsoft 365: a real aiosmtpd and a real Dovecot (its oauth2 passdb) on loopback,
both checking the bearer token against the fake sign-in's introspection endpoint, and the fake
Google and Microsoft token endpoints (tests/fakes/oauth_server.py). The SMTP tests run against
a server offering only XOAUTH2 and one offering only OAUTHBEARER."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from outreach.clock import FixedClock
from outreach.providers.compose import new_message_id
from outreach.providers.errors import AccountError
from outreach.providers.imap import ImapReader
from outreach.providers.mail_oauth import (
    GOOGLE_SCOPES,
    MICROSOFT_SCOPES,
    MailTokens,
    OAuthApp,
    OAuthClient,
    OAuthProvider,
    Pkce,
    authorization_url,
)
from outreach.providers.message import Mailbox, OutgoingMessage
from outreach.providers.smtp import SmtpTransport
from tests.fakes.oauth_server import (
    CLIENTS,
    FakeOAuth,
)
from tests.imap_server import DovecotServer, ImapAccount, oauth_mailbox
from tests.smtp_server import RecordingSMTPServer, SignIn

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
MAILBOX = "grace@acme.example"
CALLBACK = "http://outreach.test/senders/oauth/callback"


def app_of(oauth: FakeOAuth, provider: OAuthProvider) -> OAuthApp:
    client_id, secret = CLIENTS[provider]
    if provider == "google":
        return OAuthApp(
            "google",
            client_id,
            secret,
            oauth.google_authorize_url,
            oauth.google_token_url,
            None,
            GOOGLE_SCOPES,
        )
    base = f"{oauth.microsoft_authority_url}/common/oauth2/v2.0"
    return OAuthApp(
        "microsoft",
        client_id,
        secret,
        f"{base}/authorize",
        f"{base}/token",
        f"{base}/devicecode",
        MICROSOFT_SCOPES,
    )


@pytest.fixture(name="clock")
def clock_fixture() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture(name="client")
def client_fixture(clock: FixedClock) -> Iterator[OAuthClient]:
    client = OAuthClient(clock)
    yield client
    client.close()


@pytest.fixture(name="oauth_smtp", params=["XOAUTH2", "OAUTHBEARER"])
def oauth_smtp_fixture(
    request: pytest.FixtureRequest, fake_oauth: FakeOAuth
) -> Iterator[RecordingSMTPServer]:
    """A server offering only one OAuth mechanism, each in turn."""
    with RecordingSMTPServer(
        introspection_url=fake_oauth.introspection_url, oauth_mechanisms=[request.param]
    ) as server:
        yield server


class Saved:
    """Where MailTokens hands a rotated refresh token (the container seals it on the account)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def __call__(self, token: str) -> None:
        self.tokens.append(token)


def signed_in(
    oauth: FakeOAuth,
    client: OAuthClient,
    clock: FixedClock,
    provider: OAuthProvider,
    mailbox: str = MAILBOX,
    saved: Saved | None = None,
) -> MailTokens:
    refresh = oauth.sign_in(provider, mailbox)
    return MailTokens(
        app_of(oauth, provider), client, refresh, mailbox, clock=clock, save=saved or Saved()
    )


def a_message(n: int = 0) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=new_message_id("acme.example", AT),
        sender=Mailbox(MAILBOX, "Grace Hopper"),
        recipient=Mailbox("ada@example.com", "Ada Lovelace"),
        subject=f"Hello Ada ({n})",
        text="Hi Ada,\n\nA short note.\n",
        date=AT,
    )


def transport(server: RecordingSMTPServer, tokens: MailTokens) -> SmtpTransport:
    return SmtpTransport(
        server.host, server.port, security="none", username=MAILBOX, password=None, oauth=tokens
    )


PROVIDERS: tuple[OAuthProvider, ...] = ("google", "microsoft")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_email_is_sent_over_smtp_signed_in_with_oauth(
    fake_oauth: FakeOAuth,
    oauth_smtp: RecordingSMTPServer,
    client: OAuthClient,
    clock: FixedClock,
    provider: OAuthProvider,
) -> None:
    smtp = transport(oauth_smtp, signed_in(fake_oauth, client, clock, provider))
    smtp.send(a_message(1))
    smtp.send(a_message(2))
    smtp.close()

    received = oauth_smtp.messages
    assert [m.rcpt_tos for m in received] == [("ada@example.com",), ("ada@example.com",)]
    subject = email.message_from_bytes(received[1].data, policy=email.policy.default)["Subject"]
    assert subject == "Hello Ada (2)"
    assert fake_oauth.grants == ["refresh_token"]  # one access token served both sends


def test_the_account_check_says_it_signed_in_with_oauth(
    fake_oauth: FakeOAuth, oauth_smtp: RecordingSMTPServer, client: OAuthClient, clock: FixedClock
) -> None:
    said = transport(oauth_smtp, signed_in(fake_oauth, client, clock, "google")).check()

    assert f"authenticated as {MAILBOX}" in said


def test_an_access_token_is_refreshed_before_it_expires(
    fake_oauth: FakeOAuth, oauth_smtp: RecordingSMTPServer, client: OAuthClient, clock: FixedClock
) -> None:
    tokens = signed_in(fake_oauth, client, clock, "google")
    first = tokens.token()
    clock.advance(timedelta(minutes=50))
    assert tokens.token() == first
    clock.advance(timedelta(minutes=6))  # under five minutes left of its hour

    assert tokens.token() != first
    assert fake_oauth.grants == ["refresh_token", "refresh_token"]


def test_a_token_the_server_refuses_is_replaced_and_the_email_still_goes(
    fake_oauth: FakeOAuth, oauth_smtp: RecordingSMTPServer, client: OAuthClient, clock: FixedClock
) -> None:
    tokens = signed_in(fake_oauth, client, clock, "microsoft")
    tokens.token()
    fake_oauth.expire_access_tokens()

    transport(oauth_smtp, tokens).send(a_message())

    assert len(oauth_smtp.messages) == 1
    assert fake_oauth.grants == ["refresh_token", "refresh_token"]
    assert [sign_in.reply for sign_in in oauth_smtp.sign_ins] == [535, 235]


def test_a_token_refused_again_after_a_fresh_one_says_sign_in_again(
    fake_oauth: FakeOAuth, oauth_smtp: RecordingSMTPServer, client: OAuthClient, clock: FixedClock
) -> None:
    """The tokens are another mailbox's, so the server refuses every one of them."""
    tokens = signed_in(fake_oauth, client, clock, "google", mailbox="someone@else.example")

    with pytest.raises(AccountError, match=r"refused the OAuth sign-in of .*sign in again"):
        transport(oauth_smtp, tokens).send(a_message())

    assert [sign_in.reply for sign_in in oauth_smtp.sign_ins] == [535, 535]
    assert fake_oauth.grants == ["refresh_token", "refresh_token"]
    assert oauth_smtp.messages == []


def test_a_server_offering_both_mechanisms_is_signed_in_with_oauthbearer(
    fake_oauth: FakeOAuth, client: OAuthClient, clock: FixedClock
) -> None:
    with RecordingSMTPServer(
        introspection_url=fake_oauth.introspection_url,
        oauth_mechanisms=["XOAUTH2", "OAUTHBEARER"],
    ) as server:
        transport(server, signed_in(fake_oauth, client, clock, "microsoft")).send(a_message())

        assert server.sign_ins == [SignIn("OAUTHBEARER", 235)]
        assert len(server.messages) == 1


def test_microsofts_rotated_refresh_token_is_handed_back_to_be_sealed(
    fake_oauth: FakeOAuth, client: OAuthClient, clock: FixedClock
) -> None:
    saved = Saved()
    tokens = signed_in(fake_oauth, client, clock, "microsoft", saved=saved)
    kept = tokens.loaded_from

    tokens.token()

    assert len(saved.tokens) == 1
    assert saved.tokens[0] != kept
    assert tokens.loaded_from == saved.tokens[0]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_revoked_grant_is_an_account_error_that_says_sign_in_again(
    fake_oauth: FakeOAuth,
    oauth_smtp: RecordingSMTPServer,
    client: OAuthClient,
    clock: FixedClock,
    provider: OAuthProvider,
) -> None:
    tokens = signed_in(fake_oauth, client, clock, provider)
    fake_oauth.revoke(MAILBOX)

    with pytest.raises(AccountError, match=r"invalid_grant.*sign in again") as refused:
        transport(oauth_smtp, tokens).send(a_message())

    assert f"outreach senders sign-in {MAILBOX} --provider {provider}" in refused.value.reason
    assert oauth_smtp.messages == []


def test_a_server_without_xoauth2_says_to_use_a_password(
    fake_oauth: FakeOAuth, client: OAuthClient, clock: FixedClock
) -> None:
    with RecordingSMTPServer(username=MAILBOX, password="pw") as server:
        smtp = transport(server, signed_in(fake_oauth, client, clock, "google"))
        with pytest.raises(AccountError, match="does not offer OAuth sign-in"):
            smtp.send(a_message())


def oauth_reader(account: ImapAccount, tokens: MailTokens, clock: FixedClock) -> ImapReader:
    settings = replace(account.settings("none"), password="")
    return ImapReader(settings, clock=clock, lookback=timedelta(days=3650), oauth=tokens)


DOVECOTS = [
    pytest.param("oauth_dovecot", "OAUTHBEARER", id="offering-oauthbearer-and-xoauth2"),
    pytest.param("xoauth2_dovecot", "XOAUTH2", id="offering-xoauth2-only"),
]
"""Which Dovecot (fixture), and the mechanism the reader must sign in to it with."""


@pytest.mark.parametrize(("server", "mechanism"), DOVECOTS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_reply_is_read_over_imap_signed_in_with_oauth(
    request: pytest.FixtureRequest,
    server: str,
    mechanism: str,
    clock: FixedClock,
    provider: OAuthProvider,
) -> None:
    oauth, dovecot = request.getfixturevalue(server)
    account = oauth_mailbox(dovecot, "grace")
    account.append(b"From: Ada <ada@example.com>\r\nSubject: Re: Hello\r\n\r\nYes please.\r\n")
    arranged = len(dovecot.sign_in_methods(account.username))  # the append's, with a password
    client = OAuthClient(clock)
    reader = oauth_reader(
        account, signed_in(oauth, client, clock, provider, account.username), clock
    )
    try:
        page = reader.read(reader.read(None).cursor)  # the first read places the cursor
        said = reader.check()
    finally:
        reader.close()
        client.close()

    assert [message.raw.split(b"\r\n")[1] for message in page.messages] == [b"Subject: Re: Hello"]
    assert f"signed in as {account.username}" in said
    assert set(dovecot.sign_in_methods(account.username)[arranged:]) == {mechanism}


def test_a_revoked_grant_stops_imap_reading_saying_sign_in_again(
    oauth_dovecot: tuple[FakeOAuth, DovecotServer], clock: FixedClock
) -> None:
    oauth, dovecot = oauth_dovecot
    account = oauth_mailbox(dovecot, "revoked")
    client = OAuthClient(clock)
    tokens = signed_in(oauth, client, clock, "google", account.username)
    tokens.token()
    oauth.revoke(account.username)
    reader = oauth_reader(account, tokens, clock)
    try:
        with pytest.raises(AccountError, match=r"invalid_grant.*sign in again"):
            reader.read(None)
    finally:
        reader.close()
        client.close()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_browser_sign_in_with_pkce_leaves_a_refresh_token(
    fake_oauth: FakeOAuth, client: OAuthClient, provider: OAuthProvider
) -> None:
    app = app_of(fake_oauth, provider)
    pkce = Pkce.new()
    url = authorization_url(app, redirect_uri=CALLBACK, state="st8", pkce=pkce, login_hint=MAILBOX)
    answer = httpx2.get(url, follow_redirects=False)
    back = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    assert back["state"] == "st8"

    grant = client.exchange_code(app, back["code"], CALLBACK, pkce)

    assert grant.refresh_token
    assert fake_oauth.accepts(MAILBOX, grant.access_token)


def test_a_code_redeemed_without_its_pkce_verifier_is_refused(
    fake_oauth: FakeOAuth, client: OAuthClient
) -> None:
    app = app_of(fake_oauth, "google")
    url = authorization_url(
        app, redirect_uri=CALLBACK, state="s", pkce=Pkce.new(), login_hint=MAILBOX
    )
    location = httpx2.get(url, follow_redirects=False).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]

    with pytest.raises(AccountError, match="Google refused the sign-in: invalid_grant"):
        client.exchange_code(app, code, CALLBACK, Pkce.new())


def test_microsofts_device_code_sign_in_waits_for_the_person(
    fake_oauth: FakeOAuth, client: OAuthClient
) -> None:
    app = app_of(fake_oauth, "microsoft")
    device = client.start_device(app)
    assert device.user_code in device.message
    assert client.poll_device(app, device) is None

    fake_oauth.approve_device(device.user_code, MAILBOX)
    grant = client.poll_device(app, device)

    assert grant is not None
    assert grant.refresh_token
    assert fake_oauth.accepts(MAILBOX, grant.access_token)


@pytest.mark.parametrize(("server", "mechanism"), DOVECOTS)
def test_an_imap_token_the_server_refuses_is_replaced_and_the_mailbox_still_reads(
    request: pytest.FixtureRequest, server: str, mechanism: str, clock: FixedClock
) -> None:
    oauth, dovecot = request.getfixturevalue(server)
    account = oauth_mailbox(dovecot, "expired")
    client = OAuthClient(clock)
    tokens = signed_in(oauth, client, clock, "microsoft", account.username)
    stale = tokens.token()
    oauth.expire_access_tokens()
    reader = oauth_reader(account, tokens, clock)
    try:
        said = reader.check()
    finally:
        reader.close()
        client.close()

    assert f"signed in as {account.username}" in said
    assert tokens.token() != stale
    assert dovecot.sign_in_methods(account.username) == [mechanism]
