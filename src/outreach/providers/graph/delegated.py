"""A person signing in to their own Microsoft 365 or Outlook mailbox (delegated permissions),
for mailboxes whose tenant grants our Azure app no application permissions: another company's
tenant, or an administrator who will not consent to Mail.Send for every mailbox.

The authorization code flow with PKCE, through MSAL
(learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow): `start_sign_in`
returns the flow (state, nonce, PKCE verifier) and the address to send the person to; Microsoft
redirects back with a code, and `finish_sign_in` exchanges it, MSAL checking state and nonce.
The person consents to Mail.ReadWrite and Mail.Send for the same app (a confidential web app
with a client secret and our callback registered as a redirect URI).

What the sign-in leaves is MSAL's token cache: an access token for an hour and a refresh token
that lasts while it is used (Microsoft: 90 days of inactivity). It is sealed in the sender
account's secret with the server's key; `DelegatedTokens` refreshes through it and hands every
changed cache back to be sealed again, so a restart or another worker carries on. When the
refresh token is refused (password changed, consent revoked, 90 days unused) the account fails
with "sign in again".
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import httpx2
import msal

from outreach.providers.base import SignedIn
from outreach.providers.errors import AccountError, ProviderError, TransientError
from outreach.providers.graph.settings import GraphSettings
from outreach.providers.graph.tokens import (
    TRANSIENT_SIGN_IN_ERRORS,
    GraphTokens,
    sign_in_error_text,
)

__all__ = ["DelegatedTokens", "finish_sign_in", "start_sign_in"]


def start_sign_in(settings: GraphSettings, apps: GraphTokens, redirect_uri: str) -> dict[str, Any]:
    """The flow to keep until Microsoft redirects back (it holds the PKCE verifier: keep it
    secret); its "auth_uri" is where to send the person, hinted at `settings.mailbox`."""
    app = apps.msal_app(settings)
    with warnings.catch_warnings():
        # MSAL recommends form_post. The answer then arrives as a cross-site POST, which
        # carries no SameSite=Lax cookie: neither the person's session nor the flow. The query
        # answer is safe here: its code is worthless without the PKCE verifier, which never
        # leaves the server's sealed cookie, and state and nonce are checked.
        warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
        flow = app.initiate_auth_code_flow(
            settings.delegated_scopes,
            redirect_uri=redirect_uri,
            login_hint=settings.mailbox,
            prompt="select_account",
        )
    return dict(flow)


def finish_sign_in(
    settings: GraphSettings,
    apps: GraphTokens,
    flow: Mapping[str, Any],
    answer: Mapping[str, str],
) -> SignedIn:
    """Exchanges the code Microsoft redirected back with (`answer`: the callback's query) for
    the person's tokens. ProviderError saying why when the sign-in did not complete."""
    if "error" in answer:
        said = sign_in_error_text(answer).rstrip(".")
        raise AccountError(f"Microsoft's sign-in did not complete: {said}.")
    cache = msal.SerializableTokenCache()
    app = apps.msal_app(settings, cache)
    try:
        result = app.acquire_token_by_auth_code_flow(dict(flow), dict(answer))
    except ValueError as error:
        # MSAL's checks: a state or nonce that is not this sign-in's.
        raise AccountError(
            f"Microsoft's answer does not belong to this sign-in ({error}); start again."
        ) from error
    except httpx2.TransportError as error:
        raise TransientError(f"Could not reach Microsoft's sign-in: {error}.") from error
    if "error" in result:
        said = sign_in_error_text(result).rstrip(".")
        raise AccountError(f"Microsoft refused the sign-in: {said}.")
    claims = result.get("id_token_claims") or {}
    mailbox = str(claims.get("preferred_username") or claims.get("email") or "")
    if "@" not in mailbox:
        raise AccountError("Microsoft's sign-in did not say which mailbox signed in.")
    name = claims.get("name")
    return SignedIn(mailbox, str(name) if name else None, cache.serialize())


class DelegatedTokens:
    """The TokenSource of one signed-in mailbox: its sealed MSAL cache, refreshed as needed;
    `save` receives the cache each time it changed (to seal it again). Thread-safe."""

    def __init__(self, token_cache: str, apps: GraphTokens, save: Callable[[str], None]) -> None:
        self.loaded_from = token_cache
        """The cache text this object started from or last saved: the container rebuilds it
        when the stored one differs (the person signed in again)."""
        self._cache = msal.SerializableTokenCache()
        if token_cache:
            self._cache.deserialize(token_cache)
        self._apps = apps
        self._save = save
        self._app: msal.ConfidentialClientApplication | None = None
        self._stale = False
        self._handed = ""
        self._lock = threading.Lock()

    def token(self, settings: GraphSettings) -> str:
        with self._lock:
            if self._app is None:
                self._app = self._apps.msal_app(settings, self._cache)
            accounts = self._app.get_accounts(username=settings.mailbox)
            if not accounts:
                raise AccountError(
                    f"{settings.mailbox} is not signed in to Microsoft: sign in again on the "
                    "senders page."
                )
            try:
                result = self._app.acquire_token_silent_with_error(
                    settings.delegated_scopes, account=accounts[0], force_refresh=self._stale
                )
            except httpx2.TransportError as error:
                raise TransientError(
                    f"Could not reach Microsoft's sign-in at {settings.authority_url}: {error}."
                ) from error
            self._stale = False
            self._keep_changes()
            token = result.get("access_token") if result else None
            if isinstance(token, str):
                self._handed = token
                return token
        raise _refused(settings, result or {})

    def forget(self, settings: GraphSettings, refused: str) -> None:
        with self._lock:
            self._stale = self._stale or refused == self._handed

    def _keep_changes(self) -> None:
        if self._cache.has_state_changed:
            text = self._cache.serialize()
            self._save(text)
            self.loaded_from = text
            self._cache.has_state_changed = False


def _refused(settings: GraphSettings, result: Mapping[str, Any]) -> ProviderError:
    said = sign_in_error_text(result) if result else "no refresh token is kept"
    if result.get("error") in TRANSIENT_SIGN_IN_ERRORS:
        return TransientError(f"Microsoft's sign-in is unavailable just now ({said}).")
    return AccountError(
        f"Microsoft ended the sign-in of {settings.mailbox} ({said}): sign in again on the "
        "senders page."
    )
