"""/api/v1/campaigns/{id}/analytics and /api/v1/analytics/...: a campaign sent from an outbox
account, with replies of known categories, a category a person changed, bounces and an
unsubscribe; every figure equals the count over the raw rows, as JSON and as CSV."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.models import Base
from tests.analytics_rows import COUNTS, bounce, raw_by_step, reply_to, unsubscribe
from tests.campaign_setup import launched_from_outbox

T = Base.metadata.tables


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def test_a_campaigns_figures_equal_the_counts_over_its_rows(
    api, session, container, clock, tmp_path
):
    campaign, _ = launched_from_outbox(session, container, clock, tmp_path)
    for _ in range(2):  # the follow-ups
        clock.advance(timedelta(days=4))
        container.sending_pass()
    connection = session.connection()
    sent = connection.execute(
        sa.select(
            T["deliveries"].c.id,
            T["deliveries"].c.sent_email_id,
            T["deliveries"].c.campaign_contact_id,
        )
        .where(
            T["deliveries"].c.campaign_id == campaign.id,
            T["deliveries"].c.sent_email_id.is_not(None),
        )
        .order_by(T["deliveries"].c.sequence_step, T["deliveries"].c.id)
    ).all()
    assert len(sent) >= 4
    later = clock.now() + timedelta(hours=2)
    first = reply_to(connection, sent[0].id, sent[0].sent_email_id, later, "not_interested")
    reply_to(connection, sent[1].id, sent[1].sent_email_id, later, "meeting_request")
    reply_to(connection, sent[2].id, sent[2].sent_email_id, later, None, kind="auto_reply")
    connection.execute(  # a person changes their mind about the first reply
        sa.update(T["inbox_messages"])
        .where(T["inbox_messages"].c.id == first)
        .values(category="interested")
    )
    bounce(connection, sent[3].id, later)
    unsubscribe(connection, sent[-1].campaign_contact_id)
    session.commit()

    found = api.get(f"/api/v1/campaigns/{campaign.id}/analytics")
    assert found.status_code == 200, found.text
    body = found.json()
    raw = raw_by_step(connection, campaign.id)
    assert {step["step"]: {c: step[c] for c in COUNTS} for step in body["steps"]} == raw
    assert {c: body["totals"][c] for c in COUNTS} == {
        c: sum(step[c] for step in raw.values()) for c in COUNTS
    }
    assert (body["totals"]["replied"], body["totals"]["positive"]) == (2, 2)
    assert body["totals"]["reply_rate"] == round(2 / body["totals"]["sent"], 4)
    statuses = dict(
        connection.execute(
            sa.select(T["campaign_contacts"].c.status, sa.func.count())
            .where(T["campaign_contacts"].c.campaign_id == campaign.id)
            .group_by(T["campaign_contacts"].c.status)
        ).all()
    )
    assert body["enrollments"]["enrolled"] == sum(statuses.values())
    assert body["enrollments"]["finished_by"]["unsubscribed"] == statuses["unsubscribed"]
    replied = (sent[0].campaign_contact_id, sent[1].campaign_contact_id)  # not the auto-reply
    first_sent = dict(
        connection.execute(
            sa.select(T["deliveries"].c.campaign_contact_id, sa.func.min(T["deliveries"].c.sent_at))
            .where(T["deliveries"].c.campaign_contact_id.in_(replied))
            .group_by(T["deliveries"].c.campaign_contact_id)
        ).all()
    )
    waits = [(later - first_sent[e].replace(tzinfo=later.tzinfo)) for e in replied]
    assert body["median_first_reply_seconds"] == pytest.approx(
        statistics.median(waits).total_seconds(), abs=1
    )
    assert [(s["sent"], s["replied"]) for s in body["senders"]] == [
        (body["totals"]["sent"], body["totals"]["replied"])
    ]
    assert [p["provider"] for p in body["providers"]] == ["unknown"]

    scope = {
        "start": "2026-01-01",
        "end": clock.now().date().isoformat(),
        "campaign_id": str(campaign.id),
    }
    steps = api.get("/api/v1/analytics/steps", params=scope).json()["items"]
    assert [{c: s[c] for c in COUNTS} for s in steps] == [
        {c: s[c] for c in COUNTS} for s in body["steps"]
    ]
    daily = api.get("/api/v1/analytics/daily", params=scope).json()["items"]
    assert {c: sum(day[c] for day in daily) for c in COUNTS} == {
        c: body["totals"][c] for c in COUNTS
    }
    for table in ("daily", "steps", "senders", "providers"):
        as_json = api.get(f"/api/v1/analytics/{table}", params=scope).json()["items"]
        as_csv = api.get(f"/api/v1/analytics/{table}", params={**scope, "format": "csv"})
        assert as_csv.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [{c: int(row[c]) for c in COUNTS} for row in rows] == [
            {c: row[c] for c in COUNTS} for row in as_json
        ], table


def test_a_reversed_range_is_a_422_and_an_unknown_campaign_a_404(api):
    reversed_range = api.get(
        "/api/v1/analytics/daily", params={"start": "2026-05-02", "end": "2026-05-01"}
    )
    assert reversed_range.status_code == 422
    assert reversed_range.json()["error"]["message"] == (
        "The range starts (2026-05-02) after it ends (2026-05-01)."
    )
    missing = api.get(f"/api/v1/campaigns/{uuid.uuid4()}/analytics")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "No such campaign."


def test_a_day_that_is_not_written_yyyy_mm_dd_is_a_422(api):
    assert api.get("/api/v1/analytics/providers", params={"end": "0"}).status_code == 422
    assert api.get("/api/v1/analytics/providers", params={"end": "2026-05-01"}).status_code == 200
