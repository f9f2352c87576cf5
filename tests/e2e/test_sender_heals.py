"""A sender account heals by itself: its SMTP server (real, on loopback) goes away and comes back,
and sending resumes at the next pass after the retry time with no person; a refused password
waits for one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign, CampaignContact
from outreach.contacts.models import Contact
from outreach.delivery.models import Delivery
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from tests.campaign_setup import smtp_sender, three_step_campaign, wrong_password_account
from tests.contact_files import import_text

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
JOAN = "email,name,company,City\njoan@gmail.com,Joan Clarke,Bletchley Park,Bletchley\n"


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def launched(session, container, clock, tmp_path, sender_id: str) -> Campaign:
    clock.advance(MONDAY_10 - clock.now())
    found = three_step_campaign(session, clock, tmp_path, [sender_id])
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    return found


def account_now(session) -> SenderAccount:
    session.expire_all()
    return session.scalars(sa.select(SenderAccount)).one()


def queued_attempts(session) -> list[tuple[str, int]]:
    return sorted(
        tuple(row) for row in session.execute(sa.select(Delivery.status, Delivery.attempts))
    )


def test_sending_resumes_by_itself_once_the_server_is_back(
    session, container, clock, tmp_path, smtp_server, api
):
    sender_id = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    spring = launched(session, container, clock, tmp_path, sender_id)
    smtp_server.stop()

    down = container.sending_pass()

    assert down.sent == []
    account = account_now(session)
    assert (account.state, account.retry_attempts) == ("failing", 1)
    assert clock.now() + timedelta(seconds=60) <= account.retry_at
    assert account.retry_at <= clock.now() + timedelta(seconds=72)
    # Nothing was handed over: the emails wait, their tries uncounted.
    assert queued_attempts(session) == [("queued", 0)] * 3
    [listed] = api.get("/api/v1/senders").json()["items"]
    assert listed["shown_state"] == "failing"
    assert listed["status"] == (
        f"failing: Could not connect to 127.0.0.1:{smtp_server.port}: connection refused; "
        f"retrying at {account.retry_at:%H:%M} UTC (attempt 2)"
    )

    # Joining meanwhile, Joan has no account free to write from: her first email waits until
    # the account is tried again, not a fixed quarter of an hour.
    import_text(session, clock, tmp_path, JOAN, list_id=spring.list_id)
    session.commit()
    clock.advance(timedelta(seconds=30))
    early = container.sending_pass()
    assert early.sent == []
    assert early.senders == []
    assert account_now(session).retry_attempts == 1
    joan = session.scalars(
        sa.select(CampaignContact).join(Contact).where(Contact.email == "joan@gmail.com")
    ).one()
    assert joan.next_send_at == account.retry_at

    clock.advance(account_now(session).retry_at - clock.now() + timedelta(seconds=1))
    still_down = container.sending_pass()
    again = account_now(session)
    assert (again.state, again.retry_attempts) == ("failing", 2)
    assert again.retry_at >= clock.now() + timedelta(seconds=120)
    assert still_down.senders == [senders.standing_of(again).sentence("me@ourco.example")]

    smtp_server.start()
    clock.advance(again.retry_at - clock.now() + timedelta(seconds=1))
    back = container.sending_pass()

    assert back.waiting == []
    assert len(back.sent) == 4
    assert back.senders == ["me@ourco.example answers again: ok, sending"]
    assert len(smtp_server.messages) == 4
    healed = account_now(session)
    assert (healed.state, healed.last_error, healed.retry_at, healed.retry_attempts) == (
        "ok",
        None,
        None,
        0,
    )
    [listed] = api.get("/api/v1/senders").json()["items"]
    assert (listed["shown_state"], listed["status"]) == ("ok", "ok")


def test_a_refused_password_waits_for_a_person(
    session, container, clock, tmp_path, make_smtp_server, api
):
    server, account = wrong_password_account(session, container, clock, make_smtp_server)
    launched(session, container, clock, tmp_path, str(account.id))

    container.sending_pass()

    refused = account_now(session)
    assert (refused.state, refused.retry_at) == ("failing", None)
    [listed] = api.get("/api/v1/senders").json()["items"]
    assert listed["shown_state"] == "needs you"
    assert listed["status"].startswith("needs you: The server refused the username or password")
    assert listed["status"].endswith("Fix it, then resume the account.")

    connections = server.connections
    clock.advance(timedelta(hours=1))
    later = container.sending_pass()
    assert later.sent == []
    assert later.senders == []
    assert server.connections == connections  # nobody knocks with a refused password

    server.accept_credentials("me@ourco.example", "wrong")
    assert api.post(f"/api/v1/senders/{account.id}/resume").status_code == 200
    clock.advance(timedelta(minutes=15))
    assert len(container.sending_pass().sent) == 3


def test_a_connection_that_broke_after_the_content_stays_unknown_and_is_not_sent_again(
    session, container, clock, tmp_path, smtp_server
):
    sender_id = smtp_sender(session, clock, container.settings.secret_key_value(), smtp_server.port)
    launched(session, container, clock, tmp_path, sender_id)
    smtp_server.drop_connection_after_next_data()

    first = container.sending_pass()

    assert len(first.unknown) == 1
    assert account_now(session).state == "ok"
    clock.advance(timedelta(hours=1))
    container.sending_pass()
    statuses = sorted(status for status, _ in queued_attempts(session))
    assert statuses == ["sent", "sent", "unknown"]
