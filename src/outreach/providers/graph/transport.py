"""Sending from a Microsoft 365 mailbox through Microsoft Graph, signed in as an app (client
credentials), and the pieces the Graph inbox reader shares. The only module importing msal.

A send follows the shape Microsoft documents for knowing afterwards what went out
(https://learn.microsoft.com/en-us/graph/outlook-immutable-id, "Immutable ID with sending
mail"): create the email as a draft with `Prefer: IdType="ImmutableId"`, keep its id, then send
the draft. The immutable id stays the same when Exchange moves the email to Sent Items, so
after a crash `status()` can ask whether it is still a draft or went out. A follow-up is a
reply to the earlier email (createReply), so Outlook files it in the same conversation.

What Graph carries differently from SMTP, and why:

- `internetMessageHeaders` takes only headers named `X-…`; anything else is refused with
  InvalidInternetMessageHeader ("…should start with 'x-' or 'X-'", microsoftgraph/
  msgraph-sdk-dotnet#2105, microsoft-graph-docs#21678). So only our X- headers go there.
- List-Unsubscribe goes as the MAPI property PidTagListUnsubscribe, `String 0x1045`, which
  Exchange's MIME writer turns into the List-Unsubscribe header (Outlook MAPI reference,
  "PidTagListUnsubscribe Canonical Property"; [MS-OXPROPS]).
- List-Unsubscribe-Post has no tagged property. [MS-OXCMAIL], on generating an arbitrary header
  (learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxcmail/
  d296c8c5-27c8-46d4-93a9-4da1d69175cf): a named string property in the PS_INTERNET_HEADERS set
  ({00020386-0000-0000-C000-000000000046}) whose name is the header name becomes that header
  when the MIME is written. Graph addresses such a property as
  `String {00020386-0000-0000-C000-000000000046} Name List-Unsubscribe-Post`. Documented for
  Exchange's MIME writer, not verified against Exchange Online here: `one_click_unsubscribe`
  on the settings turns it off for a tenant where it turns out to be dropped, and the
  transport then says it cannot offer one-click unsubscribe.
- In-Reply-To and References of a follow-up sent without an earlier provider id go as
  PidTagInReplyToId (`String 0x1042`) and PidTagInternetReferences (`String 0x1039`).
- The body is text or HTML, not both: for an HTML email Exchange writes the plain-text part
  itself from the HTML, so our own text version does not reach the recipient.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any, Final, Protocol
from urllib.parse import quote, urlsplit

import httpx2
import msal

from outreach.clock import Clock, SystemClock
from outreach.config import AUTHORITY_URL, GRAPH_URL
from outreach.providers.base import OnDraft, ProviderStatus
from outreach.providers.compose import envelope_address, to_mime
from outreach.providers.errors import (
    AccountError,
    DeliveryUncertain,
    PermanentError,
    ProviderError,
    TransientError,
)
from outreach.providers.limits import GRAPH_DEFAULT_LIMITS, SendingLimits
from outreach.providers.message import OutgoingMessage, SentMessage
from outreach.providers.throttle import SendingPace
from outreach.words import counted

__all__ = [
    "GRAPH_DEFAULT_LIMITS",
    "GraphSession",
    "GraphSettings",
    "GraphTokens",
    "GraphTransport",
    "SendingLimits",
    "retry_after_seconds",
]

logger = logging.getLogger(__name__)


IMMUTABLE_IDS: Final = 'IdType="ImmutableId"'
"""https://learn.microsoft.com/en-us/graph/outlook-immutable-id: the header applies only to
the request that carries it, so every request carries it."""

LIST_UNSUBSCRIBE: Final = "String 0x1045"
"""PidTagListUnsubscribe, written by Exchange as the List-Unsubscribe header."""
LIST_UNSUBSCRIBE_POST: Final = (
    "String {00020386-0000-0000-C000-000000000046} Name List-Unsubscribe-Post"
)
"""A PS_INTERNET_HEADERS named property ([MS-OXCMAIL]; see the module docstring)."""
IN_REPLY_TO: Final = "String 0x1042"
"""PidTagInReplyToId, written as In-Reply-To."""
REFERENCES: Final = "String 0x1039"
"""PidTagInternetReferences, written as References."""


@dataclass(frozen=True)
class GraphSettings:
    """How to reach one mailbox as an app registered in its tenant.

    `mailbox` is the user principal name or address to send from. The two URLs are Microsoft's
    global cloud by default; tests (and national clouds) point them elsewhere. Both must be
    https: MSAL refuses any other authority.
    """

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    mailbox: str
    graph_url: str = GRAPH_URL
    authority_url: str = AUTHORITY_URL
    one_click_unsubscribe: bool = True
    """Whether to ask Exchange for a List-Unsubscribe-Post header (see the module docstring)."""
    delegated: bool = False
    """Signed in as the mailbox's owner (graph_delegated.py) rather than as the app itself:
    the token reaches only their own mailbox, as /me."""

    def __post_init__(self) -> None:
        for name in ("tenant_id", "client_id", "client_secret", "mailbox"):
            if not getattr(self, name).strip():
                raise ValueError(f"a Graph sender needs a {name.replace('_', ' ')}")
        for name in ("graph_url", "authority_url"):
            if urlsplit(getattr(self, name)).scheme != "https":
                raise ValueError(f"the Graph {name.replace('_', ' ')} must be https")

    @property
    def authority(self) -> str:
        return f"{self.authority_url.rstrip('/')}/{self.tenant_id}"

    @property
    def scope(self) -> str:
        """`<Graph origin>/.default`: every application permission the admin consented to."""
        parts = urlsplit(self.graph_url)
        return f"{parts.scheme}://{parts.netloc}/.default"

    @property
    def delegated_scopes(self) -> list[str]:
        """What the mailbox's owner consents to: reading and writing their mail, and sending it
        (full URIs, so that a Graph elsewhere than Microsoft's global cloud is asked)."""
        parts = urlsplit(self.graph_url)
        return [
            f"{parts.scheme}://{parts.netloc}/{scope}" for scope in ("Mail.ReadWrite", "Mail.Send")
        ]

    @property
    def signed_in_as(self) -> str:
        if self.delegated:
            return f"{self.mailbox} (through app {self.client_id})"
        return f"app {self.client_id} in tenant {self.tenant_id}"

    @property
    def mailbox_url(self) -> str:
        if self.delegated:
            return f"{self.graph_url.rstrip('/')}/me"
        return f"{self.graph_url.rstrip('/')}/users/{quote(self.mailbox, safe='@')}"


class TokenSource(Protocol):
    """Where GraphSession gets its bearer tokens: the app's own (GraphTokens) or a person's
    (graph_delegated.DelegatedTokens)."""

    def token(self, settings: GraphSettings) -> str:
        """A valid access token. AccountError when signing in is refused for good,
        TransientError when it cannot be done just now."""
        ...

    def forget(self, settings: GraphSettings, refused: str) -> None:
        """Graph refused this token: unless a newer one was handed out meanwhile (another
        connection met the refusal first), the next `token()` must be a fresh one."""
        ...


# Signing in.


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
                f"{_detail(error)}."
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
                f"{_detail(error)}."
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


# Talking to Graph.


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
                    extra={"mailbox": self.settings.mailbox, "reason": _error_text(response)},
                )
        raise AccountError(
            f"Microsoft Graph refused the token of {self.settings.signed_in_as} for "
            f"{self.settings.mailbox} even after signing in again: the consent or secret was "
            f"revoked, or the app was disabled ({_error_text(response)})."
        )

    def error_for(self, response: httpx2.Response, doing: str) -> ProviderError:
        """The transport error for a Graph error response to `doing` ("create the email")."""
        status = response.status_code
        code, message = _error_of(response)
        reason = f"Microsoft Graph could not {doing}: {status} {code}: {message}".rstrip(": ")
        if status in (429, 503, 504) or status >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), self.now())
            return TransientError(reason, retry_after)
        if code in _NO_MAILBOX or (status == 404 and code not in _NO_ITEM):
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
                f"Could not reach Microsoft Graph at {self.settings.graph_url}: {_detail(error)}."
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
_NO_ITEM: Final = frozenset({"ErrorItemNotFound"})
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


