"""The drafts pages as a browser without JavaScript sees them, and the card htmx swaps in."""

from __future__ import annotations

import html
import re

from outreach.campaigns import service as campaigns
from outreach.drafts import campaign_steps, review
from outreach.drafts.models import EmailStatus
from outreach.senders import service as senders
from tests.campaign_setup import launched_from_outbox
from tests.drafts_setup import FIRST_EMAIL, approved_one_off, contact, people, template
from tests.integration.test_draft_sending import ai_campaign
from tests.plain_sql import sender
from tests.web_session import csrf_token, followed, post


def fresh(session, draft_id):
    session.expire_all()
    return review.get(session, draft_id)


def write_for_the_list(client, session, clock, tmp_path, container) -> str:
    audience = people(session, clock, tmp_path)
    made = template(session, clock)
    response = post(
        client,
        "/drafts/batches",
        "/drafts/batches",
        target=f"list:{audience.id}",
        template_id=str(made.id),
        types="first_outreach",
    )
    assert response.status_code == 303, response.text
    batch_page = response.headers["location"]
    waiting = client.get(batch_page)
    assert 'hx-trigger="every 1s"' in waiting.text
    assert "waiting for the worker" in waiting.text
    container.drafting_pass()
    return batch_page


def test_the_drafts_area_is_in_the_navigation(signed_in):
    page = signed_in.get("/drafts")
    assert page.status_code == 200
    assert '<a href="/drafts" aria-current="page">Drafts</a>' in page.text
    assert "Nothing here." in page.text


def test_a_batch_page_shows_progress_and_then_stops_polling_with_no_cost_when_no_ai_wrote(
    signed_in, session, clock, tmp_path, container
):
    batch_page = write_for_the_list(signed_in, session, clock, tmp_path, container)

    done = signed_in.get(batch_page)

    assert "Done: 3 written, 0 to go (0 skipped)." in done.text
    assert 'hx-trigger="every 1s"' not in done.text
    # The template drafter wrote them: no tokens, no cost.
    assert "Tokens:" not in done.text
    assert 'data-testid="batch-cost"' not in done.text
    batches = signed_in.get("/drafts/batches").text
    assert "List Pioneers: first_outreach" in batches
    assert "<td>none (no AI)</td>" in batches


