"""A real browser (Debian's chromium, driven by Playwright) signs in, sees the layout, signs out."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ADMIN_AREAS, ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_see_the_layout_and_sign_out(page, live_server):
    page.goto(live_server)
    assert re.search(r"/sign-in\?next=/$", page.url)
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(live_server + "/")
    navigation = page.get_by_role("navigation", name="Main")
    for area in ADMIN_AREAS:
        assert navigation.get_by_text(area, exact=True).is_visible()
    assert page.get_by_test_id("account-link").inner_text() == ADMIN_EMAIL
    assert page.get_by_role("heading", name="Home").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/sign-in$"))
    page.goto(live_server + "/account")
    assert "/sign-in" in page.url


def test_a_wrong_password_shows_an_error_and_no_session(page, live_server):
    page.goto(live_server + "/sign-in")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    assert (
        page.get_by_role("alert").inner_text()
        == "That email address and password do not match an account."
    )
    assert "outreach_session" not in {cookie["name"] for cookie in page.context.cookies()}
    page.goto(live_server + "/")
    assert "/sign-in" in page.url


def test_the_import_wizard_with_a_mapping_to_correct(page, live_server):
    page.goto(live_server + "/sign-in")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/")

    page.goto(live_server + "/contacts/import")
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
    assert page.get_by_role("cell", name="ada@analytical.example").is_visible()
    email = page.get_by_label("Email required")
    assert email.input_value() == ""
    email.select_option("Contact")
    page.get_by_label("Company").select_option("Employer")
    page.get_by_placeholder("Name of a new list").fill("Pioneers")
    page.get_by_role("button", name="Import").click()

    status = page.get_by_test_id("import-status")
    status.filter(has_text="Done: 3 rows read.").wait_for()
    assert page.get_by_test_id("count-imported").inner_text() == "2"
    assert page.get_by_test_id("count-invalid").inner_text() == "1"

    page.get_by_role("link", name="See the contacts").click()
    assert page.get_by_role("link", name="alan@bletchley.example").is_visible()
    page.get_by_role("link", name="ada@analytical.example").click()
    assert page.get_by_role("heading", name="Ada Lovelace").is_visible()
    assert page.get_by_text("Analytical Engines").first.is_visible()
    assert page.get_by_role("link", name="Pioneers").is_visible()
