"""A new mailbox's ramp and the gap between an account's sends, and the tenant limit Exchange
Online shares among a tenant's mailboxes: the pure rules."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.providers.errors import refuses_our_domain, tenant_limit_reached
from outreach.providers.limits import tenant_recipient_limit
from outreach.senders.ramp import GAP_JITTER, Ramp, send_gap

ramps = st.builds(
    lambda start, step, extra: Ramp(start, step, start + extra),
    st.integers(1, 200),
    st.integers(1, 50),
    st.integers(0, 500),
)
MONDAY = date(2026, 12, 7)


def test_the_default_ramp_starts_at_10_grows_by_2_and_stops_at_30():
    ramp = Ramp()
    assert [ramp.cap(days) for days in range(12)] == [
        10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 30,
    ]  # fmt: skip
    assert ramp.reaches_target(0, MONDAY) == date(2026, 12, 17)


@given(ramps, st.integers(0, 1000))
def test_the_cap_never_shrinks_and_never_passes_the_target(ramp, days):
    assert ramp.start <= ramp.cap(days) <= ramp.cap(days + 1) <= ramp.target


@given(ramps, st.integers(0, 1000))
def test_the_cap_grows_by_the_step_until_the_target(ramp, days):
    assert ramp.cap(days + 1) == min(ramp.cap(days) + ramp.step, ramp.target)


@given(ramps, st.integers(0, 1000))
def test_the_day_it_reaches_its_target_is_the_first_day_its_cap_is_the_target(ramp, days):
    reached = ramp.reaches_target(days, MONDAY)
    ahead = (reached - MONDAY).days
    assert ramp.cap(days + ahead) == ramp.target
    assert ahead == 0 or ramp.cap(days + ahead - 1) < ramp.target


def test_where_an_account_is_reads_as_a_sentence():
    assert Ramp().describe(2, MONDAY) == (
        "ramping up: 14 a day today (sending day 3), 30 from Tue 15 Dec if it sends every day"
    )
    assert Ramp().describe(10, MONDAY) == "ramped up to 30 a day"


@pytest.mark.parametrize(("start", "step", "target"), [(0, 2, 30), (31, 2, 30), (10, 0, 30)])
def test_a_ramp_that_cannot_be_is_refused(start, step, target):
    with pytest.raises(ValueError, match="a ramp"):
        Ramp(start, step, target)


@given(st.integers(0, 86_400), st.floats(0, 1, exclude_max=True))
def test_the_gap_is_the_minimum_stretched_by_at_most_half(gap, draw):
    assert gap <= send_gap(gap, draw) <= gap * (1 + GAP_JITTER)


@given(st.integers(1, 86_400), st.floats(0, 1, exclude_max=True), st.floats(0, 1, exclude_max=True))
def test_a_larger_draw_never_gives_a_shorter_gap(gap, one, other):
    low, high = sorted((one, other))
    assert send_gap(gap, low) <= send_gap(gap, high)


def test_a_gap_of_zero_stays_zero_whatever_the_draw():
    assert send_gap(0, 0.99) == 0


@pytest.mark.parametrize(
    ("licences", "limit"), [(1, 10_000), (2, 10_312), (100, 22_059), (1_000, 72_446)]
)
def test_the_tenant_limit_follows_microsofts_formula(licences, limit):
    assert tenant_recipient_limit(licences) == limit


@given(st.integers(1, 100_000))
def test_more_licences_never_lower_the_tenant_limit(licences):
    assert tenant_recipient_limit(licences) <= tenant_recipient_limit(licences + 1)


def test_a_tenant_limit_refusal_is_neither_our_domain_nor_the_recipient():
    text = (
        "5.7.233 Your organization has exceeded its daily limit for sending to external recipients"
    )
    assert tenant_limit_reached(text)
    assert not refuses_our_domain(text)
    assert not tenant_limit_reached("5.7.23 The message was rejected because of SPF")
