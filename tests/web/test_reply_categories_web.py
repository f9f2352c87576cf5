"""Categories and lead status from the pages and the API: a teammate reads a reply, sets what
it means, sees what that did, and finds contacts and conversations by category and status."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.campaigns.models import CampaignSettings
from outreach.contacts.models import Contact, Suppression
from outreach.delivery.models import Delivery
from outreach.inbox.models import Conversation, InboxMessage
from outreach.inbox.service import ingest
from outreach.providers.inbox import InboundMessage, InboxPage
from outreach.senders.models import SenderAccount
from tests.campaign_setup import launched_from_outbox
from tests.inbox_messages import Thread, plain_reply
from tests.web_session import followed, post

ADA, ALAN, GRACE = "ada@analytical.example", "alan@bletchley.example", "grace@navy.example"


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def replied(session, container, clock, tmp_path):
    """Ada, Alan and Grace answered the campaign's first email; the worker categorized them."""
    _, account = launched_from_outbox(session, container, clock, tmp_path)
    sent = dict(
        session.execute(
            sa.select(Contact.email, Delivery.message_id).join(
                Contact, Contact.id == Delivery.contact_id
            )
        ).all()
    )
    clock.advance(timedelta(hours=1))
    at = clock.now()
    messages = tuple(
        InboundMessage(
            f"1:{n}",
            plain_reply(text, Thread(sent[to], "Hello", account.email, to)).replace(
                b"<reply.4711@", f"<reply.{n}@".encode()
            ),
            at + timedelta(minutes=n),
        )
        for n, (to, text) in enumerate(
            (
                (ADA, "Sounds interesting, tell me more."),
                (ALAN, "Not interested."),
                (GRACE, "Wrong person, please contact lin@navy.example."),
            )
        )
    )
    ingest(session, account, InboxPage(messages, "1:2", False), at)
    session.commit()
    clock.advance(timedelta(minutes=5))
    container.categorizing_pass()
    clock.advance(timedelta(minutes=5))
    session.expire_all()
    rows = session.execute(
        sa.select(Contact.email, Conversation.id).join(
            Contact, Contact.id == Conversation.contact_id
        )
    )
    return dict(rows.all())


def test_conversations_are_listed_by_category_and_by_lead_status(api, replied):
    every = api.get("/api/v1/conversations").json()["items"]
    assert {(c["contact_email"], c["category"], c["lead_status"]) for c in every} == {
        (ADA, "interested", "interested"),
        (ALAN, "not_interested", "not_interested"),
        (GRACE, "wrong_person", "replied"),
    }
    by_category = api.get("/api/v1/conversations", params={"category": "interested"}).json()
    assert [c["contact_email"] for c in by_category["items"]] == [ADA]
    by_status = api.get("/api/v1/conversations", params={"lead_status": "not_interested"}).json()
    assert [c["contact_email"] for c in by_status["items"]] == [ALAN]


def test_an_unknown_category_or_status_filter_is_refused_with_the_ones_there_are(api, replied):
    refused = api.get("/api/v1/conversations", params={"category": "hot"})
    assert refused.status_code == 422
    assert "meeting_request" in refused.text
    assert api.get("/api/v1/contacts", params={"lead_status": "hot"}).status_code == 422


def test_a_person_categorizes_a_conversation_through_the_api_and_sees_what_it_did(
    api, replied, session
):
    answer = api.post(
        f"/api/v1/conversations/{replied[ALAN]}/category", json={"category": "do_not_contact"}
    )

    assert answer.status_code == 200
    body = answer.json()
    assert (body["category"], body["category_by"], body["category_by_person"]) == (
        "do_not_contact",
        "ada@example.com",
        True,
    )
    assert body["done"][0] == f"suppressed {ALAN}"
    assert session.scalars(sa.select(Suppression.email)).all() == [ALAN]
    detail = api.get(f"/api/v1/conversations/{replied[ALAN]}").json()
    assert detail["category"] == "do_not_contact"
    assert detail["latest_reply"]["category_by"] == "ada@example.com"
    assert detail["lead_status"] == "do_not_contact"


