"""Fake Google and Microsoft sign-in for mailboxes on loopback (plain HTTP), speaking the shapes
they document, and a token introspection endpoint (RFC 7662) that the test SMTP and IMAP
servers check XOAUTH2 tokens against:

- Google (developers.google.com/identity/protocols/oauth2/web-server): the authorization
  endpoint redirects back at once with `code` and `state` (the person consenting), or
  `error=access_denied`; the token endpoint takes the authorization_code grant (client id and
  secret, redirect_uri, PKCE S256 code_verifier) and the refresh_token grant, answering
  {"access_token", "expires_in", "token_type": "Bearer", "scope", "refresh_token"} (a refresh
  keeps the refresh token and sends none), or 400 {"error": "invalid_grant",
  "error_description": "Token has been expired or revoked."};
- Microsoft (learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow and
  v2-oauth2-device-code): /{tenant}/oauth2/v2.0/authorize, /token (authorization_code,
  refresh_token, which rotates the refresh token, and the device_code grant answering
  authorization_pending until the person approves) and /devicecode; refusals as
  {"error", "error_description": "AADSTS70000: ...", "error_codes"};
- /introspect: POST token=... answers {"active": true, "email": mailbox} for a live access
  token, {"active": false} otherwise.

    with FakeOAuth() as oauth:
        oauth.google_token_url, oauth.microsoft_authority_url, oauth.introspection_url
        oauth.revoke("me@example.com")    # every grant of that mailbox: invalid_grant from now
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.loopback import LoopbackServer

GOOGLE_CLIENT_ID = "google-client.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "google-secret"
MICROSOFT_CLIENT_ID = "11111111-2222-3333-4444-555555555555"
MICROSOFT_CLIENT_SECRET = "microsoft-secret"
CLIENTS = {
    "google": (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET),
    "microsoft": (MICROSOFT_CLIENT_ID, MICROSOFT_CLIENT_SECRET),
}


@dataclass
class _Code:
    provider: str
    mailbox: str
    redirect_uri: str
    challenge: str


@dataclass
class _Device:
    mailbox: str | None = None
    polls: int = 0


class FakeOAuth(LoopbackServer):
    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = 0
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, tuple[str, str]] = {}
        """refresh token -> (provider, mailbox)"""
        self._access: dict[str, str] = {}
        """access token -> mailbox"""
        self._devices: dict[str, _Device] = {}
        self._declined = False
        self._device_signer: str | None = None
        self.grants: list[str] = []
        """The grant_type of every token request, in order."""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        owner = self

        class Handler(_Handler):
            fake = owner

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # Where it is.

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def google_authorize_url(self) -> str:
        return f"{self.base_url}/google/o/oauth2/v2/auth"

    @property
    def google_token_url(self) -> str:
        return f"{self.base_url}/google/token"

    @property
    def microsoft_authority_url(self) -> str:
        return f"{self.base_url}/microsoft"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    @property
    def app_settings(self) -> dict[str, str]:
        """The settings (environment variables) that send the app's sign-ins here."""
        return {
            "GOOGLE_CLIENT_ID": GOOGLE_CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": GOOGLE_CLIENT_SECRET,
            "OUTREACH_GOOGLE_AUTHORIZE_URL": self.google_authorize_url,
            "OUTREACH_GOOGLE_TOKEN_URL": self.google_token_url,
            "OUTLOOK_CLIENT_ID": MICROSOFT_CLIENT_ID,
            "OUTLOOK_CLIENT_SECRET": MICROSOFT_CLIENT_SECRET,
            "OUTREACH_GRAPH_AUTHORITY_URL": self.microsoft_authority_url,
        }

    # What a test arranges and looks at.

    def decline_next(self) -> None:
        """The next person to sign in says no."""
        with self._lock:
            self._declined = True

    def approve_device(self, user_code: str, mailbox: str) -> None:
        """The person typed `user_code` at the verification page and signed in as `mailbox`."""
        with self._lock:
            self._devices[user_code].mailbox = mailbox

    def approve_devices_as(self, mailbox: str) -> None:
        """From now on, each device code is approved as `mailbox` once it has been asked
        about once (the person takes a moment to type the code)."""
        with self._lock:
            self._device_signer = mailbox

    def revoke(self, mailbox: str) -> None:
        """The mailbox's owner revoked the app (or changed their password): its refresh and
        access tokens stop working."""
        with self._lock:
            for token, (_, owner) in list(self._refresh.items()):
                if owner == mailbox:
                    del self._refresh[token]
            for token, owner in list(self._access.items()):
                if owner == mailbox:
                    del self._access[token]

    def expire_access_tokens(self) -> None:
        """Every access token handed out stops working (expired early)."""
        with self._lock:
            self._access.clear()

    def accepts(self, mailbox: str, token: str) -> bool:
        with self._lock:
            return self._access.get(token) == mailbox

    def sign_in(self, provider: str, mailbox: str) -> str:
        """A refresh token for `mailbox`, as a finished sign-in leaves (for tests that start
        from a signed-in account)."""
        with self._lock:
            return self._new_refresh(provider, mailbox)

    # Inside.

    def _new_refresh(self, provider: str, mailbox: str) -> str:
        token = f"{provider}-refresh-{secrets.token_hex(8)}"
        self._refresh[token] = (provider, mailbox)
        return token

    def _tokens(self, provider: str, mailbox: str, refresh: str | None) -> dict[str, Any]:
        access = f"{provider}-access-{secrets.token_hex(8)}"
        self._access[access] = mailbox
        body: dict[str, Any] = {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}
        if refresh is not None:
            body["refresh_token"] = refresh
        return body

    def authorize(self, provider: str, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        """(302, Location) back to the redirect URI, or (400, error) for a broken request."""
        client_id, _ = CLIENTS[provider]
        wanted = "https://mail.google.com/" if provider == "google" else "offline_access"
        if query.get("client_id") != client_id or wanted not in query.get("scope", "").split():
            return 400, {"error": "invalid_request"}
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {"error": "invalid_request", "error_description": "PKCE S256 required"}
        if provider == "google" and query.get("access_type") != "offline":
            return 400, {"error": "invalid_request", "error_description": "no offline access"}
        with self._lock:
            declined, self._declined = self._declined, False
            answer = {"state": query.get("state", "")}
            if declined:
                answer |= {"error": "access_denied", "error_description": "The user declined."}
            else:
                code = secrets.token_urlsafe(16)
                self._codes[code] = _Code(
                    provider, query["login_hint"], query["redirect_uri"], query["code_challenge"]
                )
                answer["code"] = code
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(answer)}"}

    def token(self, provider: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        with self._lock:
            self.grants.append(grant)
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                return self._device_token(provider, form)
            client_id, secret = CLIENTS[provider]
            if form.get("client_id") != client_id or form.get("client_secret") != secret:
                return 401, _refusal(provider, "invalid_client", "Unauthorized client.")
            if provider == "microsoft" and "offline_access" not in form.get("scope", ""):
                return 400, _refusal(provider, "invalid_request", "AADSTS900144: no scope.")
            if grant == "authorization_code":
                return self._code_token(provider, form)
            if grant == "refresh_token":
                return self._refresh_token(provider, form)
        return 400, _refusal(provider, "unsupported_grant_type", grant)

    def _code_token(self, provider: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        code = self._codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if (
            code is None
            or code.provider != provider
            or code.redirect_uri != form.get("redirect_uri")
        ):
            return 400, _refusal(provider, "invalid_grant", "Malformed auth code.")
        if challenge != code.challenge:
            return 400, _refusal(provider, "invalid_grant", "Invalid code verifier.")
        refresh = self._new_refresh(provider, code.mailbox)
        return 200, self._tokens(provider, code.mailbox, refresh)

    def _refresh_token(self, provider: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        kept = self._refresh.get(form.get("refresh_token", ""))
        if kept is None or kept[0] != provider:
            return 400, _refusal(provider, "invalid_grant", "Token has been expired or revoked.")
        mailbox = kept[1]
        if provider == "microsoft":  # Microsoft hands a new refresh token with each refresh
            del self._refresh[form["refresh_token"]]
            return 200, self._tokens(provider, mailbox, self._new_refresh(provider, mailbox))
        return 200, self._tokens(provider, mailbox, None)

    def _device_token(self, provider: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        device = self._devices.get(form.get("device_code", ""))
        if device is None:
            return 400, _refusal(provider, "expired_token", "AADSTS70020: expired.")
        device.polls += 1
        if device.mailbox is None and device.polls > 1:
            device.mailbox = self._device_signer
        if device.mailbox is None:
            return 400, _refusal(provider, "authorization_pending", "AADSTS70016: pending.")
        refresh = self._new_refresh(provider, device.mailbox)
        return 200, self._tokens(provider, device.mailbox, refresh)

    def device_code(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != MICROSOFT_CLIENT_ID:
            return 400, _refusal("microsoft", "unauthorized_client", "AADSTS700016: no app.")
        user_code = secrets.token_hex(4).upper()
        device = f"device-{secrets.token_hex(8)}"
        with self._lock:
            self._devices[device] = self._devices[user_code] = _Device()
        return 200, {
            "device_code": device,
            "user_code": user_code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 0,
            "message": f"To sign in, open https://microsoft.com/devicelogin and enter {user_code}.",
        }

    def introspect(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            mailbox = self._access.get(form.get("token", ""))
        return {"active": True, "email": mailbox} if mailbox else {"active": False}


def _refusal(provider: str, error: str, description: str) -> dict[str, Any]:
    if provider == "microsoft":
        return {"error": error, "error_description": description, "error_codes": [70000]}
    return {"error": error, "error_description": description}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOAuth

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if parts.path == "/google/o/oauth2/v2/auth":
            self._redirect(*self.fake.authorize("google", query))
        elif parts.path.startswith("/microsoft/") and parts.path.endswith("/oauth2/v2.0/authorize"):
            self._redirect(*self.fake.authorize("microsoft", query))
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        form = {key: values[0] for key, values in parse_qs(body).items()}
        path = urlsplit(self.path).path
        if path == "/google/token":
            self._json(*self.fake.token("google", form))
        elif path.startswith("/microsoft/") and path.endswith("/oauth2/v2.0/token"):
            self._json(*self.fake.token("microsoft", form))
        elif path.startswith("/microsoft/") and path.endswith("/oauth2/v2.0/devicecode"):
            self._json(*self.fake.device_code(form))
        elif path == "/introspect":
            self._json(200, self.fake.introspect(form))
        else:
            self._json(404, {"error": "not_found"})

    def _redirect(self, status: int, answer: dict[str, str]) -> None:
        if status != 302:
            self._json(status, answer)
            return
        self.send_response(302)
        self.send_header("Location", answer["Location"])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(name="fake_oauth")
def fake_oauth_fixture() -> Iterator[FakeOAuth]:
    with FakeOAuth() as oauth:
        yield oauth
