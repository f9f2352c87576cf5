"""A webhook receiver on loopback, and the Standard Webhooks verification it runs, written as the
specification's reference library (standardwebhooks, python) verifies: the three headers, a
timestamp within five minutes, and one of the space-separated `v1,` signatures equal, in
constant time, to the base64 HMAC-SHA256 of `id.timestamp.body` keyed with the secret's
base64-decoded part (after `whsec_`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.loopback import LoopbackServer

TOLERANCE_SECONDS = 5 * 60


class VerificationFailed(Exception):
    pass


def verify(secret: str, headers: dict[str, str], body: bytes, now: datetime) -> Any:
    """The payload, when the headers sign this body with this secret at `now`."""
    try:
        msg_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"]
    except KeyError as missing:
        raise VerificationFailed(f"Missing required header {missing}") from None
    sent = int(timestamp)
    if sent < now.timestamp() - TOLERANCE_SECONDS:
        raise VerificationFailed("Message timestamp too old")
    if sent > now.timestamp() + TOLERANCE_SECONDS:
        raise VerificationFailed("Message timestamp too new")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    to_sign = f"{msg_id}.{timestamp}.{body.decode()}".encode()
    expected = base64.b64encode(hmac.new(key, to_sign, hashlib.sha256).digest())
    for versioned in signatures.split(" "):
        version, _, signature = versioned.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return json.loads(body)
    raise VerificationFailed("No matching signature found")


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver(LoopbackServer):
    """Answers each POST with the next of `statuses` (then the last one, again and again);
    with `silent`, holds each request unanswered until stopped (an endpoint that hangs)."""

    def __init__(self, statuses: tuple[int, ...] = (200,), *, silent: bool = False) -> None:
        self.received: list[Received] = []
        self._statuses = deque(statuses)
        self._silent = silent
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                if receiver._silent:
                    receiver._stopping.wait()
                    return
                status = receiver._statuses[0]
                if len(receiver._statuses) > 1:
                    receiver._statuses.popleft()
                answer = b'{"ok": true}' if status < 300 else b"the receiver broke"
                self.send_response(status)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
