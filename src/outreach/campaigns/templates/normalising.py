"""The shape of rendered text: line endings, trailing whitespace and blank lines in a body, one
line for a subject (rule in ``rendering``'s docstring, "Output")."""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"\r\n?")
_EXTRA_BLANK_LINES = re.compile(r"\n{4,}")


def normalise_text(text: str) -> str:
    """Trailing whitespace off every line, at most two blank lines in a row, no blank lines at
    either end; line endings ``\\n``."""
    lines = _LINE_BREAK.sub("\n", text).split("\n")
    joined = "\n".join(line.rstrip() for line in lines)
    return _EXTRA_BLANK_LINES.sub("\n\n\n", joined).strip("\n")


def normalise_subject(text: str) -> str:
    """One line: every run of whitespace becomes one space, trimmed."""
    return " ".join(text.split())
