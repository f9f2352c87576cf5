"""A real browser (Debian's chromium, driven by Playwright) signs in, sees the layout, signs out."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from outreach.campaigns.forecast import day_words
from outreach.contacts import lists
from outreach.db import transaction
from tests.campaign_setup import PEOPLE
from tests.contact_files import import_text
from tests.web_session import ADMIN_AREAS, ADMIN_EMAIL, ADMIN_PASSWORD, sign_in_with

pytestmark = pytest.mark.browser
BERLIN = ZoneInfo("Europe/Berlin")


def test_sign_in_see_the_layout_and_sign_out(page, live_server):
    page.goto(live_server.url)
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/$"))
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(live_server.url + "/")
    navigation = page.get_by_role("navigation", name="Main")
    for area in ADMIN_AREAS:
        navigation.get_by_text(area, exact=True).wait_for()
    expect(page.get_by_test_id("account-link")).to_have_text(ADMIN_EMAIL, use_inner_text=True)
    page.get_by_role("heading", name="Home").wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/sign-in$"))
    page.goto(live_server.url + "/account")
    assert "/sign-in" in page.url


def test_a_wrong_password_shows_an_error_and_no_session(page, live_server):
    page.goto(live_server.url + "/sign-in")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text(
        "That email address and password do not match an account.", use_inner_text=True
    )
    assert "outreach_session" not in {cookie["name"] for cookie in page.context.cookies()}
    page.goto(live_server.url + "/")
    assert "/sign-in" in page.url


def test_the_import_wizard_with_a_mapping_to_correct(page, live_server):
    page.goto(live_server.url + "/sign-in")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + "/contacts/import")
    export = (
        "Contact;Name;Employer;City\n"
        "ada@analytical.example;Ada Lovelace;Analytical Engines;London\n"
        "alan@bletchley.example;Alan Turing;Bletchley Park;Bletchley\n"
        "nobody;No One;;\n"
    )
    page.get_by_label("File").set_input_files(
        {"name": "crm-export.csv", "mimeType": "text/csv", "buffer": export.encode()}
    )
    page.get_by_role("button", name="Upload").click()

    page.get_by_role("heading", name="Match the columns of crm-export.csv").wait_for()
    page.get_by_role("cell", name="ada@analytical.example").wait_for()
    email = page.get_by_label("Email required")
    assert email.input_value() == ""
    email.select_option("Contact")
    page.get_by_label("Company").select_option("Employer")
    page.get_by_placeholder("Name of a new list").fill("Pioneers")
    page.get_by_role("button", name="Import").click()

    status = page.get_by_test_id("import-status")
    status.filter(has_text="Done: 3 rows read.").wait_for()
    expect(page.get_by_test_id("count-imported")).to_have_text("2", use_inner_text=True)
    expect(page.get_by_test_id("count-invalid")).to_have_text("1", use_inner_text=True)

    page.get_by_role("link", name="See the contacts").click()
    page.get_by_role("link", name="alan@bletchley.example").wait_for()
    page.get_by_role("link", name="ada@analytical.example").click()
    page.get_by_role("heading", name="Ada Lovelace").wait_for()
    page.get_by_text("Analytical Engines").first.wait_for()
    page.get_by_role("link", name="Pioneers").wait_for()


def test_a_two_step_campaign_built_in_its_tabs_is_launched_after_a_confirmation_and_sends(
    page, live_server, tmp_path
):
    container = live_server.container
    with transaction(container.sessions) as session:
        audience = lists.create(session, "Pioneers", None, container.clock.now())
        import_text(session, container.clock, tmp_path, PEOPLE, list_id=audience.id)
    sign_in_with(page, live_server.url)

    page.goto(live_server.url + "/senders")
    page.get_by_role("link", name="Local outbox").click()
    page.get_by_label("Address").fill("me@ourco.example")
    page.get_by_role("button", name="Add account").click()
    page.get_by_role("cell", name="me@ourco.example").wait_for()

    page.goto(live_server.url + "/campaigns")
    page.get_by_label("Name", exact=True).fill("Spring")
    page.get_by_label("List", exact=True).select_option(label="Pioneers")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Spring").wait_for()
    expect(page.get_by_test_id("problems")).to_contain_text("add at least one step")

    tabs = page.get_by_role("navigation", name="Campaign")
    tabs.get_by_role("link", name="Sequence").click()
    page.get_by_label("Subject").fill("Hello from {{ company }}")
    page.get_by_label("Text", exact=True).fill("Hi {{ first_name }}, how is ")
    new_step = page.locator("form.new-step")
    new_step.get_by_text("Insert a merge field").click()
    new_step.get_by_test_id("merge-fields").get_by_role("button", name="{{ city }}").click()
    expect(new_step.get_by_label("Text", exact=True)).to_have_value(
        "Hi {{ first_name }}, how is {{ city }}"
    )
    new_step.get_by_role("button", name="Add step").click()
    page.get_by_test_id("preview").get_by_text("Hello from Analytical Engines").wait_for()
    new_step = page.locator("form.new-step")
    new_step.get_by_label("Days after the previous email").fill("2")
    new_step.get_by_label("Text", exact=True).fill("Just following up, {{ first_name }}.")
    new_step.get_by_role("button", name="Add step").click()
    page.get_by_role("heading", name="Step 2").wait_for()
    expect(page.get_by_test_id("day-summary").get_by_role("listitem")).to_have_text(
        ["Day 0", "Day 2"]
    )

    tabs.get_by_role("link", name="Schedule & senders").click()
    page.get_by_label("From", exact=True).fill("00:00")
    page.get_by_label("to", exact=True).fill("00:00")
    page.get_by_label("Time zone").fill("Berlin")
    page.get_by_test_id("zone-choices").get_by_role("button", name="Europe/Berlin").click()
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    for day in ("Saturday", "Sunday"):
        page.get_by_label(day).check()
    page.get_by_label("Seconds between emails").fill("0")
    page.get_by_label("+ up to (random)").fill("0")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.", use_inner_text=True)

    # The page shows at once; its forecast follows, held back here until the page said so.
    held = []
    page.route("**/launch/outlook", lambda route: held.append(route))
    # Playwright tells of the request, then of its route: held by the next call's answer.
    with page.expect_request("**/launch/outlook"):
        page.get_by_role("link", name="Launch…").click()
    summary = page.get_by_test_id("launch-summary")
    expect(summary.get_by_text("Working out when the emails would go…")).to_be_visible()
    expect(summary.get_by_role("button", name="Launch now")).to_be_visible()
    held[0].continue_()
    expect(summary.get_by_test_id("launch-contacts")).to_have_text("3 contacts")
    expect(summary.get_by_test_id("launch-from")).to_have_text("me@ourco.example (6 emails)")
    expect(summary.get_by_test_id("launch-first")).to_have_text("right away")
    # Every day, all day, no spacing: the first emails go now, the second step two days on.
    now = container.clock.now()
    ends = day_words(now + timedelta(days=2), BERLIN, now)
    expect(summary.get_by_test_id("launch-end")).to_have_text(ends)
    expect(summary.get_by_text("Working out when the emails would go…")).to_have_count(0)
    summary.get_by_role("button", name="Launch now").click()
    expect(page.get_by_role("status")).to_have_text(
        "Launched: 3 contacts enrolled.", use_inner_text=True
    )
    # The Overview asks for its forecast once it shows, and says so until it comes.
    expect(page.get_by_test_id("next")).to_contain_text("Next emails go right away")
    expect(page.get_by_text("Working out when the emails go…")).to_have_count(0)

    report = container.sending_pass()
    assert len(report.sent) == 3

    tabs.get_by_role("link", name="Contacts").click()
    enrollments = page.get_by_test_id("enrollments")
    enrollments.get_by_role("row").filter(has_text="ada@analytical.example").get_by_text(
        "1 of 2"
    ).wait_for()
    expect(page.get_by_test_id("campaign-status")).to_have_text("active", use_inner_text=True)
    assert len(list((container.outbox_folder / "me@ourco.example").glob("*.eml"))) == 3


@pytest.mark.parametrize("width", [1280, 390])
def test_a_list_beyond_the_menus_first_fifty_is_found_by_typing_and_filters_contacts(
    page, live_server, tmp_path, width
):
    container = live_server.container
    with transaction(container.sessions) as session:
        for n in range(60):
            lists.create(session, f"Batch {n:02}", None, container.clock.now())
        audience = lists.create(session, "Pioneers", None, container.clock.now())
        import_text(session, container.clock, tmp_path, PEOPLE, list_id=audience.id)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_with(page, live_server.url)

    page.goto(live_server.url + "/contacts")
    menu = page.get_by_label("List", exact=True)
    expect(menu.locator("option", has_text="Pioneers")).to_have_count(0)
    page.get_by_label("Find a list by name").fill("pion")
    expect(menu.locator("option", has_text="Pioneers")).to_have_count(1)
    menu.select_option(label="Pioneers")
    page.wait_for_url(re.compile(rf"list_id={audience.id}"))
    page.get_by_role("link", name="ada@analytical.example").wait_for()
    box = "document.querySelector('.list-picker').getBoundingClientRect().right"
    assert page.evaluate(box) <= width
