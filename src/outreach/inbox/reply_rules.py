"""What a person's reply means for what happens next: its category, decided by rules over
phrases in English, German, French, Spanish and Dutch when no language model is set up.

Pure: the author's own words (and the subject they wrote) in, a RuleVerdict out, saying which
phrase decided. The categories are checked in this order and the first with a phrase in the
text wins, so that the more specific or more binding meaning beats a looser one:

1. do not contact ("remove me", "bitte nicht mehr kontaktieren", "ne me contactez plus");
2. out of office ("on vacation", "im Urlaub", "en congés");
3. wrong person / referral ("not the right person", "please contact", "wenden Sie sich an");
4. not interested (before interested: "not interested" contains "interested");
5. meeting request ("schedule a call", "Termin", "rendez-vous");
6. information request ("more information", "pricing", "plus d'informations");
7. interested ("sounds interesting", "klingt gut", "me interesa");
8. anything else is other.

A rule is read loosely on purpose: a person sees every category and can change it, and the
machine never overrides them (inbox/categories.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["PHRASES", "Category", "RuleVerdict", "categorize", "referred_addresses"]


class Category(StrEnum):
    interested = "interested"
    meeting_request = "meeting_request"
    information_request = "information_request"
    not_interested = "not_interested"
    do_not_contact = "do_not_contact"
    out_of_office = "out_of_office"
    wrong_person = "wrong_person"
    other = "other"

    @property
    def words(self) -> str:
        """As people read it: "meeting request", "wrong person / referral"."""
        return _WORDS.get(self, self.value.replace("_", " "))


_WORDS = {Category.wrong_person: "wrong person / referral"}

ORDER = (
    Category.do_not_contact,
    Category.out_of_office,
    Category.wrong_person,
    Category.not_interested,
    Category.meeting_request,
    Category.information_request,
    Category.interested,
)
"""The order the rules are tried in (see the module's docstring)."""

_PHRASES: dict[Category, dict[str, tuple[str, ...]]] = {
    Category.do_not_contact: {
        "en": (
            r"unsubscribe",
            r"remove (?:me|us|my (?:e-?mail|address|name|details))",
            r"take (?:me|us) off",
            r"(?:do not|don't|never) (?:contact|e-?mail|write to|message) (?:me|us)",
            r"stop (?:e-?mailing|contacting|writing to|messaging|spamming)",
            r"no (?:more|further) (?:e-?mails|messages|contact)",
            r"opt (?:me )?out",
        ),
        "de": (
            r"abmelden",
            r"austragen",
            r"nicht mehr (?:kontaktieren|anschreiben|schreiben|mailen)",
            r"keine (?:weiteren )?(?:e-?mails|mails|nachrichten)",
            r"(?:entfernen|löschen) sie (?:mich|meine)",
        ),
        "fr": (
            r"d[ée]sabonne\w*",
            r"d[ée]sinscri\w*",
            r"ne (?:plus )?me (?:plus )?(?:contacter|écrire)",
            r"ne me contactez plus",
            r"(?:retirez|supprimez|rayez)[- ]moi",
        ),
        "es": (
            r"no (?:me|nos) (?:vuelva[ns]? a )?(?:contact(?:e[ns]?|ar)|escrib(?:a[ns]?|ir))",
            r"(?:dar(?:me)?|darse) de baja",
            r"elimin(?:e|en|ar) (?:mi|mis|me)\b",
            r"no (?:quiero|queremos) recibir m[áa]s",
        ),
        "nl": (
            r"afmelden",
            r"uitschrijven",
            r"(?:niet|nooit) meer (?:contacteren|mailen|benaderen)",
            r"verwijder (?:mij|me|ons|mijn)",
            r"geen (?:e-?mails|mails|berichten) meer",
        ),
    },
    Category.out_of_office: {
        "en": (
            r"out of (?:the )?office",
            r"on (?:vacation|holiday|leave|parental leave|annual leave)",
            r"away (?:until|till|from the office)",
            r"limited access to (?:my )?e-?mail",
        ),
        "de": (r"im urlaub", r"abwesend", r"nicht im büro", r"außer haus", r"in elternzeit"),
        "fr": (r"absent(?:e)? du bureau", r"en congés?", r"en vacances", r"absent(?:e)? jusqu"),
        "es": (r"fuera de la oficina", r"de vacaciones", r"ausente hasta"),
        "nl": (r"afwezig", r"met vakantie", r"op vakantie", r"niet op kantoor"),
    },
    Category.wrong_person: {
        "en": (
            r"(?:not|n't) the (?:right|correct|best) (?:person|contact)",
            r"wrong (?:person|contact)",
            r"no longer (?:works?|with|at)",
            r"(?:left|has left) the company",
            # "please contact me" asks for a call: the one to contact must be someone else.
            r"(?:you should|please|better to|best to) (?:contact|reach out to|speak (?:to|with)|"
            r"talk to|email|get in touch with) (?!(?:me|us)(?!\w))\S+",
            r"(?:is|would be) the (?:right|best) person",
            r"i'?m not responsible for",
        ),
        "de": (
            r"nicht (?:der|die) (?:richtige|zuständige)n? (?:ansprechpartner(?:in)?|person)",
            r"falsche[nr]? ansprechpartner(?:in)?",
            r"nicht zuständig",
            r"wenden sie sich (?:bitte )?an",
            r"nicht mehr (?:bei|im unternehmen)",
        ),
        "fr": (
            r"pas la bonne personne",
            r"pas le bon interlocuteur",
            r"ne fait plus partie",
            r"(?:veuillez|merci de) (?:contacter|vous adresser à)",
            r"adressez-vous à",
        ),
        "es": (
            r"no soy la persona (?:adecuada|indicada|correcta)",
            r"ya no trabaja",
            r"(?:contacte|póngase en contacto) con",
            r"la persona (?:adecuada|indicada) es",
        ),
        "nl": (
            r"niet de (?:juiste|goede) (?:persoon|contactpersoon)",
            r"werkt hier niet meer",
            r"neem (?:contact op met|dan contact op met)",
            r"kunt u (?:beter )?contact opnemen met",
        ),
    },
    Category.not_interested: {
        "en": (
            r"not (?:really |currently |at all )?interested",
            r"no interest",
            r"no,? thanks?(?: you)?",
            r"not (?:a (?:good )?fit|for us|relevant)",
            r"(?:we are|we're|i am|i'm) (?:all )?(?:set|good)(?: for now)?,? thanks",
            r"(?:we )?already have (?:a )?(?:solution|provider|vendor|tool)",
            r"not (?:right )?now",
            r"pass on this",
        ),
        "de": (
            r"kein(?:e)? interesse",
            r"nicht interessiert",
            r"(?:kein|nicht) bedarf",
            r"nein,? danke",
            r"haben (?:wir )?bereits (?:eine|einen)",
        ),
        "fr": (
            r"pas intéressée?s?",
            r"ne m'intéresse pas",
            r"ne nous intéresse pas",
            r"non merci",
            r"pas (?:de|d')(?: )?besoin",
        ),
        "es": (
            r"no (?:me|nos) interesa",
            r"no (?:estoy|estamos) interesad[oa]s?",
            r"no,? gracias",
            r"no (?:lo )?necesitamos",
        ),
        "nl": (
            r"geen interesse",
            r"niet geïnteresseerd",
            r"nee,? (?:dank je|dank u|bedankt)",
            r"geen behoefte",
        ),
    },
    Category.meeting_request: {
        "en": (
            r"(?:schedule|book|set up|arrange|have|jump on|hop on) a (?:quick |short )?"
            r"(?:call|meeting|chat|demo)",
            r"let'?s (?:meet|talk|chat|speak)",
            r"(?:free|available) (?:on|next|this|tomorrow|"
            r"monday|tuesday|wednesday|thursday|friday)",
            r"calendar(?:ly)? link",
            r"send (?:me )?(?:an? )?(?:invite|invitation)",
            r"what time works",
        ),
        "de": (
            r"termin",
            r"telefonat",
            r"(?:kurz )?telefonieren",
            r"lassen sie uns (?:sprechen|reden|telefonieren)",
            r"treffen",
        ),
        "fr": (r"rendez-vous", r"un (?:appel|échange|call)", r"(?:se )?rencontrer", r"disponible"),
        "es": (r"reunión", r"(?:una )?llamada", r"agendar", r"(?:nos )?reunamos"),
        "nl": (r"afspraak", r"belafspraak", r"(?:even )?bellen", r"kennismaken"),
    },
    Category.information_request: {
        "en": (
            r"more (?:information|info|details)",
            r"(?:send|share) (?:me|us) (?:some|more|the)",
            r"pricing",
            r"how much",
            r"what does it cost",
            r"how does (?:it|this) work",
            r"case stud(?:y|ies)",
        ),
        "de": (
            r"mehr informationen",
            r"weitere informationen",
            r"preise?",
            r"was kostet",
            r"wie funktioniert",
            r"unterlagen",
        ),
        "fr": (
            r"plus d'informations?",
            r"plus de détails",
            r"tarifs?",
            r"combien (?:ça|cela) coûte",
            r"comment (?:ça|cela) fonctionne",
            r"documentation",
        ),
        "es": (
            r"más información",
            r"más detalles",
            r"precios?",
            r"cuánto cuesta",
            r"cómo funciona",
        ),
        "nl": (r"meer informatie", r"meer details", r"prijz(?:en)?", r"wat kost", r"hoe werkt"),
    },
    Category.interested: {
        "en": (
            r"interested",
            r"sounds (?:good|great|interesting)",
            r"tell me more",
            r"i'?d like to (?:learn|hear|know) more",
            r"(?:let's|lets) do (?:it|this)",
            r"count (?:me|us) in",
        ),
        "de": (r"interessiert", r"interessant", r"klingt gut", r"gerne mehr"),
        "fr": (r"intéressée?s?", r"m'intéresse", r"ça me (?:va|plaît)", r"avec plaisir"),
        "es": (r"interesad[oa]s?", r"me interesa", r"suena bien", r"me gustaría saber más"),
        "nl": (r"geïnteresseerd", r"interessant", r"klinkt goed", r"graag meer"),
    },
}


@dataclass(frozen=True)
class _Rule:
    category: Category
    language: str
    pattern: re.Pattern[str]


def _compile(pattern: str) -> re.Pattern[str]:
    # Phrases are written with single spaces; any run of whitespace (a line break) matches one.
    spaced = pattern.replace(" ", r"\s+")
    return re.compile(rf"(?<!\w){spaced}(?!\w)", re.IGNORECASE)


PHRASES: tuple[_Rule, ...] = tuple(
    _Rule(category, language, _compile(pattern))
    for category in ORDER
    for language, patterns in _PHRASES[category].items()
    for pattern in patterns
)
"""Every rule, in the order they are tried."""


@dataclass(frozen=True)
class RuleVerdict:
    category: Category
    phrase: str | None
    """The words that decided, as the reply wrote them; None for other."""
    language: str | None

    @property
    def reason(self) -> str:
        if self.phrase is None:
            return "the rules found no phrase of any category"
        return f"the rules found {self.phrase!r} ({self.language})"


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00a0": " "})
_REPLY_PREFIX = re.compile(r"^(?:(?:re|aw|wg|tr|fw|fwd|sv|antw)\s*:\s*)+", re.I)
_MAX_TEXT = 5_000
"""A reply's own words that are read: what decides is said early."""


def categorize(own_words: str, subject: str = "") -> RuleVerdict:
    """The category of a reply from the author's own words (quote and signature removed) and
    the subject when they wrote a new one (ours with "Re:" in front says nothing of theirs)."""
    text = own_words[:_MAX_TEXT].translate(_APOSTROPHES)
    if subject and not _REPLY_PREFIX.match(subject):
        text = f"{subject.translate(_APOSTROPHES)}\n{text}"
    for rule in PHRASES:
        found = rule.pattern.search(text)
        if found is not None:
            return RuleVerdict(rule.category, " ".join(found.group(0).split()), rule.language)
    return RuleVerdict(Category.other, None, None)


_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)


def referred_addresses(own_words: str, not_these: frozenset[str]) -> tuple[str, ...]:
    """The addresses a reply names, lowercased, first mention first, without `not_these` (the
    author's own and ours): whom a wrong person / referral reply points to."""
    found = (address.lower().rstrip(".") for address in _ADDRESS.findall(own_words[:_MAX_TEXT]))
    return tuple(dict.fromkeys(a for a in found if a not in not_these))
