"""Inbound messages as real mail servers and clients write them, for the inbox tests: replies
from Gmail and Outlook, out-of-office notices in English, German and French, bounces from
Postfix, Exchange Online, Gmail and Exim, a mailing list, a reply that lost its headers.

Each is written out by hand, headers and MIME structure copied from real messages (names,
hosts and ids changed), rather than built with the email package, so that the tests read
exactly the bytes a mailbox would hold. All are about OUR_EMAIL, the first email of a sequence
from Grace (acme.example) to Ada (example.com).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy

from outreach.providers.compose import to_bytes
from outreach.providers.message import Mailbox, OutgoingMessage

SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""When OUR_EMAIL went out; the tests' `now` is shortly after."""

OUR_EMAIL = OutgoingMessage(
    message_id="<019cadfd8900.0f1e2d3c4b5a6978@acme.example>",
    sender=Mailbox("grace@acme.example", "Grace Hopper"),
    recipient=Mailbox("ada@example.com", "Ada Lovelace"),
    subject="Quick question about your data pipeline",
    text=(
        "Hi Ada,\n\nI saw your talk on streaming ETL. Would you have ten minutes next week?\n\n"
        "Grace\n\nIf you'd rather not hear from me again, reply stop and I will not write again.\n"
    ),
    date=SENT_AT,
    unsubscribe_url="https://acme.example/u/7Hq2",
)
OUR_ID = OUR_EMAIL.message_id


@dataclass(frozen=True)
class Thread:
    """Whom a message is about: our email's id, subject, and the two addresses."""

    message_id: str = OUR_ID
    subject: str = OUR_EMAIL.subject
    ours: str = "grace@acme.example"
    theirs: str = "ada@example.com"


THREAD = Thread()


