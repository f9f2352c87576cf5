"""Signing in to Microsoft Graph as an app (client credentials) through MSAL, and the identity
platform's refusals in words."""

from __future__ import annotations

import hashlib
import ssl
import threading
from collections.abc import Mapping
from typing import Any, Final

import httpx2
import msal

from outreach.providers.errors import AccountError, ProviderError, TransientError
from outreach.providers.graph.session import error_detail
from outreach.providers.graph.settings import GraphSettings


class GraphTokens:
    """App-only tokens for every Graph sender account: one msal ConfidentialClientApplication
    per (authority, tenant, client id), kept so its token cache is reused until the token is
    near expiry. Owned by the container and shared by the transports and inbox readers of all
    threads; safe to use from several threads.

    MSAL talks through the same HTTP client settings as the Graph calls (`ssl_context`,
    `timeout`), handed to it as its documented `http_client`. Instance discovery is off: the
    well-known Microsoft hosts skip it anyway, and any other authority (a national cloud, the
    fake in tests) is taken as configured, so MSAL only fetches the tenant's OpenID
    configuration (`<authority>/v2.0/.well-known/openid-configuration`) and then the token.
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 30) -> None:
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._apps: dict[tuple[str, str, str], tuple[str, msal.ConfidentialClientApplication]] = {}
        self._handed: dict[tuple[str, str, str], str] = {}
        """The token each app was last handed out: the one a refusal must be about to count."""
        self._lock = threading.Lock()
        self._http: _MsalHttp | None = None

    def token(self, settings: GraphSettings) -> str:
        """A valid access token, from the cache when it has one. Raises AccountError
        when Microsoft refuses the app and TransientError when it cannot be reached."""
        app = self._app(settings)
        try:
            result = app.acquire_token_for_client(scopes=[settings.scope])
        except httpx2.TransportError as error:
            raise TransientError(
                f"Could not reach Microsoft's sign-in at {settings.authority_url}: "
                f"{error_detail(error)}."
            ) from error
        except (msal.exceptions.MsalServiceError, ValueError) as error:
            # MsalServiceError: a 5xx; ValueError: an answer that was not JSON.
            raise TransientError(
                f"Microsoft's sign-in failed for tenant {settings.tenant_id}: {error}."
            ) from error
        token = result.get("access_token") if isinstance(result, dict) else None
        if isinstance(token, str):
            with self._lock:
                self._handed[_app_key(settings)] = token
            return token
        raise _token_refused(settings, result if isinstance(result, dict) else {})

    def forget(self, settings: GraphSettings, refused: str) -> None:
        """Drop the cached token of this app, so the next `token()` asks Microsoft again."""
        with self._lock:
            kept = self._apps.get(_app_key(settings))
            latest = self._handed.get(_app_key(settings))
        if kept is not None and latest == refused:
            kept[1].remove_tokens_for_client()

    def close(self) -> None:
        with self._lock:
            http, self._http = self._http, None
            self._apps.clear()
        if http is not None:
            http.close()

    def msal_app(
        self, settings: GraphSettings, cache: msal.TokenCache | None = None
    ) -> msal.ConfidentialClientApplication:
        """A new MSAL application for `settings`' app over the shared HTTP client: with a token
        cache of its own for a person's sign-in. Raises as `token()` does."""
        with self._lock:
            if self._http is None:
                self._http = _MsalHttp(
                    httpx2.Client(verify=self._ssl_context or True, timeout=self._timeout)
                )
            http = self._http
        try:
            return msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=settings.client_secret,
                authority=settings.authority,
                http_client=http,
                instance_discovery=False,
                token_cache=cache,
            )
        except httpx2.TransportError as error:
            raise TransientError(
                f"Could not reach Microsoft's sign-in at {settings.authority_url}: "
                f"{error_detail(error)}."
            ) from error
        except msal.exceptions.MsalServiceError as error:
            raise TransientError(
                f"Microsoft's sign-in failed for tenant {settings.tenant_id}: {error}."
            ) from error
        except ValueError as error:
            # MSAL's tenant discovery answered 4xx: no such tenant at that authority.
            raise AccountError(
                f"Microsoft's sign-in does not know the tenant {settings.tenant_id} at "
                f"{settings.authority_url}; check the tenant id ({error})."
            ) from error

    def _app(self, settings: GraphSettings) -> msal.ConfidentialClientApplication:
        key = _app_key(settings)
        secret = hashlib.sha256(settings.client_secret.encode()).hexdigest()
        with self._lock:
            kept = self._apps.get(key)
        if kept is not None and kept[0] == secret:
            return kept[1]
        # A new secret for the same app (rotated in the UI) needs a new application object.
        app = self.msal_app(settings)
        with self._lock:
            self._apps[key] = (secret, app)
        return app


def _app_key(settings: GraphSettings) -> tuple[str, str, str]:
    return (settings.authority_url.rstrip("/").lower(), settings.tenant_id, settings.client_id)


_TOKEN_ERRORS: Final = {
    "invalid_client": "the client secret is wrong, has expired or was deleted",
    "unauthorized_client": "the app is not registered in this tenant, or was disabled",
    "invalid_scope": "the app may not ask for Microsoft Graph permissions",
    "invalid_grant": "the administrator's consent was revoked",
    "invalid_request": "the tenant or app id is wrong",
}
TRANSIENT_SIGN_IN_ERRORS: Final = frozenset({"temporarily_unavailable", "server_error"})


def sign_in_error_text(answer: Mapping[str, Any]) -> str:
    """ "invalid_client: AADSTS7000215: Invalid client secret provided." from the identity
    platform's error answer (its description's first line; the rest is trace ids)."""
    error = str(answer.get("error", "unknown_error"))
    description = str(answer.get("error_description", "")).split("\r\n")[0].split("\n")[0]
    return f"{error}: {description}" if description else error


def _token_refused(settings: GraphSettings, result: Mapping[str, Any]) -> ProviderError:
    error = str(result.get("error", "unknown_error"))
    detail = sign_in_error_text(result)
    if error in TRANSIENT_SIGN_IN_ERRORS:
        return TransientError(f"Microsoft's sign-in is unavailable just now ({detail}).")
    meaning = _TOKEN_ERRORS.get(error, "Microsoft refused to sign the app in")
    return AccountError(
        f"Microsoft's sign-in refused the app {settings.client_id} in tenant "
        f"{settings.tenant_id}: {meaning} ({detail})."
    )


class _MsalHttp:
    """MSAL's `http_client` (msal.oauth2cli.http.HttpClient): get and post returning responses
    with status_code, text, headers and raise_for_status, which httpx2 responses have."""

    def __init__(self, client: httpx2.Client) -> None:
        self._client = client

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx2.Response:
        return self._client.get(url, params=params, headers=headers)

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx2.Response:
        if isinstance(data, str):
            return self._client.post(url, params=params, content=data, headers=headers)
        return self._client.post(url, params=params, data=data, headers=headers)

    def close(self) -> None:
        self._client.close()
