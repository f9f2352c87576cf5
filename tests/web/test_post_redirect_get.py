"""Form actions answer with a redirect to a page that says what happened (post/redirect/get),
refused forms keep what was typed, and links built from what a person typed stay whole."""

from __future__ import annotations

import re

from outreach.contacts import lists
from tests.contact_files import import_text
from tests.drafts_setup import FIRST_EMAIL, people
from tests.web_session import post

SENDER_ID = re.compile(r"/senders/([0-9a-f-]{36})/test")


def test_adding_to_a_list_redirects_to_the_list_which_says_how_many_were_added(
    signed_in, session, clock, tmp_path
):
    import_text(session, clock, tmp_path, "email,company\nada@a.example,Analytical\n")
    made = lists.create(session, "Engines", "", clock.now())
    session.commit()
    page = f"/lists/{made.id}"

    added = post(signed_in, page + "/add", page, company="Analytical")

    assert added.status_code == 303
    assert added.headers["location"] == page
    shown = signed_in.get(page)
    assert "Added 1 contact." in shown.text
    assert "Added 1 contact." not in signed_in.get(page).text, "a reload shows it no more"


def test_testing_a_sender_redirects_to_the_senders_page_with_the_result(signed_in):
    post(signed_in, "/senders", "/senders", kind="outbox", email="me@ourco.example")
    sender_id = SENDER_ID.search(signed_in.get("/senders").text).group(1)

    tested = post(signed_in, f"/senders/{sender_id}/test", "/senders")

    assert tested.status_code == 303
    assert tested.headers["location"] == "/senders"
    assert "Test of me@ourco.example" in signed_in.get("/senders").text


def test_trying_a_template_redirects_to_the_template_with_the_test_draft(
    signed_in, session, clock, tmp_path
):
    people(session, clock, tmp_path)
    page = post(
        signed_in, "/drafts/templates", "/drafts/templates", name="First", content=FIRST_EMAIL
    ).headers["location"]

    tried = post(signed_in, page + "/trial", page, contact="ada@analytical.example")

    assert tried.status_code == 303
    assert tried.headers["location"] == page
    shown = signed_in.get(page).text
    assert 'data-testid="trial"' in shown
    assert "To ada@analytical.example" in shown
    assert 'data-testid="trial"' not in signed_in.get(page).text


def test_a_new_api_token_comes_through_the_redirect_and_is_shown_once(signed_in):
    made = post(signed_in, "/account/tokens", "/account", name="CRM sync")

    assert made.status_code == 303
    assert made.headers["location"] == "/account"
    assert 'data-testid="new-token"' in signed_in.get("/account").text
    assert 'data-testid="new-token"' not in signed_in.get("/account").text


def test_a_refused_sender_keeps_what_was_typed_but_never_the_password(signed_in):
    refused = post(
        signed_in,
        "/senders",
        "/senders",
        kind="smtp",
        email="me@ourco.example",
        display_name="Ada at Ourco",
        host="",
        port="2525",
        security="tls",
        username="ada",
        password="s3cret-typed",
        daily_cap="40",
    )

    assert refused.status_code == 422
    page = refused.text
    assert 'value="me@ourco.example"' in page
    assert 'value="Ada at Ourco"' in page
    assert 'value="2525"' in page
    assert '<option value="tls" selected>' in page
    assert 'aria-current="true"><strong>Other SMTP and IMAP</strong>' in page
    assert 'value="ada"' in page
    assert 'value="40"' in page
    assert "s3cret-typed" not in page


def test_a_search_with_an_ampersand_and_a_hash_survives_to_the_next_page(
    signed_in, session, clock, tmp_path
):
    rows = [f"p{n:02}@smith.example,Smith & Sons #1" for n in range(55)]
    others = [f"o{n}@other.example,Smith " for n in range(5)]
    import_text(session, clock, tmp_path, "email,company\n" + "\n".join(rows + others) + "\n")
    session.commit()

    first = signed_in.get("/contacts", params={"q": "Smith & Sons #1"}).text
    next_link = re.search(r'<a href="([^"]+)">Next page', first).group(1).replace("&amp;", "&")
    second = signed_in.get(next_link).text

    assert "q=Smith+%26+Sons+%231" in next_link
    assert "p54@smith.example" in second
    assert "other.example" not in second
    assert "p00@smith.example" not in second