def wire(text: str) -> bytes:
    """A message written with "\\n" line ends, as it sits in a mailbox: CRLF, UTF-8."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def our_headers(thread: Thread = THREAD) -> str:
    """The header block of our email as a bounce quotes it."""
    return (
        f"From: Grace Hopper <{thread.ours}>\n"
        f"To: Ada Lovelace <{thread.theirs}>\n"
        f"Subject: {thread.subject}\n"
        "Date: Mon, 02 Mar 2026 09:00:00 +0000\n"
        f"Message-ID: {thread.message_id}\n"
        "List-Unsubscribe: <https://acme.example/u/7Hq2>\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: 7bit\n"
    )


# Human replies.


def gmail_reply(thread: Thread = THREAD, *, text: str | None = None) -> bytes:
    """A reply from Gmail's web client: multipart/alternative, the original quoted below an
    "On ... wrote:" line that Gmail folds."""
    own = (
        text
        if text is not None
        else (
            "Hi Grace,\n\nThanks for reaching out. Yes, happy to talk. Tuesday at 3pm works for me."
            "\n\nBest,\nAda"
        )
    )
    return wire(
        "Delivered-To: grace@acme.example\n"
        "Received: by 2002:a05:6a10:8e0f:b0:5a1:3c2d:1e4f with SMTP id x15csp123456pxh;\n"
        "        Mon, 2 Mar 2026 01:12:44 -0800 (PST)\n"
        "MIME-Version: 1.0\n"
        f"References: {thread.message_id}\n"
        f"In-Reply-To: {thread.message_id}\n"
        f"From: Ada Lovelace <{thread.theirs}>\n"
        "Date: Mon, 2 Mar 2026 10:12:31 +0100\n"
        "Message-ID: <CAF=3kq8pLx9n+0fVwA@mail.gmail.com>\n"
        f"Subject: Re: {thread.subject}\n"
        f"To: Grace Hopper <{thread.ours}>\n"
        'Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"\n'
        "\n"
        "--000000000000a1b2c3d4e5f60718\n"
        'Content-Type: text/plain; charset="UTF-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        f"{own}\n"
        "\n"
        "On Mon, 2 Mar 2026 at 10:00, Grace Hopper <grace@acme.example>\n"
        "wrote:\n"
        "\n"
        "> Hi Ada,\n"
        ">\n"
        "> I saw your talk on streaming ETL. Would you have ten minutes next week?\n"
        ">\n"
        "> Grace\n"
        ">\n"
        "> If you'd rather not hear from me again, reply stop and I will not write\n"
        "> again.\n"
        "\n"
        "--000000000000a1b2c3d4e5f60718\n"
        'Content-Type: text/html; charset="UTF-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        '<div dir=3D"ltr">Hi Grace,<div><br></div><div>Thanks for reaching out.</div></div>\n'
        "\n"
        "--000000000000a1b2c3d4e5f60718--\n"
    )


def outlook_html_reply(thread: Thread = THREAD, *, own_html: str | None = None) -> bytes:
    """A reply from Outlook: HTML only, base64, the original below a From:/Sent: block."""
    import base64

    own = (
        own_html
        if own_html is not None
        else (
            "<p>Hallo Grace,</p><p>danke f&uuml;r die Nachricht. Gern n&auml;chste Woche.</p>"
            "<p>Gr&uuml;&szlig;e<br>Ada</p>"
        )
    )
    html = (
        "<html><head><style>p {margin:0}</style></head><body>"
        f"{own}"
        '<div id="divRplyFwdMsg"><hr><b>From:</b> Grace Hopper &lt;grace@acme.example&gt;<br>'
        "<b>Sent:</b> Monday, March 2, 2026 10:00 AM<br>"
        f"<b>Subject:</b> {thread.subject}</div>"
        "<p>Hi Ada, I saw your talk on streaming ETL.</p></body></html>"
    )
    body = base64.encodebytes(html.encode("utf-8")).decode("ascii")
    return wire(
        f"From: Ada Lovelace <{thread.theirs}>\n"
        f"To: Grace Hopper <{thread.ours}>\n"
        f"Subject: RE: {thread.subject}\n"
        f"Thread-Topic: {thread.subject}\n"
        "Thread-Index: AQHaYzN5Qz0lqVkM8ESu3nM6yV8HGg==\n"
        "Date: Mon, 2 Mar 2026 10:20:00 +0000\n"
        "Message-ID: <AM0PR01MB5410C0FFEE@AM0PR01MB5410.eurprd01.prod.exchangelabs.com>\n"
        f"References: {thread.message_id}\n"
        f"In-Reply-To: {thread.message_id}\n"
        "Content-Language: de-DE\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/html; charset="utf-8"\n'
        "Content-Transfer-Encoding: base64\n"
        "\n"
        f"{body}"
    )


def reply_without_headers(thread: Thread = THREAD) -> bytes:
    """A reply from a phone mail app that dropped In-Reply-To and References and wrote a new
    subject: only the sender's address ties it to us."""
    return wire(
        f"From: {thread.theirs}\n"
        f"To: {thread.ours}\n"
        "Subject: your email\n"
        "Date: Mon, 2 Mar 2026 11:02:00 +0100\n"
        "Message-ID: <5E1C9A7B-22F4-4B0C-9D58-1F0E2C3A4B5D@example.com>\n"
        "MIME-Version: 1.0 (1.0)\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "Hi Grace, got your note on my phone. Call me Thursday?\n"
        "\n"
        "Sent from my iPhone\n"
    )


def plain_reply(text: str, thread: Thread = THREAD, *, subject: str | None = None) -> bytes:
    """A plain-text reply with the threading headers, saying `text`."""
    return wire(
        f"From: Ada Lovelace <{thread.theirs}>\n"
        f"To: {thread.ours}\n"
        f"Subject: {subject if subject is not None else 'Re: ' + thread.subject}\n"
        "Date: Mon, 2 Mar 2026 11:02:00 +0100\n"
        "Message-ID: <reply.4711@example.com>\n"
        f"In-Reply-To: {thread.message_id}\n"
        f"References: {thread.message_id}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        f"{text}\n"
        "\n"
        "On Mon, 2 Mar 2026 at 10:00, Grace Hopper <grace@acme.example> wrote:\n"
        "> Hi Ada,\n"
        "> If you'd rather not hear from me again, reply stop.\n"
    )