def ada_writes_again(session, clock, text: str) -> None:
    """A second reply of Ada's, in the same conversation."""
    account = session.scalars(sa.select(SenderAccount)).one()
    ours = session.scalars(
        sa.select(Delivery.message_id)
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Contact.email == ADA)
    ).one()
    raw = plain_reply(text, Thread(ours, "Hello", account.email, ADA)).replace(
        b"<reply.4711@", b"<reply.again@"
    )
    clock.advance(timedelta(hours=1))
    ingest(
        session,
        account,
        InboxPage((InboundMessage("2:1", raw, clock.now()),), "2:1", False),
        clock.now(),
    )
    session.commit()


def test_each_reply_in_a_conversation_carries_its_category_who_set_it_and_why(
    api, signed_in, replied, session, clock
):
    ada_writes_again(session, clock, "Could we meet on Tuesday?")
    conversation = f"/api/v1/conversations/{replied[ADA]}"
    second = [m for m in api.get(conversation).json()["messages"] if not m["ours"]][1]
    chosen = api.post(
        f"{conversation}/category",
        json={"category": "meeting_request", "message_id": second["id"]},
    )
    assert chosen.status_code == 200, chosen.text

    messages = api.get(conversation).json()["messages"]

    def category(message):
        keys = ("category", "category_by", "category_by_person", "category_reason")
        return tuple(message[key] for key in keys)

    assert [category(m) for m in messages] == [
        (None, None, None, None),  # ours
        ("interested", "the rules", False, "the rules found 'Sounds interesting' (en)"),
        ("meeting_request", "ada@example.com", True, "set by hand"),
    ]
    assert messages[1]["category_at"] is not None
    page = signed_in.get(f"/inbox/conversations/{replied[ADA]}").text
    shown = re.findall(r'data-testid="message-category">(.*?)</p>', page)
    assert len(shown) == 2
    assert shown[0].startswith("<strong>interested</strong> · Decided by the rules, ")
    assert shown[0].endswith(": the rules found &#39;Sounds interesting&#39; (en)")
    assert shown[1].startswith("<strong>meeting request</strong> · Chosen by ada@example.com, ")


def test_a_reply_the_worker_has_not_categorized_yet_says_so_on_its_message(
    api, signed_in, replied, session, clock
):
    ada_writes_again(session, clock, "Could we meet on Tuesday?")

    latest = api.get(f"/api/v1/conversations/{replied[ADA]}").json()["messages"][-1]

    assert (latest["category"], latest["category_by_person"]) == (None, None)
    page = signed_in.get(f"/inbox/conversations/{replied[ADA]}").text
    assert re.findall(r'data-testid="message-category">(.*?)</p>', page)[-1] == (
        "Not categorized yet"
    )


def test_categorizing_with_a_wrong_category_or_message_says_what_is_wrong(api, replied):
    wrong = api.post(f"/api/v1/conversations/{replied[ADA]}/category", json={"category": "x"})
    assert wrong.status_code == 422
    elsewhere = api.post(
        f"/api/v1/conversations/{replied[ADA]}/category",
        json={"category": "other", "message_id": str(replied[ALAN])},
    )
    assert elsewhere.status_code == 404
    assert elsewhere.json()["error"]["message"].startswith("There is no")


def test_a_person_sets_a_lead_status_through_the_api_and_the_history_says_who(api, replied):
    contact_id = api.get("/api/v1/contacts", params={"q": ADA}).json()["items"][0]["id"]

    answer = api.post(f"/api/v1/contacts/{contact_id}/lead-status", json={"status": "won"})

    assert answer.status_code == 200
    assert (answer.json()["lead_status"], answer.json()["lead_status_by"]) == (
        "won",
        "ada@example.com",
    )
    won = api.get("/api/v1/contacts", params={"lead_status": "won"}).json()["items"]
    assert [c["email"] for c in won] == [ADA]
    history = api.get(f"/api/v1/contacts/{contact_id}/changes").json()["items"]
    assert [(c["field"], c["new_value"], c["changed_by"]) for c in history] == [
        ("lead_status", "contacted", "a send"),
        ("lead_status", "replied", "a reply"),
        ("category", "interested", "the rules"),
        ("lead_status", "interested", "a category (interested)"),
        ("lead_status", "won", "ada@example.com"),
    ]
    refused = api.post(f"/api/v1/contacts/{contact_id}/lead-status", json={"status": "hot"})
    assert refused.status_code == 422


