"""Estimated cost of drafts, and how long a busy draft waits before it is tried again."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.drafts.pricing import Price, Usage, cost_micros, dollars, price_of
from outreach.drafts.writing import RETRY_POLICY

FIRST_BACKOFF_SECONDS = RETRY_POLICY.first_delay_seconds
LONGEST_BACKOFF_SECONDS = RETRY_POLICY.longest_delay_seconds
LONGEST_RETRY_AFTER_SECONDS = RETRY_POLICY.longest_retry_after_seconds or 0.0


def retry_delay(attempts: int, retry_after: float | None, jitter: float = 0.0) -> float:
    return RETRY_POLICY.delay_seconds(attempts, retry_after, jitter)


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("claude-opus-4-5-20251101", Price(5.0, 25.0)),
        ("claude-opus-4-1-20250805", Price(15.0, 75.0)),
        ("claude-opus-4-20250514", Price(15.0, 75.0)),
        ("claude-sonnet-4-5", Price(3.0, 15.0)),
        ("claude-haiku-4-5-20251001", Price(1.0, 5.0)),
        ("claude-3-5-haiku-latest", Price(0.8, 4.0)),
        ("claude-sonnet-5-5", Price(3.0, 15.0)),  # newer than the table: its family's price
        ("Claude-Opus-9", Price(5.0, 25.0)),
        ("template", Price(0.0, 0.0)),
    ],
)
def test_a_model_is_priced_by_its_longest_prefix_then_its_family(model, price):
    assert price_of(model) == price


@pytest.mark.parametrize("model", [None, "", "gpt-4o", "my-proxy-model"])
def test_a_model_of_no_known_family_has_no_price(model):
    assert price_of(model) is None
    assert cost_micros(model, Usage(1000, 1000)) is None


def test_cost_counts_each_kind_of_token_at_its_rate():
    usage = Usage(
        input_tokens=1_000, output_tokens=500, cache_read_tokens=10_000, cache_write_tokens=2_000
    )
    # Sonnet: $3 in, $15 out, cache writes 1.25 times input, reads 0.1 times: micro-dollars.
    expected = 1_000 * 3 + 500 * 15 + 2_000 * 3 * 1.25 + 10_000 * 3 * 0.1
    assert cost_micros("claude-sonnet-4-5", usage) == round(expected) == 21_000
    assert cost_micros("template", usage) == 0


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7))
def test_cost_never_falls_when_tokens_grow(a, b, c, d):
    small = Usage(a, b, c, d)
    bigger = small + Usage(1, 1, 1, 1)
    low = cost_micros("claude-haiku-4-5", small)
    high = cost_micros("claude-haiku-4-5", bigger)
    assert low is not None
    assert high is not None
    assert high >= low


@pytest.mark.parametrize(
    ("micros", "text"),
    [(None, "unknown"), (0, "$0.00"), (1_234, "$0.0012"), (12_345_678, "$12.35")],
)
def test_a_cost_reads_as_dollars(micros, text):
    assert dollars(micros) == text


def test_a_busy_draft_waits_what_the_provider_asked():
    assert retry_delay(1, 7.0) == 7.0
    assert retry_delay(5, 0.0) == 0.0
    assert retry_delay(1, 10 * LONGEST_RETRY_AFTER_SECONDS) == LONGEST_RETRY_AFTER_SECONDS


def test_without_a_retry_after_the_wait_doubles_up_to_a_cap():
    waits = [retry_delay(attempt, None) for attempt in range(1, 10)]
    assert waits[:4] == [FIRST_BACKOFF_SECONDS * 2**n for n in range(4)]
    assert max(waits) == LONGEST_BACKOFF_SECONDS
    assert waits == sorted(waits)


@given(st.integers(0, 50), st.none() | st.floats(0, 10**6), st.floats(0, 1))
def test_jitter_adds_at_most_a_fifth(attempts, retry_after, jitter):
    plain = retry_delay(attempts, retry_after)
    assert plain <= retry_delay(attempts, retry_after, jitter) <= plain * 1.2 + 1e-9