# Auto-replies.


def outlook_auto_reply(
    thread: Thread = THREAD, *, with_headers: bool = True, back: str = "9 March 2026"
) -> bytes:
    """Exchange Online's out-of-office reply. `with_headers=False` leaves out Auto-Submitted,
    as older Exchange servers do: only the subject says what it is."""
    automatic = (
        "Auto-Submitted: auto-generated\n"
        "X-Auto-Response-Suppress: All\n"
        "X-MS-Exchange-Inbox-Rules-Loop: ada@example.com\n"
        if with_headers
        else ""
    )
    return wire(
        f"From: Ada Lovelace <{thread.theirs}>\n"
        f"To: Grace Hopper <{thread.ours}>\n"
        f"Subject: Automatic reply: {thread.subject}\n"
        f"Thread-Topic: {thread.subject}\n"
        "Thread-Index: AQHaYzN5Qz0lqVkM8ESu3nM6yV8HGgAAAAo=\n"
        "Date: Mon, 2 Mar 2026 09:00:04 +0000\n"
        "Message-ID: <8b1e0c2a7d3f4e5a9c6b@AM0PR01MB5410.eurprd01.prod.exchangelabs.com>\n"
        f"In-Reply-To: {thread.message_id}\n"
        f"References: {thread.message_id}\n"
        f"{automatic}"
        "Content-Language: en-GB\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="_000_8b1e0c2a7d3f_"\n'
        "\n"
        "--_000_8b1e0c2a7d3f_\n"
        'Content-Type: text/plain; charset="us-ascii"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Thank you for your email. I am out of the office with limited access to email.\n"
        f"I will be back on {back}.\n"
        "\n"
        "For anything urgent please contact office@example.com.\n"
        "\n"
        "--_000_8b1e0c2a7d3f_\n"
        'Content-Type: text/html; charset="us-ascii"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "<html><body><p>Thank you for your email. I am out of the office.</p></body></html>\n"
        "\n"
        "--_000_8b1e0c2a7d3f_--\n"
    )


def gmail_vacation_reply(thread: Thread = THREAD) -> bytes:
    """Gmail's vacation responder: the subject is whatever its owner chose."""
    return wire(
        f"From: Ada Lovelace <{thread.theirs}>\n"
        f"To: {thread.ours}\n"
        "Subject: Away until mid-March\n"
        "Date: Mon, 2 Mar 2026 01:00:09 -0800\n"
        "Message-ID: <CAF=vac.8d2e@mail.gmail.com>\n"
        f"In-Reply-To: {thread.message_id}\n"
        f"References: {thread.message_id}\n"
        "Auto-Submitted: auto-replied\n"
        "Precedence: bulk\n"
        "X-Autoreply: yes\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="0000000000009e8d7c6b5a4f3e21"\n'
        "\n"
        "--0000000000009e8d7c6b5a4f3e21\n"
        'Content-Type: text/plain; charset="UTF-8"\n'
        "\n"
        "Hi, I'm travelling with no access to email until March 13th, 2026.\n"
        "I'll reply when I'm back.\n"
        "\n"
        "--0000000000009e8d7c6b5a4f3e21\n"
        'Content-Type: text/html; charset="UTF-8"\n'
        "\n"
        "<div>Hi, I&#39;m travelling with no access to email until March 13th, 2026.</div>\n"
        "\n"
        "--0000000000009e8d7c6b5a4f3e21--\n"
    )