def test_the_conversation_page_has_a_category_control_that_sets_it(signed_in, replied, session):
    page = f"/inbox/conversations/{replied[ADA]}"
    shown = signed_in.get(page).text
    assert re.search(r'<select id="category" name="category">', shown)
    assert '<option value="interested" selected>interested</option>' in shown
    assert "Decided by the rules" in shown
    assert "Lead status: <strong>interested</strong>" in shown

    answer = post(signed_in, f"{page}/category", page, category="meeting_request")

    assert answer.status_code == 303
    after = signed_in.get(page).text
    assert "Categorized as meeting request." in after
    assert '<option value="meeting_request" selected>meeting request</option>' in after
    assert "Chosen by ada@example.com" in after


def test_a_referral_is_offered_on_the_conversation_page_until_a_person_decides(
    signed_in, replied, session
):
    page = f"/inbox/conversations/{replied[GRACE]}"
    shown = signed_in.get(page).text
    assert "They point to <strong>lin@navy.example</strong>." in shown
    [action] = re.findall(r'action="(/inbox/conversations/[^"]+/referrals/[^"]+)"', shown)

    post(signed_in, action, page, decision="confirm", name="Lin Hopper")

    after = signed_in.get(page).text
    # The campaign's emails use {{ city }}, which nobody gave for Lin: said, not hidden.
    assert "Lin@navy.example is a contact, referred by grace@navy.example, not enrolled" in after
    assert "lin@navy.example: confirmed by ada@example.com" in after
    lin = session.scalars(sa.select(Contact).where(Contact.email == "lin@navy.example")).one()
    assert lin.name == "Lin Hopper"
    assert f"Referred by Grace Hopper &lt;{GRACE}&gt;, in a reply answering Spring" in (
        signed_in.get(f"/contacts/{lin.id}").text
    )
    again = post(signed_in, action, page, decision="dismiss")
    assert again.status_code == 303
    assert "was already confirmed by ada@example.com" in signed_in.get(page).text


def test_a_referral_is_confirmed_through_the_api_with_a_note_of_who_referred_them(
    api, replied, session
):
    conversation = api.get(f"/api/v1/conversations/{replied[GRACE]}").json()
    [offered] = conversation["referrals"]
    assert (offered["email"], offered["status"], offered["contact_id"]) == (
        "lin@navy.example",
        "offered",
        None,
    )
    nobody = sa.select(Contact).where(Contact.email == "lin@navy.example")
    assert session.scalars(nobody).one_or_none() is None
    elsewhere = f"/api/v1/conversations/{replied[ADA]}/referrals/{offered['id']}/confirm"
    assert api.post(elsewhere, json={}).status_code == 404

    confirmed = api.post(
        f"/api/v1/conversations/{replied[GRACE]}/referrals/{offered['id']}/confirm",
        json={"name": "Lin Hopper", "fields": {"city": "London"}},
    )

    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["said"] == f"lin@navy.example is a contact, referred by {GRACE}, enrolled in Spring"
    assert (body["referral"]["status"], body["referral"]["decided_by"]) == (
        "confirmed",
        "ada@example.com",
    )
    lin = session.scalars(nobody).one()
    assert body["referral"]["contact_id"] == str(lin.id)
    notes = [
        entry
        for entry in api.get(f"/api/v1/contacts/{lin.id}/timeline").json()["items"]
        if entry["kind"] == "note"
    ]
    assert [note["body"] for note in notes] == [
        f"Referred by Grace Hopper <{GRACE}>, in a reply answering Spring on 2026-03-02."
    ]
    again = api.post(f"/api/v1/conversations/{replied[GRACE]}/referrals/{offered['id']}/dismiss")
    assert again.status_code == 409
    assert "already confirmed by ada@example.com" in again.text


def test_a_wrong_category_from_the_page_is_refused_saying_which_there_are(signed_in, replied):
    page = f"/inbox/conversations/{replied[ALAN]}"
    bad = post(signed_in, f"{page}/category", page, category="hot")
    assert bad.status_code == 303
    assert "&#39;hot&#39; is not a category: one of interested, meeting request" in (
        signed_in.get(page).text
    )


