"""Adding a sender account in a real browser (Debian's chromium): the provider first, then
only its fields; the connection is tested before anything is saved."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from outreach.db import transaction
from outreach.senders.models import SenderAccount
from tests.web_session import sign_in_with

pytestmark = pytest.mark.browser


def addresses(container):
    with transaction(container.sessions) as session:
        return list(session.scalars(sa.select(SenderAccount.email)))


def test_each_provider_shows_only_its_own_fields(page, live_server):
    sign_in_with(page, live_server.url)
    page.goto(live_server.url + "/senders")
    expect(page.get_by_label("Address")).to_have_count(0)

    page.get_by_role("link", name="Google Workspace / Gmail").click()
    expect(page.get_by_label("App password")).to_be_visible()
    expect(page.get_by_label("Read its replies from this Gmail inbox")).to_be_checked()
    expect(page.get_by_label("Server")).to_have_count(0)
    expect(page.get_by_label("Client secret")).to_have_count(0)

    page.get_by_role("link", name="Microsoft 365").click()
    expect(page.get_by_label("Client secret")).to_be_visible()
    expect(
        page.get_by_role("button", name="Sign in with Microsoft as the mailbox's owner")
    ).to_be_visible()
    expect(page.get_by_label("App password")).to_have_count(0)


def test_an_smtp_account_whose_test_fails_is_refused_and_one_that_passes_is_saved(
    page, live_server, make_smtp_server, imap_account
):
    server = make_smtp_server(username="me@ourco.example", password="right")
    imap = imap_account.settings()
    sign_in_with(page, live_server.url)
    page.goto(live_server.url + "/senders")
    page.get_by_role("link", name="Other SMTP and IMAP").click()

    page.get_by_label("Address").fill("me@ourco.example")
    sending = page.get_by_role("group", name="Sending (SMTP)")
    sending.get_by_label("Server").fill("127.0.0.1")
    sending.get_by_role("combobox", name="Security").select_option("none")
    sending.get_by_label("Port", exact=True).fill(str(server.port))
    sending.get_by_label("Password", exact=True).fill("wrong")
    replies = page.get_by_role("group", name="Replies (IMAP)")
    replies.get_by_label("IMAP server").fill(imap.host)
    replies.get_by_role("combobox", name="Security").select_option("none")
    replies.get_by_label("Port", exact=True).fill(str(imap.port))
    replies.get_by_label("IMAP username").fill(imap.username)
    replies.get_by_label("IMAP password").fill(imap.password)
    page.get_by_role("button", name="Test and add").click()

    refusal = page.get_by_role("alert").filter(has_text="Not added")
    expect(refusal).to_contain_text(
        "Not added: the test failed (sending: The server refused the username or password (535"
    )
    expect(refusal).to_contain_text("Nothing was saved.")
    assert addresses(live_server.container) == []
    expect(page.get_by_label("Address")).to_have_value("me@ourco.example")
    expect(sending.get_by_label("Port", exact=True)).to_have_value(str(server.port))
    expect(replies.get_by_label("IMAP username")).to_have_value(imap.username)

    sending.get_by_label("Password", exact=True).fill("right")
    replies.get_by_label("IMAP password").fill(imap.password)
    page.get_by_role("button", name="Test and add").click()

    expect(page.get_by_role("status").filter(has_text="Added")).to_have_text(
        "Added me@ourco.example.", use_inner_text=True
    )
    test = page.get_by_role("status", name="Test of me@ourco.example")
    expect(test).to_contain_text("Sending: works")
    expect(test).to_contain_text("Reading replies: works")
    assert addresses(live_server.container) == ["me@ourco.example"]
    expect(page.get_by_text(f"read from {imap.username} on {imap.host}")).to_be_visible()
    assert server.messages == []
