"""The sending pass when things go wrong or wait: limits, refusals, retries, a failing
account, a crash mid-send, list additions, skip rules and a refused launch."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.states import DraftType
from outreach.contacts import lists, suppressions
from outreach.contacts import queries as contact_queries
from outreach.contacts.models import Contact
from outreach.delivery import decisions, planning, recording, scheduled, taking
from outreach.delivery import queries as delivery_queries
from outreach.delivery.models import Delivery
from outreach.drafts import queries as drafts
from outreach.errors import Conflict, InvalidTransition, ValidationFailed
from outreach.inbox.models import EmailReply
from outreach.senders import service as senders
from tests.campaign_setup import (
    COLLEAGUES,
    PEOPLE,
    smtp_sender,
    three_step_campaign,
    wrong_password_account,
)
from tests.contact_files import import_text
from tests.databases import ALSO_PARTITIONED
from tests.drafts_setup import RECENT

pytestmark = ALSO_PARTITIONED
MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def launch(session, clock, tmp_path, sender_ids, **settings):
    clock.advance(MONDAY_9 - clock.now())
    found = three_step_campaign(session, clock, tmp_path, sender_ids, **settings)
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    return found


def crash_mid_send(session, container, found, clock):
    """A worker takes every due step for sending and dies before recording anything."""
    links = container.links
    planning.queue_campaign(session, found.id, clock.now(), "doomed", links, random.Random(1))
    claims = taking.ready(session, clock.now(), links, 100)
    assert taking.start(session, claims, clock.now(), "doomed") == claims
    session.commit()


def statuses(session, found):
    return campaign_queries.enrollment_counts(session, found.id)


def test_the_daily_limit_and_spacing_hold_and_say_why(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    launch(session, clock, tmp_path, [sender], daily_limit=2, delay_between_emails_seconds=600)
    first = container.sending_pass()
    assert len(first.sent) == 1
    assert [w.reason for w in first.waiting] == ["600 s after the campaign's last send"]
    clock.advance(timedelta(minutes=10))
    assert len(container.sending_pass().sent) == 1
    clock.advance(timedelta(minutes=10))
    third = container.sending_pass()
    assert third.sent == []
    assert third.waiting[0].reason == "daily limit reached (2 of 2 today); next at Tue 09:00 UTC"
    clock.advance(timedelta(days=1))
    assert len(container.sending_pass().sent) == 1


def test_a_refused_recipient_bounces_and_is_suppressed(
    session, container, clock, tmp_path, make_smtp_server
):
    server = make_smtp_server(reject_recipients=["alan@bletchley.example"])
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), server.port)
    found = launch(session, clock, tmp_path, [sender])
    report = container.sending_pass()
    assert len(report.sent) == 2
    assert len(report.failed) == 1
    assert report.failed[0].startswith("alan@bletchley.example: Spring, step 1: ")
    assert statuses(session, found) == {"in_progress": 2, "bounced": 1}
    emails, _ = contact_queries.suppressed_among(session, ["alan@bletchley.example"], [])
    assert emails == {"alan@bletchley.example"}


GMAIL_DMARC = (
    "550 5.7.26 Unauthenticated email from ourco.example is not accepted due to domain's "
    "DMARC policy."
)
OUTLOOK_AUTHENTICATION = (
    "550 5.7.515 Access denied, sending domain ourco.example doesn't meet the required "
    "authentication level."
)


@pytest.mark.parametrize(
    "refusal",
    [
        {"recipient_replies": {"alan@bletchley.example": GMAIL_DMARC}},
        {"data_reply": OUTLOOK_AUTHENTICATION},
    ],
    ids=["gmail-dmarc-at-rcpt", "outlook-5.7.515-after-the-content"],
)
def test_a_refusal_of_our_domains_authentication_stops_the_account_not_the_recipient(
    session, container, clock, tmp_path, make_smtp_server, refusal
):
    server = make_smtp_server(**refusal)
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), server.port)
    found = launch(session, clock, tmp_path, [sender])

    report = container.sending_pass()

    assert report.failed == []
    session.expire_all()
    account = senders.get(session, uuid.UUID(sender))
    assert senders.standing_of(account).label == "needs you"
    assert "does not accept how this account's domain is authenticated" in account.last_error
    assert "Check DNS" in account.last_error
    assert "bounced" not in statuses(session, found)
    emails, _ = contact_queries.suppressed_among(session, ["alan@bletchley.example"], [])
    assert emails == set()


def test_a_deferred_recipient_is_retried_later_and_sent_once(
    session, container, clock, tmp_path, make_smtp_server
):
    server = make_smtp_server(defer_recipients=["grace@navy.example"])
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), server.port)
    found = launch(session, clock, tmp_path, [sender])
    report = container.sending_pass()
    assert len(report.retrying) == 1
    assert "next try in 300 s" in report.retrying[0]
    server.answer_normally("grace@navy.example")
    clock.advance(timedelta(minutes=5))
    again = container.sending_pass()
    assert [label.split(":")[0] for label in again.sent] == ["grace@navy.example"]
    grace = [m for m in server.messages if "grace@navy.example" in m.rcpt_tos]
    assert len(grace) == 1
    assert statuses(session, found) == {"in_progress": 3}


def test_a_wrong_password_marks_the_account_failing_and_its_threads_wait(
    session, container, clock, tmp_path, make_smtp_server
):
    server, account = wrong_password_account(session, container, clock, make_smtp_server)
    found = launch(session, clock, tmp_path, [str(account.id)])
    report = container.sending_pass()
    assert report.sent == []
    assert len(report.retrying) == 3
    session.expire_all()
    failing = senders.get(session, account.id)
    assert failing.state == "failing"
    assert "password" in (failing.last_error or "")
    later = container.sending_pass()
    assert later.sent == []
    assert statuses(session, found) == {"pending": 3}
    assert server.messages == []
    # The emails already written for the account say what they wait for, in the worker's
    # output and beside each contact (whose stored reason only says "sending").
    [held] = later.waiting
    assert held.label == "me@ourco.example: 3 queued emails"
    assert later.steps_waiting == 3
    assert held.reason.startswith("waiting for me@ourco.example, which is failing: ")
    assert "password" in held.reason
    holds = planning.sender_holds(session, found.id, clock.now())
    assert len(holds) == 3
    assert set(holds.values()) == {held.reason}


def test_first_emails_of_a_failing_account_go_from_another_of_the_campaigns_accounts(
    session, container, clock, tmp_path, make_smtp_server, smtp_server
):
    locked, failing = wrong_password_account(session, container, clock, make_smtp_server)
    working = smtp_sender(
        session, clock, container.settings.secret_key_value(), smtp_server.port, "you@ourco.example"
    )
    found = launch(session, clock, tmp_path, [str(failing.id), working])
    first = container.sending_pass()
    assert len(first.sent) == 1
    assert len(first.retrying) == 2  # new threads were spread, two of them on the failing one

    second = container.sending_pass()
    assert [line.split(":")[1] for line in second.moved] == [
        " first email moved from me@ourco.example (failing) to you@ourco.example"
    ] * 2
    assert len(second.sent) == 2
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "ada@analytical.example",
        "alan@bletchley.example",
        "grace@navy.example",
    ]
    threads = {e.sender_account_id for e, _ in campaign_queries.enrollments_of(session, found.id)}
    assert threads == {uuid.UUID(working)}
    assert locked.messages == []


def test_a_failing_account_does_not_hold_up_the_other_accounts(
    session, container, clock, tmp_path, make_smtp_server, smtp_server
):
    _, failing = wrong_password_account(session, container, clock, make_smtp_server)
    launch(session, clock, tmp_path, [str(failing.id)])
    assert len(container.sending_pass().retrying) == 3
    clock.advance(planning.ACCOUNT_RETRY)
    working = smtp_sender(
        session, clock, container.settings.secret_key_value(), smtp_server.port, "you@ourco.example"
    )
    one_off(session, clock, working, anyway=True)  # Ada is in the campaign: a person confirmed
    scheduled.queue_due(session, clock.now(), 10)
    session.commit()
    links = container.links
    # The failing account's three emails are older, and more than a pass takes here: they
    # must not fill it.
    [claim] = taking.ready(session, clock.now(), links, 2)
    assert claim.label == "ada@analytical.example: scheduled email"


def test_a_send_interrupted_by_a_crash_becomes_unknown_and_is_never_resent_blindly(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = launch(session, clock, tmp_path, [sender])
    crash_mid_send(session, container, found, clock)
    clock.advance(recording.RETRY_POLICY.lease + timedelta(seconds=1))
    report = container.sending_pass()
    assert len(report.unknown) == 3
    assert report.sent == []
    assert smtp_server.messages == []
    assert container.sending_pass().sent == []
    unknown = delivery_queries.deliveries_in(session, "unknown")
    assert len(unknown) == 3


def test_contacts_added_to_the_list_later_are_enrolled_while_the_campaign_runs(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = launch(session, clock, tmp_path, [sender])
    container.sending_pass()
    import_text(
        session,
        clock,
        tmp_path,
        "email,name,company,City\nlinus@kernel.example,Linus Torvalds,Linux,Helsinki\n",
        list_id=found.list_id,
    )
    session.commit()
    report = container.sending_pass()
    assert [label.split(":")[0] for label in report.sent] == ["linus@kernel.example"]


def test_suppressed_and_busy_contacts_are_skipped_with_reasons(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    clock.advance(MONDAY_9 - clock.now())
    found = three_step_campaign(session, clock, tmp_path, [sender], skip_active_elsewhere=True)
    suppressions.add(session, "@navy.example", suppressions.Reason.manual, "test", clock.now())
    report = campaigns.launch(session, found.id, clock.now())
    assert (report.enrolled, dict(report.skipped)) == (2, {"suppressed domain navy.example": 1})
    other_list = lists.create(session, "Again", None, clock.now())
    lists.add_matching(
        session,
        other_list.id,
        contact_queries.ContactFilter(domain="analytical.example"),
        clock.now(),
    )
    other = campaigns.create(
        session,
        name="Autumn",
        list_id=other_list.id,
        sender_ids=[uuid.UUID(sender)],
        now=clock.now(),
    )
    campaigns.add_step(session, other.id, subject="Hi {{ first_name }}", body="Hello")
    campaigns.update_settings(
        session, other.id, campaigns.SettingsChange(skip_active_elsewhere=True)
    )
    autumn = campaigns.launch(session, other.id, clock.now())
    assert dict(autumn.skipped) == {"already active in another campaign": 1}


@pytest.mark.parametrize("one_per_company", [True, False])
def test_a_company_that_replied_before_is_skipped_when_the_campaign_keeps_one_conversation(
    session, container, clock, tmp_path, one_per_company
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), 25)
    clock.advance(MONDAY_9 - clock.now())
    found = three_step_campaign(
        session,
        clock,
        tmp_path,
        [sender],
        people=COLLEAGUES,
        skip_replied_companies=one_per_company,
    )
    # Replies outside any campaign (to a one-off email, say): Ada's company replied; Joan's
    # address is a personal one, which makes nobody a colleague.
    for email in ("ada@analytical.example", "joan@gmail.com"):
        replier = contact_queries.existing_contacts(session, [email])[email]
        session.add(EmailReply(contact_id=replier.id, received_at=clock.now()))
    session.flush()
    report = campaigns.launch(session, found.id, clock.now())
    if one_per_company:
        assert (report.enrolled, dict(report.skipped)) == (
            3,
            {"someone at analytical.example already replied": 2},
        )
    else:
        assert (report.enrolled, dict(report.skipped)) == (5, {})


def refused_launch(session, clock, tmp_path, container, people):
    """The three-step campaign to these people, and why its launch was refused."""
    clock.advance(MONDAY_9 - clock.now())
    found = three_step_campaign(
        session,
        clock,
        tmp_path,
        [smtp_sender(session, clock, container.settings.secret_key_value(), 25)],
        people=people,
    )
    with pytest.raises(ValidationFailed) as refused:
        campaigns.launch(session, found.id, clock.now())
    return found, refused.value


def test_a_launch_leaves_out_a_contact_whose_empty_fields_the_steps_use_saying_which(
    session, clock, tmp_path, container
):
    clock.advance(MONDAY_9 - clock.now())
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), 25)
    people = PEOPLE + "linus@kernel.example,,,\n"
    found = three_step_campaign(session, clock, tmp_path, [sender], people=people)
    report = campaigns.launch(session, found.id, clock.now())
    [(why, count)] = report.skipped.items()
    assert count == 1
    assert why.startswith("left out: step 1 subject uses {{ first_name }}, which is empty")
    assert report.enrolled == 3
    assert campaigns.get(session, found.id).status == "active"


def test_a_launch_that_would_send_empty_fields_to_everyone_is_refused_naming_a_few_of_them(
    session, clock, tmp_path, container
):
    people = PEOPLE.splitlines()[0] + "\n"
    people += "".join(f"p{n}@nameless.example,,,\n" for n in range(8))
    found, refused = refused_launch(session, clock, tmp_path, container, people)
    assert "first_name" in refused.message
    for problem in refused.details["problems"]:
        assert problem.endswith(
            "— for p0@nameless.example, p1@nameless.example, p2@nameless.example,"
            " p3@nameless.example, p4@nameless.example and 3 more"
        )
    assert campaigns.get(session, found.id).status == "draft"
    for problem in refused.details["problems"]:
        assert problem.endswith(
            "— for p0@nameless.example, p1@nameless.example, p2@nameless.example,"
            " p3@nameless.example, p4@nameless.example and 3 more"
        )


def test_a_dry_run_says_what_would_go_and_changes_nothing(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = launch(session, clock, tmp_path, [sender])
    report = container.sending_pass(dry_run=True)
    assert len(report.would_send) == 3
    assert smtp_server.messages == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0
    assert statuses(session, found) == {"pending": 3}
    assert len(container.sending_pass().sent) == 3


def test_a_contact_suppressed_after_enrollment_gets_nothing_more(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = launch(session, clock, tmp_path, [sender])
    container.sending_pass()
    suppressions.add(
        session, "ada@analytical.example", suppressions.Reason.complained, "test", clock.now()
    )
    session.commit()
    clock.advance(timedelta(days=2))
    report = container.sending_pass()
    assert sorted(label.split(":")[0] for label in report.sent) == [
        "alan@bletchley.example",
        "grace@navy.example",
    ]
    assert statuses(session, found) == {"in_progress": 2, "unsubscribed": 1}
    assert session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 3


def test_a_person_resolves_unknown_sends_one_way_or_the_other(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    found = launch(session, clock, tmp_path, [sender])
    crash_mid_send(session, container, found, clock)
    clock.advance(recording.RETRY_POLICY.lease + timedelta(seconds=1))
    container.sending_pass()
    resent, gone = delivery_queries.deliveries_in(session, "unknown")[:2]
    decisions.send_again(session, resent.id, clock.now())
    decisions.mark_sent(session, gone.id, clock.now())
    session.commit()
    report = container.sending_pass()
    assert len(report.sent) == 1
    assert len(smtp_server.messages) == 1
    assert statuses(session, found) == {"pending": 1, "in_progress": 2}


def one_off(session, clock, sender_id, to="ada@analytical.example", at=None, anyway=False):
    contact = session.scalars(sa.select(Contact).where(Contact.email == to)).one()
    draft = drafts.add_written(
        session,
        contact_id=contact.id,
        draft_type=DraftType.first_outreach,
        subject="Quick one",
        body="Hi Ada.",
        at=clock.now(),
    )
    drafts.approve(session, draft.id, clock.now())
    return scheduled.schedule(
        session,
        draft.id,
        uuid.UUID(sender_id),
        at or clock.now(),
        clock.now(),
        recent=RECENT,
        anyway=anyway,
    )


def test_a_one_off_email_goes_at_its_time_and_only_then(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    clock.advance(MONDAY_9 - clock.now())
    import_text(session, clock, tmp_path, PEOPLE)
    one_off(session, clock, sender, at=clock.now() + timedelta(hours=2))
    session.commit()
    assert container.sending_pass().sent == []
    clock.advance(timedelta(hours=2))
    assert container.sending_pass().sent == ["ada@analytical.example: scheduled email"]
    assert [list(m.rcpt_tos) for m in smtp_server.messages] == [["ada@analytical.example"]]
    assert delivery_queries.scheduled_with_recipients(session) == []


def test_a_one_off_email_to_a_suppressed_address_is_refused_and_one_suppressed_later_is_not_sent(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    clock.advance(MONDAY_9 - clock.now())
    import_text(session, clock, tmp_path, PEOPLE)
    suppressions.add(session, "@navy.example", suppressions.Reason.manual, "test", clock.now())
    with pytest.raises(Conflict, match=r"grace@navy\.example is on the suppression list"):
        one_off(session, clock, sender, to="grace@navy.example")

    later = one_off(session, clock, sender, at=clock.now() + timedelta(hours=1))
    suppressions.add(
        session, "ada@analytical.example", suppressions.Reason.unsubscribed, "test", clock.now()
    )
    session.commit()
    clock.advance(timedelta(hours=1))
    assert container.sending_pass().sent == []
    assert smtp_server.messages == []
    session.expire_all()
    assert later.status == "cancelled"
    assert drafts.get(session, later.draft_id).status == "approved"


def test_a_one_off_email_can_be_cancelled_until_it_is_taken(
    session, container, clock, tmp_path, smtp_server
):
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    clock.advance(MONDAY_9 - clock.now())
    import_text(session, clock, tmp_path, PEOPLE)
    found = one_off(session, clock, sender, at=clock.now() + timedelta(hours=1))
    scheduled.cancel(session, found.id)
    session.commit()
    clock.advance(timedelta(hours=2))
    assert container.sending_pass().sent == []
    assert smtp_server.messages == []
    with pytest.raises(InvalidTransition):
        scheduled.cancel(session, found.id)


def test_a_draft_that_is_not_approved_cannot_be_scheduled(session, clock, tmp_path, container):
    import_text(session, clock, tmp_path, PEOPLE)
    contact = session.scalars(sa.select(Contact)).first()
    draft = drafts.add_written(
        session,
        contact_id=contact.id,
        draft_type=DraftType.first_outreach,
        subject="s",
        body="b",
        at=clock.now(),
    )
    sender = smtp_sender(session, clock, container.settings.secret_key_value(), 25)
    with pytest.raises(InvalidTransition, match="only an approved draft"):
        scheduled.schedule(
            session, draft.id, uuid.UUID(sender), clock.now(), clock.now(), recent=RECENT
        )


def test_a_sender_account_gets_no_more_connections_than_it_allows(
    session, container, clock, tmp_path, smtp_server
):
    account = senders.add(
        session,
        kind=senders.SenderKind.smtp,
        email="me@ourco.example",
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        smtp=senders.SmtpSettings("127.0.0.1", smtp_server.port, "none"),
        max_connections=1,
        now=clock.now(),
    )
    launch(session, clock, tmp_path, [str(account.id)])
    assert len(container.sending_pass().sent) == 3
    assert smtp_server.connections == 1
