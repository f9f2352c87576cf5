"""The Anthropic writer: one Messages API call per draft, through the official SDK. The only
module that imports `anthropic`; built in container.py.

The request (prompts/, versioned):

* ``system``: two text blocks, each a cache breakpoint (``cache_control: ephemeral``). The first
  is the version's fixed prompt, the same for every draft; the second is the template rendered
  for the contact, the same for every contact when the template uses no merge field. The cache
  prefix is tools, then system, so every draft of a campaign reads the same cached prefix and
  pays full price only for its own contact's part. The API caches nothing shorter than a
  model's minimum (1,024 to 4,096 tokens depending on the model): a short template is simply
  not cached, which costs nothing extra.
* one user message: the contact's fields, raw_data and enriched_data as JSON, the earlier drafts
  for a follow-up, the reviewer's note, and which draft to write.
* one tool, ``write_email`` {subject, body}, with ``strict`` schema validation, forced by
  ``tool_choice`` (one call, no parallel calls): the answer is never free text to parse.

``input_sha256`` is the SHA-256 of those request parameters (model, max_tokens, system,
messages, tools, tool_choice) as canonical JSON (sorted keys, no spaces, UTF-8): the same input
gives the same hash, and any sent text can be traced to exactly what the model saw.

The SDK's own retries are off (``max_retries=0``): it would retry a 429 that is a spend limit
(no wait makes that one pass), sleep inside a worker thread where the batch cannot see or stop
it, and multiply the per-call timeout by its attempts. The batch decides instead, from the error
each failure becomes:

* `WriterBusy` (retry later, ``retry_after`` from ``retry-after-ms`` / ``retry-after`` when
  sent): 429 rate limits, 529 overloaded, 408, 409, other 5xx, timeouts, connection failures;
* `WriterStopped` (the batch stops and shows why): spend limits (a 429 whose
  ``error.details.error_code`` is ``enforced_spend_limit_reached`` or
  ``contract_spend_limit_reached``, the 402 linked-organisation codes, and the 400 a
  user-set spend limit or an empty credit balance gives, recognised by its message since it has
  no code), 401 key refused, 402 billing, 403 permission, 404 (the model name is unknown);
* `DraftRefused` (this contact's draft fails, the batch goes on): other 4xx (a request too
  large, for instance), an answer without the tool call, an input that is not an object, an
  empty subject or body, an answer cut off at max_tokens or refused by the model, placeholders
  left in the text.

The timeout applies to each phase of the call (connect, each read, write): a server that holds
its answer longer than that is a `WriterBusy`. An overall deadline across retries belongs to the
batch.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

import anthropic
from anthropic.types import (
    Message,
    MessageParam,
    TextBlockParam,
    ToolChoiceToolParam,
    ToolParam,
)

from outreach.campaigns.templates.normalising import normalise_subject, normalise_text
from outreach.campaigns.templates.placeholders import find_placeholders
from outreach.clock import Clock, SystemClock
from outreach.drafts.prompts import Prompt, v1
from outreach.drafts.writers.base import (
    DraftRefused,
    DraftRequest,
    WriterBusy,
    WriterError,
    WriterStopped,
    WrittenDraft,
)

DEFAULT_BASE_URL: Final = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS: Final = 2048
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
its messages may change, so a miss here degrades to `DraftRefused` for each draft, not a crash."""

RETRYABLE_STATUSES: Final = frozenset({408, 409, 429})


