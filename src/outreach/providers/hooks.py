"""The interface the webhook worker POSTs through (the concrete one: providers/http_hooks.py).

An endpoint that answers, whatever its status, gives an Answer: the caller decides what a 500
means. One that cannot be reached or does not answer in time raises TransientError."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

ANSWER_KEPT = 1000
"""Characters of an endpoint's answer kept to show a person."""


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    """The start of the answer's body (ANSWER_KEPT characters)."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Poster(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """POST `body` to `url`; TransientError when no answer came (refused, timed out)."""
        ...

    def close(self) -> None: ...
