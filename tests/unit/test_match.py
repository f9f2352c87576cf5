"""Matching inbound messages to our emails: threading headers first, then a Graph
conversation only when something confirms it, then the sender's address; bounces by the
original they carry."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.inbox.match import (
    KnownEmails,
    Lookups,
    Match,
    MatchedBy,
    SentEmail,
    lookups,
    match,
)
from outreach.inbox.parse import parse
from tests.hypothesis_profiles import examples
from tests.inbox_messages import (
    OUR_ID,
    Thread,
    exchange_ndr,
    gmail_dsn,
    gmail_reply,
    mailing_list_message,
    outlook_auto_reply,
    postfix_dsn,
    reply_without_headers,
    wire,
)

SOME = settings(
    max_examples=examples(in_ci=300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
CONVERSATION = "AAQkAGI2NGVhZTVlLTI1OGMtNDI4My1iZmE5LTA5OGJmZGVkMjVkOQAQAKx"

FIRST = SentEmail(uuid.UUID(int=1), OUR_ID, "ada@example.com")
FOLLOW_UP = SentEmail(uuid.UUID(int=2), "<019cae0a.follow-up@acme.example>", "ada@example.com")
OTHER = SentEmail(uuid.UUID(int=3), "<019cae0b.other@acme.example>", "charles@example.org")


def known(*emails: SentEmail, conversation: Sequence[SentEmail] = ()) -> KnownEmails:
    """The database knows these emails by Message-ID, the last one to each address as the
    latest, and `conversation` as one Graph conversation, newest first."""
    return KnownEmails(
        message_ids={email.message_id: email for email in emails},
        conversations={CONVERSATION: tuple(conversation)} if conversation else {},
        addresses={email.recipient: email for email in emails},
    )


def headers_and(body: str, *headers: str) -> bytes:
    return wire("\n".join(headers) + "\n\n" + body)


# Threading headers.


def test_a_reply_matches_by_in_reply_to() -> None:
    found = match(parse(gmail_reply()), None, known(FIRST, FOLLOW_UP))

    assert found == Match(FIRST, MatchedBy.in_reply_to, f"In-Reply-To {OUR_ID}")


def test_a_reply_to_someone_elses_message_in_our_thread_matches_by_references() -> None:
    raw = headers_and(
        "Agreed.",
        "From: Charles <charles@example.org>",
        "In-Reply-To: <their.own.reply@example.com>",
        f"References: {FIRST.message_id} {FOLLOW_UP.message_id} <their.own.reply@example.com>",
    )

    found = match(parse(raw), None, known(FIRST, FOLLOW_UP, OTHER))

    # The newest of ours in References, not the root, and not Charles's own email.
    assert found == Match(FOLLOW_UP, MatchedBy.references, f"References {FOLLOW_UP.message_id}")


def test_an_auto_reply_matches_like_any_reply() -> None:
    found = match(parse(outlook_auto_reply()), None, known(FIRST))

    assert found is not None
    assert found.by is MatchedBy.in_reply_to


# Graph conversations.


def test_a_conversation_confirmed_by_the_senders_address_matches() -> None:
    found = match(
        parse(reply_without_headers()), CONVERSATION, known(conversation=[FOLLOW_UP, FIRST])
    )

    assert found == Match(
        FOLLOW_UP,
        MatchedBy.conversation,
        f"conversation {CONVERSATION} confirmed by the sender ada@example.com",
    )


def test_a_conversation_confirmed_by_a_header_matches() -> None:
    raw = headers_and(
        "Forwarding to the right person.",
        "From: Assistant <assistant@example.com>",
        f"References: {FIRST.message_id}",
    )

    # Only the conversation lookup knows the email (say, the Message-ID lookup missed it).
    found = match(parse(raw), CONVERSATION, KnownEmails(conversations={CONVERSATION: [FIRST]}))

    assert found is not None
    assert found.by is MatchedBy.conversation
    assert found.evidence.endswith(f"confirmed by a header naming {FIRST.message_id}")


def test_a_conversation_alone_does_not_match_an_unrelated_message() -> None:
    unrelated = headers_and(
        "Quick question about your data pipeline? We sell pipelines too!",
        "From: Vendor <sales@vendor.example>",
        "Subject: Quick question about your data pipeline",
    )

    assert match(parse(unrelated), CONVERSATION, known(conversation=[FIRST])) is None


# The sender's address.


def test_a_reply_that_lost_its_headers_matches_by_the_senders_address() -> None:
    found = match(parse(reply_without_headers()), None, known(FIRST))

    assert found == Match(FIRST, MatchedBy.sender, "the sender's address ada@example.com")


def test_reply_to_counts_when_from_is_an_assistant() -> None:
    raw = headers_and(
        "Ada asked me to reply.",
        "From: Assistant <assistant@example.com>",
        "Reply-To: Ada Lovelace <ada@example.com>",
    )

    found = match(parse(raw), None, known(FIRST))

    assert found is not None
    assert (found.sent_email, found.by) == (FIRST, MatchedBy.sender)


def test_mail_about_nothing_of_ours_matches_nothing() -> None:
    assert match(parse(mailing_list_message()), None, known(FIRST, OTHER)) is None


# Bounces.


def test_a_bounce_matches_by_the_original_it_carries() -> None:
    for raw in (postfix_dsn(), exchange_ndr(), gmail_dsn()):
        found = match(parse(raw), None, known(FIRST))
        assert found == Match(
            FIRST, MatchedBy.original_message_id, f"the original's Message-ID {OUR_ID}"
        )


def test_a_bounce_never_matches_by_its_own_headers() -> None:
    # Exchange's report carries In-Reply-To too; here it names another of our emails, and
    # the original inside is what counts.
    raw = exchange_ndr(Thread(message_id=FOLLOW_UP.message_id)).replace(
        f"In-Reply-To: {FOLLOW_UP.message_id}".encode(), f"In-Reply-To: {OTHER.message_id}".encode()
    )

    found = match(parse(raw), None, known(FIRST, FOLLOW_UP, OTHER))

    assert found is not None
    assert found.sent_email == FOLLOW_UP


def test_a_bounce_without_a_known_original_matches_the_failed_address() -> None:
    raw = postfix_dsn(Thread(message_id="<lost@acme.example>"))

    found = match(parse(raw), None, known(FIRST))

    assert found == Match(FIRST, MatchedBy.failed_recipient, "the failed recipient ada@example.com")


def test_a_bounce_is_never_matched_by_the_mailer_daemons_address() -> None:
    daemon = SentEmail(uuid.uuid4(), "<x@acme.example>", "mailer-daemon@mail.acme.example")
    raw = postfix_dsn(Thread(message_id="<lost@acme.example>", theirs="zoe@example.net"))

    assert match(parse(raw), None, known(daemon)) is None


# What to look up.


def test_lookups_list_the_ids_conversation_and_addresses_to_ask_about() -> None:
    assert lookups(parse(gmail_reply()), CONVERSATION) == Lookups(
        message_ids=(OUR_ID,), conversation_ids=(CONVERSATION,), addresses=("ada@example.com",)
    )
    assert lookups(parse(postfix_dsn()), CONVERSATION) == Lookups(
        message_ids=(OUR_ID,), conversation_ids=(), addresses=("ada@example.com",)
    )


# Every combination of what the database knows.


@dataclass
class Recording:
    """A Known that answers from KnownEmails and records every key it was asked."""

    inner: KnownEmails
    asked: list[tuple[str, str]] = field(default_factory=list)

    def by_message_id(self, message_id: str) -> SentEmail | None:
        self.asked.append(("message_id", message_id))
        return self.inner.by_message_id(message_id)

    def by_conversation(self, conversation_id: str) -> Sequence[SentEmail]:
        self.asked.append(("conversation", conversation_id))
        return self.inner.by_conversation(conversation_id)

    def by_address(self, address: str) -> SentEmail | None:
        self.asked.append(("address", address))
        return self.inner.by_address(address)


IDS = ["<a@acme.example>", "<b@acme.example>", "<c@acme.example>", "<d@acme.example>"]
ADDRESSES = ["ada@example.com", "assistant@example.com", "charles@example.org"]


@st.composite
def situations(draw: st.DrawFn) -> tuple[bytes, str | None, KnownEmails]:
    """A reply with any threading headers and authors, and a database that knows any part."""
    in_reply_to = draw(st.lists(st.sampled_from(IDS), max_size=1))
    references = draw(st.lists(st.sampled_from(IDS), max_size=3, unique=True))
    authors = draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=2, unique=True))
    conversation = draw(st.none() | st.just(CONVERSATION))
    emails = {
        message_id: SentEmail(uuid.UUID(int=n + 1), message_id, draw(st.sampled_from(ADDRESSES)))
        for n, message_id in enumerate(IDS)
    }
    by_id = draw(st.lists(st.sampled_from(IDS), unique=True))
    in_conversation = draw(st.lists(st.sampled_from(IDS), unique=True))
    by_address = draw(st.dictionaries(st.sampled_from(ADDRESSES), st.sampled_from(IDS)))
    headers = [f"From: {authors[0]}"]
    if len(authors) > 1:
        headers.append(f"Reply-To: {authors[1]}")
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to[0]}")
    if references:
        headers.append("References: " + " ".join(references))
    return (
        headers_and("Hello", *headers),
        conversation,
        KnownEmails(
            message_ids={i: emails[i] for i in by_id},
            conversations={CONVERSATION: [emails[i] for i in in_conversation]},
            addresses={a: emails[i] for a, i in by_address.items()},
        ),
    )


@SOME
@given(situations())
def test_the_most_certain_evidence_wins_and_only_listed_keys_are_asked(
    situation: tuple[bytes, str | None, KnownEmails],
) -> None:
    raw, conversation, database = situation
    parsed = parse(raw)
    recording = Recording(database)

    found = match(parsed, conversation, recording)

    keys = lookups(parsed, conversation)
    for kind, key in recording.asked:
        listed = {"message_id": keys.message_ids, "conversation": keys.conversation_ids}
        assert key in listed.get(kind, keys.addresses)
    # What a simple reading of the documented order expects.
    by_header = [i for i in parsed.thread_ids if i in database.message_ids]
    confirmed = [
        email
        for email in (database.conversations.get(conversation, []) if conversation else [])
        if email.message_id in parsed.thread_ids or email.recipient in parsed.addresses
    ]
    by_sender = [a for a in parsed.addresses if a in database.addresses]
    if by_header:
        assert found is not None
        assert found.sent_email == database.message_ids[by_header[0]]
        assert found.by in (MatchedBy.in_reply_to, MatchedBy.references)
    elif confirmed:
        assert found is not None
        assert (found.sent_email, found.by) == (confirmed[0], MatchedBy.conversation)
    elif by_sender:
        assert found is not None
        assert (found.sent_email, found.by) == (database.addresses[by_sender[0]], MatchedBy.sender)
    else:
        assert found is None