def german_out_of_office(thread: Thread = THREAD, *, with_headers: bool = True) -> bytes:
    """Outlook in German: "Abwesenheitsnotiz:", quoted-printable UTF-8."""
    automatic = "Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n"
    return wire(
        f"From: =?utf-8?q?Ada_M=C3=BCller?= <{thread.theirs}>\n"
        f"To: Grace Hopper <{thread.ours}>\n"
        f"Subject: Abwesenheitsnotiz: {thread.subject}\n"
        "Date: Mon, 2 Mar 2026 10:00:03 +0100\n"
        "Message-ID: <b7c3e1f0a2d54c6e@EXCH01.example.com>\n"
        f"In-Reply-To: {thread.message_id}\n"
        f"{automatic if with_headers else ''}"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Sehr geehrte Damen und Herren,\n"
        "\n"
        "vielen Dank f=C3=BCr Ihre Nachricht. Ich bin bis zum 06.03.2026 nicht im B=\n"
        "=C3=BCro und ab dem 09.03.2026 wieder erreichbar.\n"
        "\n"
        "Mit freundlichen Gr=C3=BC=C3=9Fen\n"
        "Ada M=C3=BCller\n"
    )


def french_out_of_office(thread: Thread = THREAD) -> bytes:
    """Outlook in French: "Réponse automatique :" as an encoded word with its no-break space."""
    return wire(
        f"From: Ada Lefebvre <{thread.theirs}>\n"
        f"To: Grace Hopper <{thread.ours}>\n"
        "Subject: =?iso-8859-1?Q?R=E9ponse_automatique=A0:_Quick_question_about_your_data_p?=\n"
        " =?iso-8859-1?Q?ipeline?=\n"
        "Date: Mon, 2 Mar 2026 10:00:03 +0100\n"
        "Message-ID: <4f1a2b3c@PAR01.example.com>\n"
        f"In-Reply-To: {thread.message_id}\n"
        "Auto-Submitted: auto-generated\n"
        "X-Auto-Response-Suppress: All\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="iso-8859-1"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Bonjour,\n"
        "\n"
        "Je suis absente jusqu'au 6 mars inclus, de retour le 9 mars 2026.\n"
        "En cas d'urgence, merci de contacter bureau@example.com.\n"
        "\n"
        "Cordialement,\n"
        "Ada Lefebvre\n"
    )


def mailing_list_message() -> bytes:
    """A newsletter from a list the sending mailbox is on: no reply to anything of ours."""
    return wire(
        "From: Data Weekly <news@dataweekly.example>\n"
        "To: grace@acme.example\n"
        "Subject: Data Weekly #212: streaming everything\n"
        "Date: Mon, 2 Mar 2026 07:00:00 +0000\n"
        "Message-ID: <212.20260302070000@lists.dataweekly.example>\n"
        "Precedence: list\n"
        "List-Id: Data Weekly <weekly.dataweekly.example>\n"
        "List-Unsubscribe: <https://dataweekly.example/unsubscribe?u=abc>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "This week: please unsubscribe from tools you no longer use.\n"
    )


# Bounces.


