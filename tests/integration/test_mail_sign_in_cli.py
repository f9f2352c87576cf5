"""`outreach senders sign-in EMAIL --provider ...` on a machine without a browser: Microsoft's
device code (the person types it at microsoft.com/devicelogin), Google's address pasted back;
both against the fake sign-in on loopback, the account then sending over XOAUTH2 to aiosmtpd."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx2
import pytest
from typer.testing import CliRunner

from outreach.cli.main import app
from tests.fakes.oauth_server import (
    FakeOAuth,
)
from tests.smtp_server import RecordingSMTPServer

MAILBOX = "grace@acme.example"


@pytest.fixture
def environment(backend, databases, tmp_path, fake_oauth: FakeOAuth) -> dict[str, str]:
    return {
        "DATABASE_URL": databases.fresh_url(backend),
        "OUTREACH_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
        **fake_oauth.app_settings,
    }


@pytest.fixture
def outreach(environment, tmp_path, monkeypatch):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*arguments: str, code: int = 0, typed: str | None = None) -> str:
        result = runner.invoke(app, list(arguments), input=typed, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


@pytest.fixture
def oauth_smtp(fake_oauth: FakeOAuth) -> Iterator[RecordingSMTPServer]:
    with RecordingSMTPServer(introspection_url=fake_oauth.introspection_url) as server:
        yield server


def add_account(outreach, server: RecordingSMTPServer) -> None:
    outreach(
        "senders", "add", "smtp", MAILBOX, "--host", "127.0.0.1", "--port", str(server.port),
        "--security", "none", typed="an-old-password\n",
    )  # fmt: skip


def test_a_microsoft_mailbox_signs_in_with_a_device_code_and_then_sends(
    outreach, fake_oauth, oauth_smtp
):
    add_account(outreach, oauth_smtp)
    refused = outreach("senders", "test", MAILBOX, code=1)
    assert "offers no sign-in method this program supports (it offers: XOAUTH2)." in refused
    assert f"`outreach senders sign-in {MAILBOX} --provider google|microsoft`" in refused
    fake_oauth.approve_devices_as(MAILBOX)

    said = outreach("senders", "sign-in", MAILBOX, "--provider", "microsoft")

    assert "To sign in, open https://microsoft.com/devicelogin and enter" in said
    assert f"{MAILBOX} signs in with Microsoft from now on" in said
    tested = outreach("senders", "test", MAILBOX)
    assert f"authenticated as {MAILBOX}" in tested
    assert "device_code" in fake_oauth.grants[-2]


def test_a_google_mailbox_signs_in_with_the_address_pasted_back(
    outreach, environment, tmp_path, fake_oauth, oauth_smtp
):
    add_account(outreach, oauth_smtp)
    signing = subprocess.Popen(
        [sys.executable, "-m", "outreach", "senders", "sign-in", MAILBOX, "--provider", "google"],
        env={**os.environ, **environment},
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert signing.stdout is not None
    assert signing.stdin is not None
    lines = [signing.stdout.readline(), signing.stdout.readline()]
    assert lines[0].startswith(f"Open this address in a browser and sign in as {MAILBOX}")
    # The person's browser: Google redirects it to our callback with the code.
    redirected = httpx2.get(lines[1].strip(), follow_redirects=False).headers["Location"]
    assert redirected.startswith("http://127.0.0.1:8000/senders/oauth/callback?")
    said, _ = signing.communicate(redirected + "\n", timeout=60)

    assert signing.returncode == 0, said
    assert f"{MAILBOX} signs in with Google from now on" in said
    assert f"authenticated as {MAILBOX}" in outreach("senders", "test", MAILBOX)


def test_an_address_from_another_sign_in_is_refused_in_one_line(outreach, fake_oauth, oauth_smtp):
    add_account(outreach, oauth_smtp)
    other = "http://127.0.0.1:8000/senders/oauth/callback?code=abc&state=someone-elses"

    said = outreach(
        "senders", "sign-in", MAILBOX, "--provider", "google", typed=other + "\n", code=1
    )

    assert said.strip().endswith("That address belongs to another sign-in: start again.")