class AnthropicWriter:
    """Writes one draft per Messages API call. Safe to share between threads (the SDK's HTTP
    client is)."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 60.0,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        build_prompt: Callable[[DraftRequest], Prompt] = v1.build,
        clock: Clock | None = None,
    ) -> None:
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.max_tokens = max_tokens
        self._build_prompt = build_prompt
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

    def write(self, request: DraftRequest) -> WrittenDraft:
        prompt = self._build_prompt(request)
        system, messages, tool, tool_choice = _request_parts(prompt)
        digest = input_sha256(
            {
                "model": self.model,
                "max_tokens": self.max_tokens,
                "system": system,
                "messages": messages,
                "tools": [tool],
                "tool_choice": tool_choice,
            }
        )
        try:
            message = self._client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=system,
                messages=messages,
                tools=[tool],
                tool_choice=tool_choice,
            )
        except anthropic.APIError as error:
            raise self._translate(error) from error
        except ValueError as error:
            # A 200 whose body is not JSON (a proxy's error page): the SDK lets the JSON
            # decoder's error through.
            raise DraftRefused(f"The Anthropic API's answer is not JSON: {error}") from error
        if not isinstance(message, Message):
            raise DraftRefused(f"The Anthropic API's answer is not a message: {message!r:.200}")
        subject, body = _answer(message, prompt.tool.name)
        # The SDK builds responses without validating them, so usage may be missing or odd;
        # a count that cannot be trusted is recorded as unknown rather than failing the draft.
        usage = message.usage
        model = message.model if isinstance(message.model, str) and message.model else self.model
        return WrittenDraft(
            subject=subject,
            body=body,
            model=model,
            prompt_version=prompt.version,
            input_sha256=digest,
            input_tokens=_count(getattr(usage, "input_tokens", None)),
            output_tokens=_count(getattr(usage, "output_tokens", None)),
            cache_read_tokens=_count(getattr(usage, "cache_read_input_tokens", None)),
            cache_write_tokens=_count(getattr(usage, "cache_creation_input_tokens", None)),
        )

    def close(self) -> None:
        self._client.close()

    def _translate(self, error: anthropic.APIError) -> WriterError:
        # APITimeoutError is an APIConnectionError: test it first.
        if isinstance(error, anthropic.APITimeoutError):
            return WriterBusy(f"The Anthropic API gave no answer within {self.timeout_seconds:g}s.")
        if isinstance(error, anthropic.APIConnectionError):
            cause = error.__cause__ or error
            return WriterBusy(f"The Anthropic API cannot be reached: {cause}")
        if isinstance(error, anthropic.APIStatusError):
            return self._from_status(error)
        return DraftRefused(f"The Anthropic API's answer could not be read: {error.message}")

    def _from_status(self, error: anthropic.APIStatusError) -> WriterError:
        status = error.status_code
        said = error.api_message or error.message
        what = f"{status} {error.type or 'error'}: {said}"
        if error.error_code in SPEND_LIMIT_CODES:
            return WriterStopped(
                f"Anthropic spend limit reached ({error.error_code}): {said} Drafting stops "
                "until the limit resets or is raised in the Claude Console."
            )
        if status == 400 and any(words in said.lower() for words in USAGE_LIMIT_WORDS):
            return WriterStopped(
                f"Anthropic usage limit reached ({what}). Drafting stops until the limit is "
                "raised or credit is added in the Claude Console."
            )
        if status == 401:
            return WriterStopped(f"The Anthropic API refused ANTHROPIC_API_KEY ({what}).")
        if status == 402 or error.type == "billing_error":
            return WriterStopped(f"Anthropic billing stops drafting ({what}).")
        if status == 403:
            return WriterStopped(f"The Anthropic API key may not do this ({what}).")
        if status == 404:
            return WriterStopped(
                f"The Anthropic API does not know model {self.model!r} (OUTREACH_DRAFT_MODEL) "
                f"or the address ({what})."
            )
        if status in RETRYABLE_STATUSES or status >= 500:
            return WriterBusy(
                f"The Anthropic API is busy ({what}).",
                retry_after_seconds(error.response.headers, self._clock),
            )
        return DraftRefused(f"The Anthropic API refused this draft ({what}).")


def _request_parts(
    prompt: Prompt,
) -> tuple[list[TextBlockParam], list[MessageParam], ToolParam, ToolChoiceToolParam]:
    system: list[TextBlockParam] = [
        {"type": "text", "text": prompt.system, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": prompt.instruction, "cache_control": {"type": "ephemeral"}},
    ]
    messages: list[MessageParam] = [
        {"role": "user", "content": [{"type": "text", "text": prompt.user}]}
    ]
    tool: ToolParam = {
        "name": prompt.tool.name,
        "description": prompt.tool.description,
        "input_schema": prompt.tool.input_schema,
        "strict": True,
    }
    tool_choice: ToolChoiceToolParam = {
        "type": "tool",
        "name": prompt.tool.name,
        "disable_parallel_tool_use": True,
    }
    return system, messages, tool, tool_choice


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def input_sha256(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the request parameters as canonical JSON."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _answer(message: Message, tool_name: str) -> tuple[str, str]:
    """Subject and body from the forced tool call, or `DraftRefused` saying what is wrong."""
    if message.stop_reason == "max_tokens":
        raise DraftRefused("The answer was cut off at max_tokens before the email was complete.")
    if message.stop_reason == "refusal":
        raise DraftRefused("The model declined to write this email.")
    calls = [
        block
        for block in message.content or []
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == tool_name
    ]
    if not calls:
        raise DraftRefused(
            f"The answer has no {tool_name} call (stop_reason {message.stop_reason!r})."
        )
    data = getattr(calls[0], "input", None)
    if not isinstance(data, dict):
        raise DraftRefused(f"The {tool_name} call's input is not an object: {data!r:.200}")
    missing = [
        name
        for name in ("subject", "body")
        if not isinstance(data.get(name), str) or not data[name].strip()
    ]
    if missing:
        raise DraftRefused(f"The answer has no {' and no '.join(missing)}.")
    subject = normalise_subject(data["subject"])
    body = normalise_text(data["body"])
    placeholders = find_placeholders(f"{subject}\n{body}")
    if placeholders:
        listed = ", ".join(f'"{placeholder}"' for placeholder in placeholders)
        raise DraftRefused(f"The answer leaves placeholders: {listed}.")
    return subject, body


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