def postfix_dsn(thread: Thread = THREAD, *, status: str = "5.1.1") -> bytes:
    """Postfix's RFC 3464 report: notification text, delivery-status, the original's headers."""
    diagnostic = {
        "5.1.1": "550 5.1.1 <{a}>: Recipient address rejected: User unknown in virtual mailbox table",
        "5.7.1": "554 5.7.1 <{a}>: Relay access denied",
        "4.2.2": "452 4.2.2 <{a}>: Mailbox full",
        "5.2.2": "552 5.2.2 <{a}>: Mailbox full, quota exceeded",
        "5.7.233": "550 5.7.233 Your organization has exceeded its daily limit for sending to "
        "external recipients",
        "5.7.26": "550 5.7.26 This mail is unauthenticated, which poses a security risk to the "
        "sender and Gmail users, and has been blocked.",
        "5.7.515": "550 5.7.515 Access denied, sending domain does not meet the required "
        "authentication level.",
        "5.7.509": "550 5.7.509 Access denied, sending domain does not pass DMARC verification "
        "and has a DMARC policy of reject.",
    }[status].format(a=thread.theirs)
    action = "delayed" if status.startswith("4") else "failed"
    subject = (
        "Delayed Mail (still being retried)"
        if action == "delayed"
        else "Undelivered Mail Returned to Sender"
    )
    return wire(
        "Return-Path: <>\n"
        "Delivered-To: grace@acme.example\n"
        "Received: by mail.acme.example (Postfix)\n"
        "\tid 4ZkQ1m2n3p; Mon,  2 Mar 2026 09:00:02 +0000 (UTC)\n"
        "Date: Mon,  2 Mar 2026 09:00:02 +0000 (UTC)\n"
        "From: MAILER-DAEMON@mail.acme.example (Mail Delivery System)\n"
        f"Subject: {subject}\n"
        f"To: {thread.ours}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status;\n"
        '\tboundary="4ZkQ1m2n3p.1772442002/mail.acme.example"\n'
        "Content-Transfer-Encoding: 8bit\n"
        "Message-Id: <20260302090002.4ZkQ1m2n3p@mail.acme.example>\n"
        "\n"
        "This is a MIME-encapsulated message.\n"
        "\n"
        "--4ZkQ1m2n3p.1772442002/mail.acme.example\n"
        "Content-Description: Notification\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "This is the mail system at host mail.acme.example.\n"
        "\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n"
        "\n"
        "                   The mail system\n"
        "\n"
        f"<{thread.theirs}>: host mx.example.com[203.0.113.25] said: {diagnostic} (in\n"
        "    reply to RCPT TO command)\n"
        "\n"
        "--4ZkQ1m2n3p.1772442002/mail.acme.example\n"
        "Content-Description: Delivery report\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        "Reporting-MTA: dns; mail.acme.example\n"
        "X-Postfix-Queue-ID: 4ZkQ1m2n3p\n"
        "X-Postfix-Sender: rfc822; grace@acme.example\n"
        "Arrival-Date: Mon,  2 Mar 2026 09:00:00 +0000 (UTC)\n"
        "\n"
        f"Final-Recipient: rfc822; {thread.theirs}\n"
        f"Original-Recipient: rfc822;{thread.theirs}\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        "Remote-MTA: dns; mx.example.com\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n"
        "\n"
        "--4ZkQ1m2n3p.1772442002/mail.acme.example\n"
        "Content-Description: Undelivered Message Headers\n"
        "Content-Type: text/rfc822-headers\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "Return-Path: <grace@acme.example>\n"
        "Received: from [127.0.0.1] (localhost [127.0.0.1])\n"
        "\tby mail.acme.example (Postfix) with ESMTPSA id 4ZkQ1m2n3p\n"
        "\tfor <ada@example.com>; Mon,  2 Mar 2026 09:00:00 +0000 (UTC)\n"
        f"{our_headers(thread)}"
        "\n"
        "--4ZkQ1m2n3p.1772442002/mail.acme.example--\n"
    )


def exchange_ndr(thread: Thread = THREAD) -> bytes:
    """Exchange Online's non-delivery report: HTML and text, delivery-status, and the whole
    original attached as message/rfc822."""
    original = to_bytes(OUR_EMAIL).decode("ascii").replace("\r\n", "\n")
    if thread != THREAD:
        original = original.replace(OUR_ID, thread.message_id)
    return wire(
        "From: Microsoft Outlook\n"
        " <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@acme.example>\n"
        f"To: <{thread.ours}>\n"
        "Date: Mon, 2 Mar 2026 09:00:05 +0000\n"
        "Content-Type: multipart/report; report-type=delivery-status;\n"
        '\tboundary="1e2d3c4b-5a69-7887-9695-a4b3c2d1e0f9"\n'
        "X-MS-Exchange-Message-Is-Ndr:\n"
        "Content-Language: en-US\n"
        "Message-ID: <4b5a6978-1e2d-3c4b@AM0PR01MB5410.eurprd01.prod.exchangelabs.com>\n"
        f"In-Reply-To: {thread.message_id}\n"
        f"References: {thread.message_id}\n"
        f"Subject: Undeliverable: {thread.subject}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        "\n"
        "--1e2d3c4b-5a69-7887-9695-a4b3c2d1e0f9\n"
        "Content-Type: multipart/alternative; differences=Content-Type;\n"
        '\tboundary="9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0"\n'
        "\n"
        "--9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0\n"
        'Content-Type: text/plain; charset="us-ascii"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        f"Your message to {thread.theirs} couldn't be delivered.\n"
        "\n"
        "ada wasn't found at example.com.\n"
        "\n"
        "Action Required: Recipient\n"
        "Unknown To address\n"
        "\n"
        "--9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0\n"
        'Content-Type: text/html; charset="us-ascii"\n'
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "<html><body><p>Your message to ada@example.com couldn't be delivered.</p></body></html>\n"
        "\n"
        "--9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0--\n"
        "\n"
        "--1e2d3c4b-5a69-7887-9695-a4b3c2d1e0f9\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        "Reporting-MTA: dns;AM0PR01MB5410.eurprd01.prod.exchangelabs.com\n"
        "Received-From-MTA: dns;mail.acme.example\n"
        "Arrival-Date: Mon, 2 Mar 2026 09:00:01 +0000\n"
        "\n"
        f"Final-Recipient: rfc822;{thread.theirs}\n"
        "Action: failed\n"
        "Status: 5.1.10\n"
        "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not\n"
        " found by SMTP address lookup\n"
        "\n"
        "--1e2d3c4b-5a69-7887-9695-a4b3c2d1e0f9\n"
        "Content-Type: message/rfc822\n"
        "\n"
        f"{original}\n"
        "--1e2d3c4b-5a69-7887-9695-a4b3c2d1e0f9--\n"
    )


