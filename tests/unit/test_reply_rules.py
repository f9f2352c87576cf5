"""Reply categories by the phrase rules: every category in English, German, French, Spanish and
Dutch, the phrase that decided, which category wins when a reply says two things, and the
addresses a referral points to."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.inbox.reply_rules import (
    ORDER,
    PHRASES,
    Category,
    categorize,
    referred_addresses,
)

C = Category

EXAMPLES: list[tuple[str, Category, str]] = [
    # Do not contact.
    ("Please remove me from your list.", C.do_not_contact, "en"),
    ("Do not contact me again.", C.do_not_contact, "en"),
    ("Stop emailing me.", C.do_not_contact, "en"),
    ("Bitte nicht mehr kontaktieren.", C.do_not_contact, "de"),
    ("Entfernen Sie mich aus Ihrem Verteiler.", C.do_not_contact, "de"),
    ("Merci de ne plus me contacter.", C.do_not_contact, "fr"),
    ("Ne me contactez plus.", C.do_not_contact, "fr"),
    ("No me vuelva a contactar, por favor.", C.do_not_contact, "es"),
    ("Quiero darme de baja.", C.do_not_contact, "es"),
    ("Verwijder mij van deze lijst.", C.do_not_contact, "nl"),
    ("Graag niet meer mailen.", C.do_not_contact, "nl"),
    # Out of office (written by a person).
    ("I'm on vacation this week, ping me later.", C.out_of_office, "en"),
    ("Ich bin im Urlaub bis Montag.", C.out_of_office, "de"),
    ("Je suis en congés jusqu'au 3 mars.", C.out_of_office, "fr"),
    ("Estoy de vacaciones.", C.out_of_office, "es"),
    ("Ik ben met vakantie.", C.out_of_office, "nl"),
    # Wrong person / referral.
    ("I'm not the right person, please contact anna@acme.com.", C.wrong_person, "en"),
    ("John no longer works here.", C.wrong_person, "en"),
    ("Ich bin nicht zuständig, wenden Sie sich an Frau Meier.", C.wrong_person, "de"),
    ("Je ne suis pas la bonne personne.", C.wrong_person, "fr"),
    ("No soy la persona adecuada.", C.wrong_person, "es"),
    ("Ik ben niet de juiste persoon.", C.wrong_person, "nl"),
    # Not interested.
    ("Not interested, thanks.", C.not_interested, "en"),
    ("No thank you.", C.not_interested, "en"),
    ("We already have a provider for this.", C.not_interested, "en"),
    ("Kein Interesse.", C.not_interested, "de"),
    ("Ça ne m'intéresse pas.", C.not_interested, "fr"),
    ("Nous ne sommes pas intéressés.", C.not_interested, "fr"),
    ("No nos interesa.", C.not_interested, "es"),
    ("Geen interesse, bedankt.", C.not_interested, "nl"),
    # Meeting request.
    ("Can we schedule a call next week?", C.meeting_request, "en"),
    ("Let's talk on Tuesday.", C.meeting_request, "en"),
    ("Schicken Sie mir einen Termin.", C.meeting_request, "de"),
    ("On peut prendre rendez-vous ?", C.meeting_request, "fr"),
    ("¿Podemos agendar una reunión?", C.meeting_request, "es"),
    ("Zullen we een afspraak maken?", C.meeting_request, "nl"),
    # Information request.
    ("Could you send me more information?", C.information_request, "en"),
    ("What's your pricing?", C.information_request, "en"),
    ("Was kostet das?", C.information_request, "de"),
    ("Pouvez-vous m'envoyer plus d'informations ?", C.information_request, "fr"),
    ("¿Cuánto cuesta?", C.information_request, "es"),
    ("Ik wil graag meer informatie.", C.information_request, "nl"),
    # Interested.
    ("Sounds interesting!", C.interested, "en"),
    ("I'm interested.", C.interested, "en"),
    ("Klingt gut.", C.interested, "de"),
    ("Ça m'intéresse.", C.interested, "fr"),
    ("Me interesa.", C.interested, "es"),
    ("Klinkt goed.", C.interested, "nl"),
]


@pytest.mark.parametrize(("text", "category", "language"), EXAMPLES)
def test_each_phrase_decides_its_category_and_says_which_words_and_language(
    text, category, language
):
    found = categorize(text)
    assert (found.category, found.language) == (category, language)
    assert found.phrase is not None
    assert found.phrase.lower() in " ".join(text.lower().split())
    assert repr(found.phrase) in found.reason


def test_every_category_but_other_has_a_phrase_in_each_of_the_five_languages():
    covered = {(rule.category, rule.language) for rule in PHRASES}
    for category in ORDER:
        assert {language for c, language in covered if c is category} == {
            "en",
            "de",
            "fr",
            "es",
            "nl",
        }
    assert {(c, lang) for _, c, lang in EXAMPLES} == covered


def test_a_reply_with_none_of_the_phrases_is_other_and_says_so():
    found = categorize("Thanks for your email. Best, Jane")
    assert found.category is Category.other
    assert found.phrase is None
    assert found.reason == "the rules found no phrase of any category"


def test_not_interested_wins_over_the_interested_inside_it():
    assert categorize("We are not interested.").category is Category.not_interested
    assert categorize("No estamos interesados").category is Category.not_interested
    assert categorize("Niet geïnteresseerd").category is Category.not_interested


def test_please_contact_me_asks_for_a_call_and_is_no_referral():
    assert categorize("Please contact me next week, let's talk").category is (
        Category.meeting_request
    )
    assert categorize("Please contact bob@acme.com instead").category is Category.wrong_person


def test_a_phrase_split_over_two_lines_still_counts():
    found = categorize("I am not\ninterested")
    assert found.category is Category.not_interested
    assert found.phrase == "not interested"


def test_a_curly_apostrophe_reads_as_a_straight_one():
    assert categorize("Let\u2019s talk tomorrow").category is Category.meeting_request


def test_a_word_inside_another_word_is_no_phrase():
    assert categorize("Terminology aside, thanks").category is Category.other


def test_a_subject_the_author_wrote_counts_and_ours_with_re_does_not():
    assert categorize("", subject="Unsubscribe").category is Category.do_not_contact
    assert categorize("", subject="Re: pricing for your team").category is Category.other


def test_a_referral_names_the_addresses_it_points_to_without_the_authors_own_or_ours():
    text = "Not me: write to Anna.Smith@Acme.com or bob@acme.com. Me: jane@acme.com"
    found = referred_addresses(text, frozenset({"jane@acme.com", "sales@us.example"}))
    assert found == ("anna.smith@acme.com", "bob@acme.com")


# Combining rules.

_BY_CATEGORY = {category: [t for t, c, _ in EXAMPLES if c is category] for category in Category}
_examples = st.sampled_from(EXAMPLES)
_filler = st.text(alphabet=" .,;:!?\n-", max_size=20)


@given(_examples, _examples)
def test_a_reply_saying_two_things_gets_the_category_that_comes_first(first, second):
    text = f"{first[0]}\n---\n{second[0]}"
    expected = min(first[1], second[1], key=ORDER.index)
    assert categorize(text).category is expected


@given(_filler, _examples, _filler)
def test_punctuation_and_space_around_a_phrase_change_nothing(before, example, after):
    assert categorize(f"{before}{example[0]}{after}").category is example[1]


@given(st.text(max_size=300))
def test_any_text_gets_exactly_one_category_with_a_reason(text):
    found = categorize(text)
    assert found.category in Category
    assert (found.phrase is None) == (found.category is Category.other)
    assert found.reason
