"""POSTing webhooks over HTTP(S) with httpx2: short timeouts, no redirects followed (a
redirect is an answer the endpoint's owner must fix), the answer's start kept."""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import httpx2

from outreach.providers.errors import TransientError
from outreach.providers.hooks import ANSWER_KEPT, Answer


class HttpPoster:
    def __init__(self, *, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self._client = httpx2.Client(
            timeout=timeout, verify=ssl_context or True, follow_redirects=False
        )

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        try:
            with self._client.stream("POST", url, content=body, headers=dict(headers)) as reply:
                kept = b""
                for chunk in reply.iter_bytes():
                    kept += chunk
                    if len(kept) >= ANSWER_KEPT:
                        break
                text = kept.decode("utf-8", "replace")[:ANSWER_KEPT]
                return Answer(reply.status_code, text)
        except httpx2.TimeoutException as error:
            raise TransientError(f"no answer in time ({type(error).__name__})") from error
        except httpx2.HTTPError as error:
            reason = str(error) or type(error).__name__
            raise TransientError(f"could not be reached: {reason}") from error

    def close(self) -> None:
        self._client.close()