def _error_of(response: httpx2.Response) -> tuple[str, str]:
    """Graph's error code and message (https://learn.microsoft.com/en-us/graph/errors)."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return "", response.reason_phrase
    if not isinstance(error, dict):
        return str(error), ""
    return str(error.get("code", "")), " ".join(str(error.get("message", "")).split())


def _error_text(response: httpx2.Response) -> str:
    code, message = _error_of(response)
    return f"{response.status_code} {code}: {message}".rstrip(": ")


def _detail(error: BaseException) -> str:
    if isinstance(error, httpx2.TimeoutException):
        return "no answer in time"
    return str(error) or type(error).__name__


# Sending.


_NOT_SENT: Final = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.WriteError,
    httpx2.WriteTimeout,
)
"""Failures before Graph had the whole request: no server acts on a request it did not get."""


class GraphTransport:
    """The Transport for one mailbox through Microsoft Graph.

    `send` creates a draft and sends it; `send_reply` does the same as a reply to an earlier
    email of the thread, when its provider id is known. Both accept `on_draft`, called with the
    draft's immutable id before the draft is sent: store it, and after a crash ask `status()`.

    A transient failure after the draft was made (the send throttled) deletes the draft, as
    far as Graph lets us, so retries do not fill the Drafts folder. A send that broke after
    Graph had the request (no answer in time, a 5xx other than 503) is DeliveryUncertain: the
    email may have gone, and only `status()` later can tell.

    `one_click_unsubscribe`: whether emails from this mailbox carry List-Unsubscribe-Post, so
    the UI can say when a sender cannot offer one-click unsubscribe. `pace`, shared by every
    transport of the mailbox in this process, spaces the sends to its per-minute limit. Not
    thread-safe (like SmtpTransport): one instance per thread; GraphTokens and the pace may be
    shared.
    """

    def __init__(
        self,
        settings: GraphSettings,
        tokens: TokenSource,
        *,
        clock: Clock | None = None,
        timeout: float = 30,
        send_timeout: float = 60,
        ssl_context: ssl.SSLContext | None = None,
        pace: SendingPace | None = None,
    ) -> None:
        self.settings = settings
        self.one_click_unsubscribe = settings.one_click_unsubscribe
        self._pace = pace
        self._session = GraphSession(
            settings, tokens, clock=clock, timeout=timeout, ssl_context=ssl_context
        )
        self._send_timeout = send_timeout

    def send(self, message: OutgoingMessage, *, on_draft: OnDraft | None = None) -> SentMessage:
        fields = self._fields(message, threaded_by_graph=False)
        draft = self._call("POST", self._messages(), "create the email", json=fields)
        return self._send_draft(message, draft, on_draft)

    def send_reply(
        self,
        message: OutgoingMessage,
        earlier_provider_id: str,
        *,
        on_draft: OnDraft | None = None,
    ) -> SentMessage:
        """Send `message` as a reply to the earlier email `earlier_provider_id` (its immutable
        id), in the same conversation, to `message.recipient` only.

        Graph threads the reply itself (In-Reply-To, References, conversationId). When the
        earlier email is gone (deleted from Sent Items), the message goes as a new email with
        its In-Reply-To and References, which still threads it for the recipient.
        """
        fields = self._fields(message, threaded_by_graph=True)
        created: dict[str, Any] = {"toRecipients": fields["toRecipients"]}
        if "internetMessageHeaders" in fields:
            # Settable only when the draft is made: message-update does not list them.
            created["internetMessageHeaders"] = fields["internetMessageHeaders"]
        url = f"{self._messages()}/{_segment(earlier_provider_id)}/createReply"
        try:
            response = self._session.request("POST", url, json={"message": created})
        except httpx2.TransportError as error:
            raise TransientError(self._unreachable("create the reply", error)) from error
        if response.status_code == 404 and _error_of(response)[0] in _NO_ITEM:
            logger.warning(
                "delivery.graph_reply_target_missing",
                extra={"mailbox": self.settings.mailbox, "provider_id": earlier_provider_id},
            )
            return self.send(message, on_draft=on_draft)
        if response.status_code not in (200, 201):
            raise self._session.error_for(response, "create the reply")
        draft: dict[str, Any] = response.json()
        changes = {
            name: fields[name]
            for name in ("from", "toRecipients", "subject", "body", "internetMessageId")
        }
        if "singleValueExtendedProperties" in fields:
            changes["singleValueExtendedProperties"] = fields["singleValueExtendedProperties"]
        try:
            updated = self._call(
                "PATCH",
                f"{self._messages()}/{_segment(draft['id'])}",
                "write the reply",
                json=changes,
            )
        except ProviderError:
            self.discard(draft["id"])
            raise
        return self._send_draft(message, {**draft, **updated}, on_draft)

    def status(self, provider_id: str) -> ProviderStatus:
        """Whether the email with this immutable id is still a draft, was sent, or is missing.

        For crash recovery of an email left `sending`: "draft" means it never went and may be
        sent again (delete the old draft first, or it stays in Drafts); "sent" means record it
        as sent. "missing" right after a send can mean Exchange has not yet filed it in Sent
        Items ("the copy isn't created until the message is sent successfully", per the
        immutable-id page), so ask again minutes later; still missing then, it was deleted by
        someone, and a person decides.
        """
        url = f"{self._messages()}/{_segment(provider_id)}"
        params = {"$select": "isDraft,internetMessageId,conversationId"}
        try:
            response = self._session.request("GET", url, params=params)
        except httpx2.TransportError as error:
            raise TransientError(self._unreachable("look up the email", error)) from error
        if response.status_code == 404 and _error_of(response)[0] in _NO_ITEM:
            return ProviderStatus.missing
        if response.status_code != 200:
            raise self._session.error_for(response, "look up the email")
        is_draft = response.json().get("isDraft")
        return ProviderStatus.draft if is_draft else ProviderStatus.sent

    def check(self) -> str:
        return self._session.check_inbox()

    def close(self) -> None:
        """Let go of the HTTP connections; the next call opens new ones."""
        self._session.close()

    # Steps.

    def _send_draft(
        self, message: OutgoingMessage, draft: Mapping[str, Any], on_draft: OnDraft | None
    ) -> SentMessage:
        draft_id = str(draft["id"])
        if on_draft is not None:
            on_draft(draft_id)
        self._submit(draft_id)
        return SentMessage(
            message_id=str(draft.get("internetMessageId") or message.message_id),
            provider_id=draft_id,
            conversation_id=draft.get("conversationId"),
        )

    def _submit(self, draft_id: str) -> None:
        url = f"{self._messages()}/{_segment(draft_id)}/send"
        if self._pace is not None:
            self._pace.wait()
        try:
            response = self._session.request("POST", url, timeout=self._send_timeout)
        except _NOT_SENT as error:
            self.discard(draft_id)
            raise TransientError(self._unreachable("send the email", error)) from error
        except httpx2.TransportError as error:
            raise DeliveryUncertain(
                f"The connection to Microsoft Graph broke after it was asked to send the email "
                f"(draft {draft_id}), before it answered: it may or may not have been sent "
                f"({_detail(error)}). Its status in the mailbox tells."
            ) from error
        except ProviderError:
            self.discard(draft_id)
            raise
        if response.status_code in (200, 202, 204):
            return
        status = response.status_code
        if status >= 500 and status != 503:
            raise DeliveryUncertain(
                f"Microsoft Graph answered the send of draft {draft_id} with "
                f"{_error_text(response)}: it may or may not have been sent. Its status in the "
                f"mailbox tells."
            )
        self.discard(draft_id)
        raise self._session.error_for(response, "send the email")

    def discard(self, draft_id: str) -> None:
        """Delete a draft that was not sent; best effort, since a throttled mailbox may refuse
        this too, and a leftover draft is only clutter."""
        try:
            self._session.request("DELETE", f"{self._messages()}/{_segment(draft_id)}")
        except (httpx2.TransportError, ProviderError):
            logger.info(
                "delivery.graph_draft_left",
                extra={"mailbox": self.settings.mailbox, "provider_id": draft_id},
            )

    def _call(self, method: str, url: str, doing: str, *, json: Any = None) -> dict[str, Any]:
        try:
            response = self._session.request(method, url, json=json)
        except httpx2.TransportError as error:
            raise TransientError(self._unreachable(doing, error)) from error
        if response.status_code not in (200, 201):
            raise self._session.error_for(response, doing)
        body: dict[str, Any] = response.json()
        return body

    def _messages(self) -> str:
        return f"{self.settings.mailbox_url}/messages"

    def _unreachable(self, doing: str, error: Exception) -> str:
        return (
            f"Could not reach Microsoft Graph to {doing} ({_detail(error)}); "
            f"the email was not sent."
        )

    # The email as Graph's message resource.

    def _fields(self, message: OutgoingMessage, *, threaded_by_graph: bool) -> dict[str, Any]:
        """The message resource's writable properties for `message`, from the same MIME
        composition SMTP sends, so both refuse the same malformed emails and write names,
        subjects and unsubscribe URLs the same way."""
        try:
            mime = to_mime(message)
            sender = envelope_address(message.sender.email)
            recipient = envelope_address(message.recipient.email)
        except ValueError as error:
            raise PermanentError(f"The email could not be put together: {error}") from error
        body = (
            {"contentType": "html", "content": message.html}
            if message.html is not None
            else {"contentType": "text", "content": message.text}
        )
        fields: dict[str, Any] = {
            "subject": str(mime["Subject"] or ""),
            "body": body,
            "from": _recipient(_display_name(mime, "From"), sender),
            "toRecipients": [_recipient(_display_name(mime, "To"), recipient)],
            "internetMessageId": message.message_id,
        }
        custom = [
            {"name": name, "value": str(value)}
            for name, value in mime.items()
            if name.lower().startswith("x-")
        ]
        if custom:
            fields["internetMessageHeaders"] = custom
        properties = []
        raw = _raw_headers(mime)
        if "list-unsubscribe" in raw:
            properties.append({"id": LIST_UNSUBSCRIBE, "value": raw["list-unsubscribe"]})
        if "list-unsubscribe-post" in raw and self.one_click_unsubscribe:
            properties.append({"id": LIST_UNSUBSCRIBE_POST, "value": raw["list-unsubscribe-post"]})
        if not threaded_by_graph:
            if "in-reply-to" in raw:
                properties.append({"id": IN_REPLY_TO, "value": raw["in-reply-to"]})
            if "references" in raw:
                properties.append({"id": REFERENCES, "value": raw["references"]})
        if properties:
            fields["singleValueExtendedProperties"] = properties
        return fields


def _raw_headers(mime: EmailMessage) -> dict[str, str]:
    """The headers compose wrote, by lower-case name, unfolded (RFC 5322 2.2.3): a MAPI
    property holds the value on one line and Exchange folds it again when writing the MIME."""
    return {name.lower(): value.replace("\r\n", "") for name, value in mime.raw_items()}


def _display_name(mime: EmailMessage, header: str) -> str | None:
    parsed = mime[header]
    if isinstance(parsed, AddressHeader) and parsed.addresses:
        return parsed.addresses[0].display_name or None
    return None


def _recipient(name: str | None, address: str) -> dict[str, Any]:
    email_address = {"address": address} | ({"name": name} if name else {})
    return {"emailAddress": email_address}


def _segment(provider_id: str) -> str:
    """An id as one path segment: immutable ids hold `=` and may hold `/` or `+`."""
    return quote(provider_id, safe="")
