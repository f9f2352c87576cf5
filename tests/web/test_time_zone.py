"""Each person reads the pages' times in the time zone they chose on the account page, with the
UTC time on hover. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from outreach.access import queries as access_queries
from outreach.access import service as access
from outreach.db import transaction
from tests.web_session import ADMIN_EMAIL, followed, post, sign_in_with

ISSUED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.browser
def test_a_time_shows_in_the_chosen_zone_with_utc_on_hover(page, live_server):
    container = live_server.container
    with transaction(container.sessions) as session:
        admin = access_queries.user_by_email(session, ADMIN_EMAIL)
        assert admin is not None
        access.issue_api_token(session, admin, "sync", ISSUED)
    sign_in_with(page, live_server.url)
    page.goto(live_server.url + "/account")
    created = page.get_by_role("row").filter(has_text="sync").locator("time").first
    expect(created).to_have_text("2026-03-02 09:00 UTC")

    field = page.get_by_label("Show times in")
    expect(field).to_have_value("UTC")
    field.fill("Berlin")  # the server's search offers the zones a city's name finds
    page.get_by_test_id("zone-choices").get_by_role("button", name="Europe/Berlin").click()
    expect(field).to_have_value("Europe/Berlin")
    page.get_by_role("button", name="Save time zone").click()

    expect(page.get_by_role("status")).to_have_text("Times are now shown in Europe/Berlin.")
    expect(page.get_by_label("Show times in")).to_have_value("Europe/Berlin")
    expect(created).to_have_text("2026-03-02 10:00 Europe/Berlin")
    expect(created).to_have_attribute("title", "2026-03-02 09:00 UTC")
    expect(created).to_have_attribute("datetime", "2026-03-02T09:00:00+00:00")


def test_the_account_page_embeds_no_list_of_zones_but_searches_them_on_the_server(signed_in):
    shown = signed_in.get("/account").text
    assert "America/New_York" not in shown
    assert shown.count("data-zone=") == 0
    assert 'hx-get="/time-zones"' in shown

    found = signed_in.get("/time-zones", params={"timezone": "Berlin"}, headers={"HX-Request": "1"})
    assert 'data-zone="Europe/Berlin"' in found.text


def test_a_zone_that_does_not_exist_is_refused_with_a_clear_message_keeping_what_was_typed(
    signed_in, session, admin
):
    refused = post(signed_in, "/account/time-zone", "/account", timezone="Mars/Olympus")
    assert refused.status_code == 422
    assert "There is no time zone called &#39;Mars/Olympus&#39;" in refused.text
    assert 'name="timezone" value="Mars/Olympus"' in refused.text
    session.refresh(admin)
    assert admin.time_zone == "UTC"

    shown = followed(
        signed_in, post(signed_in, "/account/time-zone", "/account", timezone=" Asia/Tokyo ")
    )
    assert "Times are now shown in Asia/Tokyo." in shown.text
    session.refresh(admin)
    assert admin.time_zone == "Asia/Tokyo"


def test_a_citys_name_typed_without_javascript_saves_its_zone_and_times_show_in_it(
    signed_in, session, admin, clock
):
    access.issue_api_token(session, admin, "sync", ISSUED)
    session.commit()

    shown = followed(
        signed_in, post(signed_in, "/account/time-zone", "/account", timezone="berlin")
    )

    assert "Times are now shown in Europe/Berlin." in shown.text
    assert 'name="timezone" value="Europe/Berlin"' in shown.text
    assert ">2026-03-02 10:00 Europe/Berlin</time>" in shown.text  # 09:00 UTC
    unclear = post(signed_in, "/account/time-zone", "/account", timezone="new")
    assert unclear.status_code == 422
    assert "Which time zone is &#39;new&#39;? Choose one: " in unclear.text
