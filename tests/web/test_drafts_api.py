"""/api/v1 for templates, draft batches and the review queue."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.campaigns import service as campaigns
from outreach.drafts.models import EmailDraft, EmailStatus
from tests.campaign_setup import PEOPLE, launched_from_outbox, three_step_campaign
from tests.drafts_setup import FIRST_EMAIL, FOLLOW_UP, approved_one_off, people
from tests.plain_sql import sender


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def audience(session, clock, tmp_path):
    return str(people(session, clock, tmp_path).id)


def written(api, container, audience) -> list[dict]:
    template = api.post("/api/v1/templates", json={"name": "First", "content": FIRST_EMAIL})
    assert template.status_code == 201
    made = api.post(
        "/api/v1/draft-batches",
        json={"source": "list", "list_id": audience, "template_id": template.json()["id"]},
    )
    assert made.status_code == 201
    assert made.json()["status"] == "queued"
    assert made.json()["total"] == 3
    container.drafting_pass(batch_id=made.json()["id"])
    batch = api.get(f"/api/v1/draft-batches/{made.json()['id']}").json()
    assert batch["status"] == "completed"
    assert batch["counts"] == {"written": 3}
    assert batch["estimated_cost_usd"] == 0
    page = api.get("/api/v1/drafts", params={"batch_id": batch["id"], "status": "draft"}).json()
    assert page["total"] == 3
    return page["items"]


def test_drafts_are_written_edited_approved_and_scheduled_over_the_api(
    api, container, audience, session
):
    drafts = written(api, container, audience)
    ada = next(d for d in drafts if d["contact_email"] == "ada@analytical.example")
    assert ada["subject"] == "Routes for Analytical Engines"

    edited = api.patch(
        f"/api/v1/drafts/{ada['id']}", json={"subject": ada["subject"], "body": "Hi Ada, short."}
    )
    assert edited.status_code == 200
    detail = edited.json()
    assert detail["edited_body"] == "Hi Ada, short."
    assert detail["body"] == ada["body"]
    assert {"op": "insert", "text": "short."} in detail["body_diff"]
    assert detail["model"] == "template"

    bulk = api.post("/api/v1/drafts/approve", json={"ids": [d["id"] for d in drafts]}).json()
    assert len(bulk["approved"]) == 3
    assert bulk["refused"] == {}
    again = api.post(f"/api/v1/drafts/{ada['id']}/approve")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"

    sender = api.post("/api/v1/senders", json={"kind": "outbox", "email": "me@ourco.example"})
    scheduled = api.post(
        f"/api/v1/drafts/{ada['id']}/schedule", json={"sender_id": sender.json()["id"]}
    )
    assert scheduled.status_code == 201
    assert scheduled.json()["status"] == "pending"
    assert api.get(f"/api/v1/drafts/{ada['id']}").json()["status"] == "scheduled"


def test_rejecting_and_rewriting_over_the_api(api, container, audience):
    drafts = written(api, container, audience)
    target = drafts[0]["id"]
    rejected = api.post(f"/api/v1/drafts/{target}/reject", json={"reason": "off"}).json()
    assert rejected["status"] == "rejected"
    assert rejected["rejected_reason"] == "off"
    assert api.get("/api/v1/drafts", params={"status": "rejected"}).json()["total"] == 1

    job = api.post(f"/api/v1/drafts/{target}/rewrite", json={"note": "warmer"})
    assert job.status_code == 202
    assert (job.json()["status"], job.json()["reviewer_note"]) == ("queued", "warmer")
    container.drafting_pass()
    assert api.get(f"/api/v1/drafts/{target}").json()["status"] == "draft"


def test_a_template_is_tried_on_one_contact(api, audience, session):
    from tests.drafts_setup import contact

    template = api.post("/api/v1/templates", json={"name": "First", "content": FIRST_EMAIL}).json()
    ada = contact(session, "ada@analytical.example")
    trial = api.post(f"/api/v1/templates/{template['id']}/trial", json={"contact_id": str(ada.id)})
    assert trial.status_code == 200
    assert trial.json()["subject"] == "Routes for Analytical Engines"
    assert trial.json()["findings"] == []
    assert api.get("/api/v1/drafts").json()["total"] == 0

    broken = api.put(
        f"/api/v1/templates/{template['id']}",
        json={"name": "First", "content": "Subject: Hi\nHello {{ region }}"},
    )
    assert broken.status_code == 200
    refused = api.post(
        f"/api/v1/templates/{template['id']}/trial", json={"contact_id": str(ada.id)}
    )
    assert refused.status_code == 422
    assert "region" in refused.json()["error"]["message"]


def test_bad_requests_get_the_house_errors(api, audience):
    assert api.post("/api/v1/draft-batches", json={"source": "list"}).status_code == 422
    assert api.get("/api/v1/drafts", params={"after": "nonsense"}).status_code == 422
    missing = api.get("/api/v1/drafts/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    twice = api.post("/api/v1/templates", json={"name": "A", "content": "Hi"})
    assert twice.status_code == 201
    assert api.post("/api/v1/templates", json={"name": "a", "content": "Hi"}).status_code == 409


def test_a_draft_with_an_unfilled_placeholder_is_neither_approved_nor_scheduled(
    api, container, audience, session
):
    drafts = written(api, container, audience)
    ada = next(d for d in drafts if d["contact_email"] == "ada@analytical.example")
    api.patch(
        f"/api/v1/drafts/{ada['id']}",
        json={"subject": ada["subject"], "body": "Edited body for {{first_name}}"},
    )

    refused = api.post(f"/api/v1/drafts/{ada['id']}/approve")
    bulk = api.post("/api/v1/drafts/approve", json={"ids": [d["id"] for d in drafts]}).json()

    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        'The draft cannot be approved: it still holds unfilled placeholders ("{{first_name}}"): '
        "edit it to fill them in."
    )
    assert len(bulk["approved"]) == 2
    assert bulk["refused"] == {
        ada[
            "id"
        ]: 'it still holds unfilled placeholders ("{{first_name}}"): edit it to fill them in'
    }
    # Approved before such drafts were refused: it is not scheduled either.
    session.execute(
        sa.update(EmailDraft)
        .where(EmailDraft.id == uuid.UUID(ada["id"]))
        .values(status=EmailStatus.approved.value)
    )
    session.commit()
    sender = api.post("/api/v1/senders", json={"kind": "outbox", "email": "me@ourco.example"})
    scheduled = api.post(
        f"/api/v1/drafts/{ada['id']}/schedule", json={"sender_id": sender.json()["id"]}
    )
    assert scheduled.status_code == 422
    assert (
        "cannot be scheduled: it still holds unfilled placeholders"
        in (scheduled.json()["error"]["message"])
    )


def test_a_rejected_draft_is_rejected_without_a_body_and_said_to_be_rejected(
    api, container, audience
):
    target = written(api, container, audience)[0]["id"]

    rejected = api.post(f"/api/v1/drafts/{target}/reject")
    sender = api.post("/api/v1/senders", json={"kind": "outbox", "email": "me@ourco.example"})
    scheduled = api.post(
        f"/api/v1/drafts/{target}/schedule", json={"sender_id": sender.json()["id"]}
    )
    written_again = api.post(f"/api/v1/drafts/{target}/rewrite")

    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert scheduled.status_code == 409
    assert scheduled.json()["error"]["message"] == (
        "The draft was rejected: only an approved draft can be scheduled."
    )
    assert written_again.status_code == 202
    container.drafting_pass()
    waiting = api.post(f"/api/v1/drafts/{target}/schedule", json={"sender_id": sender.json()["id"]})
    assert waiting.json()["error"]["message"] == (
        "The draft is waiting for review: only an approved draft can be scheduled."
    )


ADA = "ada@analytical.example"


def test_a_one_off_email_to_someone_in_a_running_campaign_is_a_409_unless_sent_anyway(
    api, session, container, clock, tmp_path
):
    _, account = launched_from_outbox(session, container, clock, tmp_path)
    draft_id = str(approved_one_off(session, clock, ADA).id)
    asked = {"sender_id": str(account.id)}

    refused = api.post(f"/api/v1/drafts/{draft_id}/schedule", json=asked)

    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "ada@analytical.example would get a second first email: the campaign 'Spring' is "
        'writing to them. To send it all the same: send "anyway": true.'
    )
    assert api.get(f"/api/v1/drafts/{draft_id}").json()["status"] == "approved"
    confirmed = api.post(f"/api/v1/drafts/{draft_id}/schedule", json=asked | {"anyway": True})
    assert confirmed.status_code == 201
    assert confirmed.json()["status"] == "pending"


def test_a_one_off_first_email_to_someone_we_emailed_within_30_days_waits_for_confirmation(
    api, session, container, clock, tmp_path
):
    found, account = launched_from_outbox(session, container, clock, tmp_path)
    assert api.post(f"/api/v1/campaigns/{found.id}/archive").status_code == 200
    draft_id = str(approved_one_off(session, clock, ADA).id)
    asked = {"sender_id": str(account.id)}

    refused = api.post(f"/api/v1/drafts/{draft_id}/schedule", json=asked)
    assert refused.status_code == 409
    assert "we emailed them today (2026-03-02)" in refused.json()["error"]["message"]

    clock.advance(timedelta(days=31))
    assert api.post(f"/api/v1/drafts/{draft_id}/schedule", json=asked).status_code == 201


def test_a_draft_batch_skips_people_a_running_campaign_writes_to_and_lists_them(
    api, session, container, clock, tmp_path
):
    only_ada = "".join(line + "\n" for line in PEOPLE.splitlines()[:2])
    spring = three_step_campaign(
        session, clock, tmp_path, [sender(session.connection())], people=only_ada
    )
    campaigns.launch(session, spring.id, clock.now())  # enrolled, nothing sent yet
    everyone = people(session, clock, tmp_path, name="Everyone")
    session.commit()
    template = api.post("/api/v1/templates", json={"name": "First", "content": FIRST_EMAIL})

    made = api.post(
        "/api/v1/draft-batches",
        json={"source": "list", "list_id": str(everyone.id), "template_id": template.json()["id"]},
    )

    assert made.status_code == 201
    assert made.json()["counts"] == {"queued": 2, "skipped": 1}
    assert made.json()["skipped"] == [
        {
            "contact_email": ADA,
            "draft_type": "first_outreach",
            "reason": "they would get a second first email: the campaign 'Spring' is writing "
            "to them",
        }
    ]


def test_a_page_of_drafts_from_several_batches_shows_each_drafts_own_batch_and_warnings(
    api, container, audience
):
    """A page reads its drafts' jobs, templates and earlier drafts together, and a page of
    batches their jobs together: each still gets its own, as when it is read alone."""
    made = {}
    for kind, content in (
        ("first_outreach", FIRST_EMAIL),
        ("second_followup", f"Subject: About {{{{ city }}}}\n{FOLLOW_UP}"),
        ("final_followup", "Subject: Last note\nHello {{ region }}"),  # nobody has a region
    ):
        template = api.post("/api/v1/templates", json={"name": kind, "content": content}).json()
        made[kind] = api.post(
            "/api/v1/draft-batches",
            json={
                "source": "list",
                "list_id": audience,
                "template_id": template["id"],
                "types": [kind],
            },
        ).json()["id"]
    container.drafting_pass()

    page = api.get("/api/v1/drafts", params={"status": "draft"}).json()
    assert page["total"] == 6
    for item in page["items"]:
        alone = api.get(f"/api/v1/drafts/{item['id']}").json()
        assert alone["batch_id"] == made[item["draft_type"]]
        assert {key: alone[key] for key in item} == item
    listed = api.get("/api/v1/draft-batches").json()["items"]
    assert {batch["id"] for batch in listed} == set(made.values())
    for batch in listed:
        alone = api.get(f"/api/v1/draft-batches/{batch['id']}").json()
        assert batch == alone
        failed = batch["id"] == made["final_followup"]
        assert batch["counts"] == ({"failed": 3} if failed else {"written": 3})
        assert len(batch["failures"]) == (3 if failed else 0)
