"""Nobody gets in without signing in or a token: checked over the app's whole route table,
so a route added later is covered without touching this file."""

from __future__ import annotations

import re
import uuid

from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.web_session import csrf_token

PUBLIC = {
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/unsubscribe/{token}"),
    ("POST", "/unsubscribe/{token}"),
}


def every_route(app):
    """(method, path template, a concrete path, route) for every route the app serves."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            continue
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
        # As the OpenAPI document writes it: "{draft_id:uuid}" is "{draft_id}" there.
        template = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in sorted(route.methods - {"HEAD"}):
            yield method, template, path, route


def test_only_sign_in_health_and_static_files_are_public(app, client):
    public = set()
    for method, template, path, _ in every_route(app):
        response = client.request(method, path, headers={"Accept": "text/html"})
        if response.status_code not in (401, 303):
            public.add((method, template))
        elif response.status_code == 303:
            assert response.headers["location"].startswith("/sign-in"), (method, template)
    assert public == PUBLIC
    assert client.get("/static/app.css").status_code == 200


API_REFERENCE = "/api/docs"
"""The API's reference (Redoc) is a page for a signed-in person: a browser goes to sign in."""


def test_every_api_route_answers_401_with_an_error_body_and_the_bearer_challenge(app, client):
    api_routes = [
        (m, p)
        for m, template, p, route in every_route(app)
        if template.startswith("/api/") and not template.startswith(API_REFERENCE)
    ]
    assert api_routes
    for method, path in api_routes:
        response = client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"


def test_every_page_sends_a_browser_to_sign_in_and_back(app, client):
    response = client.get("/account?tab=tokens", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/account%3Ftab%3Dtokens"


def test_htmx_requests_without_a_session_are_told_where_to_sign_in(client):
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/sign-in")


def test_a_page_form_posted_without_the_csrf_token_is_rejected(signed_in, session, admin):
    response = signed_in.post(
        "/account/tokens", data={"name": "sneaky"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 403
    assert "expired or came from another site" in response.text
    page = signed_in.get("/account")
    assert "sneaky" not in page.text


def test_a_csrf_token_from_another_browser_is_rejected(signed_in, app):
    from fastapi.testclient import TestClient

    with TestClient(app) as other_browser:
        foreign_token = csrf_token(other_browser)
    response = signed_in.post(
        "/account/tokens", data={"name": "sneaky", "csrf_token": foreign_token}
    )
    assert response.status_code == 403


def test_the_sign_in_form_itself_needs_the_csrf_token(client, admin):
    response = client.post(
        "/sign-in", data={"email": admin.email, "password": "correct horse battery"}
    )
    assert response.status_code == 403
    assert "outreach_session" not in response.cookies


def test_every_api_route_but_the_document_itself_is_in_the_openapi_document(app):
    api_paths = {
        template for _, template, _, _ in every_route(app) if template.startswith("/api/v1/")
    }
    assert set(app.openapi()["paths"]) == api_paths - {"/api/v1/openapi.json"}
