"""The `Idempotency-Key` header on /api/v1 POSTs: a repeat of a request (a client retrying after
a timeout) gets the first answer again instead of creating something twice; the same key with
another body is a 409, as is a repeat while the first is still being answered. Keys belong to
the caller (its Authorization header) and are kept 24 hours (access/idempotency.py). An answer
of 5xx is not kept: the key may be tried again.

ASGI middleware, because the answer must be kept whole, whichever handler wrote it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from outreach.access import idempotency
from outreach.container import Container
from outreach.db import transaction
from outreach.errors import OutreachError
from outreach.web.errors import status_of

HEADER = b"idempotency-key"
Message = MutableMapping[str, Any]


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, container: Container, prefix: str) -> None:
        self.app = app
        self.container = container
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key_bytes = headers.get(HEADER)
        if (
            key_bytes is None
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.prefix + "/")
        ):
            await self.app(scope, receive, send)
            return
        key = key_bytes.decode("latin-1")
        body = await _read_body(receive)
        owner = idempotency.digest(headers.get(b"authorization", b""))
        fingerprint = idempotency.digest(scope["method"].encode(), scope["path"].encode(), body)
        try:
            kept = await run_in_threadpool(self._claim, owner, key, fingerprint)
        except OutreachError as error:
            await _answer(send, status_of(error), "application/json", _error_body(error))
            return
        if kept is not None:
            await _answer(send, kept.status_code, kept.content_type, kept.body.encode(), True)
            return
        await self._answer_first(scope, body, send, owner, key)

    def _claim(self, owner: str, key: str, fingerprint: str) -> idempotency.Kept | None:
        with transaction(self.container.sessions) as session:
            return idempotency.claim(session, owner, key, fingerprint, self.container.clock.now())

    async def _answer_first(
        self, scope: Scope, body: bytes, send: Send, owner: str, key: str
    ) -> None:
        started: Message = {}
        chunks: list[bytes] = []

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def keep_and_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, keep_and_send)
        finally:
            status = int(started.get("status", 500))
            content_type = dict(started.get("headers", [])).get(b"content-type", b"").decode()
            answer = idempotency.Kept(status, content_type or None, b"".join(chunks).decode())
            await run_in_threadpool(self._settle, owner, key, answer)

    def _settle(self, owner: str, key: str, answer: idempotency.Kept) -> None:
        with transaction(self.container.sessions) as session:
            if answer.status_code >= 500:
                idempotency.release(session, owner, key)
            else:
                idempotency.keep(session, owner, key, answer)


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


def _error_body(error: OutreachError) -> bytes:
    document = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    return json.dumps(document).encode()


async def _answer(
    send: Callable[[Message], Awaitable[None]],
    status: int,
    content_type: str | None,
    body: bytes,
    replayed: bool = False,
) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
