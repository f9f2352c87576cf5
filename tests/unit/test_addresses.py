"""Contact addresses: the fast path agrees with email-validator everywhere, and the examples an
import report shows."""

from __future__ import annotations

import string

import email_validator
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outreach.contacts.addresses import (
    ROLE_LOCAL_PARTS,
    CheckedAddress,
    _fast,
    check_address,
    company_domain,
    dedupe_key,
    domain_of,
)
from tests.hypothesis_profiles import examples

MANY = settings(
    max_examples=examples(in_ci=5000), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SOME = settings(
    max_examples=examples(in_ci=500), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def email_validator_says(text: str) -> str | None:
    """email-validator's normalized form of the trimmed text, called as the brief fixes it."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def email_validator_problem(text: str) -> str:
    try:
        validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)
    raise AssertionError(f"email-validator accepts {text!r}")


def assert_agrees_with_email_validator(text: str) -> None:
    checked = check_address(text)
    expected = email_validator_says(text)
    assert checked.address == expected, text
    if expected is None:
        blank = not text.strip()
        assert checked.problem == ("no email address" if blank else email_validator_problem(text))
        assert not checked.role
    else:
        assert checked.problem is None


# --- strategies that sit on email-validator's boundaries -------------------------------------

ALNUM = string.ascii_letters + string.digits
ATEXT_SPECIALS = "!#$%&'*+/=?^_`{|}~-"
NOT_ATEXT = '"(),:;<>[]\\ @.'
UNICODE_TROUBLE = (
    "\u00e9\u00f6\u00fc\u00df\u00e7\u00c6\u0130\u0131"  # accented Latin, dotted and dotless i
    "\u212a\u017f\ufb01"  # Kelvin sign, long s, fi ligature: UTS-46 maps them to ASCII
    "\uff20\ufe6b\uff0e\u3002\uff41"  # full-width @ and a, small @, two foreign dots
    "\u0301\u00a0\u200b\u3000\u0436\u4e2d"  # combining acute, spaces, Cyrillic, Han
)
WHITESPACE = " \t\n\r\x0b\x0c\u00a0\u2003"

mixed_alphabet = st.sampled_from(
    list(string.ascii_letters + string.digits + ATEXT_SPECIALS + NOT_ATEXT + UNICODE_TROUBLE)
    + ["@"] * 6
    + ["."] * 6
    + ["-"] * 4
)
mixed_text = st.text(alphabet=mixed_alphabet, max_size=40)
any_text = st.text(max_size=40)

atom = st.text(
    alphabet=string.ascii_letters + string.digits + ATEXT_SPECIALS, min_size=1, max_size=12
)
local_parts = st.one_of(
    st.lists(atom, min_size=1, max_size=4).map(".".join),
    st.integers(1, 70).map(lambda n: "a" * n),
    st.integers(60, 70).map(lambda n: "J" + "o.d" * (n // 3)),
    st.text(alphabet=string.ascii_letters + ".." + ATEXT_SPECIALS + NOT_ATEXT, max_size=10),
    st.sampled_from(["Info", "SALES", "Postmaster", "NOC", "Sales+eu", "no-reply", '"jane doe"']),
    st.sampled_from(["a..b", ".a", "a.", "j\u00f6hn", "K\u212aelvin", "jane\u0301", "\u0301jane"]),
    st.just("\uff4a\uff41\uff4e\uff45"),  # full-width "jane"
)
labels = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=0, max_size=8),
    st.integers(60, 66).map(lambda n: "d" * n),
    st.sampled_from(["example", "EXAMPLE", "xn--exmple-cua", "xn--p1ai", "xn--", "1"]),
    st.sampled_from(["ab--cd", "a--b", "-a", "a-", "exa_mple", "[127.0.0.1]"]),
    st.sampled_from(["ex\u00e4mple", "\u212aelvin", "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45"]),
)
tlds = st.one_of(
    st.sampled_from(["com", "COM", "Org", "io", "c", "c0m", "123", "1a", "a1", "co-m", "r\u0444"]),
    st.sampled_from(["test", "TEST", "local", "Localhost", "invalid", "arpa", "onion", "example"]),
    st.sampled_from(["xn--p1ai", "in-addr"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=66),
)
domains = st.builds(lambda inner, tld: ".".join([*inner, tld]), st.lists(labels, max_size=4), tlds)
at_signs = st.sampled_from(["@"] * 8 + ["", "@@", " @", "\uff20"])
padding = st.one_of(st.just(""), st.text(alphabet=WHITESPACE, max_size=3))
structured_addresses = st.builds(
    lambda lead, local, at, domain, trail: lead + local + at + domain + trail,
    padding,
    local_parts,
    at_signs,
    domains,
    padding,
)

# Addresses the fast path should mostly accept, with the cases it must refuse mixed in at the
# edges: label and local part lengths around 63/64, total length around 254, upper case,
# hyphens, RFC 2142 names, special-use and numeric TLDs.
ordinary_atom = st.text(
    alphabet=string.ascii_letters + string.digits + "_+-'", min_size=1, max_size=10
)
ordinary_locals = st.one_of(
    st.lists(ordinary_atom, min_size=1, max_size=3).map(".".join),
    st.integers(62, 66).map(lambda n: "x" * n),
    st.sampled_from(["Info", "SALES", "postmaster", "Www", "NOC", "security+x", "Support"]),
)
ordinary_labels = st.one_of(
    st.builds(
        lambda first, inner, last: first + inner + last,
        st.sampled_from(ALNUM),
        st.text(alphabet=ALNUM + "-", max_size=6),
        st.sampled_from(ALNUM),
    ),
    st.sampled_from(ALNUM),
    st.integers(61, 64).map(lambda n: "L" + "-" * (n % 2) + "l" * (n - 1 - n % 2)),
    st.sampled_from(["mail", "EXAMPLE", "a--b", "xn--p1ai", "-x", "x-", "ab--c"]),
)
ordinary_tlds = st.one_of(
    st.text(alphabet=string.ascii_letters, min_size=2, max_size=6),
    st.sampled_from(["c", "TEST", "Local", "onion", "arpa", "invalid", "localhost", "1a", "a1"]),
    st.integers(62, 64).map(lambda n: "t" * n),
)
near_ordinary_addresses = st.builds(
    lambda local, inner, tld: local + "@" + ".".join([*inner, tld]),
    ordinary_locals,
    st.lists(ordinary_labels, min_size=0, max_size=4),
    ordinary_tlds,
)


# --- the key property ------------------------------------------------------------------------


@MANY
@given(structured_addresses)
@example("Jane.Doe@Example.COM")
@example("a" * 64 + "@" + "d" * 63 + "." + "d" * 63 + "." + "d" * 57 + ".com")  # 254
@example("a" * 64 + "@" + "d" * 63 + "." + "d" * 63 + "." + "d" * 58 + ".com")  # 255
@example("Info@Example.com")
def test_addresses_built_near_the_rules_get_exactly_email_validators_verdict(text):
    assert_agrees_with_email_validator(text)


@MANY
@given(st.one_of(mixed_text, any_text))
def test_any_text_at_all_gets_exactly_email_validators_verdict(text):
    assert_agrees_with_email_validator(text)


@SOME
@given(st.emails())
def test_addresses_hypothesis_thinks_valid_get_exactly_email_validators_verdict(text):
    assert_agrees_with_email_validator(text)


@MANY
@given(near_ordinary_addresses)
def test_whatever_the_fast_path_accepts_email_validator_accepts_in_the_same_form(text):
    accepted = _fast(text)
    if accepted is not None:
        assert validate_email(text, check_deliverability=False).normalized == accepted


@pytest.mark.parametrize("character", [chr(code) for code in range(128)])
def test_every_ascii_character_in_either_part_is_judged_as_email_validator_judges_it(character):
    for text in (f"a{character}b@example.com", f"ab@ex{character}ample.com", f"{character}@x.org"):
        accepted = _fast(text)
        if accepted is not None:
            assert accepted == email_validator_says(text)
        assert_agrees_with_email_validator(text)


# --- the fast path is really taken -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Jane.Doe@Example.COM", "Jane.Doe@example.com"),
        ("o'brien+news@mail.example.co.uk", "o'brien+news@mail.example.co.uk"),
        ("SUPPORT@Example.com", "support@example.com"),
        ("a" * 64 + "@" + "b" * 63 + ".com", "a" * 64 + "@" + "b" * 63 + ".com"),
    ],
)
def test_ordinary_addresses_take_the_fast_path(typed, stored):
    assert _fast(typed) == stored, (
        f"email-validator is {email_validator.__version__}: re-check the fast path against its"
        " source, then move _PROVEN_AGAINST"
    )


@pytest.mark.parametrize(
    "typed",
    [
        "j\u00f6hn@ex\u00e4mple.com",
        "jane@xn--exmple-cua.com",
        "jane@ab--cd.com",
        "jane@example.test",
        "jane@example.c",
        "jane@example.1a",
        "a" * 65 + "@example.com",
        '"jane"@example.com',
        "jane@\u212aelvin.com",
        "jane@[127.0.0.1]",
        "jane@" + "b" * 64 + ".com",
        "jane@example-.com",
    ],
)
def test_anything_unusual_is_left_to_email_validator(typed):
    assert _fast(typed) is None


# --- what an import report shows -------------------------------------------------------------


def test_an_address_is_trimmed_and_its_domain_lower_cased_while_its_local_part_keeps_its_case():
    assert check_address("  Jane.Doe@Example.COM \n") == CheckedAddress(
        address="Jane.Doe@example.com", problem=None, role=False
    )


@pytest.mark.parametrize("blank", ["", "   ", "\t\n", "\u00a0"])
def test_a_blank_cell_has_no_email_address(blank):
    assert check_address(blank) == CheckedAddress(
        address=None, problem="no email address", role=False
    )


def test_an_address_without_an_at_sign_is_invalid():
    checked = check_address("jane.example.com")
    assert checked.address is None
    assert checked.problem == "An email address must have an @-sign."


def test_two_dots_in_a_row_are_invalid():
    assert check_address("jane..doe@example.com").problem == (
        "An email address cannot have two periods in a row."
    )


@pytest.mark.parametrize(
    "typed",
    [
        "jane@printer.local",
        "jane@shop.test",
        "jane@localhost",
        "jane@x.onion",
        "a@1.0.10.in-addr.arpa",
    ],
)
def test_special_use_domains_are_invalid(typed):
    checked = check_address(typed)
    assert checked.address is None
    assert checked.problem is not None


def test_a_top_level_domain_must_end_with_a_letter():
    assert check_address("jane@example.123").address is None
    assert check_address("jane@example.a1").address is None


def test_a_local_part_over_64_characters_is_still_valid_because_email_validator_says_so():
    long_local = "a" * 65
    assert check_address(f"{long_local}@example.com").address == f"{long_local}@example.com"


def test_a_role_address_is_valid_and_flagged_even_with_a_tag():
    assert check_address("Sales+eu@x.com") == CheckedAddress(
        address="Sales+eu@x.com", problem=None, role=True
    )
    assert check_address("no-reply@x.com").role
    assert not check_address("jane@x.com").role


def test_rfc_2142_mailbox_names_are_stored_in_lower_case_as_email_validator_does():
    assert check_address("INFO@Example.com") == CheckedAddress(
        address="info@example.com", problem=None, role=True
    )


def test_the_role_list_is_lower_case_without_tags():
    assert all(part == part.lower() and "+" not in part for part in ROLE_LOCAL_PARTS)


def test_a_unicode_address_is_checked_by_email_validator():
    assert _fast("j\u00f6hn@ex\u00e4mple.com") is None
    assert check_address("j\u00f6hn@EX\u00c4MPLE.com").address == "j\u00f6hn@ex\u00e4mple.com"
    assert check_address("jane@xn--exmple-cua.com").address == "jane@ex\u00e4mple.com"


def test_duplicates_are_found_whatever_the_case():
    first = check_address("Jane.Doe@example.com").address
    second = check_address("jane.doe@EXAMPLE.com").address
    assert first is not None
    assert second is not None
    assert first != second
    assert dedupe_key(first) == dedupe_key(second) == "jane.doe@example.com"


def test_the_domain_of_an_address_is_lower_cased_for_domain_suppressions():
    assert domain_of("Jane@Example.COM") == "example.com"
    assert domain_of("j\u00f6hn@ex\u00e4mple.com") == "ex\u00e4mple.com"


def test_people_at_a_personal_mailbox_provider_have_no_company_domain():
    assert company_domain("ada@Analytical.example") == "analytical.example"
    assert company_domain("joan@gmail.com") is None
    assert company_domain("mavis@GMAIL.COM") is None
