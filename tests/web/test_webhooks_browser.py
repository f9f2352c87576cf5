"""A person adds a webhook in a real browser at phone width: the secret is shown once, and the
page's content is no wider than the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web_session import sign_in_with

pytestmark = pytest.mark.browser


def test_a_webhook_is_added_at_phone_width_and_its_secret_shown(page, live_server, tmp_path):
    page.set_viewport_size({"width": 390, "height": 900})
    sign_in_with(page, live_server.url)

    page.goto(live_server.url + "/webhooks")
    page.get_by_label("Address").fill("https://crm.example/hooks/outreach")
    page.get_by_label("reply.received").check()
    page.get_by_role("button", name="Add webhook").click()

    expect(page.get_by_test_id("webhook-secret")).to_contain_text("whsec_")
    expect(page.get_by_role("link", name="https://crm.example/hooks/outreach")).to_be_visible()
    page.screenshot(path=tmp_path / "webhooks-390.png", full_page=True)
    widest = "Math.max(...[...document.querySelectorAll('main > *')].map(e => e.getBoundingClientRect().right))"
    assert page.evaluate(widest) <= 390
    secret = page.get_by_test_id("webhook-secret")
    assert secret.evaluate("e => e.scrollWidth <= e.clientWidth"), "the secret wraps"
