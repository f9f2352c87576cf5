"""The campaign, sender and sends pages as a browser without JavaScript sees them."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from random import Random

import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.contacts import lists
from outreach.delivery import planning
from outreach.delivery.models import SentEmail
from outreach.inbox.models import EmailReply
from outreach.leases import Worker
from outreach.senders import service as senders
from outreach.senders.states import SenderState
from tests.campaign_setup import PEOPLE, launched_from_outbox, left_sending
from tests.contact_files import import_text
from tests.plain_sql import sender
from tests.web_session import csrf_token, followed, post


def new_campaign(client, session, clock, tmp_path, people=PEOPLE):
    audience = lists.create(session, "Pioneers", None, clock.now())
    import_text(session, clock, tmp_path, people, list_id=audience.id)
    account = sender(session.connection())
    response = client.post(
        "/campaigns",
        data={
            "name": "Spring",
            "list_id": str(audience.id),
            "sender_id": account,
            "csrf_token": csrf_token(client, "/campaigns"),
        },
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


SETTINGS = {
    "start": "09:00",
    "end": "17:00",
    "days": "monday",
    "timezone": "UTC",
    "daily_limit": "50",
    "spacing": "60",
    "jitter": "10",
}


def post_settings(client, page, **changes):
    """The settings form as saved with these changes; a change to None leaves the field out."""
    fields = {name: value for name, value in (SETTINGS | changes).items() if value is not None}
    return post(client, page + "/settings", page, **fields)


def test_a_campaign_without_a_name_is_refused_with_the_reason(signed_in):
    response = post(signed_in, "/campaigns", "/campaigns", name="  ")
    assert response.status_code == 422
    assert "A campaign needs a name" in response.text


def test_a_refused_campaign_keeps_the_name_list_and_senders_typed(
    signed_in, session, clock, tmp_path
):
    audience = lists.create(session, "Pioneers", None, clock.now())
    account = sender(session.connection())
    response = post(
        signed_in,
        "/campaigns",
        "/campaigns",
        name="Spring",
        list_id=str(audience.id),
        sender_id=[account, "not-an-id"],
    )
    assert response.status_code == 422
    assert "Choose a list and senders from the lists." in response.text
    assert 'name="name" required maxlength="200" value="Spring"' in response.text
    assert f'<option value="{audience.id}" selected>' in response.text
    assert f'value="{account}" checked' in response.text


def test_a_step_with_a_delay_that_is_not_a_number_is_explained_on_the_campaign_page(
    signed_in, session, clock, tmp_path
):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post(signed_in, page + "/steps", page, subject="Hi", body="Hello")
    response = post(
        signed_in, page + "/steps", page, subject="", body="Any news?", delay_days="abc"
    )
    assert response.status_code == 422
    assert "delay days and hours are whole numbers" in response.text
    assert "Preview for ada@analytical.example" in response.text
    assert 'name="delay_days" min="0" value="abc"' in response.text
    assert ">Any news?</textarea>" in response.text

    step = re.search(r'action="(/campaigns/[0-9a-f-]{36}/steps/[0-9a-f-]{36})"', response.text)
    edited = post(signed_in, step.group(1), page, subject="Hi {{ first_name", body="Changed")
    assert edited.status_code == 422
    assert 'value="Hi {{ first_name"' in edited.text
    assert ">Changed</textarea>" in edited.text


def test_launching_with_a_field_some_contacts_lack_leaves_them_out_saying_why(
    signed_in, session, clock, tmp_path
):
    page = new_campaign(signed_in, session, clock, tmp_path, PEOPLE + "linus@kernel.example,,,\n")
    post(
        signed_in, page + "/steps", page, subject="Hi {{ first_name }}", body="Hello {{ company }}"
    )
    response = followed(signed_in, post(signed_in, page + "/launch", page))
    why = (
        "left out: step 1 subject uses {{ first_name }}, which is empty for this contact and "
        "has no default"
    )
    assert f"Launched: 3 contacts enrolled. 1 skipped: {why}." in html.unescape(response.text)
    row = html.unescape(signed_in.get(page + "/contacts").text).split("linus@kernel.example")[1]
    assert why in row.split("</tr>")[0]


def test_launching_with_a_field_every_contact_lacks_is_refused_listing_them(
    signed_in, session, clock, tmp_path
):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post(signed_in, page + "/steps", page, subject="Hi {{ nickname }}", body="Hello")
    response = post(signed_in, page + "/launch", page)
    assert response.status_code == 422
    assert "ada@analytical.example" in response.text
    assert "nickname" in response.text
    assert ">draft<" in response.text


def test_an_archived_campaign_says_its_steps_can_no_longer_change_rather_than_to_pause_it(
    signed_in, session, clock, tmp_path
):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post(signed_in, page + "/steps", page, subject="Hi {{ first_name }}", body="Hello")
    post(signed_in, page + "/archive", page)
    archived = signed_in.get(page + "/sequence")
    assert "The campaign is archived: its steps can no longer change." in archived.text
    refused = post(signed_in, page + "/steps", page, subject="More", body="More")
    assert refused.status_code == 422
    assert "The campaign is archived: its steps can no longer change." in refused.text
    assert "pause it" not in refused.text


def test_a_launched_campaign_can_be_paused_and_resumed_and_its_steps_are_locked_while_active(
    signed_in, session, clock, tmp_path
):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post(signed_in, page + "/steps", page, subject="Hi {{ first_name }}", body="Hello")
    launched = followed(signed_in, post(signed_in, page + "/launch", page))
    assert "Launched: 3 contacts enrolled." in launched.text
    assert "no one-click unsubscribe (RFC 8058)" in launched.text
    locked = signed_in.get(page + "/sequence").text
    assert "The campaign is sending: pause it to change its steps." in locked
    refused = post(signed_in, page + "/steps", page, subject="More", body="More")
    assert "The campaign is sending: pause it to change its steps." in refused.text
    post(signed_in, page + "/pause", page)
    assert 'data-testid="campaign-status">paused<' in signed_in.get(page).text
    post(signed_in, page + "/resume", page)
    assert 'data-testid="campaign-status">active<' in signed_in.get(page).text


def test_a_bad_time_zone_is_explained(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    response = post_settings(signed_in, page, timezone="Mars/Olympus")
    assert response.status_code == 422
    assert "There is no time zone called &#39;Mars/Olympus&#39;: type a city" in response.text
    assert 'name="timezone" value="Mars/Olympus"' in response.text


def test_settings_without_a_send_day_are_refused_on_the_page(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    response = post_settings(signed_in, page, start="00:00", end="00:00", days=None)
    assert response.status_code == 422
    assert "Choose at least one send day: with none the campaign would never send." in (
        response.text
    )
    assert "Sends 09:00-18:00;" in response.text


def test_refused_settings_are_shown_as_typed(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    response = post_settings(
        signed_in, page, days=None, daily_limit="7", timezone="Europe/Lisbon", jitter="lots"
    )
    assert response.status_code == 422
    assert "limits are whole numbers" in response.text
    assert 'name="daily_limit" min="1" value="7"' in response.text
    assert 'name="jitter" min="0" value="lots"' in response.text
    assert 'name="timezone" value="Europe/Lisbon"' in response.text
    assert 'name="days" value="monday" checked' not in response.text  # as unticked
    assert 'name="sender_id"' in response.text
    assert 'name="unsubscribe_line" checked' not in response.text
    # Saved, the forms show what is stored again.
    assert 'name="daily_limit" min="1" value="50"' in signed_in.get(page + "/schedule").text
    assert 'name="unsubscribe_line" checked' in signed_in.get(page + "/settings").text


def test_equal_start_and_end_read_as_all_day(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post_settings(signed_in, page, start="00:00", end="00:00")
    assert "Sends all day;" in signed_in.get(page + "/schedule").text


def test_the_preview_shows_the_first_contacts_email(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post(
        signed_in,
        page + "/steps",
        page,
        subject="Hello from {{ company }}",
        body="How is {{ city }}?",
    )
    shown = signed_in.get(page + "/sequence").text
    assert "Preview for ada@analytical.example" in shown
    assert "How is London?" in shown


def test_the_preview_ends_with_the_unsubscribe_line_the_sent_email_has(
    signed_in, session, container, clock, tmp_path
):
    found, _ = launched_from_outbox(session, container, clock, tmp_path)
    sent = session.scalars(
        sa.select(SentEmail).where(SentEmail.recipient_email == "ada@analytical.example")
    ).one()
    assert "Not interested? Unsubscribe: http" in sent.body

    page = signed_in.get(f"/campaigns/{found.id}/sequence").text
    assert "Preview for ada@analytical.example" in page
    assert f"<pre>{html.escape(sent.body)}</pre>" in page


def test_without_the_unsubscribe_line_the_preview_has_none(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post(signed_in, page + "/steps", page, subject="Hello", body="How is {{ city }}?")
    assert "Not interested? Unsubscribe:" in signed_in.get(page + "/sequence").text
    post_settings(signed_in, page)  # with "End each email with an unsubscribe line" unticked
    shown = signed_in.get(page + "/sequence").text
    assert "<pre>How is London?</pre>" in shown
    assert "Not interested? Unsubscribe:" not in shown


def test_an_smtp_account_that_cannot_be_reached_is_not_added_and_the_page_says_why(signed_in):
    refused = post(
        signed_in,
        "/senders",
        "/senders",
        kind="smtp",
        email="me@ourco.example",
        host="127.0.0.1",
        port="1",
        security="none",
    )
    assert refused.status_code == 422
    assert "connection refused" in refused.text.lower()
    assert "Nothing was saved." in refused.text
    assert 'data-sender="me@ourco.example"' not in signed_in.get("/senders").text


def test_nothing_to_decide_on_the_sends_page_by_default(signed_in):
    assert "Nothing to decide." in signed_in.get("/sends").text


def test_due_contacts_say_what_holds_them_and_their_timeline_too(
    signed_in, session, container, clock, tmp_path
):
    found, _ = launched_from_outbox(session, container, clock, tmp_path, daily_limit=1)

    page = signed_in.get(f"/campaigns/{found.id}/contacts").text
    held = "<td>due now</td>\n        <td>daily limit reached (1 of 1 today); next at Tue 09:00 UTC"
    assert page.count(held) == 2
    timeline = re.findall(r'href="(/enrollments/[0-9a-f-]{36})"', page)
    waiting = [signed_in.get(link).text for link in timeline]
    said = "Next email: due now (daily limit reached (1 of 1 today); next at Tue 09:00 UTC)"
    assert sum(said in text for text in waiting) == 2

    campaigns.pause(session, found.id)
    session.commit()
    paused = signed_in.get(f"/campaigns/{found.id}/contacts").text
    assert paused.count("<td>due now</td>\n        <td>the campaign is paused</td>") == 2


def test_emails_queued_for_a_paused_account_say_so_beside_each_contact(
    signed_in, session, container, clock, tmp_path
):
    found, account = launched_from_outbox(session, container, clock, tmp_path, daily_limit=1)
    clock.advance(timedelta(days=1))
    links = container.links
    queued, _ = planning.queue_campaign(session, found.id, clock.now(), "w", links, Random(1))
    assert len(queued) == 1  # the daily limit again
    senders.set_state(session, account.id, SenderState.paused, "paused by Ada", clock.now())
    session.commit()

    page = signed_in.get(f"/campaigns/{found.id}/contacts").text
    held = "waiting for grace@acme.example, which is paused: paused by Ada"
    assert page.count(held) == 1
    [row] = [row for row in page.split("<tr>") if held in row]
    [link] = re.findall(r'href="(/enrollments/[0-9a-f-]{36})"', row)
    assert f"Next email: {held}" in signed_in.get(link).text


def test_a_draft_campaigns_list_is_chosen_on_its_page(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    others = lists.create(session, "Others", None, clock.now())
    session.commit()
    assert ">Pioneers</option>" in signed_in.get(page + "/settings").text
    chosen = post(signed_in, page + "/list", page, list_id=str(others.id))
    assert chosen.status_code == 303
    shown = signed_in.get(page + "/settings").text
    assert f'<option value="{others.id}" selected>Others</option>' in shown


def test_the_sends_page_shows_at_once_what_a_gone_worker_left_in_doubt(
    signed_in, session, container, clock, tmp_path, smtp_server
):
    gone = Worker("gone:7:abcdef", "another-host", 7)
    left_sending(session, container, clock, tmp_path, smtp_server.port, gone, lease=False)
    page = signed_in.get("/sends").text
    assert "Nothing to decide." not in page
    assert page.count("the worker stopped while sending") == 3


def test_a_contact_who_replied_has_no_next_email_and_says_why_on_the_page_and_the_api(
    signed_in, session, container, clock, tmp_path, api_token
):
    found, _ = launched_from_outbox(
        session, container, clock, tmp_path, delay_between_emails_seconds=60
    )
    enrollment, replier = next(
        (e, c)
        for e, c in campaign_queries.enrollments_of(session, found.id)
        if e.current_sequence_step == 1
    )
    session.add(EmailReply(contact_id=replier.id, campaign_id=found.id, received_at=clock.now()))
    session.commit()
    clock.advance(timedelta(days=8))  # a Tuesday, when its follow-up was long due

    page = signed_in.get(f"/campaigns/{found.id}/contacts").text
    [row] = [row for row in page.split("<tr>") if f'/enrollments/{enrollment.id}"' in row]
    assert "<td>—</td>" in row
    assert "ended: they replied" in row
    timeline = signed_in.get(f"/enrollments/{enrollment.id}").text
    assert "No next email: ended: they replied." in timeline
    listed = signed_in.get(
        f"/api/v1/campaigns/{found.id}/enrollments",
        headers={"Authorization": f"Bearer {api_token}"},
    ).json()["items"]
    [shown] = [row for row in listed if row["id"] == str(enrollment.id)]
    assert shown["status"] == "replied"
    assert (shown["next_send_at"], shown["next_send"], shown["why"]) == (
        None,
        "",
        "ended: they replied",
    )
    others = [row for row in listed if row["id"] != str(enrollment.id)]
    assert all(row["next_send"] == "due now" for row in others)
    assert [row["why"] for row in others].count("goes with the worker's next pass") == 1


def test_a_citys_name_saves_its_time_zone_and_an_unclear_one_names_the_choices(
    signed_in, session, clock, tmp_path
):
    page = new_campaign(signed_in, session, clock, tmp_path)
    saved = post_settings(signed_in, page, timezone="berlin", part="schedule")
    assert saved.status_code == 303
    assert 'name="timezone" value="Europe/Berlin"' in signed_in.get(page + "/schedule").text
    unclear = post_settings(signed_in, page, timezone="new", part="schedule")
    assert unclear.status_code == 422
    assert "Which time zone is &#39;new&#39;? Choose one: " in unclear.text
    assert "America/New_York" in unclear.text


def test_the_time_zone_search_answers_with_the_zones_a_city_finds(signed_in):
    found = signed_in.get("/time-zones", params={"timezone": "Berlin"}, headers={"HX-Request": "1"})
    assert found.status_code == 200
    assert 'data-zone="Europe/Berlin"' in found.text
    assert "<html" not in found.text


def test_saving_the_settings_tab_keeps_the_schedule(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post_settings(signed_in, page, daily_limit="7", part="schedule")
    ticked = post(signed_in, page + "/settings", page + "/settings", part="settings")
    assert ticked.status_code == 303
    assert 'name="daily_limit" min="1" value="7"' in signed_in.get(page + "/schedule").text
    assert 'name="unsubscribe_line" checked' not in signed_in.get(page + "/settings").text


def test_the_launch_asks_first_and_says_what_stops_it(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    stopped = signed_in.get(page + "/launch").text
    assert "It cannot start yet:" in stopped
    assert "add at least one step" in stopped
    assert "Launch now" not in stopped
    post(signed_in, page + "/steps", page, subject="Hi {{ first_name }}", body="Hello")
    asked = signed_in.get(page + "/launch").text
    assert 'data-testid="launch-contacts">3 contacts<' in asked
    assert "Launch now" in asked
    assert 'data-testid="campaign-status">draft<' in signed_in.get(page).text


def test_the_launch_page_shows_at_once_and_its_forecast_follows(
    signed_in, session, clock, tmp_path
):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post(signed_in, page + "/steps", page, subject="Hi {{ first_name }}", body="Hello")
    asked = signed_in.get(page + "/launch").text
    assert 'hx-get="' + page + '/launch/outlook"' in asked
    assert "launch-from" not in asked
    forecast = signed_in.get(page + "/launch/outlook", headers={"HX-Request": "1"}).text
    assert "<html" not in forecast
    assert 'data-testid="launch-contacts">3 contacts<' in forecast
    assert 'data-testid="launch-from">me@ourco.example' in forecast
    # Without JavaScript, the link in <noscript> opens the launch page with the forecast in it.
    whole = signed_in.get(page + "/launch/outlook").text
    assert 'data-testid="launch-from">me@ourco.example' in whole
    assert "Launch now" in whole
    followed(signed_in, post(signed_in, page + "/launch", page))
    late = signed_in.get(page + "/launch/outlook", headers={"HX-Request": "1"})
    assert late.headers["HX-Redirect"] == page


def test_a_test_send_without_its_forms_key_is_refused_in_words(signed_in, session, clock, tmp_path):
    page = new_campaign(signed_in, session, clock, tmp_path)
    post(signed_in, page + "/steps", page, subject="Hi", body="Hello")
    sequence = signed_in.get(page + "/sequence").text
    test = re.search(r'action="(/campaigns/[0-9a-f-]{36}/steps/[0-9a-f-]{36}/test)"', sequence)
    refused = post(signed_in, test.group(1), page, key="not-a-key")
    assert refused.status_code == 422
    assert "The form is incomplete: reload the page and try again." in refused.text


def test_the_contacts_tab_shows_those_in_one_status(signed_in, session, container, clock, tmp_path):
    found, _ = launched_from_outbox(session, container, clock, tmp_path)
    page = f"/campaigns/{found.id}/contacts"
    assert len(re.findall(r'href="/enrollments/', signed_in.get(page).text)) == 3
    assert "No contact is replied." in signed_in.get(page, params={"status": "replied"}).text
    shown = signed_in.get(page, params={"status": "in_progress"}).text
    assert len(re.findall(r'href="/enrollments/', shown)) == 3


def test_a_running_campaigns_overview_says_when_its_next_emails_go(
    signed_in, session, container, clock, tmp_path
):
    found, _ = launched_from_outbox(session, container, clock, tmp_path, daily_limit=1)
    overview = html.unescape(signed_in.get(f"/campaigns/{found.id}").text)
    # The numbers come at once; the forecast comes after, asked by htmx (a link without it).
    assert 'data-testid="enrollment-figures"' in overview
    # Each step by the fields its subject uses, not the template's syntax.
    assert '1 · Step 1 <span class="hint">Hello from [company], [first_name]</span>' in overview
    assert "{{" not in overview
    assert f'hx-get="/campaigns/{found.id}/next"' in overview
    assert f'<noscript><a href="/campaigns/{found.id}/next">See when the emails go</a>' in overview
    said = "Next emails go Tue 09:00 UTC, up to 1 a day, finished around"
    asked = signed_in.get(f"/campaigns/{found.id}/next", headers={"HX-Request": "true"})
    assert said in html.unescape(asked.text)
    assert "<nav" not in asked.text
    without_javascript = html.unescape(signed_in.get(f"/campaigns/{found.id}/next").text)
    assert said in without_javascript
    assert "Back to the overview" in without_javascript
