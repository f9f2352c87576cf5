"""Words shared by every place that talks to a person: the CLI, the pages, the reports."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """The number with its noun agreeing: "1 contact", "2 contacts", "0 contacts";
    `plural` for nouns that do not just take an s ("1 entry", "2 entries")."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
