"""Unfilled-looking placeholders in rendered text.

Placeholders (``find_placeholders``)
    Rendered text is refused when it still holds what looks like an unfilled placeholder,
    whether it came from the template or from contact data:

    * ``{{ ... }}`` or ``{% ... %}`` on one line (template syntax left literally);
    * ``{name}``: one brace pair around a name (letter or ``_`` first, then letters, digits,
      spaces, ``_ . -``); ``{}`` and CSS such as ``{ color: red }`` are not;
    * ``<<name>>`` with the same content;
    * ``<NAME>``: an all-capitals word or words, or a name with an underscore
      (``<first_name>``), in angle brackets, unless it is an HTML element (``<BR>``, ``<B>``);
    * ``%NAME%``: three or more letters or ``_`` between percent signs (``%E2%80%99`` is not);
    * ``[Name]``: one to four words of letters (and ``_ ' . / -``) in square brackets, not
      followed by ``(`` or ``[`` (a Markdown link), when the words are all capitalised
      (``[Name]``, ``[FIRST NAME]``, ``[Job Title]``), or one contains ``_``, or one is a word
      typical of merge fields (``[your name]``, ``[company]``). ``[1]``, ``[sic]``, ``[x]``,
      ``[...]`` and ``[Quick question]`` are not. ``[EXTERNAL]`` is, which costs little since
      such tags are added by mail gateways, not written in templates;
    * ``***`` (three or more asterisks) standing as a word on a line with other text
      (``Hi ***,``); a line of asterisks alone is a separator, ``***bold***`` is emphasis.

    HTML is scanned after unescaping, so escaped data is judged like the text part.
"""

from __future__ import annotations

import re
from typing import Final

_FIELD_WORDS: Final = frozenset(
    {
        "business",
        "city",
        "company",
        "contact",
        "country",
        "date",
        "department",
        "email",
        "first",
        "firstname",
        "fullname",
        "industry",
        "job",
        "last",
        "lastname",
        "link",
        "name",
        "org",
        "organisation",
        "organization",
        "phone",
        "position",
        "product",
        "prospect",
        "recipient",
        "region",
        "role",
        "state",
        "surname",
        "team",
        "title",
        "town",
        "url",
        "website",
    }
)
_HTML_ELEMENT_NAMES: Final = (
    "a abbr address area article aside audio b base bdi bdo big blockquote body br button "
    "canvas caption center cite code col colgroup data dd del details dfn div dl dt em embed "
    "fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr html i iframe "
    "img input ins kbd label legend li link main map mark meta meter nav noscript object ol "
    "optgroup option output p param picture pre progress q s samp script section select small "
    "source span strike strong style sub summary sup table tbody td template textarea tfoot th "
    "thead time title tr track tt u ul var video wbr"
)
_HTML_ELEMENTS: Final = frozenset(_HTML_ELEMENT_NAMES.split())

_LEFTOVER_SYNTAX = re.compile(r"\{\{[^\n]{0,200}?\}\}|\{%[^\n]{0,200}?%\}")
_BRACED = re.compile(r"(?<!\{)\{[ \t]*[A-Za-z_][\w .-]{0,40}?[ \t]*\}(?!\})")
_DOUBLE_ANGLED = re.compile(r"<<[ \t]*[A-Za-z_][\w .-]{0,40}?[ \t]*>>")
_ANGLED = re.compile(r"(?<!<)<([A-Z][A-Z0-9_ ]{0,40}|[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)>(?!>)")
_PERCENTED = re.compile(r"%[A-Za-z_]{3,40}%")
_BRACKETED = re.compile(r"\[[ \t]*([A-Za-z][A-Za-z _'./-]{0,39}?)[ \t]*\](?![(\[])")
_STARS = re.compile(r"(?<![\w*])\*{3,}(?![\w*])")
_WORD_BREAK = re.compile(r"[ _'./-]+")


def _looks_like_field(words: str) -> bool:
    parts = [part for part in _WORD_BREAK.split(words) if part]
    if not parts or len(parts) > 4 or len(words) < 2:
        return False
    return (
        "_" in words
        or all(part[0].isupper() for part in parts)
        or any(part.lower() in _FIELD_WORDS for part in parts)
    )


def _line_of(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return text[start : end if end != -1 else len(text)]


def find_placeholders(text: str) -> list[str]:
    """Every distinct unfilled-looking placeholder in ``text``, in order (rule in the module
    docstring)."""
    found: list[tuple[int, str]] = []
    for pattern in (_LEFTOVER_SYNTAX, _BRACED, _DOUBLE_ANGLED, _PERCENTED):
        found.extend((match.start(), match.group()) for match in pattern.finditer(text))
    for match in _ANGLED.finditer(text):
        if match.group(1).strip().lower() not in _HTML_ELEMENTS:
            found.append((match.start(), match.group()))
    for match in _BRACKETED.finditer(text):
        if _looks_like_field(match.group(1)):
            found.append((match.start(), match.group()))
    for match in _STARS.finditer(text):
        if _line_of(text, match.start()).replace("*", "").strip():
            found.append((match.start(), match.group()))
    return list(dict.fromkeys(placeholder for _, placeholder in sorted(found)))
