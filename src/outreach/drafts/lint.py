"""Checks a draft before a person approves it: warnings to read, never a refusal, but for
unfilled placeholders, which also stop the draft being approved or sent
(EmailDraft.unfilled_placeholders, review.require_filled).

Pure: the draft's subject and body in, and what is known to be true (the contact's fields,
raw_data and enriched_data, the instructions the draft was written from, the earlier emails
of the thread), findings out. Each finding has a stable `code`:

* ``placeholder``: an unrendered merge field or a placeholder left in the text (``{{ x }}``,
  ``[First Name]``, ``<COMPANY>``, ``%NAME%``:
  campaigns.templates.placeholders.find_placeholders).
* ``empty_subject``, ``empty_body``.
* ``unknown_fact``: a name, company or number the draft states that appears nowhere in what
  is known, so the model may have invented it. Names are capitalised words (a word opening a
  sentence only when it begins a run of two or more, since any sentence starts with a
  capital), minus common words of greetings, sign-offs, days, months and business acronyms;
  numbers are any figure, compared digit for digit ("1,200" is "1200"). A heuristic: it
  flags what a person should check, and a fact the instructions gave is never flagged.
* ``long_subject`` (more than MAX_SUBJECT characters), ``long_body`` (more than MAX_WORDS
  words, fewer for a follow-up).
* ``links``: more than MAX_LINKS links; every link costs deliverability in a cold email.
* ``spam_words``: words spam filters and readers distrust ("guarantee", "risk-free", "act
  now"...), and shouting (several exclamation marks, words in capitals).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from outreach.campaigns.templates.placeholders import find_placeholders

MAX_SUBJECT: Final = 60
MAX_WORDS: Final = 200
MAX_FOLLOW_UP_WORDS: Final = 150
MAX_LINKS: Final = 2
MAX_EXCLAMATIONS: Final = 1

SPAM_PHRASES: Final = (
    "100% free",
    "100%",
    "act now",
    "apply now",
    "best price",
    "buy now",
    "call now",
    "cash",
    "cheap",
    "click here",
    "congratulations",
    "dear friend",
    "double your",
    "earn money",
    "exclusive deal",
    "free",
    "guarantee",
    "guaranteed",
    "incredible deal",
    "limited time",
    "lowest price",
    "make money",
    "miracle",
    "no cost",
    "no obligation",
    "once in a lifetime",
    "order now",
    "risk-free",
    "risk free",
    "special promotion",
    "urgent",
    "winner",
    "$$$",
)
"""Matched as whole words, case-insensitively. "free" is not counted in "feel free" or
"free to"."""

COMMON_CAPITALISED: Final = frozenset(
    """
    i i'm i've i'd i'll im ive id hi hello hey dear greetings thanks thank best regards cheers
    kind warm warmly sincerely yours all the a an and or but so if when what why how who where
    which this that these those it its we our us you your they their he she his her my me
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december today tomorrow yesterday week
    mr mrs ms dr prof ps p.s re fwd fw ok okay yes no please let just quick happy looking
    ceo cto cfo coo cmo cio vp svp evp hr it ai api saas b2b b2c roi kpi crm erp faq q1 q2 q3
    q4 pm am utc gmt eu uk us usa llc ltd inc gmbh plc co sales marketing operations
    engineering finance support product growth head director manager founder partner team
    """.split()  # noqa: SIM905 (a word list, easier to read as text)
)
"""Capitalised words that are no fact about anyone."""

_LINK = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_NUMBER = re.compile(r"(?<![\w.])[$€£]?\d(?:[\d,.]*\d)?%?(?!\w)")
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'\u2019&-]*")
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*[\"'\u201c\u2018(]*\s*$")
_CAPITALS = re.compile(r"\b[A-Z]{4,}\b")


@dataclass(frozen=True)
class Finding:
    code: str
    message: str


@dataclass(frozen=True)
class Facts:
    """What a draft may state: every word and figure of the contact's data, the instructions
    and the earlier emails, lower-cased."""

    words: frozenset[str]
    numbers: frozenset[str]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Facts:
        words: set[str] = set()
        numbers: set[str] = set()
        for text in texts:
            words.update(_normal_word(word) for word in _WORD.findall(text))
            numbers.update(_digits(number) for number in _NUMBER.findall(text))
        return cls(frozenset(words), frozenset(numbers - {""}))


def facts_from(
    fields: Mapping[str, object],
    raw_data: Mapping[str, object] | None = None,
    enriched_data: Mapping[str, object] | None = None,
    instructions: str = "",
    earlier: Sequence[str] = (),
) -> Facts:
    """The known facts of one draft: the contact's data (keys and values, nested values too),
    the instructions and the earlier emails."""
    texts = [*_strings(fields), *_strings(raw_data), *_strings(enriched_data)]
    return Facts.of([*texts, instructions, *earlier])


def _strings(value: object) -> Iterable[str]:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)
    else:
        yield str(value)


def _normal_word(word: str) -> str:
    return word.lower().replace("\u2019", "'").removesuffix("'s").strip("'-&")


def _digits(number: str) -> str:
    """A figure as its digits alone: "$1,200" and "1200" are the same fact."""
    return re.sub(r"\D", "", number)


def lint(
    subject: str, body: str, facts: Facts | None = None, *, follow_up: bool = False
) -> list[Finding]:
    """Every warning about a draft, in a fixed order."""
    findings: list[Finding] = []
    text = f"{subject}\n{body}"
    placeholders = find_placeholders(text)
    if placeholders:
        findings.append(
            Finding(
                "placeholder",
                f"Unfilled placeholders: {quoted(placeholders)}. "
                "The draft cannot be approved or sent until they are filled in.",
            )
        )
    if not subject.strip():
        findings.append(Finding("empty_subject", "The subject is empty."))
    if not body.strip():
        findings.append(Finding("empty_body", "The body is empty."))
    if facts is not None:
        findings.extend(_unknown_facts(subject, body, facts))
    findings.extend(_lengths(subject, body, follow_up))
    links = len(_LINK.findall(body))
    if links > MAX_LINKS:
        findings.append(
            Finding(
                "links",
                f"{links} links: more than {MAX_LINKS} in a cold email hurts deliverability.",
            )
        )
    spam = spam_words(text)
    if spam:
        findings.append(Finding("spam_words", f"Words spam filters distrust: {quoted(spam)}."))
    shouting = _shouting(text, facts)
    if shouting:
        findings.append(Finding("spam_words", shouting))
    return findings


def quoted(texts: Iterable[str]) -> str:
    """'"{{first_name}}", "[Company]"'."""
    return ", ".join(f'"{text}"' for text in texts)


def spam_words(text: str) -> list[str]:
    """The spam-trigger phrases in a text, each once, in SPAM_PHRASES order."""
    lowered = text.lower()
    found = []
    for phrase in SPAM_PHRASES:
        pattern = rf"(?<![\w$]){re.escape(phrase)}(?![\w$])"
        if phrase == "free":
            pattern = r"(?<!feel )(?<![\w-])free(?![\w-])(?! to\b)"
        if phrase == "100%" and "100% free" in found:
            continue
        if re.search(pattern, lowered):
            found.append(phrase)
    return found


def _shouting(text: str, facts: Facts | None) -> str | None:
    exclamations = text.count("!")
    known = facts.words if facts else frozenset()
    capitals = [
        word
        for word in dict.fromkeys(_CAPITALS.findall(_LINK.sub(" ", text)))
        if word.lower() not in COMMON_CAPITALISED and word.lower() not in known
    ]
    parts = []
    if exclamations > MAX_EXCLAMATIONS:
        parts.append(f"{exclamations} exclamation marks")
    if capitals:
        parts.append("words in capitals: " + ", ".join(capitals))
    return ("Reads as shouting: " + "; ".join(parts) + ".") if parts else None


def _lengths(subject: str, body: str, follow_up: bool) -> list[Finding]:
    findings = []
    if len(subject.strip()) > MAX_SUBJECT:
        findings.append(
            Finding(
                "long_subject",
                f"The subject has {len(subject.strip())} characters; "
                f"up to {MAX_SUBJECT} shows in full in most inboxes.",
            )
        )
    words = len(body.split())
    limit = MAX_FOLLOW_UP_WORDS if follow_up else MAX_WORDS
    if words > limit:
        kind = "a follow-up" if follow_up else "a cold email"
        findings.append(
            Finding("long_body", f"The body has {words} words; {kind} reads best under {limit}.")
        )
    return findings


# Facts ------------------------------------------------------------------------------------------


def _unknown_facts(subject: str, body: str, facts: Facts) -> list[Finding]:
    names: dict[str, None] = {}
    numbers: dict[str, None] = {}
    for part, text in (("subject", subject), ("body", body)):
        cleaned = _EMAIL.sub(" ", _LINK.sub(" ", text))
        if part == "subject":
            cleaned = re.sub(r"^\s*(re|fwd?):\s*", "", cleaned, flags=re.IGNORECASE)
        for number in _NUMBER.findall(cleaned):
            if _digits(number) and _digits(number) not in facts.numbers:
                numbers.setdefault(number.rstrip(".,"), None)
        title_case = part == "subject" and _is_title_case(cleaned)
        for phrase in _names(cleaned):
            unknown = [
                word
                for word in phrase
                if _normal_word(word) not in facts.words
                and _normal_word(word) not in COMMON_CAPITALISED
                and not _CAPITALS.fullmatch(word)
                and len(word) > 1
            ]
            if unknown and not title_case:
                names.setdefault(" ".join(phrase), None)
    findings = []
    if names:
        findings.append(
            Finding(
                "unknown_fact",
                f"Names not in the contact's data or the instructions: {quoted(names)}. "
                "Check the model did not invent them.",
            )
        )
    if numbers:
        findings.append(
            Finding(
                "unknown_fact",
                f"Figures not in the contact's data or the instructions: {quoted(numbers)}. "
                "Check the model did not invent them.",
            )
        )
    return findings


def _is_title_case(text: str) -> bool:
    words = [word for word in _WORD.findall(text) if len(word) > 3]
    return len(words) >= 2 and sum(word[0].isupper() for word in words) / len(words) >= 0.6


def _capitalised(word: str) -> bool:
    return word[0].isupper()


def _opens_sentence(before: str) -> bool:
    return not before.strip() or _SENTENCE_END.search(before) is not None


def _names(text: str) -> list[list[str]]:
    """Runs of capitalised words ("Analytical Engines", "Croydon"). Since every sentence opens
    with a capital, a run that opens a sentence counts without its first word when that word is
    a common one ("Hi Ada" is "Ada"), and otherwise only from two words."""
    runs: list[list[str]] = []
    run: list[str] = []
    start = end = 0
    for match in _WORD.finditer(text):
        word = match.group()
        gap = text[end : match.start()]
        if run and _capitalised(word) and re.fullmatch(r"[ \t]+(?:&[ \t]+)?", gap):
            run.append(word)
        else:
            _close(runs, run, _opens_sentence(text[:start]))
            run = [word] if _capitalised(word) else []
            start = match.start()
        end = match.end()
    _close(runs, run, _opens_sentence(text[:start]))
    return runs


def _close(runs: list[list[str]], run: list[str], opens_sentence: bool) -> None:
    if opens_sentence and run:
        if run[0].lower() in COMMON_CAPITALISED or _normal_word(run[0]) in COMMON_CAPITALISED:
            run = run[1:]
        elif len(run) < 2:
            return
    if run:
        runs.append(run)
