"""Contacts in a real browser (Debian's chromium): the count, the chosen columns, many contacts
added to a list at once after a confirmation that says how many, and the bulk form showing
only the menu its action needs, at laptop and phone width, with or without JavaScript."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from outreach.campaigns import service as campaigns
from outreach.contacts import lists, queries
from outreach.contacts.models import ContactList
from outreach.contacts.queries import ContactFilter
from outreach.db import transaction
from tests.campaign_setup import COLLEAGUES
from tests.contact_files import import_text
from tests.web_session import sign_in_with

pytestmark = pytest.mark.browser


def members_of(container, name):
    with transaction(container.sessions) as session:
        found = session.scalars(sa.select(ContactList).where(ContactList.name == name)).one()
        where = ContactFilter(list_id=found.id)
        return sorted(contact.email for contact in queries.matching_contacts(session, where))


@pytest.fixture
def colleagues(live_server, tmp_path):
    container = live_server.container
    with transaction(container.sessions) as session:
        import_text(session, container.clock, tmp_path, COLLEAGUES)
        codebreakers = lists.create(session, "Codebreakers", None, container.clock.now())
        campaigns.create(session, name="Spring", list_id=codebreakers.id, now=container.clock.now())
    return container


def test_all_contacts_matching_a_search_are_added_to_a_list_after_saying_how_many(
    page, live_server, colleagues
):
    sign_in_with(page, live_server.url)
    page.goto(live_server.url + "/contacts")
    expect(page.get_by_test_id("contact-total")).to_have_text("5 contacts", use_inner_text=True)

    with page.expect_response(lambda answer: "q=Bletchley" in answer.url):
        page.get_by_label("Search").fill("Bletchley")
    expect(page.get_by_test_id("contact-total")).to_have_text(
        "3 contacts match this filter", use_inner_text=True
    )
    page.get_by_label("Select all 3 contacts matching this filter").check()
    page.get_by_label("With the chosen contacts").select_option("list")
    page.get_by_label("List to add them to").select_option(label="Codebreakers")
    page.get_by_role("button", name="Continue…").click()

    page.get_by_role("heading", name="Add 3 contacts to the list Codebreakers?").wait_for()
    page.get_by_role("button", name="Add 3 contacts to the list Codebreakers").click()

    expect(page.get_by_role("status")).to_have_text(
        "Added 3 contacts to Codebreakers.", use_inner_text=True
    )
    assert members_of(colleagues, "Codebreakers") == [
        "alan@bletchley.example",
        "joan@gmail.com",
        "mavis@gmail.com",
    ]
    row = page.get_by_role("row").filter(has_text="joan@gmail.com")
    expect(row.get_by_role("link", name="Codebreakers")).to_be_visible()


def test_ticked_rows_are_the_ones_added_and_the_chosen_columns_stay(page, live_server, colleagues):
    sign_in_with(page, live_server.url)
    page.goto(live_server.url + "/contacts")
    page.get_by_text("Columns", exact=True).click()
    page.get_by_label("Title").check()
    page.get_by_label("Campaigns", exact=True).uncheck()
    page.get_by_role("button", name="Show these columns").click()
    expect(page.get_by_role("columnheader", name="Title")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Campaigns")).to_have_count(0)

    page.get_by_label("Choose ada@analytical.example").check()
    page.get_by_label("Choose joan@gmail.com").check()
    page.get_by_label("With the chosen contacts").select_option("list")
    page.get_by_label("List to add them to").select_option(label="Codebreakers")
    page.get_by_role("button", name="Continue…").click()
    page.get_by_role("button", name="Add 2 contacts to the list Codebreakers").click()

    expect(page.get_by_role("status")).to_have_text(
        "Added 2 contacts to Codebreakers.", use_inner_text=True
    )
    assert members_of(colleagues, "Codebreakers") == ["ada@analytical.example", "joan@gmail.com"]
    page.reload()
    expect(page.get_by_role("columnheader", name="Title")).to_be_visible()


def test_nothing_ticked_is_refused_with_what_to_do(page, live_server, colleagues):
    sign_in_with(page, live_server.url)
    page.goto(live_server.url + "/contacts")
    page.get_by_label("With the chosen contacts").select_option("delete")
    with page.expect_response("**/contacts/bulk") as answer:
        page.get_by_role("button", name="Continue…").click()
    assert answer.value.status == 422
    expect(page.get_by_role("alert")).to_have_text(
        "Tick the contacts to act on, or choose all that match.", use_inner_text=True
    )
    expect(page.get_by_test_id("contact-total")).to_have_text("5 contacts", use_inner_text=True)


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_the_bulk_form_shows_only_the_menu_the_chosen_action_needs(
    page, live_server, colleagues, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    sign_in_with(page, live_server.url)
    page.goto(live_server.url + "/contacts")
    action = page.get_by_label("With the chosen contacts")
    list_menu = page.get_by_label("List to add them to")
    campaign_menu = page.get_by_label("Campaign to enrol them in")
    expect(list_menu).to_be_hidden()
    expect(campaign_menu).to_be_hidden()

    action.select_option(label="enrol in a campaign")
    expect(campaign_menu).to_be_visible()
    expect(list_menu).to_be_hidden()
    campaign_menu.select_option(label="Spring (draft)")

    action.select_option(label="add to a list")
    expect(list_menu).to_be_visible()
    expect(campaign_menu).to_be_hidden()

    action.select_option(label="delete")
    expect(list_menu).to_be_hidden()
    expect(campaign_menu).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_without_javascript_a_list_left_unchosen_is_asked_for_with_the_action_kept(
    browser, live_server, colleagues
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in_with(page, live_server.url)
    page.goto(live_server.url + "/contacts")
    page.get_by_label("Choose joan@gmail.com").check()
    page.get_by_label("With the chosen contacts").select_option(label="add to a list")
    expect(page.get_by_label("List to add them to")).to_be_visible()

    with page.expect_response("**/contacts/bulk") as answer:
        page.get_by_role("button", name="Continue…").click()

    assert answer.value.status == 422
    expect(page.get_by_role("alert")).to_have_text(
        "Choose the list to add them to.", use_inner_text=True
    )
    expect(page.get_by_label("With the chosen contacts")).to_have_value("list")
    expect(page.get_by_label("List to add them to")).to_be_visible()
    expect(page.get_by_label("Campaign to enrol them in")).to_be_hidden()
    context.close()