def gmail_dsn(thread: Thread = THREAD) -> bytes:
    """Gmail's "Delivery Status Notification (Failure)": it names the original in
    X-Original-Message-ID and attaches only its headers."""
    return wire(
        "Return-Path: <>\n"
        "Received: by 2002:a05:6a10:8e0f with SMTP id x15csp1;\n"
        "        Mon, 02 Mar 2026 01:00:06 -0800 (PST)\n"
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        f"To: {thread.ours}\n"
        "Auto-Submitted: auto-replied\n"
        "Subject: Delivery Status Notification (Failure)\n"
        f"References: {thread.message_id}\n"
        f"In-Reply-To: {thread.message_id}\n"
        "X-Failed-Recipients: " + thread.theirs + "\n"
        "Message-ID: <65e2f1a6.0a1b2c3d.dsn@mx.google.com>\n"
        "Date: Mon, 02 Mar 2026 01:00:06 -0800 (PST)\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; boundary="00000000000011aa22bb33cc44dd"; '
        "report-type=delivery-status\n"
        "\n"
        "--00000000000011aa22bb33cc44dd\n"
        'Content-Type: multipart/related; boundary="00000000000011aa22bb33cc44de"\n'
        "\n"
        "--00000000000011aa22bb33cc44de\n"
        'Content-Type: multipart/alternative; boundary="00000000000011aa22bb33cc44df"\n'
        "\n"
        "--00000000000011aa22bb33cc44df\n"
        'Content-Type: text/plain; charset="UTF-8"\n'
        "\n"
        "\n"
        "** Address not found **\n"
        "\n"
        f"Your message wasn't delivered to {thread.theirs} because the address couldn't be "
        "found, or is unable to receive mail.\n"
        "\n"
        "Learn more here: https://support.google.com/mail/?p=NoSuchUser\n"
        "\n"
        "The response from the remote server was:\n"
        "550 5.1.1 The email account that you tried to reach does not exist.\n"
        "\n"
        "--00000000000011aa22bb33cc44df\n"
        'Content-Type: text/html; charset="UTF-8"\n'
        "\n"
        "<html><body><h2>Address not found</h2></body></html>\n"
        "\n"
        "--00000000000011aa22bb33cc44df--\n"
        "--00000000000011aa22bb33cc44de--\n"
        "--00000000000011aa22bb33cc44dd\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        "Reporting-MTA: dns; googlemail.com\n"
        f"Received-From-MTA: dns; {thread.ours}\n"
        "Arrival-Date: Mon, 02 Mar 2026 01:00:05 -0800 (PST)\n"
        f"X-Original-Message-ID: {thread.message_id}\n"
        "\n"
        f"Final-Recipient: rfc822; {thread.theirs}\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        "Remote-MTA: dns; mx.example.com. (203.0.113.25, the server for the domain example.com.)\n"
        "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not\n"
        " exist. Please try double-checking the recipient's email address for typos\n"
        "Last-Attempt-Date: Mon, 02 Mar 2026 01:00:06 -0800 (PST)\n"
        "\n"
        "--00000000000011aa22bb33cc44dd\n"
        "Content-Type: text/rfc822-headers\n"
        "\n"
        f"{our_headers(thread)}"
        "--00000000000011aa22bb33cc44dd--\n"
    )


