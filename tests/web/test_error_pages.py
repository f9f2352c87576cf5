"""What a person sees when something goes wrong on a page: the layout, the problem in plain
words, the right status and a way back. API clients keep their JSON error body."""

from __future__ import annotations

import logging

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from outreach.web.deps import page_user
from tests.web_session import csrf_token, sign_in

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
NO_SUCH_ID = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    "path", [f"/drafts/{NO_SUCH_ID}", "/campaigns/nope", "/nonexistent", f"/lists/{NO_SUCH_ID}"]
)
def test_a_page_that_does_not_exist_is_a_page_with_a_way_home(signed_in, path):
    for headers in (BROWSER, {}):  # a browser, and a plain `curl`
        response = signed_in.get(path, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in response.text
        assert '<a href="/">Back to the start</a>' in response.text
        assert '"code": "not_found"' not in response.text


def test_an_error_page_keeps_the_layout_of_a_signed_in_user(signed_in):
    response = signed_in.get(f"/drafts/{NO_SUCH_ID}", headers=BROWSER)
    assert "Sign out" in response.text
    assert 'href="/campaigns"' in response.text


def test_a_form_without_its_csrf_token_says_so_and_leads_back_to_the_form(signed_in):
    response = signed_in.post(
        "/lists",
        data={"name": "Leads"},
        headers={**BROWSER, "Referer": "http://testserver/lists"},
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "expired or came from another site" in response.text
    assert '<a href="/lists">Back to the page you were on</a>' in response.text


@pytest.mark.parametrize(
    ("name", "said"),
    [("", "Name is needed."), ("x" * 5000, "Name is too long: at most 2000 characters.")],
)
def test_a_refused_form_field_is_explained_in_plain_words(signed_in, name, said):
    response = signed_in.post(
        "/lists",
        data={"name": name, "csrf_token": csrf_token(signed_in, "/lists")},
        headers={**BROWSER, "Referer": "http://testserver/lists"},
    )
    assert response.status_code == 422
    assert said in response.text
    assert '<a href="/lists">Back to the page you were on</a>' in response.text


def test_the_way_back_never_leads_to_another_site(signed_in):
    response = signed_in.get(
        "/nonexistent", headers={**BROWSER, "Referer": "https://elsewhere.example/lists"}
    )
    assert '<a href="/">Back to the start</a>' in response.text


def test_htmx_gets_the_message_alone_and_is_told_to_show_it_in_place_of_the_page(signed_in):
    response = signed_in.get("/campaigns/nope", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.text.lstrip().startswith('<section id="error"')
    assert "<html" not in response.text
    assert response.headers["HX-Retarget"] == "main"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert response.headers["HX-Reselect"] == "#error"


def test_every_page_lets_htmx_swap_in_error_answers(signed_in):
    page = signed_in.get("/")
    assert '{"code": "[45]..", "swap": true, "error": true}' in page.text


def test_api_errors_keep_their_json_shape_even_for_a_browser(client, api_token):
    response = client.get(
        f"/api/v1/campaigns/{NO_SUCH_ID}",
        headers={**BROWSER, "Authorization": f"Bearer {api_token}"},
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == "not_found"


def test_a_page_may_still_ask_for_json(signed_in):
    response = signed_in.get(f"/lists/{NO_SUCH_ID}", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.fixture
def failing_app(app):
    def broken() -> None:
        raise RuntimeError("database password is hunter2")

    app.add_api_route("/broken", broken, dependencies=[Depends(page_user)])
    app.add_api_route("/api/v1/broken", broken)
    return app


def test_an_unexpected_failure_is_a_page_without_internals_and_is_logged(
    failing_app, admin, caplog
):
    with TestClient(failing_app, raise_server_exceptions=False, follow_redirects=False) as browser:
        sign_in(browser)
        with caplog.at_level(logging.ERROR, logger="outreach.web"):
            page = browser.get("/broken", headers=BROWSER)
            api = browser.get("/api/v1/broken")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Something went wrong</h1>" in page.text
    assert "Sign out" in page.text
    assert "hunter2" not in page.text
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in api.text
    failures = [r for r in caplog.records if r.getMessage() == "web.request_failed"]
    assert [r.path for r in failures] == ["/broken", "/api/v1/broken"]
    assert "hunter2" in failures[0].error


def test_the_server_still_sees_an_unexpected_failure(failing_app, admin):
    with TestClient(failing_app, follow_redirects=False) as browser:
        sign_in(browser)
        with pytest.raises(RuntimeError, match="hunter2"):
            browser.get("/broken", headers=BROWSER)
