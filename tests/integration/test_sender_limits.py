"""Limits that protect a sending domain, over simulated days: a new mailbox's ramp, the gap
between an account's sends, and the external recipient limit every mailbox of one Microsoft
365 tenant shares (counted here, and held when Exchange refuses with 5.7.233). Neither a tenant's
refusal nor our domain's (5.7.515, tests/integration/test_sending.py) suppresses a recipient."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.states import DraftType
from outreach.contacts import queries as contact_queries
from outreach.contacts.models import Contact
from outreach.delivery.allowance import limits_shown
from outreach.delivery.models import Delivery
from outreach.drafts import queries as drafts
from outreach.senders import service as senders
from outreach.senders.ramp import Ramp
from tests.campaign_setup import PEOPLE, three_step_campaign
from tests.contact_files import import_text

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TENANT_REFUSAL = (
    "550 5.7.233 Your message can't be sent because your organization has exceeded its daily "
    "limit for sending to external recipients."
)
ADA = "ada@analytical.example"
TWELVE = "email,name,City\n" + "".join(f"p{n}@people.example,Person {n},Leeds\n" for n in range(12))


def account(session, clock, container, port, email, limits):
    return senders.add(
        session,
        kind=senders.SenderKind.smtp,
        email=email,
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        smtp=senders.SmtpSettings(host="127.0.0.1", port=port, security="none"),
        limits=limits,
        now=clock.now(),
    )


def launch(session, clock, tmp_path, accounts, people=PEOPLE):
    clock.advance(MONDAY_9 - clock.now())
    found = three_step_campaign(
        session, clock, tmp_path, [str(a.id) for a in accounts], people=people
    )
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    return found


def nobody_suppressed(session, addresses):
    emails, _ = contact_queries.suppressed_among(session, addresses, [])
    return emails == set()


def test_a_new_mailbox_sends_a_little_more_each_day_it_sends_up_to_its_target(
    session, container, clock, tmp_path, smtp_server
):
    new = account(
        session, clock, container, smtp_server.port, "new@ourco.example",
        senders.Limits(ramp=Ramp(start=2, step=1, target=5)),
    )  # fmt: skip
    launch(session, clock, tmp_path, [new], people=TWELVE)

    sent_each_day, waiting = [], set()
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Mon"):
        if day != "Wed":  # no worker ran on Wednesday: a day it sent nothing does not count
            first, again = container.sending_pass(), container.sending_pass()
            sent_each_day.append(len(first.sent) + len(again.sent))
            waiting = {wait.reason for wait in first.waiting + again.waiting}
        clock.advance(timedelta(days=3 if day == "Fri" else 1))

    # Follow-ups (due two and three days after a first email) share the cap with first emails.
    assert sent_each_day == [2, 3, 4, 5, 5]
    assert "sender's daily cap reached (5 of 5 this UTC day); next at Tue 09:00 UTC" in waiting
    assert limits_shown(session, [new], clock.now())[new.id] == ["ramped up to 5 a day"]


def test_an_account_keeps_its_gap_between_sends_and_another_account_takes_the_next(
    session, container, clock, tmp_path, smtp_server
):
    spaced = senders.Limits(min_gap_seconds=60)
    one = account(session, clock, container, smtp_server.port, "one@ourco.example", spaced)
    two = account(session, clock, container, smtp_server.port, "two@ourco.example", spaced)
    launch(session, clock, tmp_path, [one, two])

    first = container.sending_pass()

    assert len(first.sent) == 2, first.lines()
    [third] = first.waiting
    assert third.reason.endswith("'s last send")
    gap = (third.until - clock.now()).total_seconds()
    assert 60 <= gap <= 90
    clock.advance(timedelta(seconds=gap))
    assert len(container.sending_pass().sent) == 1


def tenant_of_two(session, clock, container, refusing_port, port):
    tenant = senders.Limits(tenant="ourco.example")
    refused = account(session, clock, container, refusing_port, "a@ourco.example", tenant)
    other = account(session, clock, container, port, "b@ourco.example", tenant)
    return refused, other


def test_a_tenant_limit_refusal_holds_every_account_of_the_tenant_and_suppresses_nobody(
    session, container, clock, tmp_path, make_smtp_server, smtp_server
):
    addresses = ["ada@analytical.example", "alan@bletchley.example", "grace@navy.example"]
    refusing = make_smtp_server(recipient_replies=dict.fromkeys(addresses, TENANT_REFUSAL))
    a, b = tenant_of_two(session, clock, container, refusing.port, smtp_server.port)
    found = launch(session, clock, tmp_path, [a, b])

    report = container.sending_pass()

    # New threads alternate: a's two were refused for the tenant, b's one went.
    assert len(report.sent) == 1
    assert report.failed == []
    assert len(report.retrying) == 2
    assert "is held until Tue 03 Mar 09:00 UTC" in report.retrying[0]
    session.expire_all()
    for held in (senders.get(session, a.id), senders.get(session, b.id)):
        assert held.state == "ok"
        assert held.held_until == clock.now() + timedelta(hours=24)
        assert "5.7.233" in held.hold_reason
    assert nobody_suppressed(session, addresses)
    assert "bounced" not in campaign_queries.enrollment_counts(session, found.id)

    # Another contact joins the list: neither account of the tenant takes it while held.
    import_text(
        session, clock, tmp_path, "email,name,City\nkatherine@nasa.example,Katherine,Houston\n",
        list_id=found.list_id,
    )  # fmt: skip
    session.commit()
    clock.advance(timedelta(hours=1))
    held = container.sending_pass()
    assert held.sent == []
    waits = {wait.label.split(":")[0]: wait.reason for wait in held.waiting}
    assert waits["a@ourco.example"].startswith(
        "waiting for a@ourco.example, which is held until Tue 03 Mar 09:00 UTC: its Microsoft 365 "
        "tenant ourco.example has sent to as many external recipients as Exchange Online allows"
    )
    assert "@ourco.example is held until Tue 03 Mar 09:00 UTC" in waits["katherine@nasa.example"]

    # The rolling day frees room: the held emails and the newcomer go, once each.
    for address in addresses:
        refusing.answer_normally(address)
    clock.advance(timedelta(hours=23))
    after = container.sending_pass()
    assert len(after.sent) == 3
    delivered = [m.rcpt_tos[0] for m in refusing.messages + smtp_server.messages]
    assert sorted(delivered) == sorted([*addresses, "katherine@nasa.example"])


def test_a_tenant_stops_when_its_accounts_together_reach_its_external_recipient_limit(
    session, container, clock, tmp_path, smtp_server
):
    a, b = tenant_of_two(session, clock, container, smtp_server.port, smtp_server.port)
    found = launch(session, clock, tmp_path, [a, b])
    earlier_sends(session, a, 9_998, clock.now() - timedelta(hours=1))
    session.commit()

    report = container.sending_pass()

    assert len(report.sent) == 2  # 10,000 for a tenant of one licence
    [waiting] = report.waiting
    assert waiting.reason == (
        "the Microsoft 365 tenant ourco.example of a@ourco.example has sent to 10,000 of the "
        "10,000 external recipients Exchange Online allows in 24 hours; room again at Tue 08:00 UTC"
    )
    assert waiting.until == clock.now() + timedelta(hours=23)
    assert "bounced" not in campaign_queries.enrollment_counts(session, found.id)


def earlier_sends(session, sender, count, at):
    """`count` emails the account sent at `at`, as the ledger keeps them."""
    contact_id = session.scalar(sa.select(Contact.id).where(Contact.email == ADA))
    draft = drafts.scheduled_draft(
        contact_id=contact_id, draft_type=DraftType.first_outreach, subject="Hi", body="Hi", at=at
    )
    drafts.add_drafts(session, [draft])
    session.execute(
        sa.insert(Delivery),
        [
            {
                "id": uuid.uuid4(),
                "contact_id": contact_id,
                "draft_id": draft["id"],
                "sender_account_id": sender.id,
                "message_id": f"<earlier-{n}@ourco.example>",
                "status": "sent",
                "next_attempt_at": at,
                "claimed_at": at,
                "sent_at": at,
            }
            for n in range(count)
        ],
    )


def test_changing_a_held_accounts_limits_keeps_its_hold(session, container, clock, smtp_server):
    alone = account(session, clock, container, smtp_server.port, "me@ourco.example", None)
    senders.hold_tenant(session, alone.id, TENANT_REFUSAL, clock.now())

    for tenant in (None, "ourco.example"):
        senders.set_limits(session, alone.id, senders.Limits(tenant, ramp=Ramp()))
        session.expire_all()
        assert senders.get(session, alone.id).held_until == clock.now() + timedelta(hours=24)
