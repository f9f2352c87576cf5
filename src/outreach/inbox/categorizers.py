"""Who decides a reply's category: the phrase rules (inbox/reply_rules.py), or Claude through
the LanguageModel the container builds when ANTHROPIC_API_KEY is set.

A categorizer is called with no transaction open (inbox/categories.py claims the reply, calls,
then records), from several threads at once: one categorizer serves a whole pass. Claude's
answer comes through a forced tool call with a strict schema; a transient failure (rate limit,
overload, timeout) raises CategorizerBusy to try again later; any other failure, or an answer
that is not a category, falls back to the rules, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Protocol

from outreach.drafts.pricing import Usage, cost_micros
from outreach.drafts.writers.anthropic import input_sha256
from outreach.inbox.prompts import categorize_v1
from outreach.inbox.reply_rules import Category, categorize, referred_addresses
from outreach.providers.errors import ProviderError, TransientError
from outreach.providers.llm import LanguageModel, ModelAnswer

RULES: Final = "the rules"
MAX_TOKENS: Final = 400


@dataclass(frozen=True)
class Reply:
    subject: str
    own_words: str
    """The author's words, quoted history and signature removed."""
    not_referred: frozenset[str] = frozenset()
    """Addresses a referral never points to: the author's own and our mailbox's."""


@dataclass(frozen=True)
class Verdict:
    category: Category
    reason: str
    by: str
    """"the rules", or the model that decided."""
    referred: tuple[str, ...] = ()
    """For wrong_person: the addresses the reply points to."""
    prompt_version: str | None = None
    input_sha256: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_micros: int | None = None


class CategorizerBusy(Exception):
    """Try again later: the model's provider is busy or unreachable for now."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Categorizer(Protocol):
    def categorize(self, reply: Reply) -> Verdict: ...

    def close(self) -> None: ...


class RuleCategorizer:
    def categorize(self, reply: Reply) -> Verdict:
        return by_rules(reply)

    def close(self) -> None:
        return None


def by_rules(reply: Reply, prefix: str = "") -> Verdict:
    found = categorize(reply.own_words, reply.subject)
    referred = (
        referred_addresses(reply.own_words, reply.not_referred)
        if found.category is Category.wrong_person
        else ()
    )
    return Verdict(found.category, prefix + found.reason, RULES, referred)


class ClaudeCategorizer:
    """One Messages API call per reply (prompt: inbox/prompts/categorize_v1.py)."""

    def __init__(self, messages: LanguageModel, *, model: str) -> None:
        self.messages = messages
        self.model = model

    def categorize(self, reply: Reply) -> Verdict:
        parameters = categorize_v1.request(self.model, MAX_TOKENS, reply.subject, reply.own_words)
        digest = input_sha256(parameters)
        try:
            answer = self.messages.create(parameters)
        except TransientError as error:
            raise CategorizerBusy(error.reason, error.retry_after) from error
        except ProviderError as error:
            return by_rules(reply, f"Claude could not categorize it ({error.reason}); ")
        model = answer.model or self.model
        usage = Usage(
            answer.input_tokens or 0,
            answer.output_tokens or 0,
            answer.cache_read_tokens or 0,
            answer.cache_write_tokens or 0,
        )
        read = _read(answer)
        if isinstance(read, str):
            verdict = by_rules(reply, f"Claude's answer was not a category ({read}); ")
        else:
            category, reason, referred = read
            referred = tuple(a for a in referred if a not in reply.not_referred)
            if category is Category.wrong_person and not referred:
                referred = referred_addresses(reply.own_words, reply.not_referred)
            verdict = Verdict(category, f"{model}: {reason}", model, referred)
        return replace(
            verdict,
            prompt_version=categorize_v1.VERSION,
            input_sha256=digest,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            cost_micros=cost_micros(model, usage),
        )

    def close(self) -> None:
        self.messages.close()


def _read(answer: ModelAnswer) -> tuple[Category, str, tuple[str, ...]] | str:
    """The category, reason and referred address of the forced tool call, or what is wrong."""
    calls = [call for call in answer.tool_calls if call.name == categorize_v1.TOOL_NAME]
    if not calls or not isinstance(calls[0].input, dict):
        return f"no {categorize_v1.TOOL_NAME} call, stop_reason {answer.stop_reason!r}"
    data = calls[0].input
    try:
        category = Category(str(data.get("category")))
    except ValueError:
        return f"{data.get('category')!r:.60}"
    reason = str(data.get("reason") or "").strip()[:500] or "no reason given"
    referred = data.get("referred_email")
    found = (referred.strip().lower(),) if isinstance(referred, str) and "@" in referred else ()
    return category, reason, found
