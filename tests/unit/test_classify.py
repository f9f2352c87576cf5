"""Classifying inbound messages: human replies, auto-replies with their return dates, bounces
hard and soft, requests to be removed, and the rest; and the order in which the rules win."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.inbox.classify import Bounce, Classification, Kind, classify, return_date
from outreach.inbox.parse import parse
from tests.hypothesis_profiles import examples
from tests.inbox_messages import (
    ALL_KINDS,
    exchange_ndr,
    exim_bounce,
    french_out_of_office,
    german_out_of_office,
    gmail_dsn,
    gmail_reply,
    gmail_vacation_reply,
    mailing_list_message,
    outlook_auto_reply,
    plain_reply,
    postfix_dsn,
    qmail_bounce,
    wire,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
SOME = settings(
    max_examples=examples(in_ci=300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def classified(raw: bytes, now: datetime = NOW) -> Classification:
    return classify(parse(raw), now)


def reply_saying(text: str, subject: str | None = None) -> Classification:
    return classified(plain_reply(text, subject=subject))


# Every kind of real message.

EXPECTED = {
    "gmail_reply": Kind.human_reply,
    "outlook_html_reply": Kind.human_reply,
    "reply_without_headers": Kind.human_reply,
    "outlook_auto_reply": Kind.auto_reply,
    "gmail_vacation_reply": Kind.auto_reply,
    "german_out_of_office": Kind.auto_reply,
    "french_out_of_office": Kind.auto_reply,
    "postfix_dsn": Kind.bounce,
    "exchange_ndr": Kind.bounce,
    "gmail_dsn": Kind.bounce,
    "exim_bounce": Kind.bounce,
    "qmail_bounce": Kind.bounce,
}


@pytest.mark.parametrize("name", sorted(ALL_KINDS))
def test_each_real_message_is_classified_as_what_it_is(name: str) -> None:
    assert classified(ALL_KINDS[name]()).kind is EXPECTED[name]


def test_a_mailing_list_message_is_other_even_when_it_says_unsubscribe() -> None:
    result = classified(mailing_list_message())

    assert result == Classification(Kind.other, "bulk mail (Precedence: list)")


# Auto-replies.


@pytest.mark.parametrize(
    ("make", "back"),
    [
        (outlook_auto_reply, date(2026, 3, 9)),
        (gmail_vacation_reply, date(2026, 3, 13)),
        (german_out_of_office, date(2026, 3, 9)),  # "bis zum 06.03." and "ab dem 09.03."
        (french_out_of_office, date(2026, 3, 9)),  # "jusqu'au 6 mars inclus", "le 9 mars"
    ],
)
def test_an_out_of_office_reply_says_when_its_author_is_back(make: object, back: date) -> None:
    assert callable(make)
    result = classified(make())

    assert result.kind is Kind.auto_reply
    assert result.returns_on == back


def test_an_auto_reply_is_known_by_its_subject_alone_in_english_german_and_french() -> None:
    for raw in (
        outlook_auto_reply(with_headers=False),
        german_out_of_office(with_headers=False),
        french_out_of_office().replace(b"Auto-Submitted: auto-generated\r\n", b""),
    ):
        result = classified(raw)
        assert result.kind is Kind.auto_reply
        assert result.reason.startswith("the subject says it is automatic")


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Quick question",
        "AW: Automatische Antwort: Quick question",
        "Out of Office: Quick question",
        "Out of the office",
        "Abwesenheitsnotiz: Quick question",
        "Réponse automatique : Quick question",
        "Message d'absence",
        "Auto-Reply: I am away",
        "Autoreply",
        "Risposta automatica: Quick question",
    ],
)
def test_out_of_office_subjects_in_several_languages(subject: str) -> None:
    assert reply_saying("I am away.", subject=subject).kind is Kind.auto_reply


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Auto-Submitted: auto-replied", Kind.auto_reply),
        ("Auto-Submitted: auto-generated; owner-email=it@example.com", Kind.auto_reply),
        ("Auto-Submitted: no", Kind.human_reply),
        ("X-Autoreply: yes", Kind.auto_reply),
        ("X-Autorespond: Vacation", Kind.auto_reply),
        ("Precedence: auto_reply", Kind.auto_reply),
        ("X-Auto-Response-Suppress: All", Kind.human_reply),  # Outlook sets it on many mails
        ("Precedence: bulk", Kind.other),
        ("Precedence: junk", Kind.other),
        ("List-Id: <team.example.com>", Kind.other),
    ],
)
def test_what_each_header_says(header: str, kind: Kind) -> None:
    raw = plain_reply("Thanks, sounds good.").replace(
        b"MIME-Version: 1.0\r\n", header.encode() + b"\r\nMIME-Version: 1.0\r\n"
    )

    assert classified(raw).kind is kind


def test_a_date_in_the_quoted_original_is_not_a_return_date() -> None:
    raw = outlook_auto_reply(back="Monday").replace(
        b"For anything urgent",
        b"-----Original Message-----\r\nI will be back on 20 March 2026.\r\nFor anything urgent",
    )

    result = classified(raw)

    assert result.kind is Kind.auto_reply
    assert result.returns_on is None


# Return dates.


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("I will be back on 3 March.", date(2026, 3, 3)),
        ("I am back on Monday, March 9th.", date(2026, 3, 9)),
        ("Back in the office on 2026-03-10.", date(2026, 3, 10)),
        ("I'll return to the office on the 9th of March 2026.", date(2026, 3, 9)),
        ("I will be out of the office until 6 March.", date(2026, 3, 6)),
        ("I will be out of the office until 6 March inclusive.", date(2026, 3, 7)),
        ("Out of office through March 6, 2026.", date(2026, 3, 7)),
        ("Away from 20 February until 6 March, back on 9 March.", date(2026, 3, 9)),
        ("back on 13/03/2026", date(2026, 3, 13)),
        ("back on 03/13/2026", date(2026, 3, 13)),
        ("ab dem 03.03.2026 wieder im Büro", date(2026, 3, 3)),
        ("Ab Montag, den 9. März bin ich wieder erreichbar.", date(2026, 3, 9)),
        ("Ich bin bis einschließlich 6. März nicht im Büro.", date(2026, 3, 7)),
        ("bis zum 06.03. abwesend", date(2026, 3, 6)),
        ("Ich bin am 10.3.26 zurück. Zurück am 10.03.2026.", date(2026, 3, 10)),
        ("de retour le 3 mars", date(2026, 3, 3)),
        ("Je serai de retour le lundi 9 mars 2026.", date(2026, 3, 9)),
        ("Je suis absente jusqu\u2019au 6 mars inclus.", date(2026, 3, 7)),  # curly apostrophe
        ("de retour le 1er avril", date(2026, 4, 1)),
        ("Retour prévu le 09/03/2026.", date(2026, 3, 9)),
    ],
)
def test_return_dates_in_english_german_and_french(text: str, back: date) -> None:
    assert return_date(text, NOW) == back


@pytest.mark.parametrize(
    "text",
    [
        "I will be back soon.",
        "I will be back on Monday.",
        "back on 03/09/2026",  # March or September: English does not say
        "I was back on 1 March 2026.",  # past
        "back on 1 March",  # yesterday, without a year
        "back on 3 March 2028",  # two years ahead: a misreading, surely
        "back on 1 December",  # nine months ahead without a year: likewise
        "back on 31 February 2026",
        "back at 10.30 tomorrow",
        "",
    ],
)
def test_no_return_date_when_none_can_be_read_or_it_is_not_ahead(text: str) -> None:
    assert return_date(text, NOW) is None


def test_a_date_without_a_year_in_january_read_in_december_is_next_year() -> None:
    assert return_date("back on 5 January", datetime(2026, 12, 20, tzinfo=UTC)) == date(2027, 1, 5)


EN_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
DE_MONTHS = [
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
    "Oktober", "November", "Dezember",
]  # fmt: skip
FR_MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
    "octobre", "novembre", "décembre",
]  # fmt: skip

WRITTEN = [
    # (how the date is written, whether the text names the last day away inclusively)
    (lambda d: f"I will be back on {d.day} {EN_MONTHS[d.month - 1]} {d.year}.", False),
    (lambda d: f"Back in the office on {EN_MONTHS[d.month - 1]} {d.day}, {d.year}.", False),
    (lambda d: f"Returning on {d.isoformat()}.", False),
    (lambda d: f"Out until {d.day} {EN_MONTHS[d.month - 1][:3]} {d.year} inclusive.", True),
    (lambda d: f"Ich bin ab dem {d:%d.%m.%Y} wieder im Büro.", False),
    (lambda d: f"Ab {d.day}. {DE_MONTHS[d.month - 1]} {d.year} wieder erreichbar.", False),
    (lambda d: f"Abwesend bis einschließlich {d:%d.%m.%Y}.", True),
    (lambda d: f"Je serai de retour le {d.day} {FR_MONTHS[d.month - 1]} {d.year}.", False),
    (lambda d: f"De retour le {d:%d/%m/%Y}.", False),
    (lambda d: f"Absente jusqu'au {d.day} {FR_MONTHS[d.month - 1]} {d.year} inclus.", True),
]


@SOME
@given(
    now=st.datetimes(datetime(2025, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)),
    ahead=st.integers(0, 360),
    written=st.sampled_from(WRITTEN),
)
def test_any_date_ahead_written_any_of_these_ways_is_read_back(
    now: datetime, ahead: int, written: tuple[object, bool]
) -> None:
    write, inclusive = written
    assert callable(write)
    day = now.date() + timedelta(days=ahead)

    expected = day + timedelta(days=1) if inclusive else day
    assert return_date(f"Hello,\n\n{write(day)}\n\nRegards", now) == expected


@SOME
@given(text=st.text(max_size=400), now=st.datetimes(timezones=st.just(UTC)))
def test_a_return_date_is_never_in_the_past_nor_more_than_a_year_ahead(
    text: str, now: datetime
) -> None:
    back = return_date(text, now)

    assert back is None or now.date() <= back <= now.date() + timedelta(days=367)


# Bounces.


def test_a_user_unknown_bounce_is_hard_and_rejects_the_address() -> None:
    result = classified(postfix_dsn())

    assert result.kind is Kind.bounce
    assert result.bounce == Bounce(
        hard=True,
        address_rejected=True,
        address="ada@example.com",
        status="5.1.1",
        diagnostic=(
            "550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown in virtual "
            "mailbox table"
        ),
    )
    assert result.reason.startswith("a delivery report: ada@example.com failed permanently")


@pytest.mark.parametrize("make", [exchange_ndr, gmail_dsn, exim_bounce, qmail_bounce])
def test_every_no_such_user_bounce_is_hard_and_rejects_the_address(make: object) -> None:
    assert callable(make)
    bounce = classified(make()).bounce

    assert bounce is not None
    assert (bounce.hard, bounce.address_rejected, bounce.address) == (
        True,
        True,
        "ada@example.com",
    )


def test_a_policy_refusal_is_hard_but_says_nothing_about_the_address() -> None:
    bounce = classified(postfix_dsn(status="5.7.1")).bounce

    assert bounce is not None
    assert bounce.hard
    assert not bounce.address_rejected


def test_a_tenant_limit_report_is_soft_and_about_our_tenant_not_the_address() -> None:
    bounce = classified(postfix_dsn(status="5.7.233")).bounce

    assert bounce is not None
    assert bounce.tenant_limit
    assert not bounce.hard
    assert not bounce.address_rejected


@pytest.mark.parametrize("status", ["5.7.26", "5.7.515", "5.7.509"])
def test_a_refusal_of_our_domains_authentication_is_soft_and_about_us(status: str) -> None:
    bounce = classified(postfix_dsn(status=status)).bounce

    assert bounce is not None
    assert bounce.our_domain
    assert not bounce.hard
    assert not bounce.address_rejected


@pytest.mark.parametrize("status", ["4.2.2", "5.2.2"])
def test_a_delay_or_a_full_mailbox_is_a_soft_bounce(status: str) -> None:
    result = classified(postfix_dsn(status=status))

    assert result.kind is Kind.bounce
    assert result.bounce is not None
    assert not result.bounce.hard
    assert not result.bounce.address_rejected
    assert "was delayed or failed for now" in result.reason


def test_a_report_that_says_delivered_is_other() -> None:
    delivered = postfix_dsn().replace(b"Action: failed", b"Action: delivered")

    assert classified(delivered) == Classification(
        Kind.other, "a delivery report that says the email was delivered"
    )


def test_a_bounce_that_names_nobody_is_still_a_bounce_soft_when_it_says_delay() -> None:
    def daemon(subject: str) -> bytes:
        return wire(
            "From: MAILER-DAEMON@mx.example.net\n"
            f"Subject: {subject}\n\n"
            "Something went wrong.\n\n--- Below this line is a copy of the message.\n\n"
            "Message-ID: <019cadfd8900.0f1e2d3c4b5a6978@acme.example>\n"
        )

    failed = classified(daemon("Undelivered Mail Returned to Sender"))
    delayed = classified(daemon("Delivery delayed: Quick question"))

    assert failed.kind is delayed.kind is Kind.bounce
    assert failed.bounce == Bounce(True, False, None, None, None)
    assert delayed.bounce == Bounce(False, False, None, None, None)


# Other.


def test_a_read_receipt_and_a_spam_complaint_are_other() -> None:
    def report(kind: str) -> bytes:
        return wire(
            f'Content-Type: multipart/report; report-type={kind}; boundary="b"\n\n'
            "--b\nContent-Type: text/plain\n\nSomething about your email.\n--b--\n"
        )

    assert classified(report("disposition-notification")).reason == "a read receipt (RFC 8098)"
    assert classified(report("feedback-report")).kind is Kind.other


def test_mail_from_a_no_reply_address_is_other() -> None:
    raw = plain_reply("Your invoice is ready.").replace(
        b"From: Ada Lovelace <ada@example.com>", b"From: Billing <no-reply@example.com>"
    )

    assert classified(raw).kind is Kind.other


# Requests to be removed.


@pytest.mark.parametrize(
    "text",
    [
        "Please remove me from your list.",
        "Unsubscribe",
        "unsubscribe me please",
        "STOP",
        "Stop.\n\nAda",
        "Hi Grace, please take me off your mailing list. Thanks",
        "Please stop emailing me.",
        "Don't contact me again.",
        "Opt me out.",
        "Bitte nehmen Sie mich aus Ihrem Verteiler.",
        "Bitte abmelden.",
        "Bitte keine weiteren E-Mails.",
        "Bitte nicht mehr kontaktieren!",
        "Merci de me retirer de votre liste.",
        "Je souhaite me désabonner.",
        "Ne me contactez plus, merci.",
        "Retirez-moi de vos envois.",
    ],
)
def test_a_short_reply_asking_to_be_removed_is_an_unsubscribe_request(text: str) -> None:
    result = reply_saying(text)

    assert result.kind is Kind.unsubscribe_request
    assert result.reason.startswith("a short reply that says")


@pytest.mark.parametrize(
    "text",
    [
        # Long replies that mention the words in passing are conversations.
        "Hi Grace, thanks for the note. We had to stop the migration last quarter because the "
        "vendor's tooling could not keep up, and honestly I'd love to compare notes. We are "
        "planning the next attempt for April and your pipeline might fit. Could you send me "
        "a short summary of how you handle schema changes, and whether you support Postgres "
        "logical replication? Happy to get on a call next week, Tuesday or Wednesday.",
        "Happy to talk, but please remove me from the Thursday invite and add my colleague "
        "Charles instead; he owns the pipeline now and knows far more about it than I do. He "
        "is in Berlin, so mornings work best for him. I will forward your email to him today "
        "and ask him to reply directly with a few times that suit, then you two can take it "
        "from there. Thanks again for thinking of us, and good luck with the launch!",
        "Not interested, thanks.",
        "Can you stop by our booth at the conference?",
        "Thanks, sounds good.",
    ],
)
def test_a_reply_that_does_not_ask_to_be_removed_is_a_human_reply(text: str) -> None:
    assert reply_saying(text).kind is Kind.human_reply


def test_our_own_reply_stop_line_quoted_back_is_not_a_request() -> None:
    assert classified(gmail_reply()).kind is Kind.human_reply


def test_a_new_subject_can_carry_the_request_but_ours_cannot() -> None:
    assert reply_saying("", subject="Unsubscribe").kind is Kind.unsubscribe_request
    assert reply_saying("", subject="Re: STOP").kind is Kind.unsubscribe_request
    assert reply_saying("Sure.", subject="Re: Stop sending invoices by hand").kind is (
        Kind.human_reply
    )


# The order in which the rules win, over every combination of signs.

AUTO_HEADERS = ["Auto-Submitted: auto-replied", "X-Autoreply: yes", "Precedence: auto_reply"]
BULK_HEADERS = ["Precedence: bulk", "List-Id: <news.example.com>", "List-Post: <mailto:l@x>"]
AUTO_SUBJECTS = ["Automatic reply: hello", "Abwesenheitsnotiz: hello", "Réponse automatique"]
REQUESTS = ["Please unsubscribe me.", "Bitte austragen.", "Merci de me désinscrire.", "STOP"]
LONG = " ".join(["We talked about this at length and I have more to say."] * 8)


@st.composite
def combined_messages(draw: st.DrawFn) -> tuple[bytes, Kind]:
    """A message with any mix of the signs, and the kind the documented order gives."""
    bounce = draw(st.booleans())
    auto_headers = draw(st.lists(st.sampled_from(AUTO_HEADERS), max_size=2, unique=True))
    auto_subject = draw(st.booleans())
    bulk_headers = draw(st.lists(st.sampled_from(BULK_HEADERS), max_size=2, unique=True))
    request = draw(st.booleans())
    long_reply = draw(st.booleans())
    subject = draw(st.sampled_from(AUTO_SUBJECTS)) if auto_subject else "Re: hello"
    text = (draw(st.sampled_from(REQUESTS)) if request else "Thanks, let's talk.") + (
        f"\n\n{LONG}" if long_reply else ""
    )
    headers = [
        "From: Ada <ada@example.com>",
        f"Subject: {subject}",
        "In-Reply-To: <019cadfd8900.0f1e2d3c4b5a6978@acme.example>",
        *auto_headers,
        *bulk_headers,
    ]
    if bounce:
        headers.append('Content-Type: multipart/report; report-type=delivery-status; boundary="b"')
        body = (
            f"--b\nContent-Type: text/plain\n\n{text}\n"
            "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
            "Final-Recipient: rfc822; ada@example.com\nAction: failed\nStatus: 5.1.1\n--b--\n"
        )
    else:
        body = text
    if bounce:
        kind = Kind.bounce
    elif auto_headers or auto_subject:
        kind = Kind.auto_reply
    elif bulk_headers:
        kind = Kind.other
    elif request and not long_reply:
        kind = Kind.unsubscribe_request
    else:
        kind = Kind.human_reply
    return wire("\n".join(headers) + "\n\n" + body), kind


@SOME
@given(combined_messages())
def test_the_first_rule_that_holds_decides(case: tuple[bytes, Kind]) -> None:
    raw, kind = case

    assert classified(raw).kind is kind
