"""Sending from a Microsoft 365 mailbox through Microsoft Graph: GraphTransport, over the
session (session.py) that the Graph inbox reader uses too.

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

import logging
import ssl
from collections.abc import Mapping
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from typing import Any, Final
from urllib.parse import quote

import httpx2

from outreach.clock import Clock
from outreach.providers.base import OnDraft, ProviderStatus
from outreach.providers.compose import envelope_address, to_mime
from outreach.providers.errors import (
    DeliveryUncertain,
    PermanentError,
    ProviderError,
    TransientError,
)
from outreach.providers.graph.session import (
    NO_ITEM,
    GraphSession,
    TokenSource,
    error_detail,
    error_of,
    error_text,
)
from outreach.providers.graph.settings import GraphSettings
from outreach.providers.message import OutgoingMessage, SentMessage
from outreach.providers.throttle import SendingPace

__all__ = ["GraphTransport"]

logger = logging.getLogger(__name__)


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
        if response.status_code == 404 and error_of(response)[0] in NO_ITEM:
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
        if response.status_code == 404 and error_of(response)[0] in NO_ITEM:
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
                f"({error_detail(error)}). Its status in the mailbox tells."
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
                f"{error_text(response)}: it may or may not have been sent. Its status in the "
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
            f"Could not reach Microsoft Graph to {doing} ({error_detail(error)}); "
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
