"""Where a reply's own words end and the history it quotes begins, so that a page can fold the
quoted part away: "On … wrote:" and its German, French, Spanish and Dutch twins, Outlook's
"-----Original Message-----" and From:/Sent: blocks, trailing ">" lines, and the containers
Gmail, Outlook, Apple Mail, Thunderbird and Yahoo wrap quoted HTML in.

Pure: no I/O. Nothing is lost: the own part and the quoted part together are the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Split:
    own: str
    quoted: str | None
    """The quoted history, from its first line or container to the end; None when none was
    found, or when nothing of their own stands before it (a bare forward is shown whole)."""


_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\s.+\swrote:"  # English (Gmail, Apple Mail, Thunderbird)
    r"|Am\s.+\sschrieb.*:"  # German
    r"|Le\s.+\sa\s+écrit\s*:"  # French
    r"|El\s.+\sescribió:"  # Spanish
    r"|Op\s.+\sschreef.*:"  # Dutch
    r")\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{3,}\s*(?:original message|ursprüngliche nachricht|message d'origine"
    r"|mensaje original|oorspronkelijk bericht)\s*-{3,}\s*$",
    re.IGNORECASE,
)
_HEADER = re.compile(
    r"^\s*\*?(?:from|von|de|van|sent|gesendet|envoyé|enviado|verzonden|date|datum|to|an|à|para"
    r"|aan|subject|betreff|objet|asunto|onderwerp|cc)\s*:",
    re.IGNORECASE,
)
_FROM = re.compile(r"^\s*\*?(?:from|von|de|van)\s*:", re.IGNORECASE)
_RULE = re.compile(r"^\s*_{10,}\s*$")


def split_text(text: str) -> Split:
    """A plain-text message split before its first quoted history."""
    lines = text.splitlines()
    start = _quote_start(lines)
    if start is None:
        return Split(text, None)
    own = "\n".join(lines[:start]).rstrip()
    if not own.strip():
        return Split(text, None)
    return Split(own, "\n".join(lines[start:]))


def _quote_start(lines: list[str]) -> int | None:
    trailing = _trailing_quote(lines)
    for at, line in enumerate(lines):
        if trailing is not None and at >= trailing:
            return trailing
        wrapped = f"{line} {lines[at + 1]}" if at + 1 < len(lines) else line
        if _ATTRIBUTION.match(line) or (_ATTRIBUTION.match(wrapped) and line.strip()):
            return at
        if _ORIGINAL_MESSAGE.match(line):
            return at
        if _FROM.match(line) and sum(bool(_HEADER.match(n)) for n in lines[at : at + 5]) >= 2:
            return at - 1 if at and _RULE.match(lines[at - 1]) else at
    return trailing


def _trailing_quote(lines: list[str]) -> int | None:
    """The first line of the block of ">" lines (blank lines between allowed) that runs to the
    end; answers written between quoted lines keep the quote where they are."""
    start = None
    for at in range(len(lines) - 1, -1, -1):
        if lines[at].lstrip().startswith(">"):
            start = at
        elif lines[at].strip():
            break
    return start


_CONTAINER = re.compile(
    r"<(?:div|blockquote|hr)\b[^>]*?"
    r"(?:class\s*=\s*[\"']?[^\"'>]*\b(?:gmail_quote|yahoo_quoted|moz-cite-prefix"
    r"|OutlookMessageHeader)\b"
    r"|id\s*=\s*[\"']?(?:divRplyFwdMsg|appendonsend|stopSpelling)\b"
    r"|type\s*=\s*[\"']?cite\b)",
    re.IGNORECASE,
)
_INVISIBLE = re.compile(r"<(head|style|script)\b.*?</\1\s*>|<[^>]*>|&nbsp;|\s", re.I | re.S)


def split_html(html: str) -> Split:
    """An HTML message split before the first container its mail client put the quoted history
    in. Both parts are fragments: sanitise each (the sanitiser closes what the cut left open)."""
    found = _CONTAINER.search(html)
    if found is None:
        return Split(html, None)
    own = html[: found.start()]
    if not _INVISIBLE.sub("", own):
        return Split(html, None)
    return Split(own, html[found.start() :])
