"""/api/v1/senders and /api/v1/inbox, and the senders page: adding each kind of account,
testing both its sending and its reply reading against real servers on loopback, its week, and
what the mailboxes received."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from outreach.access import service as access
from outreach.access.models import Role
from outreach.container import build_container
from outreach.db import transaction
from outreach.delivery.models import Delivery
from outreach.inbox.service import ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from outreach.senders.models import SenderAccount
from outreach.web.app import create_app
from tests.app_settings import isolated_settings
from tests.campaign_setup import launched_from_outbox
from tests.inbox_messages import Thread, gmail_reply
from tests.web_session import ADMIN_EMAIL, ADMIN_PASSWORD, followed, post


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def api_as_run(backend, databases, tmp_path):
    """The API as `outreach run` serves it: a database file (on SQLite) and a connection per
    session, so that a request and a job it starts really contend for the database."""
    settings = isolated_settings(tmp_path / "data", DATABASE_URL=databases.fresh_url(backend))
    container = build_container(settings)
    with transaction(container.sessions) as session:
        admin = access.create_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, Role.admin)
        token = access.issue_api_token(session, admin, "tests", container.clock.now()).secret
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
    container.close()


def add_smtp(api, port: int) -> dict:
    added = api.post(
        "/api/v1/senders",
        json={
            "kind": "smtp",
            "email": "me@ourco.example",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
        },
    )
    assert added.status_code == 201, added.text
    return added.json()


def test_an_smtp_account_reading_replies_over_imap_tests_both_sides(api, smtp_server, imap_account):
    account = add_smtp(api, smtp_server.port)
    alone = api.post(f"/api/v1/senders/{account['id']}/test").json()
    assert [(c["part"], c["ok"]) for c in alone["checks"]] == [("sending", True)]

    imap = imap_account.settings()
    set_up = api.put(
        f"/api/v1/senders/{account['id']}/imap",
        json={
            "host": imap.host,
            "port": imap.port,
            "security": "none",
            "username": imap.username,
            "password": imap.password,
        },
    )
    assert set_up.status_code == 200, set_up.text
    assert set_up.json()["imap"]["username"] == imap.username
    both = api.post(f"/api/v1/senders/{account['id']}/test").json()
    assert both["ok"] is True
    assert [(c["part"], c["ok"]) for c in both["checks"]] == [
        ("sending", True),
        ("reading replies", True),
    ]

    api.put(
        f"/api/v1/senders/{account['id']}/imap",
        json={"host": imap.host, "port": imap.port, "security": "none", "password": "wrong"},
    )
    refused = api.post(f"/api/v1/senders/{account['id']}/test").json()
    assert refused["ok"] is False
    assert refused["checks"][1]["part"] == "reading replies"
    assert refused["checks"][1]["ok"] is False
    assert refused["message"].startswith("sending: ")

    assert api.delete(f"/api/v1/senders/{account['id']}/imap").status_code == 204
    [listed] = api.get("/api/v1/senders").json()["items"]
    assert listed["imap"] is None
    assert listed["week"] == {"sent": 0, "hard_bounces": 0, "bounce_rate": None, "replies": 0}


def test_a_graph_account_added_over_the_api_takes_the_original_systems_app(
    api, monkeypatch, container
):
    refused = api.post("/api/v1/senders", json={"kind": "graph", "email": "grace@acme.example"})
    assert refused.status_code == 422
    assert "tenant id" in refused.json()["error"]["message"]

    added = api.post(
        "/api/v1/senders",
        json={
            "kind": "graph",
            "email": "grace@acme.example",
            "tenant_id": "tenant-1",
            "client_id": "client-1",
            "password": "s3cret",
        },
    )
    assert added.status_code == 201, added.text
    assert added.json()["daily_cap"] == 9000


def test_imap_is_only_for_smtp_accounts(api):
    outbox = api.post(
        "/api/v1/senders", json={"kind": "outbox", "email": "me@ourco.example"}
    ).json()
    refused = api.put(f"/api/v1/senders/{outbox['id']}/imap", json={"host": "imap.example"})
    assert refused.status_code == 422
    assert "only SMTP accounts" in refused.json()["error"]["message"]


def test_the_inbox_over_the_api_lists_replies_and_polls_with_nothing_to_read(
    api, session, container, clock, tmp_path
):
    _, account = launched_from_outbox(session, container, clock, tmp_path)
    first = session.scalars(sa.select(Delivery).order_by(Delivery.id).limit(1)).one()
    thread = Thread(first.message_id, "Hello", "grace@acme.example", "ada@analytical.example")
    at = clock.now() + timedelta(hours=1)
    ingest(
        session,
        account,
        InboxPage((InboundMessage("1", gmail_reply(thread), at),), "1", more=False),
        at,
    )
    session.commit()

    [reply] = api.get("/api/v1/inbox", params={"kind": "human_reply"}).json()["items"]
    assert reply["kind"] == "human_reply"
    assert reply["campaign_name"] == "Spring"
    assert reply["contact_id"] == str(first.contact_id)
    assert api.get("/api/v1/inbox", params={"kind": "bounce"}).json()["items"] == []
    assert api.get("/api/v1/inbox", params={"kind": "nonsense"}).status_code == 422

    [listed] = api.get("/api/v1/senders").json()["items"]
    assert listed["week"]["replies"] == 1
    assert listed["week"]["sent"] == 3

    polled = api.post("/api/v1/inbox/poll").json()
    assert polled["mailboxes"] == []
    assert polled["summary"].startswith("0 mailboxes read")


def test_polling_now_over_the_api_reads_the_mailboxes_and_answers(api_as_run, imap_account):
    account = add_smtp(api_as_run, 2525)
    imap = imap_account.settings()
    api_as_run.put(
        f"/api/v1/senders/{account['id']}/imap",
        json={"host": imap.host, "port": imap.port, "security": "none",
              "username": imap.username, "password": imap.password},
    )  # fmt: skip

    polled = api_as_run.post("/api/v1/inbox/poll")

    assert polled.status_code == 200, polled.text
    assert polled.json()["summary"].startswith("1 mailbox read, 0 failed")
    [mailbox] = polled.json()["mailboxes"]
    assert mailbox["email"] == "me@ourco.example"
    assert mailbox["error"] is None


def test_the_senders_page_sets_where_replies_are_read_and_tests_it(
    signed_in, smtp_server, imap_account
):
    post(
        signed_in,
        "/senders",
        "/senders",
        kind="smtp",
        email="me@ourco.example",
        host="127.0.0.1",
        port=str(smtp_server.port),
        security="none",
    )
    listing = signed_in.get("/senders").text
    assert "not read yet" in listing
    sender_id = re.search(r"/senders/([0-9a-f-]{36})/imap", listing).group(1)
    imap = imap_account.settings()
    checked = post(
        signed_in,
        f"/senders/{sender_id}/imap",
        "/senders",
        host=imap.host,
        port=str(imap.port),
        security="none",
        username=imap.username,
        password=imap.password,
    )
    checked = followed(signed_in, checked)
    assert "Sending:</strong> works" in checked.text
    assert "Reading replies:</strong> works" in checked.text
    assert f"read from {imap.username} on {imap.host}" in checked.text


def test_the_page_sets_how_many_connections_an_account_may_have_at_once(signed_in, session):
    added = post(
        signed_in,
        "/senders",
        "/senders",
        kind="outbox",
        email="me@ourco.example",
        max_connections="2",
    )
    assert added.status_code == 303
    refused = post(
        signed_in,
        "/senders",
        "/senders",
        kind="outbox",
        email="you@ourco.example",
        max_connections="99",
    )
    assert refused.status_code == 422
    [account] = session.scalars(sa.select(SenderAccount)).all()
    assert account.settings["max_connections"] == 2


@pytest.mark.parametrize(
    ("host", "daily_cap", "connections", "per_minute"),
    [
        ("smtp.office365.com", 9_000, 3, 25),
        ("smtp.gmail.com", 1_800, 4, None),
        ("mail.ourco.example", None, 4, None),
    ],
)
def test_an_smtp_account_takes_its_providers_limits_unless_given_its_own(
    api, session, host, daily_cap, connections, per_minute
):
    fields = {"kind": "smtp", "email": "me@ourco.example", "host": host, "password": "pw"}
    added = api.post("/api/v1/senders", json=fields)
    assert added.status_code == 201, added.text
    assert added.json()["daily_cap"] == daily_cap
    own = api.post("/api/v1/senders", json=fields | {"email": "you@ourco.example", "daily_cap": 40})
    assert own.json()["daily_cap"] == 40
    accounts = {a.email: a for a in session.scalars(sa.select(SenderAccount))}
    assert accounts["me@ourco.example"].settings["max_connections"] == connections
    assert accounts["me@ourco.example"].settings.get("per_minute") == per_minute


def test_a_number_given_as_true_is_refused_not_read_as_one(api):
    """JSON's true is not the number 1, whatever Pydantic's lax mode would make of it."""
    refused = api.post(
        "/api/v1/senders",
        json={"kind": "outbox", "email": "out@ourco.example", "max_connections": True},
    )
    assert refused.status_code == 422
    assert "max_connections" in refused.text
    assert api.get("/api/v1/senders").json()["items"] == []
