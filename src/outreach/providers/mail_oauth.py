"""Signing in to a Google or Microsoft 365 mailbox with OAuth 2.0 to send over SMTP and read
over IMAP (SASL OAUTHBEARER where the server offers it, else XOAUTH2), now that neither takes
the mailbox's password: Google only app passwords, Microsoft none once SMTP AUTH with passwords
is off (end of 2026).

The person signs in once: in a browser, the authorization code flow with PKCE (RFC 7636;
developers.google.com/identity/protocols/oauth2/web-server,
learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow), or, on a machine
without one, Microsoft's device code flow (.../v2-oauth2-device-code) or Google's code pasted
back. What it leaves is a refresh token, sealed on the sender account; `MailTokens` turns it
into access tokens for an hour at a time, refreshing a few minutes before expiry, and hands a
rotated refresh token back to be sealed again (Microsoft rotates them; Google keeps its own).
A refused grant (`invalid_grant`: revoked, password changed, unused too long) is an
AccountError saying "sign in again": the account waits for a person and its emails with it.

The identity platform's refusals read as in graph/tokens.py, whose words this reuses.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2

from outreach.clock import Clock
from outreach.providers.errors import AccountError, ProviderError, TransientError
from outreach.providers.graph.tokens import TRANSIENT_SIGN_IN_ERRORS, sign_in_error_text

__all__ = [
    "AccessTokens",
    "DeviceSignIn",
    "Grant",
    "MailTokens",
    "OAuthApp",
    "OAuthClient",
    "OAuthMechanism",
    "OAuthProvider",
    "Pkce",
    "error_acknowledgement",
    "initial_response",
    "oauth_mechanism",
    "sign_in_with_token",
]

OAuthProvider = Literal["google", "microsoft"]
PROVIDERS: Final[tuple[OAuthProvider, ...]] = ("google", "microsoft")
GOOGLE_SCOPES: Final = ("https://mail.google.com/",)
MICROSOFT_SCOPES: Final = (
    "https://outlook.office.com/SMTP.Send",
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "offline_access",
)
REFRESH_AHEAD = timedelta(minutes=5)
"""An access token this close to expiry is refreshed before use: a send or a read started
with it must not find it expired halfway."""
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class OAuthApp:
    """The app registered with Google or Microsoft that mailboxes sign in through, and where
    its provider's endpoints are (overridable by settings: national clouds, tests)."""

    provider: OAuthProvider
    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str
    token_url: str
    device_url: str | None
    scopes: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.client_id.strip():
            variable = "GOOGLE_CLIENT_ID" if self.provider == "google" else "OUTLOOK_CLIENT_ID"
            raise AccountError(f"{self.name} sign-in needs {variable} set for this server.")

    @property
    def name(self) -> str:
        return "Google" if self.provider == "google" else "Microsoft"


@dataclass(frozen=True)
class Pkce:
    """RFC 7636: the verifier stays on our side; its S256 challenge goes to the provider."""

    verifier: str = field(repr=False)

    @classmethod
    def new(cls) -> Pkce:
        return cls(secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    app: OAuthApp, *, redirect_uri: str, state: str, pkce: Pkce, login_hint: str
) -> str:
    """Where to send the person to sign in; the provider redirects back to `redirect_uri` with
    `code` and `state`. Google needs access_type=offline and prompt=consent to hand a refresh
    token every time; Microsoft hands one for the offline_access scope."""
    query = {
        "client_id": app.client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": " ".join(app.scopes),
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "login_hint": login_hint,
    }
    if app.provider == "google":
        query |= {"access_type": "offline", "prompt": "consent"}
    else:
        query |= {"prompt": "select_account"}
    return f"{app.authorize_url}?{urlencode(query)}"


def oauth_callback_url(base_url: str) -> str:
    """Where Google and Microsoft send the browser back after a mailbox's sign-in, for the
    senders page and the CLI alike: the one redirect URI to register with each app."""
    return f"{base_url.rstrip('/')}/senders/oauth/callback"


def pasted_code(pasted: str, state: str) -> str:
    """The authorization code from what a person pasted back: the whole address the provider
    redirected to (its state checked, its error said) or the code alone."""
    text = pasted.strip()
    if "?" not in text and "=" not in text:
        if not text:
            raise AccountError("Nothing was pasted: start again.")
        return text
    return answered_code(
        {key: values[0] for key, values in parse_qs(urlsplit(text).query).items()}, state
    )