def exim_bounce(thread: Thread = THREAD) -> bytes:
    """Exim's plain-text bounce: no MIME report, the original copied into the text."""
    return wire(
        "Return-path: <>\n"
        "Received: from Debian-exim by mail.acme.example with local (Exim 4.96)\n"
        "\tid 1vQ3xZ-000Abc-2d\n"
        f"\tfor {thread.ours}; Mon, 02 Mar 2026 09:00:03 +0000\n"
        "X-Failed-Recipients: " + thread.theirs + "\n"
        "Auto-Submitted: auto-replied\n"
        "From: Mail Delivery System <Mailer-Daemon@mail.acme.example>\n"
        f"To: {thread.ours}\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "Message-Id: <E1vQ3xZ-000Abc-2d@mail.acme.example>\n"
        "Date: Mon, 02 Mar 2026 09:00:03 +0000\n"
        "\n"
        "This message was created automatically by mail delivery software.\n"
        "\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n"
        "\n"
        f"  {thread.theirs}\n"
        "    host mx.example.com [203.0.113.25]\n"
        f"    SMTP error from remote mail server after RCPT TO:<{thread.theirs}>:\n"
        "    550 5.1.1 No such user here\n"
        "\n"
        "------ This is a copy of the message, including all the headers. ------\n"
        "\n"
        "Return-path: <grace@acme.example>\n"
        f"{our_headers(thread)}"
        "\n"
        "Hi Ada,\n"
        "\n"
        "I saw your talk on streaming ETL.\n"
    )


def qmail_bounce(thread: Thread = THREAD) -> bytes:
    """qmail's "failure notice": nothing but text, and no X-Failed-Recipients."""
    return wire(
        "Date: 2 Mar 2026 09:00:04 -0000\n"
        "From: MAILER-DAEMON@mx.example.net\n"
        f"To: {thread.ours}\n"
        "Subject: failure notice\n"
        "\n"
        "Hi. This is the qmail-send program at mx.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n"
        "\n"
        f"<{thread.theirs}>:\n"
        "203.0.113.25 does not like recipient.\n"
        "Remote host said: 550 sorry, no mailbox here by that name. (#5.1.1)\n"
        "Giving up on 203.0.113.25.\n"
        "\n"
        "--- Below this line is a copy of the message.\n"
        "\n"
        "Return-Path: <grace@acme.example>\n"
        f"{our_headers(thread)}"
        "\n"
        "Hi Ada,\n"
    )


ALL_KINDS = {
    "gmail_reply": gmail_reply,
    "outlook_html_reply": outlook_html_reply,
    "reply_without_headers": reply_without_headers,
    "outlook_auto_reply": outlook_auto_reply,
    "gmail_vacation_reply": gmail_vacation_reply,
    "german_out_of_office": german_out_of_office,
    "french_out_of_office": french_out_of_office,
    "postfix_dsn": postfix_dsn,
    "exchange_ndr": exchange_ndr,
    "gmail_dsn": gmail_dsn,
    "exim_bounce": exim_bounce,
    "qmail_bounce": qmail_bounce,
}
"""Every message above that is about THREAD, by name (the mailing list is about nothing)."""


def with_attachment(raw: bytes, filename: str, content_type: str, data: bytes) -> bytes:
    """The message with a file attached (it becomes multipart/mixed, its headers unchanged)."""
    message = message_from_bytes(raw, policy=policy.default)
    maintype, subtype = content_type.split("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
