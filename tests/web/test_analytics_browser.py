"""The Analytics page and the home dashboard in a real browser: the charts are drawn, and the
tables beside them hold the counts of the rows the worker and the inbox wrote, at laptop and at
phone width, the page never wider than the screen and no script or style refused by its
Content-Security-Policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from outreach.clock import FixedClock
from tests.analytics_rows import Campaigns, a_fortnight
from tests.web_session import sign_in_with

pytestmark = pytest.mark.browser
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def a_fortnight_of_campaigns(live_server) -> Campaigns:
    live_server.container.clock = FixedClock(NOW)
    with live_server.container.engine.begin() as connection:
        return a_fortnight(connection, NOW)


def column(page, table: str, heading: str) -> list[str]:
    """The cells under `heading` in the table marked `table`, top to bottom."""
    return page.locator(f"[data-testid={table}]").evaluate(
        """(table, heading) => {
            const at = [...table.tHead.rows[0].cells].findIndex(c => c.textContent.trim() === heading);
            return [...table.tBodies[0].rows].map(r => r.cells[at].textContent.trim());
        }""",
        heading,
    )


def refused(page) -> list[str]:
    """Console errors the page logs from now on (a Content-Security-Policy refusal is one),
    but the favicon the app has none of."""
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(f"{m.text} {m.location['url']}")
            if m.type == "error" and not m.location["url"].endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def fits(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("width", [1366, 390])
def test_the_analytics_page_charts_the_days_and_its_tables_hold_the_counts(
    page, live_server, width
):
    world = a_fortnight_of_campaigns(live_server)
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 768})
    errors = refused(page)
    sign_in_with(page, live_server.url)
    if width == 390:  # on a phone the areas fold under the Menu button
        page.get_by_text("Menu", exact=True).click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    page.get_by_role("link", name="Last 30 days").click()
    expect(page.get_by_test_id("not-measured")).to_contain_text("Opens and clicks are not measured")

    expect(page.locator(".chart canvas")).to_have_count(1)
    assert sum(int(n) for n in column(page, "daily-table", "Sent")) == len(world.sent) == 9
    assert sum(int(n) for n in column(page, "daily-table", "Replies")) == 2
    assert sum(int(n) for n in column(page, "daily-table", "Bounces")) == 1
    assert column(page, "steps-table", "Campaign") == ["Campaign 0"] * 2 + ["Campaign 1"] * 2
    assert column(page, "steps-table", "Sent") == ["3", "2", "3", "1"]
    assert sorted(column(page, "senders-table", "Sent")) == ["4", "5"]
    assert sum(int(n) for n in column(page, "providers-table", "Sent")) == 9
    chart = page.locator(".chart canvas").bounding_box()
    card = page.locator(".chart-card").bounding_box()
    assert chart["width"] <= card["width"]
    assert fits(page)

    # One campaign, found by typing part of its name.
    page.get_by_label("Find a campaign by name").fill("ign 1")
    expect(page.get_by_label("Campaign", exact=True).locator("option")).to_have_count(2)
    page.get_by_label("Campaign", exact=True).select_option(label="Campaign 1")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("range")).to_contain_text("campaign “Campaign 1”")
    assert column(page, "steps-table", "Sent") == ["3", "1"]
    assert sum(int(n) for n in column(page, "daily-table", "Sent")) == 4
    assert errors == []


def test_the_home_page_is_a_dashboard_of_campaign_emails(page, live_server):
    a_fortnight_of_campaigns(live_server)
    errors = refused(page)
    sign_in_with(page, live_server.url)
    month = page.get_by_role("region", name="Last 30 days")
    expect(month.get_by_test_id("campaign-figures")).to_contain_text("Campaign emails sent9")
    expect(month.get_by_test_id("campaign-figures")).to_contain_text("Positive replies1")
    expect(page.locator(".chart canvas")).to_have_count(1)
    assert sum(int(n) for n in column(page, "daily-table", "Sent")) == 9
    assert column(page, "running-table", "Campaign") == ["Campaign 0"]
    assert column(page, "running-table", "Reply rate") == ["20.0%"]
    assert column(page, "trouble-table", "Sender account") == ["me0@ourco.example"]
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits(page)
    assert errors == []
