"""A fake Microsoft Graph and Microsoft identity platform on loopback, over TLS (MSAL takes only
https authorities), speaking the request and response shapes Microsoft documents:

- sign-in: the tenant's OpenID configuration and the client-credentials token endpoint
  (learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc,
  .../v2-oauth2-client-creds-grant-flow: token response and error shapes, AADSTS codes); and a
  person's sign-in by the authorization code flow with PKCE (.../v2-oauth2-auth-code-flow: the
  authorize redirect with code, state and client_info, or error and error_description; the code
  and refresh_token grants; an id_token whose nonce is the one the authorize request carried),
  the person consenting at once; their token reaches their own mailbox as /me;
- mail: create message (graph/api/user-post-messages), update (message-update), send
  (message-send: 202 Accepted, no body), createReply (message-createreply: to the original's
  replyTo or from, a comment or a body but not both, In-Reply-To and References from the
  original, an Inbox message's too), get and delete,
  the MIME of a message (message-get, "$value"), the Inbox folder (mailfolder-get), and the
  Inbox delta query with @odata.nextLink and @odata.deltaLink pages (graph/delta-query-messages,
  api/message-delta: changeType, $filter=receivedDateTime ge, Prefer: odata.maxpagesize);
- immutable ids (graph/outlook-immutable-id): with `Prefer: IdType="ImmutableId"` a message
  keeps its id from draft to Sent Items; without it, the id changes when the message moves;
- errors as graph/errors describes them: {"error": {"code", "message", "innerError"}}, 429 and
  503 with Retry-After, 401 InvalidAuthenticationToken, 403 ErrorAccessDenied, 400
  ErrorInvalidRecipients and InvalidInternetMessageHeader (names must start with X-).

It keeps Drafts, Sent Items and an Inbox. A sent email is written as MIME the way Exchange's
MIME writer does ([MS-OXCMAIL]): from the message's properties, with List-Unsubscribe from
PidTagListUnsubscribe, In-Reply-To and References from their MAPI properties, and a header for
each PS_INTERNET_HEADERS named property. Tests drop replies (MIME) into the Inbox.

    with FakeGraph() as graph:
        transport = GraphTransport(settings_for(graph), GraphTokens(ssl_context=...), ...)
        graph.delivered()   # the MIME of each email sent, in order
        graph.requests      # every request, recorded

The `fake_graph` fixture reaches every test through tests/conftest.py's `pytest_plugins`.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import re
import secrets
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pytest

from outreach.providers.graph.settings import GraphSettings
from tests.loopback import LoopbackServer
from tests.smtp_server import tls_files

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "MAILBOX",
    "TENANT",
    "FakeGraph",
    "Request",
    "fake_graph_fixture",
    "settings_for",
]

TENANT = "7f3c1f2e-4b5a-4c6d-8e9f-0a1b2c3d4e5f"
CLIENT_ID = "0c1d2e3f-aaaa-4bbb-8ccc-123456789abc"
CLIENT_SECRET = "fake.secret~value"
MAILBOX = "grace@acme.example"

PS_INTERNET_HEADERS = "{00020386-0000-0000-C000-000000000046}"
_NAMED_HEADER = re.compile(r"String \{00020386-0000-0000-C000-000000000046\} Name (\S+)", re.I)
_PROPERTY_ID = re.compile(r"String (0x[0-9A-Fa-f]{4}|\{[0-9A-Fa-f-]{36}\} Name \S+)")
_MAPI_HEADERS = {"0x1045": "List-Unsubscribe", "0x1042": "In-Reply-To", "0x1039": "References"}
_FILTER = re.compile(r"receivedDateTime\s+(ge|gt)\s+(\S+)", re.I)
_TAG = re.compile(r"<[^>]+>")
_KEY = re.compile(r"^(\w+)\('([^'/]*)'\)$")


def settings_for(graph: FakeGraph, **changes: Any) -> GraphSettings:
    """GraphSettings pointed at `graph` for its app and mailbox."""
    settings = GraphSettings(
        tenant_id=TENANT,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        mailbox=MAILBOX,
        graph_url=graph.graph_url,
        authority_url=graph.base_url,
    )
    return replace(settings, **changes)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """Decoded, without the query."""
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Failure:
    method: str
    path_suffix: str
    status: int
    code: str
    message: str
    retry_after: str | None
    times: int


@dataclass
class _Item:
    """A message in the mailbox: the Graph resource (without its id) and where it is."""

    immutable_id: str
    rest_id: str
    folder: str
    resource: dict[str, Any]
    mime: bytes | None = None
    """Inbox messages: as delivered."""
    threading: dict[str, str] = field(default_factory=dict)
    """In-Reply-To and References Exchange sets on a reply made with createReply."""


class FakeGraph(LoopbackServer):
    def __init__(self, *, mailboxes: tuple[str, ...] = (MAILBOX,)) -> None:
        self._lock = threading.Lock()
        self._mailboxes = {mailbox.lower() for mailbox in mailboxes}
        self._apps: dict[tuple[str, str], str] = {(TENANT, CLIENT_ID): CLIENT_SECRET}
        self._refused_secrets: set[tuple[str, str]] = set()
        self._issued: dict[str, tuple[str, str, str | None]] = {}
        """Access token → (tenant, client id, the person signed in; None for the app itself)."""
        self._codes: dict[str, _Grant] = {}
        self._refresh_tokens: dict[str, _Grant] = {}
        self._signing_in = MAILBOX
        self._declining = False
        self._revoked: set[str] = set()
        self._denied = False
        self._items: dict[str, _Item] = {}
        self._sent: list[tuple[dict[str, Any], bytes]] = []
        """What went out, as sent: the message (with its immutable id) and its MIME."""
        self._changes: list[tuple[str, str]] = []
        """The Inbox's change log: (immutable id, created | updated | deleted)."""
        self._sync_states: dict[str, dict[str, Any]] = {}
        self._expired_status = 410
        self._failures: list[_Failure] = []
        self._rejected: set[str] = set()
        self._hold_seconds = 0.0
        self._release = threading.Event()
        self._requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Running.

    def start(self) -> Self:
        owner = self

        class Handler(_Handler):
            graph = owner

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.socket = (
            tls_files()
            .server_context()
            .wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    @staticmethod
    def client_context() -> ssl.SSLContext:
        """A client TLS context that trusts this server's certificate."""
        return tls_files().client_context()

    # What happened.

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def graph_requests(self) -> list[Request]:
        return [request for request in self.requests if request.path.startswith("/v1.0/")]

    def token_requests(self, tenant: str | None = None) -> int:
        return sum(
            1
            for request in self.requests
            if request.path.endswith("/oauth2/v2.0/token")
            and (tenant is None or request.path.startswith(f"/{tenant}/"))
        )

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The emails sent, in order, as they were when sent, with their immutable ids."""
        with self._lock:
            return [resource for resource, _ in self._sent]

    @property
    def drafts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                self._resource(item, immutable=True)
                for item in self._items.values()
                if item.folder == "drafts"
            ]

    def delivered(self) -> list[bytes]:
        """The MIME of each email sent, as Exchange would write it, in order."""
        with self._lock:
            return [mime for _, mime in self._sent]

    def unread_in_inbox(self) -> int:
        with self._lock:
            return sum(
                1
                for item in self._items.values()
                if item.folder == "inbox" and not item.resource["isRead"]
            )

    def extended_properties(self, immutable_id: str) -> dict[str, str]:
        with self._lock:
            item = self._items[immutable_id]
            return {p["id"]: p["value"] for p in item.resource["singleValueExtendedProperties"]}

    # The mailbox, from the outside.

    def deliver_to_inbox(
        self,
        raw: bytes,
        *,
        received_at: datetime | None = None,
        conversation_id: str | None = None,
    ) -> str:
        """An email arriving in the Inbox (now, unless told when); returns its immutable id."""
        received_at = received_at or datetime.now(UTC)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        senders = getaddresses([str(parsed.get("From", ""))])
        recipients = getaddresses([str(parsed.get("To", ""))])
        resource = {
            "subject": str(parsed.get("Subject", "")),
            "from": _recipient(*senders[0]) if senders else None,
            "toRecipients": [_recipient(name, address) for name, address in recipients],
            "internetMessageId": str(parsed.get("Message-ID", "")) or _new_message_id(),
            "conversationId": conversation_id or _new_conversation_id(),
            "receivedDateTime": _timestamp(received_at),
            "sentDateTime": _timestamp(received_at),
            "isDraft": False,
            "isRead": False,
            "singleValueExtendedProperties": [],
        }
        with self._lock:
            item = self._add("inbox", resource)
            item.mime = raw
            self._changes.append((item.immutable_id, "created"))
            return item.immutable_id

    def mark_read(self, immutable_id: str) -> None:
        with self._lock:
            self._items[immutable_id].resource["isRead"] = True
            self._changes.append((immutable_id, "updated"))

    def delete(self, immutable_id: str) -> None:
        with self._lock:
            item = self._items.pop(immutable_id)
            if item.folder == "inbox":
                self._changes.append((immutable_id, "deleted"))

    # Misbehaviour on demand.

    def fail_next(
        self,
        method: str,
        path_suffix: str,
        status: int,
        *,
        code: str,
        message: str = "",
        retry_after: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests whose path ends with `path_suffix` with an error."""
        with self._lock:
            self._failures.append(
                _Failure(method, path_suffix, status, code, message, retry_after, times)
            )

    def reject_recipient(self, address: str) -> None:
        """Refuse to send to `address` (400 ErrorInvalidRecipients on send)."""
        with self._lock:
            self._rejected.add(address.lower())

    def hold_next_send(self, seconds: float) -> None:
        """Send the next email, but answer only after `seconds` (or when stopped)."""
        with self._lock:
            self._hold_seconds = seconds

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (401); new ones may be had."""
        with self._lock:
            self._revoked |= set(self._issued)

    def sign_in_next_as(self, mailbox: str, *, decline: bool = False) -> None:
        """Who signs in at the next authorize request, and whether they decline consent."""
        with self._lock:
            self._mailboxes.add(mailbox.lower())
            self._signing_in, self._declining = mailbox, decline

    def revoke_refresh_tokens(self) -> None:
        """A person's sign-in ends (password changed, access revoked): refresh tokens fail."""
        with self._lock:
            self._refresh_tokens.clear()

    def refresh_grants(self) -> int:
        return sum(
            1
            for request in self.requests
            if request.path.endswith("/oauth2/v2.0/token")
            and b"grant_type=refresh_token" in request.body
        )

    def revoke_secret(self, tenant: str = TENANT, client_id: str = CLIENT_ID) -> None:
        """The app's secret was deleted: the token endpoint refuses it (invalid_client)."""
        with self._lock:
            self._refused_secrets.add((tenant, client_id))

    def deny_access(self) -> None:
        """The app lost its mail permissions: Graph answers 403 ErrorAccessDenied."""
        with self._lock:
            self._denied = True

    def add_app(self, tenant: str, client_id: str, secret: str) -> None:
        with self._lock:
            self._apps[(tenant, client_id)] = secret

    def expire_sync_states(self, status: int = 410) -> None:
        """Every nextLink and deltaLink handed out stops working, as when Exchange drops old
        delta tokens from its cache (graph/delta-query-overview)."""
        with self._lock:
            self._sync_states.clear()
            self._expired_status = status

    # Requests.

    def handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        request = Request(
            method=handler.command,
            path=unquote(parts.path),
            query={name: values[0] for name, values in parse_qs(parts.query).items()},
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=handler.rfile.read(length) if length else b"",
        )
        segments = [unquote(segment) for segment in parts.path.split("/")[1:]]
        with self._lock:
            self._requests.append(request)
            failure = self._scripted_failure(request)
        if failure is not None:
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            handler.reply(failure.status, _graph_error(failure.code, failure.message), headers)
            return
        if len(segments) == 4 and segments[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            self._openid_configuration(handler, segments[0])
        elif len(segments) == 4 and segments[1:] == ["oauth2", "v2.0", "authorize"]:
            self._authorize(handler, segments[0], request)
        elif len(segments) == 4 and segments[1:] == ["oauth2", "v2.0", "token"]:
            self._token(handler, segments[0], request)
        elif len(segments) >= 3 and segments[0] == "v1.0" and segments[1] == "users":
            self._graph(handler, request, segments[2], segments[3:])
        elif len(segments) >= 2 and segments[0] == "v1.0" and segments[1] == "me":
            self._graph(handler, request, None, segments[2:])
        else:
            handler.reply(404, _graph_error("ResourceNotFound", "Resource not found."))

    def _scripted_failure(self, request: Request) -> _Failure | None:
        for failure in self._failures:
            if failure.method == request.method and request.path.endswith(failure.path_suffix):
                failure.times -= 1
                if failure.times == 0:
                    self._failures.remove(failure)
                return failure
        return None

    # Sign-in.

    def _openid_configuration(self, handler: _Handler, tenant: str) -> None:
        if tenant not in MULTI_TENANT and not any(known == tenant for known, _ in self._apps):
            handler.reply(400, _aad_error("invalid_tenant", 90002, f"Tenant '{tenant}' not found."))
            return
        base = f"{self.base_url}/{tenant}"
        handler.reply(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "tenant_region_scope": "EU",
            },
        )

    def _app_secret(self, tenant: str, client_id: str) -> str | None:
        """The app's secret; a multi-tenant authority (common, ...) finds the app anywhere."""
        if tenant in MULTI_TENANT:
            found = [secret for (_, known), secret in self._apps.items() if known == client_id]
            return found[0] if found else None
        return self._apps.get((tenant, client_id))

    def _authorize(self, handler: _Handler, tenant: str, request: Request) -> None:
        """The sign-in page, with the person signing in and consenting at once: a redirect back
        with a code, or with the error when they decline."""
        query = request.query
        redirect = query.get("redirect_uri", "")
        with self._lock:
            known = self._app_secret(tenant, query.get("client_id", "")) is not None
            user, declining = self._signing_in, self._declining
        if not known or not redirect.startswith("http"):
            handler.reply(400, _aad_error("invalid_request", 700016, "Unknown app or redirect."))
            return
        answer = {"state": query.get("state", "")}
        if declining:
            answer |= {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
            }
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            answer |= {
                "error": "invalid_request",
                "error_description": "AADSTS9002325: Proof Key for Code Exchange is required.",
            }
        else:
            code = secrets.token_urlsafe(32)
            with self._lock:
                self._codes[code] = _Grant(
                    tenant,
                    query.get("client_id", ""),
                    user,
                    query.get("scope", ""),
                    redirect,
                    query.get("code_challenge", ""),
                    query.get("nonce", ""),
                )
            answer |= {"code": code, "client_info": _client_info(user)}
        separator = "&" if "?" in redirect else "?"
        handler.reply(302, None, {"Location": f"{redirect}{separator}{urlencode(answer)}"})

    def _token(self, handler: _Handler, tenant: str, request: Request) -> None:
        form = {name: values[0] for name, values in parse_qs(request.body.decode()).items()}
        client_id = form.get("client_id", "")
        with self._lock:
            secret = self._app_secret(tenant, client_id)
            refused = (tenant, client_id) in self._refused_secrets
        grant_type = form.get("grant_type")
        if grant_type in ("authorization_code", "refresh_token"):
            self._personal_token(handler, form, secret)
        elif grant_type != "client_credentials":
            handler.reply(400, _aad_error("unsupported_grant_type", 70003, "Unsupported grant."))
        elif not form.get("scope", "").endswith("/.default"):
            handler.reply(
                400, _aad_error("invalid_scope", 1002012, "The scope must end in /.default.")
            )
        elif secret is None:
            handler.reply(
                400,
                _aad_error(
                    "unauthorized_client",
                    700016,
                    f"Application with identifier '{client_id}' was not found in the directory "
                    f"'{tenant}'.",
                ),
            )
        elif refused or form.get("client_secret") != secret:
            handler.reply(
                401,
                _aad_error(
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the "
                    f"request is the client secret value, not the client secret ID, for a "
                    f"secret added to app '{client_id}'.",
                ),
            )
        else:
            token = f"eyJ0eXAiOiJKV1Qi.{secrets.token_urlsafe(24)}"
            with self._lock:
                self._issued[token] = (tenant, client_id, None)
            handler.reply(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": 3599,
                    "ext_expires_in": 3599,
                    "access_token": token,
                },
            )

    def _personal_token(self, handler: _Handler, form: dict[str, str], secret: str | None) -> None:
        """The code grant (PKCE checked) and the refresh grant of a person's sign-in."""
        if secret is None or form.get("client_secret") != secret:
            handler.reply(401, _aad_error("invalid_client", 7000215, "Invalid client secret."))
            return
        with self._lock:
            if form.get("grant_type") == "refresh_token":
                grant = self._refresh_tokens.pop(form.get("refresh_token", ""), None)
                problem = None if grant else (700082, "The refresh token has expired.")
            else:
                grant = self._codes.pop(form.get("code", ""), None)
                problem = _code_problem(grant, form)
        if grant is None or problem is not None:
            code, text = problem or (70008, "The provided authorization code is invalid.")
            handler.reply(400, _aad_error("invalid_grant", code, text))
            return
        token, refresh = (f"eyJ0eXAiOiJKV1Qi.{secrets.token_urlsafe(24)}" for _ in range(2))
        with self._lock:
            self._issued[token] = (grant.tenant, grant.client_id, grant.user)
            self._refresh_tokens[refresh] = grant
        scopes = " ".join(
            scope for scope in grant.scope.split() if scope not in ("openid", "offline_access")
        )
        handler.reply(
            200,
            {
                "token_type": "Bearer",
                "scope": scopes,
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
                "refresh_token": refresh,
                "id_token": _id_token(self.base_url, grant),
                "client_info": _client_info(grant.user),
            },
        )

    # Graph.

    def _graph(
        self, handler: _Handler, request: Request, user: str | None, rest: list[str]
    ) -> None:
        """`user` None is /me: the person the token was issued to."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            known = token in self._issued and token not in self._revoked
            person = self._issued[token][2] if known else None
            denied = self._denied
        if not known:
            handler.reply(
                401,
                _graph_error(
                    "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
                ),
            )
            return
        if user is None and person is None:
            handler.reply(
                400,
                _graph_error(
                    "BadRequest", "/me request is only valid with delegated authentication flow."
                ),
            )
            return
        user = user or person
        assert user is not None
        if denied or (person is not None and person.lower() != user.lower()):
            handler.reply(
                403, _graph_error("ErrorAccessDenied", "Access is denied. Check credentials.")
            )
            return
        if user.lower() not in self._mailboxes:
            handler.reply(
                404, _graph_error("ErrorInvalidUser", f"The requested user '{user}' is invalid.")
            )
            return
        # OData also addresses an entity by key in parentheses, as Graph's own links do:
        # mailFolders('inbox') is mailFolders/inbox.
        rest = [part for segment in rest for part in _keyed(segment)]
        prefer = _preferences(request.headers.get("prefer", ""))
        immutable = prefer.get("IdType") == '"ImmutableId"'
        applied = {"Preference-Applied": 'IdType="ImmutableId"'} if immutable else {}
        with self._lock:
            answer = self._mail(request, rest, prefer, immutable)
        status, body = answer
        if status == 202 and rest[-1:] == ["send"] and self._hold_seconds:
            seconds, self._hold_seconds = self._hold_seconds, 0.0
            self._release.wait(seconds)
        if isinstance(body, bytes):
            handler.reply_bytes(status, body, "text/plain")
        else:
            handler.reply(status, body, applied)

    def _mail(
        self, request: Request, rest: list[str], prefer: dict[str, str], immutable: bool
    ) -> tuple[int, dict[str, Any] | bytes | None]:
        method = request.method
        if rest == ["mailFolders", "inbox"] and method == "GET":
            count = sum(1 for item in self._items.values() if item.folder == "inbox")
            return 200, {
                "id": "AAMkAGI2TG93AAA=",
                "displayName": "Inbox",
                "parentFolderId": "AAMkAGI2TGuLAAA=",
                "childFolderCount": 0,
                "unreadItemCount": count,
                "totalItemCount": count,
                "isHidden": False,
            }
        if rest == ["mailFolders", "inbox", "messages", "delta"] and method == "GET":
            return self._delta(request, prefer, immutable)
        if rest == ["messages"] and method == "POST":
            return self._create(request.json(), immutable)
        if len(rest) < 2 or rest[0] != "messages":
            return 404, _graph_error("ResourceNotFound", "Resource not found for the segment.")
        item = self._find(rest[1])
        if item is None:
            return 404, _graph_error(
                "ErrorItemNotFound", "The specified object was not found in the store."
            )
        action = rest[2:]
        if action == [] and method == "GET":
            return 200, self._resource(item, immutable, request.query.get("$select"))
        if action == [] and method == "PATCH":
            return self._update(item, request.json(), immutable)
        if action == [] and method == "DELETE":
            del self._items[item.immutable_id]
            return 204, None
        if action == ["$value"] and method == "GET":
            return 200, _mime_of(item)
        if action == ["send"] and method == "POST":
            return self._send(item)
        if action == ["createReply"] and method == "POST":
            return self._create_reply(item, request.json() if request.body else {}, immutable)
        return 405, _graph_error("ErrorInvalidRequest", "The OData request is not supported.")

    def _create(self, fields: dict[str, Any], immutable: bool) -> tuple[int, dict[str, Any]]:
        refused = _refused_fields(fields)
        if refused is not None:
            return 400, refused
        resource = {
            "subject": "",
            "body": {"contentType": "text", "content": ""},
            "from": _recipient(None, next(iter(self._mailboxes))),
            "toRecipients": [],
            "internetMessageId": _new_message_id(),
            "conversationId": _new_conversation_id(),
            "createdDateTime": _timestamp(datetime.now(UTC)),
            "isDraft": True,
            "isRead": True,
            "internetMessageHeaders": [],
            "singleValueExtendedProperties": [],
        } | fields
        item = self._add("drafts", resource)
        return 201, self._resource(item, immutable)

    def _update(
        self, item: _Item, fields: dict[str, Any], immutable: bool
    ) -> tuple[int, dict[str, Any]]:
        refused = _refused_fields(fields)
        if refused is not None:
            return 400, refused
        if "internetMessageHeaders" in fields:
            return 400, _graph_error(
                "ErrorInvalidPropertyUpdateSentMessage",
                "internetMessageHeaders can be set only when the message is created.",
            )
        draft_only = {"body", "subject", "internetMessageId", "replyTo"}
        if not item.resource["isDraft"] and draft_only & set(fields):
            return 400, _graph_error(
                "ErrorInvalidPropertyUpdateSentMessage",
                "Update operation is invalid for property of a sent message.",
            )
        properties = {p["id"]: p for p in item.resource["singleValueExtendedProperties"]}
        for update in fields.pop("singleValueExtendedProperties", []):
            properties[update["id"]] = update
        item.resource |= fields
        item.resource["singleValueExtendedProperties"] = list(properties.values())
        return 200, self._resource(item, immutable)

    def _send(self, item: _Item) -> tuple[int, dict[str, Any] | None]:
        if not item.resource["isDraft"]:
            return 400, _graph_error("ErrorInvalidRequest", "The message was already sent.")
        recipients = [r["emailAddress"]["address"] for r in item.resource["toRecipients"]]
        for address in recipients:
            if address.lower() in self._rejected or "@" not in address:
                return 400, _graph_error(
                    "ErrorInvalidRecipients",
                    f"At least one recipient isn't valid., Recipient '{address}' isn't "
                    "resolved. All recipients must be resolved before a message can be "
                    "submitted.",
                )
        if not recipients:
            return 400, _graph_error(
                "ErrorInvalidRecipients", "At least one recipient is required."
            )
        now = _timestamp(datetime.now(UTC))
        item.resource |= {"isDraft": False, "sentDateTime": now, "receivedDateTime": now}
        self._move(item, "sentitems")
        self._sent.append((self._resource(item, immutable=True), _mime_of(item)))
        return 202, None

    def _create_reply(
        self, original: _Item, parameters: dict[str, Any], immutable: bool
    ) -> tuple[int, dict[str, Any]]:
        source = original.resource
        changes = dict(parameters.get("message", {}))
        if "body" in changes and "comment" in parameters:
            return 400, _graph_error(
                "ErrorInvalidRequest", "The comment and the message body can't both be set."
            )
        refused = _refused_fields(changes)
        if refused is not None:
            return 400, refused
        reply_to = source.get("replyTo") or [source["from"]]
        quoted = _TAG.sub("", str(source.get("body", {}).get("content", "")))
        resource = {
            "subject": f"RE: {source.get('subject', '')}",
            "body": {
                "contentType": "html",
                "content": f"<html><body>{parameters.get('comment', '')}<hr>{quoted}</body></html>",
            },
            "from": _recipient(None, next(iter(self._mailboxes))),
            "toRecipients": reply_to,
            "internetMessageId": _new_message_id(),
            "conversationId": source["conversationId"],
            "createdDateTime": _timestamp(datetime.now(UTC)),
            "isDraft": True,
            "isRead": True,
            "internetMessageHeaders": [],
            "singleValueExtendedProperties": [],
        } | changes
        item = self._add("drafts", resource)
        earlier = (
            original.threading.get("References")
            or _props(original).get("0x1039")
            or _delivered_references(original)
        )
        references = f"{earlier} {source['internetMessageId']}".strip()
        item.threading = {"In-Reply-To": source["internetMessageId"], "References": references}
        return 201, self._resource(item, immutable)

    def _delta(
        self, request: Request, prefer: dict[str, str], immutable: bool
    ) -> tuple[int, dict[str, Any]]:
        page_size = int(prefer.get("odata.maxpagesize", "10"))
        token = request.query.get("$skiptoken") or request.query.get("$deltatoken")
        if token is not None:
            state = self._sync_states.pop(token, None)
            if state is None:
                status = self._expired_status
                code = "SyncStateNotFound" if status == 410 else "syncStateNotFound"
                return status, _graph_error(
                    code,
                    "The sync state generation is not found. The delta token is expired and "
                    "data must be synchronized again.",
                )
            # Graph hands out a new token with each page; the one used stays valid (a client
            # may repeat a poll whose results it did not store).
            self._sync_states[token] = state
            if "$deltatoken" in request.query:
                state = self._new_round(state)
        else:
            found = _FILTER.search(request.query.get("$filter", ""))
            params = {
                "since": datetime.fromisoformat(found.group(2)) if found else None,
                "strict": bool(found and found.group(1).lower() == "gt"),
                "change_type": request.query.get("changeType"),
                "select": request.query.get("$select"),
            }
            entries = [
                ("created", key)
                for key, item in self._items.items()
                if item.folder == "inbox" and _matches(item, params)
            ]
            state = {"params": params, "entries": entries, "end": len(self._changes)}
        params = state["params"]
        page, remaining = state["entries"][:page_size], state["entries"][page_size:]
        values = []
        for kind, key in page:
            if kind == "deleted":
                values.append(
                    {
                        "@odata.type": "#microsoft.graph.message",
                        "id": key,
                        "@removed": {"reason": "deleted"},
                    }
                )
            elif key in self._items:
                values.append(self._resource(self._items[key], immutable, params["select"]))
        link = f"{self.graph_url}/users/{quote(next(iter(self._mailboxes)))}/mailFolders('inbox')"
        new_token = secrets.token_urlsafe(18)
        body: dict[str, Any] = {"@odata.context": f"{self.graph_url}/$metadata#Collection(message)"}
        if remaining:
            self._sync_states[new_token] = state | {"entries": remaining}
            body["@odata.nextLink"] = f"{link}/messages/delta?$skiptoken={new_token}"
        else:
            self._sync_states[new_token] = {"params": params, "entries": [], "end": state["end"]}
            body["@odata.deltaLink"] = f"{link}/messages/delta?$deltatoken={new_token}"
        body["value"] = values
        return 200, body

    def _new_round(self, state: dict[str, Any]) -> dict[str, Any]:
        """The changes since the round that ended with this delta token."""
        params = state["params"]
        kinds: dict[str, list[str]] = {}
        for key, kind in self._changes[state["end"] :]:
            kinds.setdefault(key, []).append(kind)
        entries = []
        for key, seen in kinds.items():
            kind = "deleted" if "deleted" in seen else "created" if "created" in seen else "updated"
            wanted = params["change_type"]
            if wanted is not None and wanted not in seen:
                continue
            if kind == "deleted" and "created" in seen:
                continue  # came and went between two rounds: Graph reports neither
            if kind != "deleted" and not _matches(self._items[key], params):
                continue
            entries.append((wanted or kind, key))
        return {"params": params, "entries": entries, "end": len(self._changes)}

    # The store.

    def _add(self, folder: str, resource: dict[str, Any]) -> _Item:
        item = _Item(_new_immutable_id(), _new_rest_id(), folder, resource)
        self._items[item.immutable_id] = item
        return item

    def _move(self, item: _Item, folder: str) -> None:
        """A move gives the message a new regular id; its immutable id stays."""
        item.folder = folder
        item.rest_id = _new_rest_id()

    def _find(self, key: str) -> _Item | None:
        if key in self._items:
            return self._items[key]
        return next((item for item in self._items.values() if item.rest_id == key), None)

    def _resource(self, item: _Item, immutable: bool, select: str | None = None) -> dict[str, Any]:
        resource = {
            "@odata.type": "#microsoft.graph.message",
            "@odata.etag": f'W/"{secrets.token_hex(8)}"',
            "id": item.immutable_id if immutable else item.rest_id,
            "parentFolderId": item.folder,
            **item.resource,
        }
        if select is not None:
            wanted = {"id", "@odata.type", "@odata.etag", *select.split(",")}
            resource = {name: value for name, value in resource.items() if name in wanted}
        return resource


class _Handler(BaseHTTPRequestHandler):
    graph: FakeGraph
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold each answer back for tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self.graph.handle(self)

    do_POST = do_PATCH = do_DELETE = do_GET

    def reply(
        self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
    ) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.reply_bytes(status, data, "application/json", headers)

    def reply_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            if data:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("request-id", secrets.token_hex(16))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up waiting (a held send)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# Exchange's MIME writer, as far as these tests need it.


def _mime_of(item: _Item) -> bytes:
    if item.mime is not None:
        return item.mime
    resource = item.resource
    mime = EmailMessage(policy=email.policy.SMTP)
    mime["From"] = _address(resource["from"])
    mime["To"] = ", ".join(str(_address(r)) for r in resource["toRecipients"])
    mime["Subject"] = resource.get("subject", "")
    sent = resource.get("sentDateTime") or resource["createdDateTime"]
    mime["Date"] = format_datetime(datetime.fromisoformat(sent))
    mime["Message-ID"] = resource["internetMessageId"]
    props = _props(item)
    for name in ("In-Reply-To", "References"):
        value = next((v for k, v in props.items() if _MAPI_HEADERS.get(k) == name), None)
        value = value or item.threading.get(name)
        if value:
            mime[name] = value
    if "0x1045" in props:
        mime["List-Unsubscribe"] = props["0x1045"]
    for prop in resource["singleValueExtendedProperties"]:
        found = _NAMED_HEADER.fullmatch(prop["id"])
        if found:
            mime[found.group(1)] = prop["value"]
    for header in resource.get("internetMessageHeaders", []):
        mime[header["name"]] = header["value"]
    body = resource["body"]
    if body["contentType"].lower() == "html":
        mime.set_content(_TAG.sub("", body["content"]), charset="utf-8")
        mime.add_alternative(body["content"], subtype="html", charset="utf-8")
    else:
        mime.set_content(body["content"], charset="utf-8")
    return mime.as_bytes()


def _delivered_references(item: _Item) -> str:
    """The References header of a message that arrived in the Inbox as MIME (a reply of
    theirs): Exchange builds a reply's References from the original's and its Message-ID
    (RFC 5322 3.6.4)."""
    if item.mime is None:
        return ""
    parsed = email.message_from_bytes(item.mime, policy=email.policy.compat32)
    return " ".join(str(parsed.get("References", "")).split())


def _props(item: _Item) -> dict[str, str]:
    """Tagged MAPI properties by tag (`0x1045`), named ones by their whole id."""
    return {
        p["id"].removeprefix("String ").strip(): p["value"]
        for p in item.resource["singleValueExtendedProperties"]
    }


def _address(recipient: dict[str, Any]) -> Address:
    address = recipient["emailAddress"]
    return Address(display_name=address.get("name") or "", addr_spec=address["address"])


def _refused_fields(fields: dict[str, Any]) -> dict[str, Any] | None:
    for header in fields.get("internetMessageHeaders", []):
        if not header["name"].lower().startswith("x-"):
            return _graph_error(
                "InvalidInternetMessageHeader",
                f"The internet message header name '{header['name']}' should start with 'x-' "
                "or 'X-'.",
            )
    for prop in fields.get("singleValueExtendedProperties", []):
        if not _PROPERTY_ID.fullmatch(prop["id"]):
            return _graph_error("ErrorInvalidProperty", f"Invalid property id '{prop['id']}'.")
    return None


def _matches(item: _Item, params: dict[str, Any]) -> bool:
    since = params["since"]
    if since is None:
        return True
    received = datetime.fromisoformat(item.resource["receivedDateTime"])
    return received > since if params["strict"] else received >= since


def _keyed(segment: str) -> list[str]:
    found = _KEY.fullmatch(segment)
    return [found.group(1), found.group(2)] if found else [segment]


def _preferences(header: str) -> dict[str, str]:
    found = {}
    for preference in header.split(","):
        name, _, value = preference.strip().partition("=")
        if name:
            found[name] = value
    return found


def _recipient(name: str | None, address: str) -> dict[str, Any]:
    return {"emailAddress": {"address": address} | ({"name": name} if name else {})}


def _graph_error(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": _timestamp(datetime.now(UTC)),
                "request-id": secrets.token_hex(16),
                "client-request-id": secrets.token_hex(16),
            },
        }
    }


def _aad_error(error: str, code: int, description: str) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {secrets.token_hex(8)}",
        "error_codes": [code],
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": secrets.token_hex(16),
        "correlation_id": secrets.token_hex(16),
    }


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_immutable_id() -> str:
    # Shaped like Exchange's: base64 with `=` padding, and `-`, `_`, `/` or `+` inside.
    return f"AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A{secrets.token_urlsafe(24)}/+AAA="


def _new_rest_id() -> str:
    return f"AAMkAGI2TG93AGM3{secrets.token_urlsafe(18)}AAA="


def _new_conversation_id() -> str:
    return f"AAQkAGI2TG93{secrets.token_urlsafe(12)}="


def _new_message_id() -> str:
    return f"<{secrets.token_hex(12).upper()}@PR3P192MB0001.EURP192.PROD.OUTLOOK.COM>"


@pytest.fixture(name="fake_graph")
def fake_graph_fixture() -> Iterator[FakeGraph]:
    with FakeGraph() as graph:
        yield graph


MULTI_TENANT = frozenset({"common", "organizations", "consumers"})


@dataclass(frozen=True)
class _Grant:
    """What a person's sign-in granted: to whom, which app, which scopes; and, for a code, what
    its exchange must match (redirect URI, PKCE challenge) and the nonce its id_token carries."""

    tenant: str
    client_id: str
    user: str
    scope: str
    redirect_uri: str
    code_challenge: str
    nonce: str


def _code_problem(grant: _Grant | None, form: dict[str, str]) -> tuple[int, str] | None:
    if grant is None:
        return None
    if form.get("client_id") != grant.client_id or form.get("redirect_uri") != grant.redirect_uri:
        return 50148, "The redirect URI or client does not match the authorization request."
    verifier = form.get("code_verifier", "")
    challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
    if challenge != grant.code_challenge:
        return 501481, "The Code_Verifier does not match the code_challenge supplied."
    return None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _object_id(user: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{user.lower()}"))


def _client_info(user: str) -> str:
    return _b64url(json.dumps({"uid": _object_id(user), "utid": TENANT}).encode())


def _id_token(base_url: str, grant: _Grant) -> str:
    """An id_token as the identity platform shapes it; signed with nothing, since MSAL takes
    the token from the token endpoint over TLS and decodes its claims without checking."""
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "aud": grant.client_id,
        "iss": f"{base_url}/{TENANT}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": grant.user.split("@")[0].title(),
        "oid": _object_id(grant.user),
        "preferred_username": grant.user,
        "sub": _b64url(hashlib.sha256(grant.user.lower().encode()).digest()),
        "tid": TENANT,
        "nonce": grant.nonce,
        "ver": "2.0",
    }
    header = {"typ": "JWT", "alg": "RS256", "kid": "fake"}
    parts = (_b64url(json.dumps(part).encode()) for part in (header, claims))
    return ".".join((*parts, _b64url(b"unsigned")))
