"""A campaign's tabs in a real browser (Debian's chromium): send me a test arriving once at a
real SMTP server, a preview for a contact found by name, and every tab within the window at a
laptop's and a phone's width."""

from __future__ import annotations

import email
import uuid
from email.policy import default

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from outreach.analytics import figures
from outreach.db import transaction
from outreach.delivery.models import Delivery, SentEmail, SentTest
from tests.campaign_setup import smtp_sender, three_step_campaign
from tests.web_session import ADMIN_EMAIL, sign_in_with

pytestmark = pytest.mark.browser
TABS = ("", "/sequence", "/contacts", "/schedule", "/settings", "/launch")


def smtp_campaign(live_server, tmp_path, port: int) -> uuid.UUID:
    container = live_server.container
    with transaction(container.sessions) as session:
        account = smtp_sender(session, container.clock, container.settings.secret_key_value(), port)
        return three_step_campaign(session, container.clock, tmp_path, [account]).id


def test_send_me_a_test_arrives_once_and_counts_as_no_campaign_send(
    page, live_server, tmp_path, smtp_server
):
    campaign_id = smtp_campaign(live_server, tmp_path, smtp_server.port)
    sign_in_with(page, live_server.url)
    page.goto(f"{live_server.url}/campaigns/{campaign_id}/sequence")

    step_one = page.locator("#step-1")
    step_one.get_by_role("button", name="Send me a test").click()
    expect(page.get_by_role("status")).to_contain_text(f"Test sent to {ADMIN_EMAIL}")
    [received] = smtp_server.messages
    assert received.rcpt_tos == (ADMIN_EMAIL,)
    message = email.message_from_bytes(received.data, policy=default)
    assert message["Subject"] == "[Test] Hello from Analytical Engines, Ada"
    assert "(the contact's own unsubscribe link)" in message.get_content()

    # The same form again (back, and send): its one-time key is spent, nothing goes.
    page.go_back()
    page.locator("#step-1").get_by_role("button", name="Send me a test").click()
    expect(page.get_by_role("alert")).to_have_text(
        "This test was sent already: reload the page to send another.", use_inner_text=True
    )
    assert len(smtp_server.messages) == 1

    with transaction(live_server.container.sessions) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SentTest)) == 1
        for table in (Delivery, SentEmail):
            assert session.scalar(sa.select(sa.func.count()).select_from(table)) == 0
        assert figures.of_campaign(session, campaign_id).totals.sent == 0


def test_the_preview_is_for_a_contact_found_by_company(page, live_server, tmp_path, smtp_server):
    campaign_id = smtp_campaign(live_server, tmp_path, smtp_server.port)
    sign_in_with(page, live_server.url)
    page.goto(f"{live_server.url}/campaigns/{campaign_id}/sequence")
    preview = page.get_by_test_id("preview")
    expect(preview.get_by_role("heading")).to_have_text("Preview for ada@analytical.example")

    preview.get_by_label("Preview for another contact").fill("bletchley")
    preview.get_by_test_id("found-contacts").get_by_role(
        "link", name="alan@bletchley.example"
    ).click()
    expect(preview.get_by_role("heading")).to_have_text("Preview for alan@bletchley.example")
    preview.get_by_text("Step 1: Hello from Bletchley Park, Alan").wait_for()


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_every_tab_fits_the_window(page, live_server, tmp_path, smtp_server, width, height):
    campaign_id = smtp_campaign(live_server, tmp_path, smtp_server.port)
    page.set_viewport_size({"width": width, "height": height})
    sign_in_with(page, live_server.url)
    for tab in TABS:
        page.goto(f"{live_server.url}/campaigns/{campaign_id}{tab}")
        page.get_by_test_id("campaign-status").wait_for()
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{tab or 'overview'} is {wide} px wide in a {width} px window"
