"""Reading a Microsoft 365 mailbox's Inbox through Microsoft Graph with a delta query
(https://learn.microsoft.com/en-us/graph/delta-query-messages), signed in as the same app the
Graph transport sends with.

Each message's MIME is fetched (`GET /messages/{id}/$value`), so the pure core parses the same
bytes it gets from IMAP.

Starting from now: Outlook messages have no "sync from now" token (`$deltaToken=latest` is for
directory and OneDrive resources only, per delta-query-overview), and a plain first round
returns every message in the Inbox. So the first round asks only for messages received from
now on (less the reader's lookback, so that a newly connected mailbox's first round also
reads the replies received before it was connected): `$filter=receivedDateTime ge <time>` is
the one filter a message delta query supports,
and Graph encodes it into the nextLink and deltaLink, so every later round keeps it. Running a
full first round and discarding it would read the whole Inbox, page by page, for nothing.
`changeType=created` keeps messages that are merely read, flagged or moved in the Inbox from
coming back.

Microsoft documents that a delta query with `$filter` "returns only up to 5,000 messages"; read
here as per round (a poll), which an Inbox receiving replies to cold email does not reach
between two polls. Not verified against Exchange Online.

Starting over: Exchange drops old delta tokens from a cache of its own ("the upper limit is not
fixed"), and then answers 410 Gone (or a syncStateNotFound error). The cursor therefore keeps,
beside the link, the time from which a restart must read: when the last complete round began,
less a margin for clocks. A restart reads from there again; the messages read twice are the
ones the caller already stored, and matching by Message-ID keeps them from becoming two
replies.
"""

from __future__ import annotations

import json
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx2

from outreach.clock import Clock, SystemClock
from outreach.providers.errors import PermanentError, TransientError
from outreach.providers.graph.session import GraphSession, TokenSource
from outreach.providers.graph.settings import GraphSettings
from outreach.providers.inbox import InboundMessage, InboxPage

__all__ = ["GraphInboxReader"]

logger = logging.getLogger(__name__)

_RESTART_OVERLAP: Final = timedelta(minutes=15)
"""How far before the last complete round a restart reads: more than any clock difference
between this machine and Exchange, so nothing received near the boundary is lost."""
_EXPIRED_CODES: Final = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired"})


@dataclass(frozen=True)
class _Cursor:
    """What the opaque cursor holds: the link to GET next (a nextLink within a round, the
    deltaLink between rounds), the time a restart reads from, and when the round under way
    began (for the next restart time)."""

    link: str
    since: datetime
    round_began: datetime
    within_round: bool

    def dump(self) -> str:
        return json.dumps(
            {
                "link": self.link,
                "since": self.since.isoformat(),
                "round_began": self.round_began.isoformat(),
                "within_round": self.within_round,
            }
        )

    @classmethod
    def load(cls, text: str) -> _Cursor:
        data = json.loads(text)
        return cls(
            link=str(data["link"]),
            since=datetime.fromisoformat(data["since"]),
            round_began=datetime.fromisoformat(data["round_began"]),
            within_round=bool(data["within_round"]),
        )


class _Expired(Exception):
    """Graph no longer knows the sync state behind a link."""


