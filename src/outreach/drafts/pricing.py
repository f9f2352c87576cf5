"""What a draft cost, estimated from its token counts and a small table of list prices.

An estimate, not a bill: prices are Anthropic's published list prices per million tokens for
the standard API (no batch discount, no long-context surcharge, no negotiated rate), as
recorded in `PRICES`, which may have changed since. Prompt-cache writes are priced at 1.25 times
the input price (the 5-minute cache) and cache reads at 0.1 times, as Anthropic prices them. The
Claude Console's usage page is the authority; this is for seeing roughly what a batch costs
before and while it runs.

A model is priced by the longest entry of `PRICES` its name starts with, else by its family
("opus", "sonnet", "haiku" anywhere in the name) at that family's most recent price, else not
at all (None): a cost that cannot be estimated is shown as unknown rather than as zero. The
template writer ("template") costs nothing.

Costs are whole micro-dollars (millionths of a US dollar): since prices are per million
tokens, a token count times a price in dollars is already micro-dollars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CACHE_WRITE_FACTOR: Final = 1.25
CACHE_READ_FACTOR: Final = 0.1
FREE_MODELS: Final = frozenset({"template"})


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float


PRICES: Final[tuple[tuple[str, Price], ...]] = (
    ("claude-opus-4-5", Price(5.0, 25.0)),
    ("claude-opus-4-1", Price(15.0, 75.0)),
    ("claude-opus-4", Price(15.0, 75.0)),
    ("claude-sonnet-4-5", Price(3.0, 15.0)),
    ("claude-sonnet-4", Price(3.0, 15.0)),
    ("claude-3-7-sonnet", Price(3.0, 15.0)),
    ("claude-haiku-4-5", Price(1.0, 5.0)),
    ("claude-3-5-haiku", Price(0.8, 4.0)),
    ("claude-3-haiku", Price(0.25, 1.25)),
)
"""List prices as published by Anthropic (2025); the first matching prefix by length wins."""

FAMILY_PRICES: Final[tuple[tuple[str, Price], ...]] = (
    ("opus", Price(5.0, 25.0)),
    ("sonnet", Price(3.0, 15.0)),
    ("haiku", Price(1.0, 5.0)),
)
"""A model newer than the table is priced like its family's most recent model."""


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def total(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )


def price_of(model: str | None) -> Price | None:
    """The price a model is estimated at, or None when it cannot be estimated."""
    if not model:
        return None
    name = model.strip().lower()
    if name in FREE_MODELS:
        return Price(0.0, 0.0)
    matches = [(len(prefix), price) for prefix, price in PRICES if name.startswith(prefix)]
    if matches:
        return max(matches, key=lambda pair: pair[0])[1]
    for family, price in FAMILY_PRICES:
        if family in name:
            return price
    return None


def cost_micros(model: str | None, usage: Usage) -> int | None:
    """The estimated cost of `usage` on `model` in micro-dollars, or None when the model's
    price is unknown."""
    price = price_of(model)
    if price is None:
        return None
    exact = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_write_tokens * price.input * CACHE_WRITE_FACTOR
        + usage.cache_read_tokens * price.input * CACHE_READ_FACTOR
    )
    return round(exact)


def dollars(micros: int | None) -> str:
    """A cost for people: "$0.0123", "$12.34", "unknown"."""
    if micros is None:
        return "unknown"
    amount = micros / 1_000_000
    if amount and amount < 1:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"
