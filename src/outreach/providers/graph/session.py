"""Authenticated requests to Microsoft Graph for one mailbox, shared by the transport and the
inbox reader, and what Graph's error answers mean."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, Protocol

import httpx2

from outreach.clock import Clock, SystemClock
from outreach.providers.errors import AccountError, PermanentError, ProviderError, TransientError
from outreach.providers.graph.settings import GraphSettings
from outreach.words import counted

logger = logging.getLogger(__name__)


IMMUTABLE_IDS: Final = 'IdType="ImmutableId"'
"""https://learn.microsoft.com/en-us/graph/outlook-immutable-id: the header applies only to
the request that carries it, so every request carries it."""


class TokenSource(Protocol):
    """Where GraphSession gets its bearer tokens: the app's own (GraphTokens) or a person's
    (delegated.DelegatedTokens)."""

    def token(self, settings: GraphSettings) -> str:
        """A valid access token. AccountError when signing in is refused for good,
        TransientError when it cannot be done just now."""
        ...

    def forget(self, settings: GraphSettings, refused: str) -> None:
        """Graph refused this token: unless a newer one was handed out meanwhile (another
        connection met the refusal first), the next `token()` must be a fresh one."""
        ...


class GraphSession:
    """Authenticated requests to Graph for one mailbox, and what Graph's errors mean.

    Every request carries a token and `Prefer: IdType="ImmutableId"`. A 401 gets one fresh
    token and one more try (a token can be revoked before it expires); a second 401 means the
    app may no longer sign in to this mailbox. Connection errors are the caller's to judge,
    because whether an email may have gone depends on which request broke.
    """

    def __init__(
        self,
        settings: GraphSettings,
        tokens: TokenSource,
        *,
        clock: Clock | None = None,
        timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._tokens = tokens
        self._clock = clock or SystemClock()
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._client: httpx2.Client | None = None

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        prefer: tuple[str, ...] = (),
        timeout: float | None = None,
    ) -> httpx2.Response:
        """One request; raises AccountError for a token Graph refuses twice, and lets
        httpx2.TransportError through."""
        for attempt in (1, 2):
            token = self._tokens.token(self.settings)
            headers = {
                "Authorization": f"Bearer {token}",
                "Prefer": ", ".join((IMMUTABLE_IDS, *prefer)),
            }
            response = self._http().request(
                method,
                url,
                json=json,
                params=params,
                headers=headers,
                timeout=self._timeout if timeout is None else timeout,
            )
            if response.status_code != 401:
                return response
            self._tokens.forget(self.settings, token)
            if attempt == 1:
                logger.info(
                    "delivery.graph_token_refreshed",
                    extra={"mailbox": self.settings.mailbox, "reason": error_text(response)},
                )
        raise AccountError(
            f"Microsoft Graph refused the token of {self.settings.signed_in_as} for "
            f"{self.settings.mailbox} even after signing in again: the consent or secret was "
            f"revoked, or the app was disabled ({error_text(response)})."
        )

    def error_for(self, response: httpx2.Response, doing: str) -> ProviderError:
        """The transport error for a Graph error response to `doing` ("create the email")."""
        status = response.status_code
        code, message = error_of(response)
        reason = f"Microsoft Graph could not {doing}: {status} {code}: {message}".rstrip(": ")
        if status in (429, 503, 504) or status >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), self.now())
            return TransientError(reason, retry_after)
        if code in _NO_MAILBOX or (status == 404 and code not in NO_ITEM):
            return AccountError(
                f"Microsoft Graph has no mailbox {self.settings.mailbox} the app can use: check "
                f"the address and that it has an Exchange Online licence ({code}: {message})."
            )
        if status == 403 or code in _ACCOUNT_REFUSALS:
            return AccountError(
                f"Microsoft Graph does not let the app use the mailbox {self.settings.mailbox}: "
                f"grant it the Mail.Send and Mail.ReadWrite application permissions with admin "
                f"consent, and check any application access policy ({code}: {message})."
            )
        if code == "ErrorInvalidRecipients":
            return PermanentError(reason, address_rejected=True)
        return PermanentError(reason)

    def check_inbox(self) -> str:
        """Sign in, open the mailbox's inbox and say so; AccountError when that fails."""
        url = f"{self.settings.mailbox_url}/mailFolders/inbox"
        try:
            response = self.request("GET", url)
        except httpx2.TransportError as error:
            raise AccountError(
                f"Could not reach Microsoft Graph at {self.settings.graph_url}: "
                f"{error_detail(error)}."
            ) from error
        except ProviderError as error:
            raise AccountError(error.reason) from error
        if response.status_code != 200:
            raise AccountError(self.error_for(response, "open the inbox").reason)
        total = response.json().get("totalItemCount")
        size = f" ({counted(total, 'email')})" if isinstance(total, int) else ""
        return (
            f"Signed in as {self.settings.signed_in_as} and opened the inbox of "
            f"{self.settings.mailbox}{size}."
        )

    def now(self) -> datetime:
        return self._clock.now()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _http(self) -> httpx2.Client:
        if self._client is None:
            self._client = httpx2.Client(verify=self._ssl_context or True, timeout=self._timeout)
        return self._client


_NO_MAILBOX: Final = frozenset({"ErrorInvalidUser", "MailboxNotEnabledForRESTAPI"})
NO_ITEM: Final = frozenset({"ErrorItemNotFound"})
"""Graph's error codes for an email (or draft) that is not in the mailbox."""
_ACCOUNT_REFUSALS: Final = frozenset(
    {"ErrorAccessDenied", "ErrorSendAsDenied", "ErrorMessageSubmissionBlocked"}
)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110 10.2.3): a number of seconds or an
    HTTP date; None when absent or unreadable. A date in the past is 0."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def error_of(response: httpx2.Response) -> tuple[str, str]:
    """Graph's error code and message (https://learn.microsoft.com/en-us/graph/errors)."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return "", response.reason_phrase
    if not isinstance(error, dict):
        return str(error), ""
    return str(error.get("code", "")), " ".join(str(error.get("message", "")).split())


def error_text(response: httpx2.Response) -> str:
    """A Graph error response on one line: "429 ApplicationThrottled: …"."""
    code, message = error_of(response)
    return f"{response.status_code} {code}: {message}".rstrip(": ")


def error_detail(error: BaseException) -> str:
    """What an httpx2 failure was, in words for a person."""
    if isinstance(error, httpx2.TimeoutException):
        return "no answer in time"
    return str(error) or type(error).__name__
