"""Signing in and out, the layout, the account page and user management, as a browser sees them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

from fastapi.testclient import TestClient

from outreach.access import service as access
from outreach.access.models import Role
from tests.analytics_rows import Campaigns
from tests.campaign_setup import launched_from_outbox
from tests.web_session import (
    ADMIN_AREAS,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    csrf_token,
    followed,
    sign_in,
)


def test_a_signed_in_user_sees_the_layout_with_every_area(signed_in):
    page = signed_in.get("/")
    assert page.status_code == 200
    for area in ADMIN_AREAS:
        assert area in page.text
    assert ADMIN_EMAIL in page.text
    assert "Sign out" in page.text


def test_the_home_page_shows_todays_figures_from_email_analytics(signed_in, connection, clock):
    connection.exec_driver_sql(
        "INSERT INTO email_analytics (date, total_emails_sent, total_followups_sent, "
        "total_drafts_created, total_drafts_approved) "
        f"VALUES ('{clock.now().date().isoformat()}', 7, 3, 12, 9)"
    )
    page = signed_in.get("/")
    # Campaign steps are drafts in the seed's tables, so its counts are of emails, not drafts.
    assert "<dt>Emails written</dt><dd>12</dd>" in page.text
    assert "<dt>Emails approved</dt><dd>9</dd>" in page.text
    assert "<dt>Emails sent</dt><dd>7</dd>" in page.text
    assert "<dt>of which follow-ups</dt><dd>3</dd>" in page.text


def test_a_wrong_password_shows_an_error_and_starts_no_session(client, admin):
    response = client.post(
        "/sign-in",
        data={"email": ADMIN_EMAIL, "password": "wrong password", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 401
    assert "do not match an account" in response.text
    assert "outreach_session" not in client.cookies
    assert client.get("/").status_code == 303


def test_sign_in_sets_a_session_cookie_that_scripts_cannot_read(client, admin):
    response = client.post(
        "/sign-in",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": csrf_token(client)},
    )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("outreach_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_behind_https_the_session_cookie_is_secure(app, admin):
    with TestClient(app, base_url="https://outreach.example", follow_redirects=False) as browser:
        response = browser.post(
            "/sign-in",
            data={
                "email": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
                "csrf_token": csrf_token(browser),
            },
        )
    assert "Secure" in response.headers["set-cookie"]


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client, admin):
    for wanted, landed in (
        ("/account", "/account"),
        ("//evil.example/", "/"),
        ("https://evil.example", "/"),
    ):
        response = client.post(
            "/sign-in",
            data={
                "email": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
                "next": wanted,
                "csrf_token": csrf_token(client),
            },
        )
        assert response.headers["location"] == landed


def test_signing_out_ends_the_session(signed_in):
    response = signed_in.post("/sign-out", data={"csrf_token": csrf_token(signed_in, "/")})
    assert response.status_code == 303
    assert signed_in.get("/").status_code == 303


def test_too_many_failures_slow_the_sign_in_page_down(client, admin):
    for _ in range(access.MAX_FAILURES_PER_ADDRESS):
        client.post(
            "/sign-in",
            data={"email": ADMIN_EMAIL, "password": "guess", "csrf_token": csrf_token(client)},
        )
    response = client.post(
        "/sign-in",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text


def test_a_new_api_token_is_shown_once_and_works(signed_in):
    token = csrf_token(signed_in, "/account")
    made = signed_in.post("/account/tokens", data={"name": "CRM sync", "csrf_token": token})
    page = followed(signed_in, made)
    secret = page.text.split('data-testid="new-token">')[1].split("<")[0]
    assert (
        signed_in.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )
    again = signed_in.get("/account")
    assert "CRM sync" in again.text
    assert secret not in again.text


def test_a_revoked_token_stops_working(signed_in, session, admin, clock):
    issued = access.issue_api_token(session, admin, "old", clock.now())
    signed_in.post(
        f"/account/tokens/{issued.token.id}/revoke",
        data={"csrf_token": csrf_token(signed_in, "/account")},
    )
    assert (
        signed_in.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {issued.secret}"}
        ).status_code
        == 401
    )


def test_changing_the_password_needs_the_current_one(signed_in):
    token = csrf_token(signed_in, "/account")
    wrong = signed_in.post(
        "/account/password",
        data={
            "current_password": "nope",
            "new_password": "a brand new password",
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 422
    assert "current password is not right" in wrong.text
    right = signed_in.post(
        "/account/password",
        data={
            "current_password": ADMIN_PASSWORD,
            "new_password": "a brand new password",
            "csrf_token": token,
        },
    )
    assert right.headers["location"] == "/sign-in"
    assert signed_in.get("/").status_code == 303


def test_an_admin_adds_a_user_who_can_then_sign_in(signed_in, client):
    token = csrf_token(signed_in, "/users")
    response = signed_in.post(
        "/users",
        data={
            "email": "alan@example.com",
            "password": "turing machine",
            "role": "member",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert "alan@example.com" in signed_in.get("/users").text
    signed_in.cookies.clear()
    sign_in(signed_in, "alan@example.com", "turing machine")


def test_a_bad_new_user_is_explained_on_the_page(signed_in):
    token = csrf_token(signed_in, "/users")
    response = signed_in.post(
        "/users",
        data={"email": "not-an-address", "password": "turing machine", "csrf_token": token},
    )
    assert response.status_code == 422
    assert "is not a valid email address" in response.text


def test_a_member_cannot_see_users_and_is_not_shown_the_link(client, session):
    access.create_user(session, "member@example.com", "member password", Role.member)
    sign_in(client, "member@example.com", "member password")
    assert ">Users<" not in client.get("/").text
    response = client.get("/users", headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert "Only admins" in response.text


def test_health_and_readiness_are_public(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def figure(page: str, label: str, section: int = 0) -> int:
    """A figure of the home page: of today (section 0) or of the last 7 days (1)."""
    found = re.findall(rf"<dt>{label}</dt><dd>(\d+)</dd>", page)
    return int(found[section])


def test_a_campaigns_sent_steps_count_as_written_and_approved_as_the_note_says(
    signed_in, session, container, clock, tmp_path
):
    launched_from_outbox(session, container, clock, tmp_path)

    page = signed_in.get("/").text

    for section in (0, 1):
        sent = figure(page, "Emails sent", section)
        assert sent == 3
        assert figure(page, "Emails approved", section) >= sent
        assert figure(page, "Emails written", section) >= sent
    assert "unless a person approved its draft already" in page


def test_home_counts_as_approved_each_email_no_person_approved_and_each_approval(
    signed_in, connection, clock
):
    """Each kind on its own, as the page counted them from the rows before they were kept."""
    start = datetime.combine(clock.now().date(), time(1), UTC)
    world = Campaigns.made(connection, start, ["ann@a.example", "bob@b.example"])

    def approved() -> list[int]:
        page = signed_in.get("/").text
        return [figure(page, "Emails approved", section) for section in (0, 1, 2)]

    world.queue(0, from_template=True, days=0)
    assert approved() == [1, 1, 1]
    world.queue(1, from_template=False, days=-3)  # written by AI, sent without approval
    assert approved() == [1, 2, 2]
    world.approve(1, days=0)  # a person approved it after all: counted once, today
    assert approved() == [2, 2, 2]
    world.answer(0, days=-10)  # a person's answer, approved as written
    assert approved() == [2, 2, 3]
    world.take_back(2)  # the answer taken back
    assert approved() == [2, 2, 2]
