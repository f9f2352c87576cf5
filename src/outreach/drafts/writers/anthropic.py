"""The Anthropic writer: one Messages API call per draft, through the `LanguageModel` the
container builds (providers/anthropic.py, the only module that imports the SDK).

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

How failures become the batch's errors: the provider's TransientError is `WriterBusy` (retry
later, after its retry_after), its AccountError `WriterStopped` (the batch stops and shows why),
its PermanentError `DraftRefused` (this contact's draft fails, the batch goes on); so is an
answer without the tool call, an input that is not an object, an empty subject or body, an
answer cut off at max_tokens or refused by the model, and placeholders left in the text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from outreach.campaigns.templates.normalising import normalise_subject, normalise_text
from outreach.campaigns.templates.placeholders import find_placeholders
from outreach.drafts.prompts import Prompt, v1
from outreach.drafts.writers.base import (
    DraftRefused,
    DraftRequest,
    WriterBusy,
    WriterStopped,
    WrittenDraft,
)
from outreach.providers.errors import AccountError, ProviderError, TransientError
from outreach.providers.llm import LanguageModel, ModelAnswer

DEFAULT_MAX_TOKENS: Final = 2048


class AnthropicWriter:
    """Writes one draft per Messages API call. Safe to share between threads when `messages`
    is (AnthropicMessages is)."""

    def __init__(
        self,
        messages: LanguageModel,
        *,
        model: str,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        build_prompt: Callable[[DraftRequest], Prompt] = v1.build,
    ) -> None:
        self.messages = messages
        self.model = model
        self.max_tokens = max_tokens
        self._build_prompt = build_prompt

    def write(self, request: DraftRequest) -> WrittenDraft:
        prompt = self._build_prompt(request)
        parameters = {"model": self.model, "max_tokens": self.max_tokens, **_request_parts(prompt)}
        digest = input_sha256(parameters)
        try:
            answer = self.messages.create(parameters)
        except TransientError as error:
            raise WriterBusy(error.reason, error.retry_after) from error
        except AccountError as error:
            raise WriterStopped(error.reason) from error
        except ProviderError as error:
            raise DraftRefused(error.reason) from error
        subject, body = _answer(answer, prompt.tool.name)
        return WrittenDraft(
            subject=subject,
            body=body,
            model=answer.model or self.model,
            prompt_version=prompt.version,
            input_sha256=digest,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            cache_read_tokens=answer.cache_read_tokens,
            cache_write_tokens=answer.cache_write_tokens,
        )

    def close(self) -> None:
        self.messages.close()


def _request_parts(prompt: Prompt) -> dict[str, Any]:
    """system, messages, tools and tool_choice, as the Messages API takes them."""
    return {
        "system": [
            {"type": "text", "text": prompt.system, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": prompt.instruction, "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt.user}]}],
        "tools": [
            {
                "name": prompt.tool.name,
                "description": prompt.tool.description,
                "input_schema": prompt.tool.input_schema,
                "strict": True,
            }
        ],
        "tool_choice": {
            "type": "tool",
            "name": prompt.tool.name,
            "disable_parallel_tool_use": True,
        },
    }


def input_sha256(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the request parameters as canonical JSON."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _answer(answer: ModelAnswer, tool_name: str) -> tuple[str, str]:
    """Subject and body from the forced tool call, or `DraftRefused` saying what is wrong."""
    if answer.stop_reason == "max_tokens":
        raise DraftRefused("The answer was cut off at max_tokens before the email was complete.")
    if answer.stop_reason == "refusal":
        raise DraftRefused("The model declined to write this email.")
    calls = [call for call in answer.tool_calls if call.name == tool_name]
    if not calls:
        raise DraftRefused(
            f"The answer has no {tool_name} call (stop_reason {answer.stop_reason!r})."
        )
    data = calls[0].input
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
