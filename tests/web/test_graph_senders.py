"""Adding a Microsoft 365 sender with an Azure app's credentials, from the page (tested
against the fake Microsoft on loopback before it is saved) and from the command line."""

from __future__ import annotations

from dataclasses import replace

import pytest
from typer.testing import CliRunner

from outreach.cli.main import app
from tests.app_settings import isolated_settings
from tests.fakes.graph_server import CLIENT_ID, CLIENT_SECRET, MAILBOX, TENANT, FakeGraph
from tests.web_session import csrf_token


@pytest.fixture
def settings(tmp_path, fake_graph: FakeGraph):
    """Microsoft's addresses pointed at the fake; no OUTLOOK_* app to fall back on."""
    return isolated_settings(
        tmp_path / "data",
        OUTREACH_GRAPH_URL=fake_graph.graph_url,
        OUTREACH_GRAPH_AUTHORITY_URL=fake_graph.base_url,
    )


@pytest.fixture
def container(container, fake_graph: FakeGraph):
    return replace(container, tls_context=fake_graph.client_context())


def add_graph(client, **fields):
    form = {
        "provider": "microsoft",
        "kind": "graph",
        "email": MAILBOX,
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "csrf_token": csrf_token(client, "/senders"),
        **fields,
    }
    return client.post("/senders", data=form)


def test_a_graph_mailbox_is_tested_then_added_with_microsofts_caps(signed_in):
    added = add_graph(signed_in, one_click="true")
    assert added.status_code == 303
    page = signed_in.get(added.headers["location"]).text
    assert f"Added {MAILBOX}." in page
    assert f"opened the inbox of {MAILBOX}" in page
    assert "9000" in page
    assert "cannot offer one-click unsubscribe" not in page


def test_a_graph_mailbox_without_one_click_says_so(signed_in):
    add_graph(signed_in)
    assert "cannot offer one-click unsubscribe" in signed_in.get("/senders").text


def test_a_graph_mailbox_without_its_apps_secret_is_refused_with_the_reason(signed_in):
    refused = add_graph(signed_in, client_secret="")
    assert refused.status_code == 422
    assert "client secret" in refused.text


def test_a_wrong_secret_is_refused_with_microsofts_words_and_nothing_is_saved(signed_in):
    refused = add_graph(signed_in, client_secret="not.the.secret")

    assert refused.status_code == 422
    assert "Not added: the test failed" in refused.text
    assert "Invalid client secret" in refused.text
    assert "Nothing was saved." in refused.text
    assert f'value="{TENANT}"' in refused.text
    assert "not.the.secret" not in refused.text
    assert "No sender accounts yet." in signed_in.get("/senders").text


def test_a_mailbox_the_tenant_does_not_have_is_refused(signed_in):
    refused = add_graph(signed_in, email="nobody@acme.example")

    assert refused.status_code == 422
    assert "nobody@acme.example" in refused.text
    assert "is invalid" in refused.text


def test_the_command_line_adds_a_graph_mailbox_from_the_original_systems_variables(
    backend, databases, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OUTLOOK_TENANT_ID", "tenant-1")
    monkeypatch.setenv("OUTLOOK_CLIENT_ID", "client-1")
    monkeypatch.setenv("OUTLOOK_CLIENT_SECRET", "s3cret")
    runner = CliRunner()
    added = runner.invoke(app, ["senders", "add", "graph", "grace@acme.example"])
    assert added.exit_code == 0, added.output
    assert "Microsoft Graph" in added.output
    listed = runner.invoke(app, ["senders", "list"])
    assert "graph" in listed.output
    assert "9000" in listed.output
