"""The word-by-word difference between a draft as written and as a reviewer edited it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from outreach.drafts.diff import Piece, changed, word_diff


def test_an_unchanged_text_is_one_equal_piece():
    assert word_diff("Hi Ada,\n\nHow is London?", "Hi Ada,\n\nHow is London?") == [
        Piece("equal", "Hi Ada,\n\nHow is London?")
    ]
    assert not changed(word_diff("same", "same"))


def test_a_replaced_word_shows_what_went_and_what_came():
    pieces = word_diff("How is London today?", "How is Croydon today?")
    assert pieces == [
        Piece("equal", "How is "),
        Piece("delete", "London"),
        Piece("insert", "Croydon"),
        Piece("equal", " today?"),
    ]
    assert changed(pieces)


def test_added_and_removed_sentences():
    assert word_diff("One. Two.", "One.") == [Piece("equal", "One."), Piece("delete", " Two.")]
    assert word_diff("", "New text") == [Piece("insert", "New text")]


@given(st.text(max_size=200), st.text(max_size=200))
def test_the_pieces_rebuild_both_texts(original, edited):
    pieces = word_diff(original, edited)
    assert "".join(p.text for p in pieces if p.op != "insert") == original
    assert "".join(p.text for p in pieces if p.op != "delete") == edited
