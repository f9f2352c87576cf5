"""The Analytics page and its CSV downloads, signed in: the same figures as /api/v1/analytics,
and bad input (a reversed or unreadable range, an unknown campaign) said in words on the page,
never a 500."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest

from outreach.access.service import issue_api_token
from tests.analytics_rows import Campaigns, a_fortnight, campaigns_sending
from tests.html_tables import tables

HEADINGS = {"sent": "Sent", "replied": "Replies", "positive": "Positive", "bounced": "Bounces"}
TABLES = ("daily", "steps", "senders", "providers")


@pytest.fixture
def world(connection, clock) -> Campaigns:
    return a_fortnight(connection, clock.now())


def page_counts(rows: list[dict[str, str]]) -> list[dict[str, int]]:
    """The counts of each row of a page's table, those it has a column for."""
    return [
        {name: int(row[heading]) for name, heading in HEADINGS.items() if heading in row}
        for row in rows
    ]


def csv_counts(text: str) -> list[dict[str, int]]:
    return [
        {name: int(row[name]) for name in HEADINGS} for row in csv.DictReader(io.StringIO(text))
    ]


TOTALS = {"Sent": 9, "Replies": 2, "Positive replies": 1, "Bounces": 1, "Unsubscribes": 1}
"""The world's campaign emails, as the page's totals name them."""


def test_the_pages_tables_and_downloads_hold_what_the_api_answers(
    signed_in, world, session, admin, clock
):
    scope = {"start": "2026-02-01", "end": "2026-03-02"}
    page = signed_in.get("/analytics", params=scope)
    assert page.status_code == 200, page.text
    shown = tables(page.text)
    token = issue_api_token(session, admin, "tests", clock.now()).secret
    api = {"Authorization": f"Bearer {token}"}
    for name in TABLES:
        answered = signed_in.get(f"/api/v1/analytics/{name}", params=scope, headers=api).json()
        items = [{c: item[c] for c in HEADINGS} for item in answered["items"]]
        rows = page_counts(shown[f"{name}-table"])
        if name == "daily":  # newest first on the page, without positive replies
            rows.reverse()
            assert rows == [{c: n for c, n in item.items() if c != "positive"} for item in items]
        else:
            assert rows == items, name
        download = signed_in.get(f"/analytics/{name}.csv", params=scope)
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        assert (
            f'filename="{name}-2026-02-01-2026-03-02.csv"'
            in download.headers["content-disposition"]
        )
        as_api = signed_in.get(f"/api/v1/analytics/{name}", params={**scope, "format": "csv"},
                               headers=api)  # fmt: skip
        assert download.text == as_api.text
        assert csv_counts(download.text) == items
    for heading, expected in TOTALS.items():
        assert f"<dt>{heading}</dt><dd>{expected}" in page.text
    assert "Opens and clicks are not measured" in page.text


def test_one_campaign_is_found_by_name_and_shown_alone(signed_in, world, connection):
    options = signed_in.get("/analytics/campaigns", params={"campaign_q": "GN 1"})
    assert options.status_code == 200
    assert ">Campaign 1</option>" in options.text
    assert ">Campaign 0</option>" not in options.text
    assert signed_in.get("/analytics/campaigns", params={"campaign_q": "%\x00"}).status_code == 200
    chosen = str(world.campaigns[1])
    page = signed_in.get("/analytics", params={"campaign_id": chosen, "days": "30"})
    assert "campaign “Campaign 1”" in page.text
    steps = tables(page.text)["steps-table"]
    assert [(row["Step"], row["Sent"]) for row in steps] == [("1", "3"), ("2", "1")]
    assert f'value="{chosen}" selected' in page.text


