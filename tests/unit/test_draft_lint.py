"""The draft linter: every check, what it must flag and what it must leave alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.drafts.lint import (
    MAX_FOLLOW_UP_WORDS,
    MAX_LINKS,
    MAX_SUBJECT,
    MAX_WORDS,
    Facts,
    Finding,
    facts_from,
    lint,
    spam_words,
)

ADA = facts_from(
    {"email": "ada@analytical.example", "first_name": "Ada", "company": "Analytical Engines"},
    {"City": "London", "Fleet size": "1,200 vans", "Tags": ["logistics", "Croydon depot"]},
    {"news": {"headline": "Opened a second depot in Reading"}},
    "Pitch Routewise, our route planner. Offer a 15-minute call. Sign as Sam.",
    ["Subject: Routes for Analytical Engines\n\nHi Ada, how is London?"],
)
CLEAN_SUBJECT = "Routes for Analytical Engines"
CLEAN_BODY = (
    "Hi Ada,\n\nCongrats on the second depot in Reading. With 1,200 vans across London, "
    "Routewise could plan routes for Analytical Engines in minutes.\n\n"
    "Open to a 15-minute call next week?\n\nBest,\nSam"
)


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def messages(findings: list[Finding], code: str) -> str:
    return " ".join(f.message for f in findings if f.code == code)


def test_a_clean_draft_has_no_warnings():
    assert lint(CLEAN_SUBJECT, CLEAN_BODY, ADA) == []


# Placeholders and empty parts ---------------------------------------------------------------


@pytest.mark.parametrize(
    "leftover",
    [
        "{{ first_name }}",
        "{{company}}",
        "[First Name]",
        "[Company]",
        "<COMPANY>",
        "%FIRSTNAME%",
        "{name}",
    ],
)
def test_an_unfilled_merge_field_or_placeholder_is_flagged(leftover):
    findings = lint(CLEAN_SUBJECT, f"Hi {leftover},\n\nQuick question.", ADA)
    assert "placeholder" in codes(findings)
    assert leftover in messages(findings, "placeholder")


def test_a_placeholder_in_the_subject_is_flagged_too():
    assert "placeholder" in codes(lint("Routes for {{ company }}", CLEAN_BODY, ADA))


@pytest.mark.parametrize("subject", ["", "   ", "\t"])
def test_an_empty_subject_is_flagged(subject):
    assert codes(lint(subject, CLEAN_BODY, ADA)) == ["empty_subject"]


def test_an_empty_body_is_flagged():
    assert "empty_body" in codes(lint(CLEAN_SUBJECT, "  \n ", ADA))


# Facts -------------------------------------------------------------------------------------------


def test_a_company_or_place_not_in_the_contacts_data_is_flagged():
    findings = lint(CLEAN_SUBJECT, "Hi Ada,\n\nI saw Babbage Ltd opened in Paris last week.", ADA)
    text = messages(findings, "unknown_fact")
    assert '"Babbage Ltd"' in text
    assert '"Paris"' in text
    assert "Ada" not in text


def test_a_figure_not_in_the_contacts_data_is_flagged_and_a_known_one_is_not():
    findings = lint(CLEAN_SUBJECT, "Hi Ada, your 1200 vans and 37 depots save 20% with us.", ADA)
    text = messages(findings, "unknown_fact")
    assert '"37"' in text
    assert '"20%"' in text
    assert "1200" not in text  # "1,200 vans" is in raw_data: the same figure


def test_facts_from_nested_data_the_instructions_and_earlier_emails_count_as_known():
    body = "Hi Ada, how is the Croydon depot? Routewise helps, and Reading too."
    assert lint(CLEAN_SUBJECT, body, ADA) == []


def test_a_name_opening_a_sentence_is_checked_from_two_words_or_after_a_greeting():
    alone = lint(CLEAN_SUBJECT, "Hi Ada. Paris is lovely.", ADA)
    assert "unknown_fact" not in codes(alone)  # one capitalised word opening a sentence
    run = lint(CLEAN_SUBJECT, "Hi Ada. Babbage Ltd called.", ADA)
    assert '"Babbage Ltd"' in messages(run, "unknown_fact")
    greeting = lint(CLEAN_SUBJECT, "Hello Charles,\n\nhow are you?", ADA)
    assert '"Charles"' in messages(greeting, "unknown_fact")


@pytest.mark.parametrize(
    "body",
    [
        "Hi Ada,\n\nI hope Monday treats you well. Best regards, Sam",
        "Thanks Ada! Happy to send details in March. Cheers",
        "Hi Ada, our CEO and the VP of Sales would like a call. I'm free at 3pm UTC.",
        "Dear Ada, P.S. I'll follow up.",
    ],
)
def test_greetings_days_months_titles_and_pronouns_are_no_facts(body):
    assert "unknown_fact" not in codes(lint(CLEAN_SUBJECT, body, ADA))


def test_a_title_case_subject_is_not_read_as_names():
    findings = lint("Quick Question About Your Delivery Routes", CLEAN_BODY, ADA)
    assert "unknown_fact" not in codes(findings)


def test_re_in_a_follow_up_subject_is_no_fact():
    findings = lint(
        "Re: Routes for Analytical Engines", "Hi Ada, any thoughts?", ADA, follow_up=True
    )
    assert findings == []


def test_links_and_addresses_are_not_read_as_names_or_figures():
    body = "Hi Ada, see https://Routewise.example/Plan2026 or write to Sam.Smith@routewise.example."
    assert "unknown_fact" not in codes(lint(CLEAN_SUBJECT, body, ADA))


def test_a_sender_name_the_instructions_do_not_give_is_flagged():
    findings = lint(CLEAN_SUBJECT, "Hi Ada, a quick note.\n\nBest regards, Jordan", ADA)
    assert '"Jordan"' in messages(findings, "unknown_fact")


def test_times_of_day_are_no_figures():
    assert lint(CLEAN_SUBJECT, "Hi Ada, free at 10am or 3pm?", ADA) == [
        Finding("spam_words", 'Words spam filters distrust: "free".')
    ]


def test_without_facts_nothing_is_called_invented():
    assert "unknown_fact" not in codes(lint(CLEAN_SUBJECT, "Babbage Ltd has 99 vans.", None))


# Length and links ---------------------------------------------------------------------------------


def test_a_long_subject_is_flagged():
    findings = lint("x" * (MAX_SUBJECT + 1), CLEAN_BODY, ADA)
    assert codes(findings) == ["long_subject"]
    assert lint("x" * MAX_SUBJECT, CLEAN_BODY, ADA) == []


def test_a_long_body_is_flagged_with_a_lower_limit_for_follow_ups():
    words = " ".join(["routes"] * (MAX_FOLLOW_UP_WORDS + 1))
    assert "long_body" not in codes(lint(CLEAN_SUBJECT, words, ADA))
    assert "long_body" in codes(lint(CLEAN_SUBJECT, words, ADA, follow_up=True))
    many = " ".join(["routes"] * (MAX_WORDS + 1))
    assert "long_body" in codes(lint(CLEAN_SUBJECT, many, ADA))


def test_more_links_than_allowed_are_flagged():
    links = " ".join(f"https://routewise.example/{n}" for n in range(MAX_LINKS + 1))
    assert "links" in codes(lint(CLEAN_SUBJECT, f"Hi Ada, {links}", ADA))
    fewer = " ".join(f"https://routewise.example/{n}" for n in range(MAX_LINKS))
    assert "links" not in codes(lint(CLEAN_SUBJECT, f"Hi Ada, {fewer}", ADA))


def test_www_links_count_as_links():
    body = "Hi Ada, www.a.example www.b.example https://c.example"
    assert "links" in codes(lint(CLEAN_SUBJECT, body, ADA))


# Spam words and shouting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("A FREE trial, guaranteed!", ["free", "guaranteed"]),
        ("Act now: limited time offer", ["act now", "limited time"]),
        ("It is 100% free and risk-free", ["100% free", "free", "risk-free"]),
        ("Feel free to reply, or free to ignore", []),
        ("No obligation, click here", ["click here", "no obligation"]),
        ("Make $$$ fast", ["$$$"]),
        ("A freelance network", []),
    ],
)
def test_spam_trigger_words_are_found_as_whole_words(text, found):
    assert sorted(spam_words(text)) == sorted(found)


def test_spam_words_and_shouting_are_warnings():
    findings = lint("URGENT: last chance", "Hi Ada!! Buy now!", ADA)
    assert codes(findings).count("spam_words") == 2
    assert "URGENT" in messages(findings, "spam_words")
    assert "3 exclamation marks" in messages(findings, "spam_words")


def test_acronyms_the_contact_uses_are_not_shouting():
    facts = facts_from({"company": "NASA"})
    assert lint("Hello", "Hi, does NASA plan routes?", facts) == []


# Properties ----------------------------------------------------------------------------------------


@given(st.text(max_size=300), st.text(max_size=2000))
def test_the_linter_never_fails_on_any_text(subject, body):
    findings = lint(subject, body, ADA)
    assert all(isinstance(f, Finding) and f.message for f in findings)


@given(st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs"]), max_size=400))
def test_text_that_is_all_known_facts_raises_no_fact_warning(text):
    facts = Facts.of([text])
    assert "unknown_fact" not in codes(lint("Hello", text, facts))