class GraphInboxReader:
    """The InboxReader for one mailbox's Inbox through Graph (see the module docstring).

    `page_size` is asked for with `Prefer: odata.maxpagesize`; Graph may send fewer. Not
    thread-safe: one instance per thread; the token source may be shared.
    """

    def __init__(
        self,
        settings: GraphSettings,
        tokens: TokenSource,
        *,
        clock: Clock | None = None,
        page_size: int = 50,
        timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None,
        lookback: timedelta = timedelta(0),
    ) -> None:
        if page_size < 1:
            raise ValueError("a page holds at least one message")
        self.settings = settings
        self._clock = clock or SystemClock()
        self._page_size = page_size
        self._lookback = lookback
        self._session = GraphSession(
            settings, tokens, clock=self._clock, timeout=timeout, ssl_context=ssl_context
        )

    def read(self, cursor: str | None) -> InboxPage:
        now = self._clock.now()
        if cursor is None:
            start = now - self._lookback
            state = _Cursor(self._first_link(start), start, round_began=now, within_round=True)
        else:
            state = self._loaded(cursor, now)
        try:
            body = self._get(state.link)
        except _Expired:
            logger.warning(
                "inbox.graph_delta_restarted",
                extra={"mailbox": self.settings.mailbox, "since": state.since.isoformat()},
            )
            state = _Cursor(
                self._first_link(state.since), state.since, round_began=now, within_round=True
            )
            try:
                body = self._get(state.link)
            except _Expired as error:
                raise TransientError(
                    "Microsoft Graph refused a fresh delta query of the Inbox of "
                    f"{self.settings.mailbox}; try again later."
                ) from error
        messages = self._messages(body.get("value", []))
        next_link = body.get("@odata.nextLink")
        if isinstance(next_link, str):
            following = _Cursor(next_link, state.since, state.round_began, within_round=True)
            return InboxPage(messages, following.dump(), more=True)
        delta_link = body.get("@odata.deltaLink")
        if not isinstance(delta_link, str):
            raise TransientError(
                f"Microsoft Graph answered a delta query of the Inbox of {self.settings.mailbox} "
                "without a nextLink or a deltaLink; try again later."
            )
        since = max(state.since, state.round_began - _RESTART_OVERLAP)
        finished = _Cursor(delta_link, since, round_began=now, within_round=False)
        return InboxPage(messages, finished.dump(), more=False)

    def check(self) -> str:
        return self._session.check_inbox()

    def close(self) -> None:
        self._session.close()

    # Steps.

    def _first_link(self, since: datetime) -> str:
        """The first request of a round from scratch, reading messages received from `since`."""
        received = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = "&".join(
            f"{name}={quote(value, safe='')}"
            for name, value in (
                ("changeType", "created"),
                ("$filter", f"receivedDateTime ge {received}"),
                ("$select", "receivedDateTime,conversationId"),
            )
        )
        return f"{self.settings.mailbox_url}/mailFolders/inbox/messages/delta?{query}"

    def _loaded(self, cursor: str, now: datetime) -> _Cursor:
        """The stored cursor; one this reader cannot use (unreadable, or pointing away from the
        configured Graph, whose host would be handed our token) starts over from now."""
        try:
            state = _Cursor.load(cursor)
        except (ValueError, KeyError, TypeError):
            logger.warning(
                "inbox.graph_cursor_unreadable", extra={"mailbox": self.settings.mailbox}
            )
            return _Cursor(self._first_link(now), now, now, within_round=True)
        if not _same_origin(state.link, self.settings.graph_url):
            logger.warning(
                "inbox.graph_cursor_elsewhere",
                extra={"mailbox": self.settings.mailbox, "since": state.since.isoformat()},
            )
            return _Cursor(self._first_link(state.since), state.since, now, within_round=True)
        if not state.within_round:
            return _Cursor(state.link, state.since, round_began=now, within_round=False)
        return state

    def _get(self, link: str) -> dict[str, Any]:
        try:
            response = self._session.request(
                "GET", link, prefer=(f"odata.maxpagesize={self._page_size}",)
            )
        except httpx2.TransportError as error:
            raise TransientError(
                f"Could not reach Microsoft Graph to read the Inbox of {self.settings.mailbox} "
                f"({error or type(error).__name__})."
            ) from error
        if response.status_code == 410 or _error_code(response).lower() in _EXPIRED_CODES:
            raise _Expired
        if response.status_code != 200:
            raise self._session.error_for(response, "read the Inbox")
        body: dict[str, Any] = response.json()
        return body

    def _messages(self, values: list[dict[str, Any]]) -> tuple[InboundMessage, ...]:
        seen: dict[str, InboundMessage] = {}
        for value in values:
            provider_id = value.get("id")
            if "@removed" in value or not isinstance(provider_id, str) or provider_id in seen:
                continue
            raw = self._mime(provider_id)
            if raw is None:
                continue
            seen[provider_id] = InboundMessage(
                provider_id=provider_id,
                raw=raw,
                received_at=_received_at(value.get("receivedDateTime"), self._clock.now()),
                conversation_id=value.get("conversationId"),
            )
        return tuple(sorted(seen.values(), key=lambda message: message.received_at))

    def _mime(self, provider_id: str) -> bytes | None:
        """The message as MIME; None when it was deleted since the delta query listed it."""
        url = f"{self.settings.mailbox_url}/messages/{quote(provider_id, safe='')}/$value"
        try:
            response = self._session.request("GET", url)
        except httpx2.TransportError as error:
            raise TransientError(
                f"Could not reach Microsoft Graph to read a message of {self.settings.mailbox} "
                f"({error or type(error).__name__})."
            ) from error
        if response.status_code == 404 and _error_code(response) == "ErrorItemNotFound":
            return None
        if response.status_code != 200:
            refused = self._session.error_for(response, "read a message")
            if isinstance(refused, PermanentError):
                # One message Graph will not hand over must not stop every later poll.
                logger.warning(
                    "inbox.graph_message_unreadable",
                    extra={"mailbox": self.settings.mailbox, "provider_id": provider_id},
                )
                return None
            raise refused
        return response.content


def _error_code(response: httpx2.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return ""
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def _received_at(value: object, fallback: datetime) -> datetime:
    if not isinstance(value, str):
        return fallback
    try:
        received = datetime.fromisoformat(value)
    except ValueError:
        return fallback
    return received.replace(tzinfo=UTC) if received.tzinfo is None else received.astimezone(UTC)


def _same_origin(link: str, graph_url: str) -> bool:
    ours, theirs = urlsplit(graph_url), urlsplit(link)
    return (ours.scheme, ours.netloc.lower()) == (theirs.scheme, theirs.netloc.lower())