def test_over_many_campaigns_the_steps_of_those_that_sent_most_are_shown_whole(
    signed_in, connection, clock
):
    # 20 campaigns of 3 steps, Campaign 19 the busiest: the 16 busiest fill 48 of the 50 rows,
    # the next ones do not fit whole, the one-step campaign that sent least fills the room.
    sent = {f"Campaign {n:02}": [n + 1, 1, 1] for n in range(20)} | {"Small": [1]}
    campaigns_sending(connection, clock.now() - timedelta(days=1), sent)
    page = signed_in.get("/analytics", params={"days": "30"})
    assert page.status_code == 200, page.text
    shown = [
        (row["Campaign"], row["Step"], row["Sent"]) for row in tables(page.text)["steps-table"]
    ]
    busiest = [f"Campaign {n:02}" for n in range(4, 20)] + ["Small"]
    assert shown == [
        (name, str(step), str(count))
        for name in busiest
        for step, count in enumerate(sent[name], start=1)
    ]
    assert "The 49 steps of the campaigns that sent most are shown, of 61 steps" in page.text
    download = signed_in.get("/analytics/steps.csv", params={"days": "30"})
    assert len(list(csv.DictReader(io.StringIO(download.text)))) == 61


def test_the_presets_cover_that_many_days_to_today(signed_in, world):
    for days, first in (("7", "2026-02-24"), ("90", "2025-12-03"), ("365", "2025-03-03")):
        page = signed_in.get("/analytics", params={"days": days})
        assert f"{first} to 2026-03-02 (UTC days)" in page.text
        assert len(tables(page.text)["daily-table"]) == int(days)
    assert "2026-01-31 to 2026-03-01" in signed_in.get("/analytics?end=2026-03-01").text


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"start": "2026-03-02", "end": "2026-03-01"}, 422,
         "The range starts (2026-03-02) after it ends (2026-03-01)."),
        ({"start": "2026-02-30"}, 422,
         "From: “2026-02-30” is not a day; write it as YYYY-MM-DD, say 2026-03-01."),
        ({"end": "yesterday"}, 422, "To: “yesterday” is not a day"),
        ({"start": "2020-01-01", "end": "2026-03-01"}, 422, "Ask for two years of days at most."),
        ({"days": "5"}, 422, "Choose the last 7, 30, 90, 365 days"),
        ({"campaign_id": str(uuid.uuid4())}, 404, "No such campaign: it may have been deleted."),
        ({"campaign_id": "not-an-id"}, 404, "No such campaign"),
    ],
)  # fmt: skip
def test_bad_input_is_said_in_words_beside_the_form(signed_in, query, status, message):
    page = signed_in.get("/analytics", params=query)
    assert page.status_code == status
    assert message in page.text
    assert 'name="start"' in page.text, "the form stays, to correct the range"
    download = signed_in.get("/analytics/steps.csv", params=query)
    assert download.status_code == status
    assert message in download.text


def test_an_unknown_table_is_not_found(signed_in):
    download = signed_in.get("/analytics/opens.csv")
    assert download.status_code == 404
    assert "There is no table “opens”" in download.text


def test_the_page_and_home_allow_scripts_and_styles_of_the_app_only(signed_in):
    for path in ("/analytics", "/"):
        policy = signed_in.get(path).headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "style-src 'self';" in policy
        assert "unsafe-inline" not in policy


def test_the_page_asks_to_sign_in(client):
    assert client.get("/analytics").status_code == 303
    assert client.get("/analytics/daily.csv").status_code == 303


def test_home_shows_the_campaign_emails_the_running_campaigns_and_the_accounts_in_trouble(
    signed_in, world
):
    world.bounce(7, days=10)  # me1's: over half the 5% at which the worker pauses an account
    home = signed_in.get("/")
    assert home.status_code == 200
    shown = tables(home.text)
    assert sum(int(day["Sent"]) for day in shown["daily-table"]) == 9
    assert [
        (row["Campaign"], row["Sent"], row["Reply rate"]) for row in shown["running-table"]
    ] == [("Campaign 0", "5", "20.0%")]
    assert [
        (row["Sender account"], row["State"], row["Why"]) for row in shown["trouble-table"]
    ] == [
        ("me0@ourco.example", "failing", "the server refused the password"),
        ("me1@ourco.example", "ok", "bounces over 2.5% (paused at 5.0%)"),
    ]
    month = home.text.split("<h2>Last 30 days</h2>")[1]
    assert "<dt>Campaign emails sent</dt><dd>9</dd>" in month
    assert "<dt>Positive replies</dt><dd>1 " in month
    assert "<dt>Unsubscribes</dt><dd>1</dd>" in month
