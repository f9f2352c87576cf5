"""A campaign sent from a Google or Microsoft 365 mailbox signed in with OAuth: its emails go out
over SMTP (aiosmtpd taking only XOAUTH2, or only OAUTHBEARER) and its replies are read over
IMAP (Dovecot's oauth2 passdb, signed in with OAUTHBEARER), both checking tokens against the
fake sign-in's introspection endpoint. A revoked grant makes the account wait for a person,
saying to sign in again; its emails wait too, and after signing in again each goes out once."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.contacts.models import Contact
from outreach.delivery.models import Delivery
from outreach.providers.mail_oauth import OAuthProvider
from outreach.senders import mailboxes
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from outreach.worker.jobs import poll_inboxes
from tests.app_settings import isolated_settings
from tests.campaign_setup import smtp_sender, three_step_campaign
from tests.fakes.oauth_server import (
    FakeOAuth,
)
from tests.imap_server import DovecotServer, ImapAccount, oauth_mailbox
from tests.inbox_messages import Thread, gmail_reply
from tests.smtp_server import RecordingSMTPServer

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADA = "ada@analytical.example"


@pytest.fixture
def fake_oauth(oauth_dovecot: tuple[FakeOAuth, DovecotServer]) -> FakeOAuth:
    """The sign-in Dovecot checks tokens with: the one the app signs in through too."""
    return oauth_dovecot[0]


@pytest.fixture
def settings(tmp_path, fake_oauth: FakeOAuth):
    return isolated_settings(
        tmp_path / "data",
        **fake_oauth.app_settings,
    )


@pytest.fixture(params=["XOAUTH2", "OAUTHBEARER"])
def oauth_smtp(request, fake_oauth: FakeOAuth) -> Iterator[RecordingSMTPServer]:
    """A server offering only one OAuth mechanism, each in turn."""
    with RecordingSMTPServer(
        introspection_url=fake_oauth.introspection_url, oauth_mechanisms=[request.param]
    ) as server:
        yield server


def signed_in_account(
    session,
    container,
    clock,
    oauth: FakeOAuth,
    smtp: RecordingSMTPServer,
    mailbox: ImapAccount,
    provider: OAuthProvider,
) -> SenderAccount:
    """An SMTP account with its IMAP mailbox, both signed in with `provider` (no password)."""
    key = container.settings.secret_key_value()
    sender_id = smtp_sender(session, clock, key, smtp.port, email=mailbox.username)
    account = senders.by_email(session, mailbox.username)
    imap = mailboxes.ImapMailbox("127.0.0.1", mailbox.server.port, "none", mailbox.username)
    mailboxes.set_imap(session, account.id, imap, secret_key=key, password=None)
    senders.sign_in_with_oauth(
        session,
        account.id,
        provider,
        oauth.sign_in(provider, mailbox.username),
        secret_key=key,
        now=clock.now(),
    )
    session.commit()
    assert str(account.id) == sender_id
    return account


def launched(session, clock, tmp_path, account: SenderAccount):
    clock.advance(MONDAY_9 - clock.now())
    spring = three_step_campaign(session, clock, tmp_path, [str(account.id)])
    campaigns.launch(session, spring.id, clock.now())
    session.commit()
    return spring


def recipients(smtp: RecordingSMTPServer) -> list[str]:
    return [
        email.message_from_bytes(m.data, policy=policy.default)["To"].addresses[0].addr_spec
        for m in smtp.messages
    ]


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_a_campaign_sends_and_reads_its_reply_signed_in_with_oauth(
    session, container, clock, tmp_path, oauth_dovecot, oauth_smtp, provider
):
    oauth, dovecot = oauth_dovecot
    mailbox = oauth_mailbox(dovecot, provider)
    account = signed_in_account(session, container, clock, oauth, oauth_smtp, mailbox, provider)
    spring = launched(session, clock, tmp_path, account)

    poll_inboxes(container)
    first = container.sending_pass()
    assert len(first.sent) == 3
    step_1 = session.scalars(
        sa.select(Delivery)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Contact.email == ADA, Delivery.sequence_step == 1)
    ).one()
    thread = Thread(step_1.message_id, "Hello", ours=mailbox.username, theirs=ADA)
    mailbox.append(gmail_reply(thread), received_at=MONDAY_9 + timedelta(hours=3))

    clock.advance(timedelta(days=2))
    poll_inboxes(container)
    container.sending_pass()

    assert recipients(oauth_smtp).count(ADA) == 1, "the reply, read over IMAP, stopped step 2"
    assert len(oauth_smtp.messages) == 5
    session.expire_all()
    assert campaign_queries.enrollment_counts(session, spring.id)["replied"] == 1
    assert senders.by_email(session, mailbox.username).state == "ok"


def test_a_revoked_grant_waits_for_a_person_and_no_email_is_lost_or_sent_twice(
    session, container, clock, tmp_path, oauth_dovecot, oauth_smtp, api_token, client
):
    oauth, dovecot = oauth_dovecot
    mailbox = oauth_mailbox(dovecot, "revoked")
    account = signed_in_account(session, container, clock, oauth, oauth_smtp, mailbox, "microsoft")
    launched(session, clock, tmp_path, account)
    oauth.revoke(mailbox.username)

    refused = container.sending_pass()

    assert refused.sent == []
    session.expire_all()
    waiting = senders.by_email(session, mailbox.username)
    assert (waiting.state, waiting.retry_at) == ("failing", None)
    assert "invalid_grant" in waiting.last_error
    assert "sign in again" in waiting.last_error
    statuses = session.execute(sa.select(Delivery.status, Delivery.attempts)).all()
    assert sorted(tuple(row) for row in statuses) == [("queued", 0)] * 3
    client.headers["Authorization"] = f"Bearer {api_token}"
    [listed] = client.get("/api/v1/senders").json()["items"]
    assert listed["shown_state"] == "needs you"

    senders.sign_in_with_oauth(
        session,
        waiting.id,
        "microsoft",
        oauth.sign_in("microsoft", mailbox.username),
        secret_key=container.settings.secret_key_value(),
        now=clock.now(),
    )
    session.commit()
    clock.advance(timedelta(minutes=15))
    again = container.sending_pass()

    assert len(again.sent) == 3
    assert sorted(recipients(oauth_smtp)) == sorted(set(recipients(oauth_smtp)))
    session.expire_all()
    assert senders.by_email(session, mailbox.username).state == "ok"