def test_the_contact_page_shows_and_sets_the_lead_status_and_the_list_filters_by_it(
    signed_in, replied
):
    contacts = signed_in.get("/contacts", params={"lead_status": "interested"}).text
    [link] = re.findall(r'href="(/contacts/[0-9a-f-]{36})"', contacts)
    shown = signed_in.get(link).text
    assert '<option value="interested" selected>interested</option>' in shown
    assert "Set by a category (interested)" in shown

    post(signed_in, f"{link}/lead-status", link, status="meeting_booked")

    after = signed_in.get(link).text
    assert "Lead status: meeting booked." in after
    assert "Set by ada@example.com" in after
    exported = signed_in.get("/contacts/export.csv", params={"lead_status": "meeting_booked"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["email"], r["lead_status"]) for r in rows] == [(ADA, "meeting_booked")]


def test_a_campaign_changes_what_a_category_does_over_the_api(
    api, session, container, clock, tmp_path
):
    campaign, _ = launched_from_outbox(session, container, clock, tmp_path)
    settings = f"/api/v1/campaigns/{campaign.id}/settings"

    changed = api.patch(settings, json={"category_actions": {"do not contact": "none"}})

    assert changed.status_code == 200, changed.text
    assert changed.json()["category_actions"] == {"do_not_contact": "none"}
    refused = api.patch(settings, json={"category_actions": {"do_not_contact": "explode"}})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "do not contact can do suppress, none, not 'explode'."
    )


def chosen_actions(page_html: str) -> dict[str, str]:
    """Each category's select on a campaign's page and the action selected in it."""
    selects = re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', page_html, flags=re.S)
    return {
        name: re.findall(r'<option value="([^"]+)" selected>', options)[0]
        for name, options in selects
    }


def test_a_campaign_changes_what_a_category_does_from_its_page(
    signed_in, session, container, clock, tmp_path
):
    campaign, _ = launched_from_outbox(session, container, clock, tmp_path)
    page = f"/campaigns/{campaign.id}/settings"
    shown = signed_in.get(page).text
    assert chosen_actions(shown) == {
        "interested": "stop_company",
        "meeting_request": "stop_company",
        "do_not_contact": "suppress",
        "out_of_office": "note_return",
        "wrong_person": "offer_referral",
    }
    assert "not interested: keep the sequence stopped;" in shown

    saved = followed(
        signed_in,
        post(
            signed_in,
            f"/campaigns/{campaign.id}/category-actions",
            page,
            do_not_contact="none",
            wrong_person="offer_referral",
            interested="stop_company",
        ),
    )

    assert "Saved what each category does in this campaign." in saved.text
    assert chosen_actions(saved.text)["do_not_contact"] == "none"
    assert chosen_actions(saved.text)["wrong_person"] == "offer_referral"
    session.expire_all()
    settings = session.scalars(
        sa.select(CampaignSettings).where(CampaignSettings.campaign_id == campaign.id)
    ).one()
    assert settings.category_actions == {"do_not_contact": "none"}  # defaults are no overrides


def test_a_refused_category_action_is_said_on_the_campaign_page_with_the_choices_kept(
    signed_in, session, container, clock, tmp_path
):
    campaign, _ = launched_from_outbox(session, container, clock, tmp_path)
    page = f"/campaigns/{campaign.id}/settings"

    refused = post(
        signed_in,
        f"/campaigns/{campaign.id}/category-actions",
        page,
        do_not_contact="explode",
        out_of_office="none",
    )

    assert refused.status_code == 422
    assert "do not contact can do suppress, none, not &#39;explode&#39;." in refused.text
    assert chosen_actions(refused.text)["out_of_office"] == "none"
    assert chosen_actions(refused.text)["do_not_contact"] == "explode"
    assert "explode (not possible)" in refused.text
    session.expire_all()
    settings = session.scalars(
        sa.select(CampaignSettings).where(CampaignSettings.campaign_id == campaign.id)
    ).one()
    assert settings.category_actions is None
    assert chosen_actions(signed_in.get(page).text)["out_of_office"] == "note_return"


def test_a_reader_in_berlin_reads_when_the_category_was_decided_in_berlin_time(
    signed_in, replied, session, admin
):
    admin.time_zone = "Europe/Berlin"
    session.commit()
    decided = session.scalars(
        sa.select(InboxMessage.category_at).where(InboxMessage.category.is_not(None))
    ).first()

    page = signed_in.get(f"/inbox/conversations/{replied[ADA]}").text

    berlin = decided.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"Decided by the rules, {berlin:%Y-%m-%d %H:%M} Europe/Berlin: " in page
    assert berlin.hour != decided.hour
