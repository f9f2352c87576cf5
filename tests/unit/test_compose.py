"""Composing emails: what a receiving mail client sees, and the raw bytes where they matter
(threading headers must never be encoded)."""

from __future__ import annotations

import email
import email.header
import email.policy
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outreach.providers.compose import (
    envelope_address,
    needs_smtputf8,
    new_message_id,
    to_bytes,
    to_mime,
)
from outreach.providers.message import Mailbox, OutgoingMessage
from tests.hypothesis_profiles import examples

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SOME = settings(
    max_examples=examples(in_ci=300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def a_message(**changes: object) -> OutgoingMessage:
    message = OutgoingMessage(
        message_id="<019cadfd8900.0f1e2d3c4b5a6978@acme.example>",
        sender=Mailbox("grace@acme.example", "Grace Hopper"),
        recipient=Mailbox("ada@example.com", "Ada Lovelace"),
        subject="Quick question about your compiler",
        text="Hi Ada,\n\nWould you have ten minutes next week?\n\nGrace\n",
        date=AT,
    )
    return replace(message, **changes)  # type: ignore[arg-type]


def received(message: OutgoingMessage) -> EmailMessage:
    """The message as a receiving mail client parses it."""
    parsed = email.message_from_bytes(to_bytes(message), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_body(parsed: EmailMessage) -> str:
    part = parsed.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def header_block(raw: bytes, name: str) -> bytes:
    """The raw header field `name`, with its folded continuation lines, as sent."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    found = re.search(rb"(?m)^" + name.encode() + rb": .*\r\n(?:[ \t].*\r\n)*", head + b"\r\n")
    assert found, f"no {name} header"
    return found.group(0)


def test_a_plain_email_reads_like_personal_mail() -> None:
    parsed = received(a_message())

    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["Subject"] == "Quick question about your compiler"
    assert parsed["From"].addresses[0].display_name == "Grace Hopper"
    assert parsed["From"].addresses[0].addr_spec == "grace@acme.example"
    assert parsed["To"].addresses[0].addr_spec == "ada@example.com"
    assert parsed["Date"].datetime == AT
    assert parsed["Message-ID"] == "<019cadfd8900.0f1e2d3c4b5a6978@acme.example>"
    assert text_body(parsed) == "Hi Ada,\n\nWould you have ten minutes next week?\n\nGrace\n"
    for absent in ("In-Reply-To", "References", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert absent not in parsed


def test_an_html_version_makes_a_multipart_alternative_with_the_text_first() -> None:
    parsed = received(a_message(html="<p>Hi Ada,</p><p>Would you have ten minutes?</p>"))

    assert parsed.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in parsed.iter_parts()]
    assert types == ["text/plain", "text/html"]
    html = parsed.get_body(("html",))
    assert html is not None
    assert "<p>Hi Ada,</p>" in html.get_content()
    assert text_body(parsed).startswith("Hi Ada,")


def test_a_non_ascii_subject_and_name_are_encoded_and_arrive_as_written() -> None:
    message = a_message(
        subject="Grüße aus Zürich — eine kurze Frage",
        sender=Mailbox("jurgen@acme.example", 'Jürgen Müller, "Chef"'),
        text="Hallo Ada,\n\nschöne Grüße!\n",
    )
    raw = to_bytes(message)
    parsed = received(message)

    assert raw.isascii()
    assert b"=?utf-8?" in header_block(raw, "Subject")
    assert parsed["Subject"] == "Grüße aus Zürich — eine kurze Frage"
    assert parsed["From"].addresses[0].display_name == 'Jürgen Müller, "Chef"'
    assert parsed["From"].addresses[0].addr_spec == "jurgen@acme.example"
    assert parsed.get("Content-Transfer-Encoding") in ("quoted-printable", "base64")
    assert text_body(parsed) == "Hallo Ada,\n\nschöne Grüße!\n"


def test_an_ascii_body_with_short_lines_goes_as_7bit() -> None:
    parsed = received(a_message())

    assert parsed["Content-Transfer-Encoding"] == "7bit"


def test_long_body_lines_are_wrapped_for_the_wire_and_arrive_whole() -> None:
    line = "word " * 400
    raw = to_bytes(a_message(text=line))

    assert max(len(wire_line) for wire_line in raw.split(b"\r\n")) <= 78
    assert text_body(received(a_message(text=line))) == line + "\n"


def test_threading_headers_are_never_encoded_even_when_a_long_references_list_folds() -> None:
    ids = [f"<{n:04d}.{'7f3a' * 15}.thread-{n}@mail.acme.example>" for n in range(40)]
    first = ids[0]
    message = a_message(
        subject="Re: Grüße aus Zürich",
        sender=Mailbox("jurgen@acme.example", "Jürgen Müller"),
        in_reply_to=ids[-1],
        references=tuple(ids),
        message_id="<0123456789abcdef." + "9" * 80 + "@acme.example>",
    )
    raw = to_bytes(message)

    # One id a line here, because each is longer than half a line; folded only between ids.
    assert header_block(raw, "References") == (
        b"References: "
        + first.encode()
        + b"\r\n"
        + b"".join(b" " + msg_id.encode() + b"\r\n" for msg_id in ids[1:])
    )
    assert header_block(raw, "In-Reply-To") == b"In-Reply-To: " + ids[-1].encode() + b"\r\n"
    # A Message-ID longer than a line is still written whole, unencoded, on its own line.
    assert header_block(raw, "Message-ID") == (
        b"Message-ID: " + message.message_id.encode() + b"\r\n"
    )
    assert b"=?" in header_block(raw, "Subject")
    assert b"=?" in header_block(raw, "From")


def test_short_ids_share_a_folded_references_line() -> None:
    ids = [f"<{n}@a.example>" for n in range(30)]
    raw = to_bytes(a_message(references=tuple(ids), in_reply_to=ids[-1]))

    block = header_block(raw, "References")
    lines = block.removesuffix(b"\r\n").split(b"\r\n")
    assert len(lines) > 1
    assert all(len(line) <= 78 for line in lines)
    assert b" ".join(line.strip() for line in lines) == b"References: " + " ".join(ids).encode()


def test_a_mail_client_sees_the_thread() -> None:
    ids = ("<first@acme.example>", "<second@acme.example>")
    parsed = received(a_message(in_reply_to=ids[-1], references=ids))

    assert parsed["In-Reply-To"] == "<second@acme.example>"
    assert str(parsed["References"]).split() == list(ids)


def test_an_https_unsubscribe_url_offers_one_click_unsubscribe() -> None:
    parsed = received(
        a_message(
            unsubscribe_url="https://acme.example/u/8c1f0e",
            unsubscribe_mailto="unsubscribe+8c1f0e@acme.example",
        )
    )

    assert parsed["List-Unsubscribe"] == (
        "<https://acme.example/u/8c1f0e>, <mailto:unsubscribe+8c1f0e@acme.example>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_mailto_alone_gives_no_one_click_header() -> None:
    parsed = received(a_message(unsubscribe_mailto="mailto:unsubscribe@acme.example"))

    assert parsed["List-Unsubscribe"] == "<mailto:unsubscribe@acme.example>"
    assert "List-Unsubscribe-Post" not in parsed


def test_a_plain_http_url_is_listed_but_not_offered_for_one_click() -> None:
    parsed = received(a_message(unsubscribe_url="http://acme.example/u/1"))

    assert parsed["List-Unsubscribe"] == "<http://acme.example/u/1>"
    assert "List-Unsubscribe-Post" not in parsed


def test_a_long_unsubscribe_url_is_never_encoded() -> None:
    url = "https://acme.example/unsubscribe/" + "a1b2c3" * 20
    raw = to_bytes(a_message(unsubscribe_url=url, unsubscribe_mailto="u@acme.example"))

    block = header_block(raw, "List-Unsubscribe")
    assert b"=?" not in block
    assert block == (b"List-Unsubscribe: <" + url.encode() + b">,\r\n <mailto:u@acme.example>\r\n")


def test_our_own_x_headers_are_written_and_others_refused() -> None:
    parsed = received(a_message(extra_headers=(("X-Outreach-Campaign", "Spring — 2026"),)))

    assert parsed["X-Outreach-Campaign"] == "Spring — 2026"
    with pytest.raises(ValueError, match="X-"):
        to_bytes(a_message(extra_headers=(("Bcc", "eve@example.com"),)))


def test_a_line_break_in_the_subject_cannot_add_a_header() -> None:
    parsed = received(a_message(subject="Hello\r\nBcc: eve@example.com"))

    assert parsed["Subject"] == "Hello Bcc: eve@example.com"
    assert "Bcc" not in parsed


def test_a_subject_that_looks_like_an_encoded_word_arrives_as_written() -> None:
    subject = "About =?utf-8?q?this?= odd subject"

    assert received(a_message(subject=subject))["Subject"] == subject


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"message_id": "no-brackets@acme.example"}, "not a message id"),
        ({"message_id": "<two words@acme.example>"}, "not a message id"),
        ({"in_reply_to": "<a@b>\r\nBcc: eve@example.com"}, "not a message id"),
        ({"references": ("<ok@acme.example>", "<bad>>")}, "not a message id"),
        ({"unsubscribe_url": "https://acme.example/u/1>, <https://evil.example"}, "not a URI"),
        ({"unsubscribe_url": "javascript:alert(1)"}, "must be http"),
        ({"recipient": Mailbox("ada@example.com\r\nRCPT TO:<eve@example.com>")}, "not an email"),
        ({"recipient": Mailbox("ada>, eve@example.com")}, "not an email"),
        ({"date": datetime(2026, 3, 2, 10, 0)}, "timezone-aware"),
    ],
)
def test_a_message_that_cannot_be_written_safely_is_refused(
    changes: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        to_bytes(a_message(**changes))


def test_an_international_domain_is_written_in_its_ascii_form() -> None:
    message = a_message(recipient=Mailbox("info@müller.de", "Frau Müller"))
    parsed = received(message)

    assert envelope_address("info@müller.de") == "info@xn--mller-kva.de"
    assert parsed["To"].addresses[0].addr_spec == "info@xn--mller-kva.de"
    assert not needs_smtputf8(message)
    assert to_bytes(message).isascii()


def test_a_non_ascii_local_part_needs_smtputf8() -> None:
    message = a_message(recipient=Mailbox("jürgen@acme.example"))

    assert needs_smtputf8(message)
    assert header_block(to_bytes(message), "To") == "To: jürgen@acme.example\r\n".encode()


def test_new_message_ids_are_unique_time_ordered_and_carry_the_sender_domain() -> None:
    ids = [new_message_id("Acme.Example", AT + timedelta(milliseconds=n)) for n in range(50)]

    assert len(set(ids)) == 50
    assert ids == sorted(ids)
    for msg_id in ids:
        assert re.fullmatch(r"<[0-9a-f]{12}\.[0-9a-f]{16}@acme\.example>", msg_id)
    assert new_message_id("müller.de", AT).endswith("@xn--mller-kva.de>")
    same_moment = {new_message_id("acme.example", AT) for _ in range(100)}
    assert len(same_moment) == 100


def test_a_message_id_needs_an_aware_time_and_a_real_domain() -> None:
    with pytest.raises(ValueError, match="timezone"):
        new_message_id("acme.example", datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="domain"):
        new_message_id("acme example>", AT)


def test_the_mime_object_carries_the_same_headers_as_the_bytes() -> None:
    mime = to_mime(a_message(references=("<a@b.example>",), in_reply_to="<a@b.example>"))

    assert mime["References"] == "<a@b.example>"
    assert mime["Subject"] == "Quick question about your compiler"


# Round trips for whatever people write: unicode, long lines, "From " and "." at line starts.

unicode_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
tricky_lines = st.lists(
    st.one_of(
        unicode_text,
        st.sampled_from([".", "..", ". dot", "From me", "From ", ">From x", "=?utf-8?q?x?=", ""]),
        st.text(st.characters(codec="ascii"), min_size=900, max_size=2500),
        st.text(st.characters(exclude_categories=["Cs"]), min_size=300, max_size=1200),
    ),
    max_size=8,
)
bodies = tricky_lines.map("\n".join)
subjects = st.one_of(unicode_text, bodies, st.text(st.characters(codec="ascii"), max_size=1500))
names = st.one_of(st.none(), unicode_text, st.text(st.characters(codec="ascii"), max_size=200))


def display_name_as_decoded(raw: bytes, parsed: EmailMessage) -> str:
    """The sender's name as a mail client shows it. A long non-ASCII name takes several encoded
    words; RFC 2047 (6.2) says the spaces between them are not part of the name, and mail
    clients and email.header follow it, but the email package's address parser keeps them."""
    value = header_block(raw, "From").decode().removeprefix("From: ").replace("\r\n", "")
    if "=?" not in value:
        name: str = parsed["From"].addresses[0].display_name
        return name
    encoded_name = value.rpartition("<")[0]
    return str(email.header.make_header(email.header.decode_header(encoded_name))).strip()


def one_line(text: str) -> str:
    """What a subject or display name becomes: line breaks and controls as one space, trimmed."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", text).strip()


@SOME
@given(subject=subjects, name=names, text=bodies, html=st.one_of(st.none(), bodies))
@example(subject="x" * 2000, name="y" * 300, text="z" * 5000, html=None)
@example(subject="a" + " " * 100 + "b", name='"\\', text="\r\r\n\n.", html=".\n")
def test_any_subject_name_and_body_round_trip_in_short_lines(
    subject: str, name: str | None, text: str, html: str | None
) -> None:
    message = a_message(
        subject=subject,
        sender=Mailbox("grace@acme.example", name),
        text=text,
        html=html,
        references=("<a@acme.example>", "<b@acme.example>"),
    )
    raw = to_bytes(message)
    parsed = received(message)

    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\r" not in raw.replace(b"\r\n", b"")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert parsed["Subject"] == one_line(subject)
    assert display_name_as_decoded(raw, parsed) == one_line(name or "")
    assert parsed["From"].addresses[0].addr_spec == "grace@acme.example"
    expected = re.sub(r"\r\n?", "\n", text)
    assert text_body(parsed).removesuffix("\n") == expected.removesuffix("\n")
    assert header_block(raw, "References") == b"References: <a@acme.example> <b@acme.example>\r\n"
    assert not parsed.defects
