"""The Anthropic Messages API through the official SDK: one request, its answer as a
`ModelAnswer`, its failures as providers' errors. The only module that imports `anthropic`;
built in container.py (and imported only there, late: the SDK takes seconds to import).

The SDK's own retries are off (``max_retries=0``): it would retry a 429 that is a spend limit
(no wait makes that one pass), sleep inside a worker thread where the batch cannot see or stop
it, and multiply the per-call timeout by its attempts. The caller decides instead, from the
error each failure becomes:

* `TransientError` (try later, ``retry_after`` from ``retry-after-ms`` / ``retry-after`` when
  sent): 429 rate limits, 529 overloaded, 408, 409, other 5xx, timeouts, connection failures;
* `AccountError` (nothing passes until a person acts): spend limits (a 429 whose
  ``error.details.error_code`` is ``enforced_spend_limit_reached`` or
  ``contract_spend_limit_reached``, the 402 linked-organisation codes, and the 400 a
  user-set spend limit or an empty credit balance gives, recognised by its message since it has
  no code), 401 key refused, 402 billing, 403 permission, 404 (the model name is unknown);
* `PermanentError` (this request fails, others may pass): other 4xx (a request too large, for
  instance), an answer that is not JSON or not a message.

The timeout applies to each phase of the call (connect, each read, write): a server that holds
its answer longer than that is a `TransientError`. An overall deadline across retries belongs to
the caller.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from typing import Any, Final

import anthropic
from anthropic.types import Message

from outreach.clock import Clock, SystemClock
from outreach.providers.errors import (
    AccountError,
    PermanentError,
    ProviderError,
    TransientError,
)
from outreach.providers.llm import ModelAnswer, ToolCall

__all__ = ["AnthropicMessages", "retry_after_seconds"]

DEFAULT_BASE_URL: Final = "https://api.anthropic.com"
CONNECT_TIMEOUT_SECONDS: Final = 5.0

SPEND_LIMIT_CODES: Final = frozenset(
    {
        "enforced_spend_limit_reached",
        "contract_spend_limit_reached",
        "linked_organization_spend_limit_reached",
        "linked_organization_billing_unavailable",
    }
)
"""``error.details.error_code`` values that mean no request will pass until someone raises a
limit, pays, or the month turns (the SDK maps each to an exception class of its own)."""

USAGE_LIMIT_WORDS: Final = ("api usage limits", "credit balance")
"""A spend limit the organisation set itself, and an empty prepaid balance, come back as a 400
invalid_request_error without an error code; only the message tells them apart ("You have
reached your specified API usage limits…", "Your credit balance is too low…"). The API says
its messages may change, so a miss here degrades to a `PermanentError` for each request, not a
crash."""

RETRYABLE_STATUSES: Final = frozenset({408, 409, 429})


class AnthropicMessages:
    """The `LanguageModel` of the Messages API. Safe to share between threads (the SDK's HTTP
    client is)."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout_seconds: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._clock = clock or SystemClock()
        # base_url is always passed, so that the SDK does not read ANTHROPIC_BASE_URL (or a
        # profile) behind the Settings' back.
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url or DEFAULT_BASE_URL,
            max_retries=0,
            timeout=anthropic.Timeout(
                timeout_seconds, connect=min(timeout_seconds, CONNECT_TIMEOUT_SECONDS)
            ),
        )

    def create(self, request: Mapping[str, Any]) -> ModelAnswer:
        try:
            message = self._client.messages.create(**request)
        except anthropic.APIError as error:
            raise self._translate(error, request) from error
        except ValueError as error:
            # A 200 whose body is not JSON (a proxy's error page): the SDK lets the JSON
            # decoder's error through.
            raise PermanentError(f"The Anthropic API's answer is not JSON: {error}") from error
        if not isinstance(message, Message):
            raise PermanentError(f"The Anthropic API's answer is not a message: {message!r:.200}")
        # The SDK builds responses without validating them, so any part may be missing or
        # odd; what cannot be trusted is passed on as unknown for the caller to judge.
        usage = message.usage
        return ModelAnswer(
            model=message.model if isinstance(message.model, str) and message.model else None,
            stop_reason=message.stop_reason,
            tool_calls=tuple(
                ToolCall(str(getattr(block, "name", "")), getattr(block, "input", None))
                for block in message.content or []
                if getattr(block, "type", None) == "tool_use"
            ),
            input_tokens=_count(getattr(usage, "input_tokens", None)),
            output_tokens=_count(getattr(usage, "output_tokens", None)),
            cache_read_tokens=_count(getattr(usage, "cache_read_input_tokens", None)),
            cache_write_tokens=_count(getattr(usage, "cache_creation_input_tokens", None)),
        )

    def close(self) -> None:
        self._client.close()

    def _translate(self, error: anthropic.APIError, request: Mapping[str, Any]) -> ProviderError:
        # APITimeoutError is an APIConnectionError: test it first.
        if isinstance(error, anthropic.APITimeoutError):
            return TransientError(
                f"The Anthropic API gave no answer within {self.timeout_seconds:g}s."
            )
        if isinstance(error, anthropic.APIConnectionError):
            cause = error.__cause__ or error
            return TransientError(f"The Anthropic API cannot be reached: {cause}")
        if isinstance(error, anthropic.APIStatusError):
            return self._from_status(error, request.get("model"))
        return PermanentError(f"The Anthropic API's answer could not be read: {error.message}")

    def _from_status(self, error: anthropic.APIStatusError, model: object) -> ProviderError:
        status = error.status_code
        said = error.api_message or error.message
        what = f"{status} {error.type or 'error'}: {said}"
        if error.error_code in SPEND_LIMIT_CODES:
            return AccountError(
                f"Anthropic spend limit reached ({error.error_code}): {said} Drafting stops "
                "until the limit resets or is raised in the Claude Console."
            )
        if status == 400 and any(words in said.lower() for words in USAGE_LIMIT_WORDS):
            return AccountError(
                f"Anthropic usage limit reached ({what}). Drafting stops until the limit is "
                "raised or credit is added in the Claude Console."
            )
        if status == 401:
            return AccountError(f"The Anthropic API refused ANTHROPIC_API_KEY ({what}).")
        if status == 402 or error.type == "billing_error":
            return AccountError(f"Anthropic billing stops drafting ({what}).")
        if status == 403:
            return AccountError(f"The Anthropic API key may not do this ({what}).")
        if status == 404:
            return AccountError(
                f"The Anthropic API does not know model {model!r} (OUTREACH_DRAFT_MODEL) "
                f"or the address ({what})."
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            return TransientError(
                f"The Anthropic API is busy ({what}).",
                retry_after_seconds(error.response.headers, self._clock),
            )
        return PermanentError(f"The Anthropic API refused this draft ({what}).")


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def retry_after_seconds(headers: Mapping[str, str], clock: Clock) -> float | None:
    """How long the response asked to wait, as the SDK reads it: ``retry-after-ms``, then
    ``retry-after`` in seconds, then ``retry-after`` as an HTTP date. None when it did not say
    or said something unreadable; never negative."""
    milliseconds = _seconds(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max((moment - clock.now()).total_seconds(), 0.0)


def _seconds(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return max(number, 0.0) if math.isfinite(number) else None
