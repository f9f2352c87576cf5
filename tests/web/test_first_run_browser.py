"""A new workspace's home guides its first run: connect a mailbox, import contacts, write a
campaign, launch it. Each step ticks itself as it is done (here through the services, as the
CLI or the API would do it), and the checklist is gone once all four are. Both backends."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from outreach.campaigns import service as campaigns
from outreach.contacts import lists
from outreach.db import transaction
from tests.campaign_setup import PEOPLE, STEPS, outbox_sender
from tests.contact_files import import_text
from tests.web_session import sign_in_with

pytestmark = pytest.mark.browser

STEP_NAMES = ("Connect a mailbox", "Import contacts", "Write a campaign", "Launch it")


def ticked(page, live_server) -> list[str]:
    """The steps the home page shows as done, after loading it afresh."""
    page.goto(live_server.url + "/")
    checklist = page.get_by_test_id("first-run")
    expect(checklist.get_by_role("listitem")).to_have_count(4)
    for name, path in zip(
        STEP_NAMES, ("/senders", "/contacts/import", "/campaigns", "/campaigns"), strict=True
    ):
        expect(checklist.get_by_role("link", name=name)).to_have_attribute("href", path)
    return [
        name
        for name in STEP_NAMES
        if "done" in checklist.get_by_role("listitem").filter(has_text=name).get_attribute("class")
    ]


def test_the_first_run_checklist_ticks_each_step_and_goes_once_all_are_done(
    page, live_server, tmp_path
):
    container = live_server.container
    now = container.clock.now
    sign_in_with(page, live_server.url)
    page.get_by_role("heading", name="Get your first emails out").wait_for()
    assert ticked(page, live_server) == []
    expect(page.get_by_test_id("first-run")).to_contain_text("Connect a mailbox (to do)")

    with transaction(container.sessions) as session:
        mailbox = outbox_sender(session, container)
    assert ticked(page, live_server) == ["Connect a mailbox"]
    expect(page.get_by_test_id("first-run")).to_contain_text("Connect a mailbox (done)")

    with transaction(container.sessions) as session:
        audience = lists.create(session, "Pioneers", None, now())
        import_text(session, container.clock, tmp_path, PEOPLE, list_id=audience.id)
    assert ticked(page, live_server) == ["Connect a mailbox", "Import contacts"]

    with transaction(container.sessions) as session:
        campaign = campaigns.create(
            session, name="Spring", list_id=audience.id, sender_ids=[mailbox.id], now=now()
        )
    # A campaign with no email yet is not written.
    assert ticked(page, live_server) == ["Connect a mailbox", "Import contacts"]
    with transaction(container.sessions) as session:
        subject, body, days = STEPS[0]
        campaigns.add_step(session, campaign.id, subject=subject, body=body, delay_days=days)
    assert ticked(page, live_server) == list(STEP_NAMES[:3])

    with transaction(container.sessions) as session:
        campaigns.launch(session, uuid.UUID(str(campaign.id)), now())
    page.goto(live_server.url + "/")
    page.get_by_role("heading", name="Home").wait_for()
    expect(page.get_by_test_id("first-run")).to_have_count(0)
