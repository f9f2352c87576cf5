"""The admin the tests sign in as, and signing in and posting forms the way a browser does:
through FastAPI's TestClient with the page's CSRF token, or in a real browser page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

ADMIN_EMAIL = "ada@example.com"
ADMIN_PASSWORD = "correct horse battery"
ADMIN_AREAS = (
    "Home",
    "Contacts",
    "Campaigns",
    "Drafts",
    "Inbox",
    "Senders",
    "Analytics",
    "Users",
    "Backups",
)
"""What an admin's navigation offers."""

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: TestClient, page: str = "/sign-in") -> str:
    """The CSRF token a browser would find in the page's forms."""
    found = CSRF_INPUT.search(client.get(page).text)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def sign_in(client: TestClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    response = client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 303, response.text


def post(client, path, page, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def sign_in_with(page, url):
    page.goto(url + "/sign-in")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")


def followed(client: TestClient, response):
    """The page a form action redirects to (post/redirect/get), as the browser then shows it."""
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"])