def test_the_queue_shows_each_draft_with_its_warnings_and_approves_without_javascript(
    signed_in, session, clock, tmp_path, container
):
    write_for_the_list(signed_in, session, clock, tmp_path, container)
    ada = review.page(
        session,
        review.DraftFilter(contact_id=contact(session, "ada@analytical.example").id),
        None,
        1,
    )[0][0][0]
    review.edit(session, ada.id, "Routes for {{ company }}", ada.body, clock.now())
    session.commit()

    queue = signed_in.get("/drafts")

    assert "3 drafts" in queue.text
    assert "Routes for Bletchley Park" in queue.text
    assert "Unfilled placeholders" in queue.text
    assert "<del>Analytical</del>" in queue.text or "<del>Analytical Engines</del>" in queue.text
    assert 'src="/static/drafts.js"' in queue.text
    refused = post(signed_in, f"/drafts/{ada.id}/approve", "/drafts", next="/drafts?status=draft")
    assert refused.status_code == 422
    assert (
        "The draft cannot be approved: it still holds unfilled placeholders "
        "(&#34;{{ company }}&#34;): edit it to fill them in." in refused.text
    )
    assert fresh(session, ada.id).status == EmailStatus.draft
    grace = review.page(
        session,
        review.DraftFilter(contact_id=contact(session, "grace@navy.example").id),
        None,
        1,
    )[0][0][0]
    response = post(
        signed_in, f"/drafts/{grace.id}/approve", "/drafts", next="/drafts?status=draft"
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/drafts?status=draft"
    assert fresh(session, grace.id).status == EmailStatus.approved
    assert "2 drafts" in signed_in.get("/drafts").text


def test_htmx_gets_the_card_back_after_an_edit_or_an_approval(
    signed_in, session, clock, tmp_path, container
):
    write_for_the_list(signed_in, session, clock, tmp_path, container)
    [(draft, _)] = review.page(
        session, review.DraftFilter(contact_id=contact(session, "grace@navy.example").id), None, 1
    )[0]
    token = csrf_token(signed_in, "/drafts")
    headers = {"HX-Request": "true", "X-CSRF-Token": token}

    edited = signed_in.post(
        f"/drafts/{draft.id}/edit",
        data={"subject": "Navy routes", "body": "Hi Grace, a short note."},
        headers=headers,
    )
    assert edited.status_code == 200
    assert edited.text.lstrip().startswith("<article")
    assert ">edited<" in edited.text
    assert "Navy routes" in edited.text

    approved = signed_in.post(f"/drafts/{draft.id}/approve", headers=headers)
    assert 'data-testid="draft-status">approved<' in approved.text

    refused = signed_in.post(
        f"/drafts/{draft.id}/edit", data={"subject": "x", "body": "y"}, headers=headers
    )
    assert "only a draft waiting for review" in refused.text


def test_approve_all_shown(signed_in, session, clock, tmp_path, container):
    write_for_the_list(signed_in, session, clock, tmp_path, container)
    page = signed_in.get("/drafts").text
    ids = re.findall(r'name="draft_id" value="([^"]+)"', page)
    assert len(ids) == 3

    response = signed_in.post(
        "/drafts/approve",
        data={
            "csrf_token": csrf_token(signed_in, "/drafts"),
            "draft_id": ids,
            "next": "/drafts?status=draft",
        },
    )

    assert response.status_code == 303
    followed = signed_in.get(response.headers["location"])
    assert "Approved 3 drafts." in followed.text
    assert "0 drafts" in followed.text


def test_approve_all_shown_leaves_a_draft_with_a_placeholder_and_says_why(
    signed_in, session, clock, tmp_path, container
):
    write_for_the_list(signed_in, session, clock, tmp_path, container)
    ada = contact(session, "ada@analytical.example")
    [(draft, _)] = review.page(session, review.DraftFilter(contact_id=ada.id), None, 1)[0]
    review.edit(session, draft.id, draft.subject, "Edited body for {{first_name}}", clock.now())
    session.commit()
    ids = re.findall(r'name="draft_id" value="([^"]+)"', signed_in.get("/drafts").text)

    response = post(signed_in, "/drafts/approve", "/drafts", draft_id=ids)

    followed = signed_in.get(response.headers["location"]).text
    assert (
        "Approved 2 drafts. Not approved: ada@analytical.example: it still holds unfilled "
        "placeholders (&#34;{{first_name}}&#34;): edit it to fill them in." in followed
    )
    assert fresh(session, draft.id).status == EmailStatus.draft


def test_a_draft_page_rewrites_with_a_note_and_schedules_once_approved(
    signed_in, session, clock, tmp_path, container
):
    write_for_the_list(signed_in, session, clock, tmp_path, container)
    [(draft, _)] = review.page(
        session,
        review.DraftFilter(contact_id=contact(session, "alan@bletchley.example").id),
        None,
        1,
    )[0]
    page = f"/drafts/{draft.id}"
    assert "Write it again" in signed_in.get(page).text

    rewrite = post(signed_in, page + "/rewrite", page, note="Mention Bletchley")
    assert rewrite.status_code == 303
    assert "Being written again (Mention Bletchley)" in signed_in.get(page).text
    container.drafting_pass()

    post(signed_in, page + "/approve", page)
    account = sender(session.connection())
    shown = signed_in.get(page).text
    assert "Send it" in shown
    scheduled = post(signed_in, page + "/schedule", page, sender_id=account, at="")
    assert scheduled.status_code == 303
    after = signed_in.get(page).text
    assert 'data-testid="schedule-status">pending<' in after
    assert fresh(session, draft.id).status == EmailStatus.scheduled


def test_the_templates_page_adds_one_and_tries_it_on_a_contact(signed_in, session, clock, tmp_path):
    people(session, clock, tmp_path)
    made = post(
        signed_in, "/drafts/templates", "/drafts/templates", name="First", content=FIRST_EMAIL
    )
    assert made.status_code == 303
    page = made.headers["location"]

    tried = followed(
        signed_in, post(signed_in, page + "/trial", page, contact="ada@analytical.example")
    )

    assert "Routes for Analytical Engines" in tried.text
    assert "No warnings." in tried.text
    assert "Written by template" in tried.text
    broken = post(signed_in, page + "/trial", page, contact="nobody@nowhere.example")
    assert "No contact matches" in broken.text
    twice = post(signed_in, "/drafts/templates", "/drafts/templates", name="first", content="Hi")
    assert twice.status_code == 422
    assert "already a template" in twice.text


def test_the_campaign_page_marks_ai_written_steps_and_shows_why_a_contact_waits(
    signed_in, session, clock, tmp_path, container
):
    account = senders.add(
        session,
        kind=senders.SenderKind.outbox,
        email="me@ourco.example",
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        now=clock.now(),
    )
    found = ai_campaign(session, clock, tmp_path, account, require_approval=True)
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    container.drafting_pass()
    container.sending_pass()

    page = f"/campaigns/{found.id}"

    assert re.search(r'name="ai_written" checked', signed_in.get(page + "/sequence").text)
    assert re.search(r'name="require_approval" checked', signed_in.get(page + "/settings").text)
    waiting = signed_in.get(page + "/contacts").text
    assert waiting.count("waiting for approval: step 1&#39;s AI-written draft") == 3
    queue = signed_in.get(f"/drafts?campaign_id={found.id}").text
    assert "3 drafts" in queue


def test_drafts_of_ai_written_steps_from_the_template_drafter_say_no_ai_wrote_them(
    signed_in, session, clock, tmp_path, container
):
    account = senders.add(
        session,
        kind=senders.SenderKind.outbox,
        email="me@ourco.example",
        display_name=None,
        secret_key=container.settings.secret_key_value(),
        now=clock.now(),
    )
    found = ai_campaign(session, clock, tmp_path, account, require_approval=True)
    campaign_steps.plan(session, found, clock.now(), list_too=True)
    batch = campaign_steps.batch_of(session, found, clock.now())
    session.commit()
    container.drafting_pass()

    batch_page = signed_in.get(f"/drafts/batches/{batch.id}").text
    queue = signed_in.get(f"/drafts?campaign_id={found.id}").text

    assert "Written by the template drafter (no AI)." in batch_page
    assert "No AI wrote these AI-written steps&#39; drafts" in batch_page
    assert queue.count('written by <span data-testid="draft-writer">the template drafter') == 3
    assert queue.count("No AI wrote this AI-written step&#39;s draft") == 3


def test_a_list_batch_says_its_writer_without_a_warning(
    signed_in, session, clock, tmp_path, container
):
    batch_page = signed_in.get(write_for_the_list(signed_in, session, clock, tmp_path, container))

    assert "Written by the template drafter (no AI)." in batch_page.text
    assert "No AI wrote" not in batch_page.text


def test_a_one_off_email_to_someone_in_a_running_campaign_goes_only_with_the_send_anyway_tick(
    signed_in, session, clock, tmp_path, container
):
    _, account = launched_from_outbox(session, container, clock, tmp_path)
    draft = approved_one_off(session, clock, "ada@analytical.example")
    page = f"/drafts/{draft.id}"
    why = "ada@analytical.example would get a second first email: the campaign 'Spring' is writing to them"

    shown = html.unescape(signed_in.get(page).text)
    assert f'data-testid="in-touch">{why}.' in shown
    assert "Send anyway" in shown

    refused = post(signed_in, page + "/schedule", page, sender_id=str(account.id), at="")
    assert refused.status_code == 422
    assert f'{why}. To send it all the same: tick "Send anyway".' in html.unescape(refused.text)
    assert fresh(session, draft.id).status == EmailStatus.approved

    sent = post(
        signed_in, page + "/schedule", page, sender_id=str(account.id), at="", anyway="true"
    )
    assert sent.status_code == 303
    assert fresh(session, draft.id).status == EmailStatus.scheduled
