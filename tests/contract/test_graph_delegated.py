"""A person signing in to their own mailbox (the authorization code flow with PKCE) and sending
and reading with their token, against the fake identity platform and Graph on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest

from outreach.providers.base import SignedIn
from outreach.providers.errors import AccountError
from outreach.providers.graph.delegated import DelegatedTokens, finish_sign_in, start_sign_in
from outreach.providers.graph.reader import GraphInboxReader
from outreach.providers.graph.settings import GraphSettings
from outreach.providers.graph.tokens import GraphTokens
from outreach.providers.graph.transport import GraphTransport
from tests.contract.test_graph import a_message
from tests.fakes.graph_server import (
    CLIENT_ID,
    MAILBOX,
    FakeGraph,
    settings_for,
)

CALLBACK = "https://outreach.example/senders/graph/callback"


@pytest.fixture
def apps(fake_graph: FakeGraph) -> Iterator[GraphTokens]:
    kept = GraphTokens(ssl_context=fake_graph.client_context())
    yield kept
    kept.close()


@pytest.fixture
def settings(fake_graph: FakeGraph) -> GraphSettings:
    return settings_for(fake_graph, tenant_id="common", delegated=True)


def authorize(fake_graph: FakeGraph, flow: dict) -> dict[str, str]:
    """The person's browser at Microsoft's sign-in page, and where it is sent back to."""
    with httpx2.Client(verify=fake_graph.client_context()) as browser:
        answer = browser.get(flow["auth_uri"])
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return dict(parse_qsl(back.query))


def signed_in(fake_graph: FakeGraph, apps: GraphTokens, settings: GraphSettings) -> SignedIn:
    flow = start_sign_in(settings, apps, CALLBACK)
    return finish_sign_in(settings, apps, flow, authorize(fake_graph, flow))


def test_a_person_signs_in_with_pkce_and_sends_from_their_own_mailbox(
    fake_graph: FakeGraph, apps: GraphTokens, settings: GraphSettings
) -> None:
    person = signed_in(fake_graph, apps, settings)

    assert person.mailbox == MAILBOX
    [asked] = [r for r in fake_graph.requests if r.path.endswith("/authorize")]
    assert asked.query["code_challenge_method"] == "S256"
    assert asked.query["login_hint"] == MAILBOX
    assert "Mail.Send" in asked.query["scope"]

    saved: list[str] = []
    transport = GraphTransport(
        settings,
        DelegatedTokens(person.token_cache, apps, saved.append),
        ssl_context=fake_graph.client_context(),
    )
    transport.send(a_message(1))
    transport.close()

    assert len(fake_graph.sent) == 1
    mail = [r.path for r in fake_graph.graph_requests()]
    assert all(path.startswith("/v1.0/me/") for path in mail)
    assert fake_graph.refresh_grants() == 0


def test_an_expired_access_token_is_refreshed_and_the_new_cache_handed_back_to_be_kept(
    fake_graph: FakeGraph, apps: GraphTokens, settings: GraphSettings
) -> None:
    person = signed_in(fake_graph, apps, settings)
    saved: list[str] = []
    tokens = DelegatedTokens(person.token_cache, apps, saved.append)
    reader = GraphInboxReader(settings, tokens, ssl_context=fake_graph.client_context())
    reader.check()
    fake_graph.revoke_tokens()

    said = reader.check()
    reader.close()

    assert said.startswith(f"Signed in as {MAILBOX} (through app {CLIENT_ID})")
    assert fake_graph.refresh_grants() == 1
    assert len(saved) == 1
    assert saved[0] != person.token_cache
    # Another worker, starting from the kept cache, needs no new sign-in.
    later = DelegatedTokens(saved[0], apps, saved.append)
    assert later.token(settings)


def test_a_sign_in_microsoft_ended_fails_the_account_asking_to_sign_in_again(
    fake_graph: FakeGraph, apps: GraphTokens, settings: GraphSettings
) -> None:
    person = signed_in(fake_graph, apps, settings)
    tokens = DelegatedTokens(person.token_cache, apps, lambda text: None)
    fake_graph.revoke_tokens()
    fake_graph.revoke_refresh_tokens()
    transport = GraphTransport(settings, tokens, ssl_context=fake_graph.client_context())

    with pytest.raises(AccountError) as refused:
        transport.send(a_message(1))
    transport.close()

    assert "sign in again on the senders page" in refused.value.reason
    assert "invalid_grant" in refused.value.reason
    assert fake_graph.sent == []


def test_a_code_redeemed_without_the_flows_pkce_verifier_is_refused(
    fake_graph: FakeGraph, apps: GraphTokens, settings: GraphSettings
) -> None:
    flow = start_sign_in(settings, apps, CALLBACK)
    answer = authorize(fake_graph, flow)
    stolen = {**flow, "code_verifier": "an-attacker-s-own-verifier-of-43-characters-at-least"}

    with pytest.raises(AccountError) as refused:
        finish_sign_in(settings, apps, stolen, answer)

    assert "Code_Verifier does not match" in refused.value.reason


def test_an_answer_from_another_sign_in_is_refused(
    fake_graph: FakeGraph, apps: GraphTokens, settings: GraphSettings
) -> None:
    mine = start_sign_in(settings, apps, CALLBACK)
    theirs = authorize(fake_graph, start_sign_in(settings, apps, CALLBACK))

    with pytest.raises(AccountError) as refused:
        finish_sign_in(settings, apps, mine, theirs)

    assert "does not belong to this sign-in" in refused.value.reason


def test_a_person_who_declines_consent_is_told_what_microsoft_said(
    fake_graph: FakeGraph, apps: GraphTokens, settings: GraphSettings
) -> None:
    fake_graph.sign_in_next_as(MAILBOX, decline=True)
    flow = start_sign_in(settings, apps, CALLBACK)

    with pytest.raises(AccountError) as refused:
        finish_sign_in(settings, apps, flow, authorize(fake_graph, flow))

    assert refused.value.reason == (
        "Microsoft's sign-in did not complete: access_denied: AADSTS65004: User declined to "
        "consent to access the app."
    )


def test_a_persons_token_reaches_only_their_own_mailbox(
    fake_graph: FakeGraph, apps: GraphTokens, settings: GraphSettings
) -> None:
    person = signed_in(fake_graph, apps, settings)
    tokens = DelegatedTokens(person.token_cache, apps, lambda text: None)
    as_app_would = GraphSettings(
        **{**settings.__dict__, "delegated": False, "mailbox": "someone.else@acme.example"}
    )

    with pytest.raises(AccountError):
        GraphInboxReader(as_app_would, tokens, ssl_context=fake_graph.client_context()).check()
