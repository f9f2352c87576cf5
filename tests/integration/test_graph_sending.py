"""A campaign sent from a Microsoft 365 mailbox through (a fake) Microsoft Graph: follow-ups as
replies in the same conversation, and a crash resolved by asking Graph, never by guessing."""

from __future__ import annotations

import email
import email.policy
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from outreach.campaigns import service as campaigns
from outreach.delivery import planning, recording, taking
from outreach.delivery import queries as delivery_queries
from outreach.errors import ValidationFailed
from outreach.providers.graph.delegated import finish_sign_in, start_sign_in
from outreach.sealing import unseal
from outreach.senders import service as senders
from tests.campaign_setup import three_step_campaign
from tests.contract.test_graph_delegated import CALLBACK, authorize
from tests.fakes.graph_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    MAILBOX,
    TENANT,
    FakeGraph,
)

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Crash(Exception):
    """The worker dies at this point."""


@pytest.fixture
def graph_container(container, fake_graph: FakeGraph):
    """The app's container trusting the fake Graph's certificate."""
    built = replace(container, tls_context=fake_graph.client_context())
    yield built
    built.close()


def graph_sender(session, clock, container, fake_graph: FakeGraph) -> senders.SenderAccount:
    return senders.add(
        session,
        kind=senders.SenderKind.graph,
        email=MAILBOX,
        display_name="Grace at Acme",
        secret_key=container.settings.secret_key_value(),
        graph=senders.GraphAccount(
            TENANT, CLIENT_ID, graph_url=fake_graph.graph_url, authority_url=fake_graph.base_url
        ),
        password=CLIENT_SECRET,
        now=clock.now(),
    )


def launch(session, clock, tmp_path, sender):
    clock.advance(MONDAY_9 - clock.now())
    found = three_step_campaign(session, clock, tmp_path, [str(sender.id)])
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    return found


def recipients(resource) -> list[str]:
    return [entry["emailAddress"]["address"] for entry in resource["toRecipients"]]


def test_a_graph_account_gets_caps_under_microsofts_and_needs_its_app(
    session, clock, graph_container, fake_graph
):
    account = graph_sender(session, clock, graph_container, fake_graph)
    assert account.daily_cap == senders.GRAPH_DEFAULT_LIMITS.per_day
    assert senders.connections_of(account) == senders.GRAPH_DEFAULT_LIMITS.connections
    with pytest.raises(ValidationFailed, match="client secret"):
        senders.add(
            session,
            kind=senders.SenderKind.graph,
            email="other@acme.example",
            display_name=None,
            secret_key=graph_container.settings.secret_key_value(),
            graph=senders.GraphAccount(TENANT, CLIENT_ID),
            now=clock.now(),
        )


def test_follow_ups_go_as_replies_in_the_first_emails_conversation(
    session, clock, graph_container, fake_graph, tmp_path
):
    sender = graph_sender(session, clock, graph_container, fake_graph)
    launch(session, clock, tmp_path, sender)
    assert len(graph_container.sending_pass().sent) == 3
    clock.advance(timedelta(days=2))
    assert len(graph_container.sending_pass().sent) == 3

    first, follow_ups = fake_graph.sent[:3], fake_graph.sent[3:]
    conversation = {recipients(item)[0]: item["conversationId"] for item in first}
    for item in follow_ups:
        [to] = recipients(item)
        assert item["conversationId"] == conversation[to]
    delivered = email.message_from_bytes(fake_graph.delivered()[3], policy=email.policy.default)
    assert delivered["In-Reply-To"]
    assert delivered["Subject"].startswith("Re: Hello from")
    stored = delivery_queries.deliveries_in(session, "sent")
    assert all(d.provider_id and d.conversation_id for d in stored)
    assert fake_graph.drafts == []


def test_a_crash_mid_send_is_settled_by_asking_graph_and_nothing_goes_twice(
    session, clock, graph_container, fake_graph, tmp_path
):
    """Three emails die at three moments: before Graph had a draft (unknown: a person
    decides), with the draft made but not sent (sent again), after the send (recorded)."""
    sender = graph_sender(session, clock, graph_container, fake_graph)
    found = launch(session, clock, tmp_path, sender)
    links = planning.Links(
        graph_container.settings.secret_key_value(), graph_container.settings.base_url
    )
    planning.queue_campaign(session, found.id, clock.now(), "doomed", links, random.Random(1))
    claims = taking.ready(session, clock.now(), links, 10)
    assert taking.start(session, claims, clock.now(), "doomed") == claims
    session.commit()
    transport = graph_container.transport_for(sender)

    def keep(claim, crash: bool):
        def remember(provider_id: str) -> None:
            delivery_queries.remember_provider_id(session, claim.delivery_id, provider_id)
            session.commit()
            if crash:
                raise Crash

        return remember

    never_drafted, drafted, sent = claims
    with pytest.raises(Crash):
        transport.send(drafted.message, on_draft=keep(drafted, crash=True))
    transport.send(sent.message, on_draft=keep(sent, crash=False))
    transport.close()
    assert len(fake_graph.sent) == 1

    clock.advance(recording.RETRY_POLICY.lease + timedelta(seconds=1))
    report = graph_container.sending_pass()

    assert len(report.unknown) == 1
    assert report.sent == [drafted.label]
    assert sorted(recipients(item)[0] for item in fake_graph.sent) == sorted(
        claim.message.recipient.email for claim in (drafted, sent)
    )
    assert fake_graph.drafts == []
    assert {d.message_id for d in delivery_queries.deliveries_in(session, "sent")} == {
        drafted.message.message_id,
        sent.message.message_id,
    }
    [unknown] = delivery_queries.deliveries_in(session, "unknown")
    assert unknown.message_id == never_drafted.message.message_id


def test_a_mailbox_its_owner_signed_in_sends_a_campaign_and_keeps_each_refreshed_sign_in(
    session, clock, graph_container, fake_graph, tmp_path
):
    settings = graph_container.graph_app_settings(
        MAILBOX,
        tenant_id="common",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        delegated=True,
        graph_url=fake_graph.graph_url,
        authority_url=fake_graph.base_url,
    )
    flow = start_sign_in(settings, graph_container.graph_tokens, CALLBACK)
    person = finish_sign_in(
        settings, graph_container.graph_tokens, flow, authorize(fake_graph, flow)
    )
    account = senders.add(
        session,
        kind=senders.SenderKind.graph,
        email=person.mailbox,
        display_name=None,
        secret_key=graph_container.settings.secret_key_value(),
        graph=senders.GraphAccount(
            "common",
            CLIENT_ID,
            graph_url=fake_graph.graph_url,
            authority_url=fake_graph.base_url,
            delegated=True,
        ),
        password=CLIENT_SECRET,
        token_cache=person.token_cache,
        now=clock.now(),
    )
    launch(session, clock, tmp_path, account)
    fake_graph.revoke_tokens()  # the hour of the sign-in's access token is over

    assert len(graph_container.sending_pass().sent) == 3

    assert len(fake_graph.sent) == 3
    assert fake_graph.refresh_grants() == 1
    session.expire_all()
    kept = unseal(graph_container.settings.secret_key_value(), account.secret)["token_cache"]
    assert kept != person.token_cache  # the refreshed sign-in, sealed for the next worker
