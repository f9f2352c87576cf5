"""A real browser writes drafts for a small list, edits one, approves them all from the
keyboard, schedules one, and sees it sent once the worker ran."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from outreach.contacts import lists
from outreach.db import transaction
from outreach.senders import service as senders
from tests.campaign_setup import PEOPLE
from tests.contact_files import import_text
from tests.drafts_setup import FIRST_EMAIL
from tests.web_session import sign_in_with

pytestmark = pytest.mark.browser


def test_drafts_written_edited_approved_by_keyboard_scheduled_and_sent(page, live_server, tmp_path):
    container = live_server.container
    with transaction(container.sessions) as session:
        audience = lists.create(session, "Pioneers", None, container.clock.now())
        import_text(session, container.clock, tmp_path, PEOPLE, list_id=audience.id)
        senders.add(
            session,
            kind=senders.SenderKind.outbox,
            email="me@ourco.example",
            display_name="Me",
            secret_key=container.settings.secret_key_value(),
            now=container.clock.now(),
        )
    sign_in_with(page, live_server.url)

    # A template, tried on one contact.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Drafts").click()
    page.get_by_role("link", name="Templates").click()
    page.get_by_label("Name").fill("First email")
    page.get_by_label("Instructions").fill(FIRST_EMAIL)
    page.get_by_role("button", name="Add template").click()
    page.get_by_role("heading", name="First email").wait_for()
    page.get_by_label("Contact").fill("grace@navy.example")
    page.get_by_role("button", name="Write a test draft").click()
    page.get_by_test_id("trial").get_by_text("Routes for US Navy").wait_for()

    # A batch for the list, written by the worker while the page follows it.
    page.get_by_role("link", name="Batches").click()
    page.get_by_label("Write for").select_option(label="Pioneers")
    page.get_by_label("Template").select_option(label="First email")
    page.get_by_role("button", name="Write drafts").click()
    status = page.get_by_test_id("batch-status")
    status.filter(has_text="waiting for the worker").wait_for()
    report = container.drafting_pass()
    assert len(report.written) == 3
    status.filter(has_text="Done: 3 written, 0 to go (0 skipped).").wait_for()

    # Review: edit the first draft, then approve all three, all from the keyboard.
    page.get_by_role("link", name="Review its drafts").click()
    cards = page.locator(".draft-card")
    cards.nth(2).wait_for()
    first = page.locator(".draft-card.selected")
    email = first.get_by_test_id("draft-contact").inner_text()
    page.keyboard.press("e")
    editor = first.locator("textarea")
    expect(editor).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Hi there, a shorter note about your routes.")
    page.keyboard.press("Control+Enter")
    edited = page.locator(".draft-card", has_text=email)
    edited.get_by_text("edited", exact=True).wait_for()
    edited.get_by_test_id("draft-diff").get_by_text("What changed").click()
    edited.locator("ins").first.wait_for()
    expect(page.locator(".draft-card.selected").get_by_test_id("draft-contact")).to_have_text(
        email, use_inner_text=True
    )

    for n in range(3):
        page.keyboard.press("a")
        page.locator('.draft-card[data-status="approved"]').nth(n).wait_for()
    expect(page.locator('.draft-card[data-status="draft"]')).to_have_count(0)
    expect(page.locator('[data-testid="draft-status"]', has_text="approved")).to_have_count(3)

    # Schedule the edited one now, from its page; the worker sends it.
    edited.get_by_test_id("draft-contact").click()
    page.get_by_role("heading", name=f"Draft for {email}").wait_for()
    page.get_by_label("From").select_option(label="me@ourco.example (ok)")
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_test_id("schedule-status")).to_have_text("pending", use_inner_text=True)

    sent = container.sending_pass()
    assert sent.sent == [f"{email}: scheduled email"]

    page.reload()
    expect(page.get_by_test_id("schedule-status")).to_have_text("sent", use_inner_text=True)
    expect(page.get_by_test_id("draft-status")).to_have_text("sent", use_inner_text=True)
    [eml] = (container.outbox_folder / "me@ourco.example").glob("*.eml")
    message = eml.read_text()
    assert re.search(r"^To: .*" + re.escape(email), message, flags=re.MULTILINE)
    assert "a shorter note about your routes" in message
