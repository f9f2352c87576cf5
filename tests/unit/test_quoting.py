"""Where a reply's own words end and its quoted history begins, for the mail clients people
answer from, in the languages the inbox reads."""

from __future__ import annotations

import pytest

from outreach.inbox.quoting import split_html, split_text

OWN = "Tuesday at 3pm works for me.\n\nBest,\nAda"


@pytest.mark.parametrize(
    "history",
    [
        "On Mon, 2 Mar 2026 at 10:00, Grace Hopper <grace@acme.example> wrote:\n> Hi Ada,",
        # Gmail wraps a long attribution line before "wrote:".
        "On Mon, 2 Mar 2026 at 10:00, Grace Hopper <grace@acme.example>\nwrote:\n\n> Hi Ada,",
        "Am 02.03.2026 um 10:00 schrieb Grace Hopper <grace@acme.example>:\n> Hallo Ada,",
        "Le lun. 2 mars 2026 à 10:00, Grace Hopper <grace@acme.example> a écrit :\n> Bonjour",
        "El lun, 2 mar 2026 a las 10:00, Grace Hopper (<grace@acme.example>) escribió:\n> Hola",
        "Op ma 2 mrt. 2026 om 10:00 schreef Grace Hopper <grace@acme.example>:\n> Hoi Ada,",
        "-----Original Message-----\nFrom: Grace Hopper\nSent: Monday\n\nHi Ada,",
        "-----Ursprüngliche Nachricht-----\nVon: Grace Hopper\nGesendet: Montag\n\nHallo Ada,",
        "From: Grace Hopper <grace@acme.example>\nSent: Monday, March 2, 2026 10:00 AM\n"
        "To: Ada Lovelace\nSubject: Hello\n\nHi Ada,",
        "________________________________\nVon: Grace Hopper <grace@acme.example>\n"
        "Gesendet: Montag, 2. März 2026 10:00\nAn: Ada\nBetreff: Hallo\n\nHallo Ada,",
        "> Hi Ada,\n>\n> I saw your talk on streaming ETL.\n\n> Grace",
    ],
)
def test_the_quoted_history_is_split_from_their_own_words(history):
    found = split_text(f"{OWN}\n\n{history}\n")

    assert found.own == OWN
    assert found.quoted is not None
    assert found.quoted.strip() == history.strip()


def test_answers_written_between_quoted_lines_stay_with_the_quote_they_answer():
    text = "> Would Tuesday work?\nYes, Tuesday.\n> And for how long?\nHalf an hour.\n"

    assert split_text(text).quoted is None


def test_a_message_that_quotes_nothing_is_all_their_own():
    found = split_text("From what I read, you are right.\nSent from my phone\n")

    assert (found.own, found.quoted) == (
        "From what I read, you are right.\nSent from my phone\n",
        None,
    )


def test_a_bare_forward_with_nothing_of_their_own_is_shown_whole():
    text = "-----Original Message-----\nFrom: Grace\nSent: Monday\n\nHi Ada,"

    assert split_text(text).quoted is None


@pytest.mark.parametrize(
    "container",
    [
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Grace wrote:<br>'
        "</div><blockquote>Hi Ada,</blockquote></div>",
        '<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> Grace</div>'
        "<p>Hi Ada,</p>",
        '<div id="divRplyFwdMsg"><hr><b>From:</b> Grace</div><p>Hi Ada,</p>',
        '<blockquote type="cite">Hi Ada,</blockquote>',
        '<div class="moz-cite-prefix">On 02.03.26 Grace wrote:</div><blockquote>Hi</blockquote>',
        '<div class="yahoo_quoted">Hi Ada,</div>',
    ],
)
def test_quoted_html_is_cut_at_the_container_its_mail_client_put_it_in(container):
    own = '<html><body><div dir="ltr">Tuesday works.</div>'

    found = split_html(own + container + "</body></html>")

    assert found.own == own
    assert found.quoted == container + "</body></html>"


def test_html_whose_only_content_is_the_quote_is_shown_whole():
    html = '<html><head><style>p {}</style></head><body>&nbsp;<div class="gmail_quote">x</div>'

    assert split_html(html).quoted is None


def test_a_quote_a_person_typed_inside_their_own_words_is_not_taken_for_history():
    html = "<p>As you said:</p><blockquote>ten minutes</blockquote><p>Yes.</p>"

    assert split_html(html).quoted is None