def answered_code(answer: Mapping[str, str], state: str) -> str:
    """The authorization code from the provider's redirect (its query), once its state is
    this sign-in's; AccountError saying why there is none."""
    if "error" in answer:
        raise AccountError(f"The sign-in did not complete: {sign_in_error_text(answer)}.")
    if answer.get("state") != state:
        raise AccountError("That address belongs to another sign-in: start again.")
    if not answer.get("code"):
        raise AccountError("That address holds no code: paste the whole address.")
    return answer["code"]


@dataclass(frozen=True)
class Grant:
    """What a token endpoint granted: an access token until `expires_at`, and a refresh token
    when it sent one (a refresh may not)."""

    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DeviceSignIn:
    """Microsoft's device code answer: the person opens `verification_uri` anywhere and types
    `user_code`; we poll with `device_code` every `interval` seconds until `expires_at`."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    message: str
    interval: float
    expires_at: datetime


class OAuthClient:
    """The token endpoints of Google and Microsoft for mailbox sign-ins (one HTTP client,
    shared by every account and thread). Raises AccountError when the provider refuses (a
    person must act), TransientError when it cannot be reached or is unavailable."""

    def __init__(
        self, clock: Clock, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 30
    ) -> None:
        self._clock = clock
        self._http = httpx2.Client(verify=ssl_context or True, timeout=timeout)

    def exchange_code(self, app: OAuthApp, code: str, redirect_uri: str, pkce: Pkce) -> Grant:
        """The grant for the code the provider redirected back with."""
        grant = self._grant(
            app,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pkce.verifier,
            },
        )
        if grant.refresh_token is None:
            raise AccountError(
                f"{app.name} signed in without offline access (no refresh token): sign in again "
                "and allow it."
            )
        return grant

    def refresh(self, app: OAuthApp, refresh_token: str, mailbox: str) -> Grant:
        """A new access token for a kept refresh token; AccountError "sign in again" when the
        grant was revoked or expired."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._grant(app, form, mailbox=mailbox)

    def start_device(self, app: OAuthApp) -> DeviceSignIn:
        if app.device_url is None:
            raise AccountError(f"{app.name} offers no device sign-in for mail: paste a code.")
        body = self._post(
            app, app.device_url, {"client_id": app.client_id, "scope": " ".join(app.scopes)}
        )
        if "device_code" not in body:
            raise _refused(app, body, None)
        now = self._clock.now()
        return DeviceSignIn(
            device_code=str(body["device_code"]),
            user_code=str(body.get("user_code", "")),
            verification_uri=str(body.get("verification_uri", "")),
            message=str(body.get("message", "")),
            interval=float(body.get("interval", 5)),
            expires_at=now + timedelta(seconds=float(body.get("expires_in", 900))),
        )

    def poll_device(self, app: OAuthApp, device: DeviceSignIn) -> Grant | None:
        """The grant once the person has signed in; None while they have not yet."""
        form = {"grant_type": DEVICE_GRANT, "device_code": device.device_code}
        body = self._post(app, app.token_url, form | {"client_id": app.client_id})
        if body.get("error") in ("authorization_pending", "slow_down"):
            return None
        return self._granted(app, body, None)

    def close(self) -> None:
        self._http.close()

    def _grant(self, app: OAuthApp, form: dict[str, str], *, mailbox: str | None = None) -> Grant:
        credentials = {"client_id": app.client_id}
        if app.provider == "microsoft":
            # Microsoft's v2 endpoints grant per resource: say which, at every redemption.
            credentials["scope"] = " ".join(app.scopes)
        if app.client_secret:
            credentials["client_secret"] = app.client_secret
        return self._granted(app, self._post(app, app.token_url, form | credentials), mailbox)

    def _granted(self, app: OAuthApp, body: Mapping[str, Any], mailbox: str | None) -> Grant:
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise _refused(app, body, mailbox)
        refresh = body.get("refresh_token")
        expires_in = float(body.get("expires_in", 3600))
        return Grant(
            token,
            self._clock.now() + timedelta(seconds=expires_in),
            refresh if isinstance(refresh, str) and refresh else None,
        )

    def _post(self, app: OAuthApp, url: str, form: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._http.post(url, data=form, headers={"Accept": "application/json"})
        except httpx2.TransportError as error:
            raise TransientError(
                f"Could not reach {app.name}'s sign-in at {url}: {error}."
            ) from error
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(
                f"{app.name}'s sign-in is unavailable just now ({response.status_code})."
            )
        try:
            body = response.json()
        except ValueError as error:
            raise TransientError(
                f"{app.name}'s sign-in answered {response.status_code} with something that is "
                "not JSON."
            ) from error
        if not isinstance(body, dict):
            raise TransientError(f"{app.name}'s sign-in answered with something unexpected.")
        return body


def _refused(app: OAuthApp, body: Mapping[str, Any], mailbox: str | None) -> ProviderError:
    said = sign_in_error_text(body)
    if body.get("error") in TRANSIENT_SIGN_IN_ERRORS:
        return TransientError(f"{app.name}'s sign-in is unavailable just now ({said}).")
    if mailbox is None:
        return AccountError(f"{app.name} refused the sign-in: {said}.")
    return AccountError(
        f"{app.name} ended the sign-in of {mailbox} ({said}): sign in again on the senders page "
        f"(or `outreach senders sign-in {mailbox} --provider {app.provider}`)."
    )


class AccessTokens(Protocol):
    """What SMTP and IMAP sign in with instead of a password."""

    def token(self) -> str: ...

    def forget(self, refused: str) -> None: ...


class MailTokens:
    """The access tokens of one signed-in mailbox, from its sealed refresh token: kept until
    REFRESH_AHEAD before expiry, then refreshed; `save` receives a rotated refresh token (to
    seal it again). Thread-safe: the SMTP and IMAP connections of several threads share one."""

    def __init__(
        self,
        app: OAuthApp,
        client: OAuthClient,
        refresh_token: str,
        mailbox: str,
        *,
        clock: Clock,
        save: Callable[[str], None],
    ) -> None:
        self.app = app
        self.mailbox = mailbox
        self.loaded_from = refresh_token
        """The refresh token this object started from or last saved: the container builds a
        new one when the stored one differs (the person signed in again)."""
        self._client = client
        self._clock = clock
        self._save = save
        self._grant: Grant | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            grant = self._grant
            if grant is None or grant.expires_at - REFRESH_AHEAD <= self._clock.now():
                grant = self._grant = self._client.refresh(self.app, self.loaded_from, self.mailbox)
                if grant.refresh_token and grant.refresh_token != self.loaded_from:
                    self._save(grant.refresh_token)
                    self.loaded_from = grant.refresh_token
            return grant.access_token

    def forget(self, refused: str) -> None:
        """The server refused this access token: the next `token()` asks for a new one."""
        with self._lock:
            if self._grant is not None and self._grant.access_token == refused:
                self._grant = None


def sign_in_with_token(
    oauth: AccessTokens, sign_in: Callable[[str], None], refused: type[Exception]
) -> None:
    """`sign_in` with the access token at hand; when the server refuses it (raising
    `refused`), forget it and try once more with a fresh one: it may have been revoked or have
    expired early. A second refusal is raised: then a person must sign in again."""
    token = oauth.token()
    try:
        sign_in(token)
    except refused:
        oauth.forget(token)
        token = oauth.token()
        try:
            sign_in(token)
        except refused:
            oauth.forget(token)
            raise


OAuthMechanism = Literal["OAUTHBEARER", "XOAUTH2"]


def oauth_mechanism(offered: Iterable[str]) -> OAuthMechanism | None:
    """The SASL mechanism to sign in with, from those a server offers: OAUTHBEARER (RFC 7628,
    the standard) where offered, else XOAUTH2 (Google's and Microsoft's own, which every
    server taking OAuth offers today); None when it offers neither."""
    names = {name.upper() for name in offered}
    if "OAUTHBEARER" in names:
        return "OAUTHBEARER"
    if "XOAUTH2" in names:
        return "XOAUTH2"
    return None


def initial_response(
    mechanism: OAuthMechanism, user: str, access_token: str, host: str, port: int
) -> str:
    """The mechanism's initial client response, before base64. XOAUTH2
    (developers.google.com/gmail/imap/xoauth2-protocol; Microsoft's is the same):
    user=..^Aauth=Bearer ..^A^A. OAUTHBEARER (RFC 7628 3.1): a GS2 header naming the user
    (RFC 5801: "," and "=" escaped), then host, port and auth key-value pairs."""
    if mechanism == "XOAUTH2":
        return f"user={user}\x01auth=Bearer {access_token}\x01\x01"
    identity = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={identity},\x01host={host}\x01port={port}\x01auth=Bearer {access_token}\x01\x01"


def error_acknowledgement(mechanism: OAuthMechanism) -> str:
    """What the client answers the server's error challenge (its reasons as JSON) with, so the
    server ends the exchange with a refusal: OAUTHBEARER a single ^A (RFC 7628 3.2.3),
    XOAUTH2 an empty response."""
    return "\x01" if mechanism == "OAUTHBEARER" else ""
