"""What a language model provider answers, in shapes of our own, so that the draft writer never
reads an SDK's types; what it raises is in providers/errors.py.

A request is the provider's own parameters (model, max_tokens, system, messages, tools,
tool_choice: drafts/writers/anthropic.py builds them); the answer keeps what the writer checks
and records: why the model stopped, the tool calls it made, and the token usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: object
    """As the model gave it: an object when it kept to the schema, anything otherwise."""


@dataclass(frozen=True)
class ModelAnswer:
    model: str | None
    """The model that answered, when the answer said."""
    stop_reason: str | None
    tool_calls: tuple[ToolCall, ...]
    input_tokens: int | None = None
    """Each count is None when the answer's was missing or not a count."""
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None


class LanguageModel(Protocol):
    def create(self, request: Mapping[str, Any]) -> ModelAnswer:
        """One request, one answer; raise one of providers.errors when there is none:
        TransientError to try again later, AccountError when a person must act first,
        PermanentError when this request cannot be answered."""
        ...

    def close(self) -> None: ...
