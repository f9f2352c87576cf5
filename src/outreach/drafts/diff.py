"""What a reviewer changed: the original text against the edited one, word by word. Pure."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")

Op = Literal["equal", "delete", "insert"]


@dataclass(frozen=True)
class Piece:
    op: Op
    text: str


def word_diff(original: str, edited: str) -> list[Piece]:
    """The pieces that turn `original` into `edited`: unchanged runs, removed words, added
    words, whitespace kept as written. Joining the equal and inserted pieces gives `edited`;
    the equal and deleted ones give `original`."""
    before = _TOKENS.findall(original)
    after = _TOKENS.findall(edited)
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _add(pieces, "equal", "".join(before[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            _add(pieces, "delete", "".join(before[i1:i2]))
        if tag in ("insert", "replace"):
            _add(pieces, "insert", "".join(after[j1:j2]))
    return pieces


def _add(pieces: list[Piece], op: Op, text: str) -> None:
    if not text:
        return
    if pieces and pieces[-1].op == op:
        pieces[-1] = Piece(op, pieces[-1].text + text)
    else:
        pieces.append(Piece(op, text))


def changed(pieces: list[Piece]) -> bool:
    return any(piece.op != "equal" for piece in pieces)
