"""What the API and the senders page say of a sender account: its state follows the last test
(failing and tried again by itself when its server cannot be reached, needing a person when its
password is refused, ok again once a test works), and an SMTP account for a local relay that
takes mail without AUTH is added without sign-in and sends."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.campaigns import service as campaigns
from outreach.senders.models import SenderAccount
from tests.campaign_setup import MONDAY_9, three_step_campaign
from tests.web_session import followed, post

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def add_relay(api, port: int, **extra: object):
    relay = {"kind": "smtp", "email": "me@ourco.example", "host": "127.0.0.1", "port": port}
    return api.post("/api/v1/senders", json=relay | {"security": "none", "sign_in": False} | extra)


def sent_through(session, container, clock, tmp_path, sender_id: str) -> int:
    """Launches a campaign from the account and runs a pass in its window: emails sent."""
    clock.advance(MONDAY_9 - clock.now())
    found = three_step_campaign(session, clock, tmp_path, [sender_id])
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    return len(container.sending_pass().sent)


def test_a_failed_test_shows_on_the_account_until_a_later_test_works(api, smtp_server):
    account = add_relay(api, smtp_server.port).json()
    smtp_server.stop()

    down = api.post(f"/api/v1/senders/{account['id']}/test").json()

    assert (down["ok"], down["state"]) == (False, "failing")
    assert down["status"].startswith(
        f"failing: Could not connect to 127.0.0.1:{smtp_server.port}: connection refused; "
        "retrying at "
    )
    [listed] = api.get("/api/v1/senders").json()["items"]
    assert (listed["shown_state"], listed["status"]) == ("failing", down["status"])
    assert listed["retry_attempts"] == 1
    assert listed["retry_at"] is not None

    smtp_server.start()
    back = api.post(f"/api/v1/senders/{account['id']}/test").json()

    assert (back["ok"], back["state"], back["status"]) == (True, "ok", "ok")
    [listed] = api.get("/api/v1/senders").json()["items"]
    assert (listed["state"], listed["shown_state"], listed["last_error"]) == ("ok", "ok", None)
    assert listed["retry_at"] is None


def test_a_test_whose_password_is_refused_says_a_person_must_act(api, make_smtp_server):
    server = make_smtp_server(username="me@ourco.example", password="right")
    added = api.post(
        "/api/v1/senders",
        json={"kind": "smtp", "email": "me@ourco.example", "host": "127.0.0.1",
              "port": server.port, "security": "none", "password": "wrong"},
    ).json()  # fmt: skip
    assert added["signs_in_as"] == "me@ourco.example"

    refused = api.post(f"/api/v1/senders/{added['id']}/test").json()

    assert refused["state"] == "needs you"
    assert refused["status"].startswith("needs you: The server refused the username or password")
    assert refused["status"].endswith("Fix it, then resume the account.")
    [listed] = api.get("/api/v1/senders").json()["items"]
    assert (listed["state"], listed["shown_state"], listed["retry_at"]) == (
        "failing",
        "needs you",
        None,
    )

    server.accept_credentials("me@ourco.example", "wrong")
    assert api.post(f"/api/v1/senders/{added['id']}/test").json()["state"] == "ok"


def test_a_paused_account_stays_paused_whatever_its_test_says(api, smtp_server):
    account = add_relay(api, smtp_server.port).json()
    api.post(f"/api/v1/senders/{account['id']}/pause")
    smtp_server.stop()

    tested = api.post(f"/api/v1/senders/{account['id']}/test").json()

    assert (tested["ok"], tested["state"], tested["status"]) == (
        False,
        "paused",
        "paused: paused by a person",
    )


def test_a_relay_without_sign_in_is_added_over_the_api_and_sends(
    api, smtp_server, session, container, clock, tmp_path
):
    refused = add_relay(api, smtp_server.port, password="s3cret")
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "An account without sign-in takes no username or password."
    )
    needs_password = api.post(
        "/api/v1/senders",
        json={"kind": "smtp", "email": "me@ourco.example", "host": "127.0.0.1",
              "port": smtp_server.port, "sign_in": True},
    )  # fmt: skip
    assert needs_password.status_code == 422
    assert "Signing in needs the password" in needs_password.json()["error"]["message"]

    # No gap between sends, so that the campaign's three go in one pass; the ramp stays.
    added = add_relay(api, smtp_server.port, limits={"min_gap_seconds": 0})

    assert added.status_code == 201, added.text
    assert added.json()["signs_in_as"] is None
    assert added.json()["ramp"] == {"start": 10, "step": 2, "target": 30}
    assert added.json()["limits"] == [
        "ramping up: 10 a day today (sending day 1), 30 from Thu 12 Mar if it sends every day"
    ]
    tested = api.post(f"/api/v1/senders/{added.json()['id']}/test").json()
    assert tested["message"] == (
        f"sending: Connected to 127.0.0.1:{smtp_server.port}, no encryption, without signing in."
    )
    assert sent_through(session, container, clock, tmp_path, added.json()["id"]) == 3
    assert len(smtp_server.messages) == 3


def test_the_page_adds_a_relay_without_sign_in_saying_so_and_it_sends(
    signed_in, smtp_server, session, container, clock, tmp_path
):
    page = signed_in.get("/senders?add=smtp").text
    assert "No sign-in: for a local relay that accepts mail without AUTH" in page
    form = {
        "kind": "smtp",
        "email": "me@ourco.example",
        "host": "127.0.0.1",
        "port": str(smtp_server.port),
        "security": "none",
        "no_sign_in": "true",
        "ramp": "true",
        "min_gap_seconds": "0",
    }
    refused = post(signed_in, "/senders", "/senders", **form, password="s3cret")
    assert refused.status_code == 422
    assert "An account without sign-in takes no username or password." in refused.text

    added = post(signed_in, "/senders", "/senders", **form)

    assert added.status_code == 303
    row = signed_in.get("/senders").text.split('data-sender="me@ourco.example"')[1]
    assert "no sign-in (a relay that accepts mail without AUTH)" in row.split("</tr>")[0]
    assert '<span class="hint" data-testid="ramping">ramping up</span>' in row.split("</tr>")[0]
    assert (
        "Limits: ramping up: 10 a day today (sending day 1), 30 from Thu 12 Mar if it sends "
        "every day</summary>"
    ) in row
    account = session.scalars(sa.select(SenderAccount)).one()
    assert sent_through(session, container, clock, tmp_path, str(account.id)) == 3


def test_the_pages_test_button_sets_the_shown_state_and_a_later_success_clears_it(
    signed_in, smtp_server
):
    post(signed_in, "/senders", "/senders", kind="smtp", email="me@ourco.example",
         host="127.0.0.1", port=str(smtp_server.port), security="none", no_sign_in="true")  # fmt: skip
    sender_id = re.search(r"/senders/([0-9a-f-]{36})/test", signed_in.get("/senders").text)[1]
    smtp_server.stop()

    failed = followed(signed_in, post(signed_in, f"/senders/{sender_id}/test", "/senders"))

    row = failed.text.split('data-sender="me@ourco.example"')[1].split("</tr>")[0]
    assert ">failing</span>" in row
    assert "connection refused; retrying at " in row
    assert "Resume" in row

    smtp_server.start()
    worked = followed(signed_in, post(signed_in, f"/senders/{sender_id}/test", "/senders"))

    row = worked.text.split('data-sender="me@ourco.example"')[1].split("</tr>")[0]
    assert ">ok</span>" in row
    assert "retrying" not in row


def test_a_reader_in_berlin_reads_when_a_failing_account_is_tried_again_in_berlin_time(
    signed_in, smtp_server, session, admin
):
    admin.time_zone = "Europe/Berlin"
    session.commit()
    post(signed_in, "/senders", "/senders", kind="smtp", email="me@ourco.example",
         host="127.0.0.1", port=str(smtp_server.port), security="none", no_sign_in="true")  # fmt: skip
    sender_id = re.search(r"/senders/([0-9a-f-]{36})/test", signed_in.get("/senders").text)[1]
    smtp_server.stop()

    failed = followed(signed_in, post(signed_in, f"/senders/{sender_id}/test", "/senders"))

    retry_at = session.scalars(sa.select(SenderAccount.retry_at)).one()
    row = failed.text.split('data-sender="me@ourco.example"')[1].split("</tr>")[0]
    assert f"retrying at {retry_at.astimezone(BERLIN):%H:%M} Europe/Berlin (attempt 2)" in row
