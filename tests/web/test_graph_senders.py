"""Adding a Microsoft 365 sender from the page and the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from outreach.cli.main import app
from tests.web_session import csrf_token


def add_graph(client, **fields):
    form = {
        "kind": "graph",
        "email": "grace@acme.example",
        "tenant_id": "tenant-1",
        "client_id": "client-1",
        "client_secret": "s3cret",
        "csrf_token": csrf_token(client, "/senders"),
        **fields,
    }
    return client.post("/senders", data=form)


def test_a_graph_mailbox_is_added_with_microsofts_caps(signed_in):
    assert add_graph(signed_in, one_click="true").status_code == 303
    page = signed_in.get("/senders").text
    assert "grace@acme.example" in page
    assert "9000" in page
    assert "cannot offer one-click unsubscribe" not in page


def test_a_graph_mailbox_without_one_click_says_so(signed_in):
    add_graph(signed_in)
    assert "cannot offer one-click unsubscribe" in signed_in.get("/senders").text


def test_a_graph_mailbox_without_its_apps_secret_is_refused_with_the_reason(signed_in):
    refused = add_graph(signed_in, client_secret="")
    assert refused.status_code == 422
    assert "client secret" in refused.text


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
