"""Gives every browser a CSRF cookie and every page the token that goes with it."""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach.access.credentials import signature
from outreach.web.deps import CSRF_COOKIE


class CsrfCookieMiddleware:
    def __init__(self, app: ASGIApp, secret_key: str) -> None:
        self.app = app
        self.secret_key = secret_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        cookie = connection.cookies.get(CSRF_COOKIE)
        fresh = cookie is None
        cookie = cookie or secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = signature(self.secret_key, "csrf", cookie)
        secure = connection.url.scheme == "https"

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                attributes = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
                headers.append("set-cookie", f"{CSRF_COOKIE}={cookie}; {attributes}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)
