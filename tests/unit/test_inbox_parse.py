"""Reading inbound MIME: ids, the sender, the decoded subject, the author's own words, and what
delivery reports say; and never raising, whatever arrives."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from outreach.inbox.bounces import DeliveryReport, Recipient
from outreach.inbox.classify import classify
from outreach.inbox.match import KnownEmails, SentEmail, match
from outreach.inbox.mime import MAX_TEXT
from outreach.inbox.parse import ParsedMessage, authored_text, parse
from tests.hypothesis_profiles import examples
from tests.inbox_messages import (
    ALL_KINDS,
    OUR_ID,
    THREAD,
    Thread,
    exchange_ndr,
    exim_bounce,
    french_out_of_office,
    german_out_of_office,
    gmail_dsn,
    gmail_reply,
    mailing_list_message,
    outlook_html_reply,
    plain_reply,
    postfix_dsn,
    qmail_bounce,
    reply_without_headers,
    wire,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MANY = settings(
    max_examples=examples(in_ci=400), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")


def headers_and(body: str, *headers: str) -> bytes:
    return wire("\n".join(headers) + "\n\n" + body)


# Replies.


def test_a_gmail_reply_gives_its_ids_sender_subject_and_the_authors_own_words() -> None:
    parsed = parse(gmail_reply())

    assert parsed.message_id == "<CAF=3kq8pLx9n+0fVwA@mail.gmail.com>"
    assert parsed.in_reply_to == (OUR_ID,)
    assert parsed.references == (OUR_ID,)
    assert parsed.sender == "ada@example.com"
    assert parsed.sender_name == "Ada Lovelace"
    assert parsed.subject == f"Re: {THREAD.subject}"
    assert parsed.date == datetime(2026, 3, 2, 9, 12, 31, tzinfo=UTC)
    assert parsed.content_type == "multipart/alternative"
    assert parsed.report is None
    assert "reply stop" in parsed.text  # the quoted original is in the text...
    assert parsed.reply_text == (  # ...but not in the author's own words
        "Hi Grace,\n\nThanks for reaching out. Yes, happy to talk. Tuesday at 3pm works for me."
        "\n\nBest,\nAda"
    )


def test_an_outlook_html_reply_is_read_as_text_without_its_markup_or_the_quoted_original() -> None:
    parsed = parse(outlook_html_reply())

    assert parsed.text.startswith("Hallo Grace,\n\ndanke für die Nachricht. Gern nächste Woche.")
    assert "margin" not in parsed.text  # the <style> block
    assert "<p>" not in parsed.text
    assert "<br>" not in parsed.text
    assert parsed.reply_text == (
        "Hallo Grace,\n\ndanke für die Nachricht. Gern nächste Woche.\n\nGrüße\nAda"
    )


def test_a_reply_that_lost_its_headers_still_names_its_sender() -> None:
    parsed = parse(reply_without_headers())

    assert parsed.in_reply_to == ()
    assert parsed.references == ()
    assert parsed.thread_ids == ()
    assert parsed.sender == "ada@example.com"
    assert parsed.reply_text == "Hi Grace, got your note on my phone. Call me Thursday?"


def test_encoded_subjects_and_names_are_decoded() -> None:
    french = parse(french_out_of_office())
    german = parse(german_out_of_office())

    assert french.subject == f"Réponse automatique : {THREAD.subject}"  # no-break space too
    assert german.sender_name == "Ada Müller"
    assert "nicht im Büro und ab dem 09.03.2026 wieder" in german.text  # a soft line break


def test_raw_utf8_headers_are_read_as_utf8() -> None:
    parsed = parse(
        headers_and(
            "Grüße",
            "From: Jürgen Groß <Juergen@Example.DE>",
            "Subject: Grüße aus Köln",
            "Content-Type: text/plain; charset=utf-8",
        )
    )

    assert parsed.subject == "Grüße aus Köln"
    assert parsed.sender_name == "Jürgen Groß"
    assert parsed.sender == "juergen@example.de"
    assert parsed.text == "Grüße"


def test_the_author_is_from_then_reply_to_then_sender_all_lowercased() -> None:
    parsed = parse(
        headers_and(
            "hi",
            "From: Assistant <Assistant@Example.com>",
            "Reply-To: Ada <ADA@example.com>, Team <team@example.com>",
            "Sender: mailer@bulk.example",
        )
    )
    nobody = parse(headers_and("hi", "Sender: mailer@bulk.example"))

    assert parsed.sender == "assistant@example.com"
    assert parsed.addresses == (
        "assistant@example.com",
        "ada@example.com",
        "team@example.com",
        "mailer@bulk.example",
    )
    assert nobody.sender == "mailer@bulk.example"
    assert parse(headers_and("hi", "From: undisclosed-recipients:;")).sender is None


def test_references_are_kept_oldest_first_and_thread_ids_go_newest_first() -> None:
    parsed = parse(
        headers_and(
            "hi",
            "In-Reply-To: <c@x> (Ada's message of Mon, 2 Mar 2026)",
            "References: <a@x>\n <b@x>\n <c@x>",
        )
    )

    assert parsed.in_reply_to == ("<c@x>",)
    assert parsed.references == ("<a@x>", "<b@x>", "<c@x>")
    assert parsed.thread_ids == ("<c@x>", "<b@x>", "<a@x>")


def test_ids_written_without_angle_brackets_are_still_read() -> None:
    parsed = parse(headers_and("hi", "In-Reply-To: 1234.5678@mail.example", "Message-ID: abc@x"))

    assert parsed.in_reply_to == ("<1234.5678@mail.example>",)
    assert parsed.message_id == "<abc@x>"


def test_a_thousand_references_keep_the_root_and_the_newest() -> None:
    ids = [f"<{n}@x>" for n in range(1000)]
    parsed = parse(headers_and("hi", "References: " + "\n ".join(ids)))

    assert len(parsed.references) == 50
    assert parsed.references[0] == "<0@x>"
    assert parsed.references[-1] == "<999@x>"


def test_the_date_is_utc_and_a_date_without_a_zone_is_taken_as_utc() -> None:
    assert parse(headers_and("", "Date: Mon, 2 Mar 2026 10:00:00 +0100")).date == datetime(
        2026, 3, 2, 9, tzinfo=UTC
    )
    assert parse(headers_and("", "Date: Mon, 2 Mar 2026 10:00:00 -0000")).date == datetime(
        2026, 3, 2, 10, tzinfo=UTC
    )
    assert parse(headers_and("", "Date: last Tuesday")).date is None


def test_a_body_in_an_unknown_charset_is_read_as_utf8_and_bad_bytes_are_replaced() -> None:
    parsed = parse(
        wire("Content-Type: text/plain; charset=x-klingon\n\n") + "Grüße \xff".encode("latin-1")
    )

    assert parsed.text.startswith("Gr")
    assert "\ufffd" in parsed.text


def test_an_attachment_is_not_taken_for_the_body() -> None:
    attachment = base64.b64encode(b"Please unsubscribe me").decode()
    parsed = parse(
        wire(
            'Content-Type: multipart/mixed; boundary="b"\n\n'
            "--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n"
            f"Content-Transfer-Encoding: base64\n\n{attachment}\n"
            "--b\nContent-Type: text/plain\n\nSee attached.\n--b--\n"
        )
    )

    assert parsed.text == "See attached."


def test_the_selected_headers_are_kept_decoded_and_can_be_asked_for_in_any_case() -> None:
    parsed = parse(mailing_list_message())

    assert parsed.header("Precedence") == "list"
    assert parsed.header("LIST-ID") == "Data Weekly <weekly.dataweekly.example>"
    assert parsed.header("auto-submitted") is None


# The author's own words.


@pytest.mark.parametrize(
    ("text", "own"),
    [
        ("Yes!\n\nOn Mon, 2 Mar 2026 at 10:00, Grace <g@x> wrote:\n> Hi", "Yes!"),
        ("Ja!\n\nAm Mo., 2. März 2026 um 10:00 Uhr schrieb Grace <g@x>:\n> Hallo", "Ja!"),
        ("Oui !\n\nLe lun. 2 mars 2026 à 10:00, Grace <g@x> a écrit :\n> Bonjour", "Oui !"),
        ("Sure.\n\n-----Original Message-----\nFrom: Grace\nSent: Monday", "Sure."),
        ("Gern.\n\n-----Ursprüngliche Nachricht-----\nVon: Grace", "Gern."),
        ("Sure.\n________________________________\nFrom: Grace\nSent: Monday", "Sure."),
        ("Sure.\n\nFrom: Grace Hopper <g@x>\nSent: Monday, March 2, 2026", "Sure."),
        ("D'accord.\n\nDe : Grace Hopper\nEnvoyé : lundi", "D'accord."),
        ("Sure.\n\n-- \nAda Lovelace\nAnalytical Engines Ltd", "Sure."),
        ("Sure.\n\nSent from my iPhone", "Sure."),
        ("Klar.\n\nVon meinem iPhone gesendet", "Klar."),
        ("> you asked\nyes\n> and this\nno", "yes\nno"),
        ("No quote at all.", "No quote at all."),
        ("", ""),
    ],
)
def test_the_authors_own_words_stop_where_the_quote_or_signature_starts(
    text: str, own: str
) -> None:
    assert authored_text(text) == own


# Delivery reports.


def test_a_postfix_dsn_names_the_recipient_status_diagnostic_and_our_message() -> None:
    parsed = parse(postfix_dsn())

    assert parsed.content_type == "multipart/report"
    assert parsed.report_type == "delivery-status"
    assert parsed.report == DeliveryReport(
        standard=True,
        recipients=(
            Recipient(
                address="ada@example.com",
                action="failed",
                status="5.1.1",
                diagnostic=(
                    "550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown in "
                    "virtual mailbox table"
                ),
            ),
        ),
        original_message_ids=(OUR_ID,),
    )
    assert parsed.text.startswith("This is the mail system at host mail.acme.example.")


def test_an_exchange_ndr_finds_our_message_in_the_attached_original() -> None:
    parsed = parse(exchange_ndr())

    assert parsed.report is not None
    assert parsed.report.original_message_ids == (OUR_ID,)
    assert parsed.report.recipients == (
        Recipient(
            "ada@example.com",
            "failed",
            "5.1.10",
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        ),
    )
    # The attached original is not the report's text.
    assert parsed.text.startswith("Your message to ada@example.com couldn't be delivered.")
    assert "streaming ETL" not in parsed.text


def test_a_gmail_dsn_names_our_message_even_without_the_attached_headers() -> None:
    whole = parse(gmail_dsn())
    without_headers_part = gmail_dsn().split(
        b"--00000000000011aa22bb33cc44dd\r\nContent-Type: text/rfc822-headers"
    )[0]
    cut = parse(without_headers_part + b"--00000000000011aa22bb33cc44dd--\r\n")

    assert whole.report is not None
    assert cut.report is not None
    assert whole.report.original_message_ids == (OUR_ID,)
    assert cut.report.original_message_ids == (OUR_ID,)  # from X-Original-Message-ID
    assert whole.report.recipients[0].status == "5.1.1"
    assert whole.report.recipients[0].diagnostic is not None
    assert whole.report.recipients[0].diagnostic.startswith("550-5.1.1 The email account")


def test_an_exim_bounce_is_read_from_its_text_and_x_failed_recipients() -> None:
    parsed = parse(exim_bounce())

    assert parsed.report == DeliveryReport(
        standard=False,
        recipients=(
            Recipient("ada@example.com", "failed", "5.1.1", "550 5.1.1 No such user here"),
        ),
        original_message_ids=(OUR_ID,),
    )


def test_a_qmail_bounce_with_no_special_header_is_read_from_its_text_alone() -> None:
    parsed = parse(qmail_bounce())

    assert parsed.report is not None
    assert not parsed.report.standard
    assert [r.address for r in parsed.report.recipients] == ["ada@example.com"]
    assert parsed.report.recipients[0].status == "5.1.1"
    assert parsed.report.original_message_ids == (OUR_ID,)


def test_the_address_we_sent_to_wins_over_the_one_it_was_forwarded_to() -> None:
    forwarded = postfix_dsn().replace(
        b"Final-Recipient: rfc822; ada@example.com",
        b"Final-Recipient: rfc822; ada.lovelace@mail.example.org",
    )

    parsed = parse(forwarded)

    assert parsed.report is not None
    assert parsed.report.recipients[0].address == "ada@example.com"


def test_an_international_delivery_status_part_is_read_too() -> None:
    fields = (
        "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; Ada@Example.com\n"
        "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 unknown\n"
    )
    as_text = wire(
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nIt failed.\n"
        f"--b\nContent-Type: message/global-delivery-status\n\n{fields}"
        f"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: {OUR_ID}\n--b--\n"
    )

    parsed = parse(as_text)

    assert parsed.report is not None
    assert parsed.report.recipients == (
        Recipient("ada@example.com", "failed", "5.1.1", "550 5.1.1 unknown"),
    )
    assert parsed.report.original_message_ids == (OUR_ID,)


def test_a_person_forwarding_our_headers_does_not_make_a_report() -> None:
    forward = plain_reply(
        f"FYI, see below.\n\nMessage-ID: {OUR_ID}\nFrom: grace@acme.example",
        subject="Fwd: Quick question",
    )

    assert parse(forward).report is None


def test_a_mailer_daemon_notice_about_nothing_of_ours_is_not_a_report() -> None:
    notice = headers_and(
        "Your mailbox is 90% full.",
        "From: MAILER-DAEMON@mail.acme.example",
        "Subject: Quota warning",
    )

    assert parse(notice).report is None


# Never raising.

REAL_MESSAGES = [make() for make in ALL_KINDS.values()] + [mailing_list_message()]
NASTY_PIECES = [
    b"\r\n",
    b"\r\n\r\n",
    b"--",
    b"=?utf-8?b?",
    b"=?x-unknown?q?=FF?=",
    b"?=",
    b"=",
    b"<",
    b">",
    b";",
    b'"',
    b"\x00",
    b"\xff\xfe",
    b"Content-Type: multipart/mixed; boundary=x\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/plain; charset=rot13\r\n",
    b"Content-Type: text/plain; charset*=utf-8''%FF%FE\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: x-uuencode\r\n",
    b"References: " + b"<a@b> " * 100 + b"\r\n",
    b"<![CDATA[",
    b"<!",
]


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(REAL_MESSAGES)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(raw)))
        change = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if change == "flip" and at < len(raw):
            raw[at] = draw(st.integers(0, 255))
        elif change == "cut":
            del raw[at:]
        elif change == "insert":
            raw[at:at] = draw(st.sampled_from(NASTY_PIECES) | st.binary(max_size=30))
        else:
            del raw[at : at + draw(st.integers(1, 200))]
    return bytes(raw)


def assert_sane(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    for address in parsed.addresses:
        assert address == address.lower()
        assert "@" in address
    for message_id in (parsed.message_id, *parsed.thread_ids):
        assert message_id is None or MSG_ID.fullmatch(message_id)
    assert parsed.date is None or parsed.date.tzinfo == UTC
    assert len(parsed.text) <= MAX_TEXT
    assert "\n" not in parsed.subject
    if parsed.report is not None:
        assert all(MSG_ID.fullmatch(i) for i in parsed.report.original_message_ids)
    # The rest of the core takes whatever parse gives.
    classify(parsed, NOW)
    known = KnownEmails(
        message_ids={OUR_ID: SentEmail(__import__("uuid").uuid4(), OUR_ID, "ada@example.com")}
    )
    match(parsed, "AAQkAGI2", known)


@MANY
@given(st.binary(max_size=3000))
@example(b"")
@example(b"\r\n\r\n")
@example(b"From: \r\n\r\n")
@example(b"Content-Type: multipart/report; boundary=\r\n\r\n--\r\n")
def test_any_bytes_parse_without_raising(raw: bytes) -> None:
    assert_sane(parse(raw))


@MANY
@given(mutated_messages())
def test_mutated_real_messages_parse_without_raising(raw: bytes) -> None:
    assert_sane(parse(raw))


def test_a_message_nested_ten_thousand_deep_parses_without_raising() -> None:
    nested = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n)
        for n in range(10_000)
    )

    parsed = parse(b"From: Ada <ada@example.com>\r\n" + nested + b"\r\nhello\r\n")

    assert parsed.sender == "ada@example.com"


def test_a_message_cut_off_by_the_readers_size_cap_keeps_its_headers() -> None:
    whole = gmail_reply(Thread(message_id="<cut@acme.example>"))

    parsed = parse(whole[: len(whole) // 2])

    assert parsed.in_reply_to == ("<cut@acme.example>",)
    assert parsed.sender == "ada@example.com"
