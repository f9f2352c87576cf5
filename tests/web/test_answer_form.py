"""The answer form on a conversation's page: a person answers Ada's reply, keeps a draft and
sends it later, takes back a scheduled answer, and is told why an answer is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from outreach.contacts import suppressions
from outreach.delivery.models import ScheduledEmail
from tests.conversation_setup import ADA, THEIR_ID, answer_left_sending, replied_over_smtp
from tests.integration.test_answers import answers_to_ada, text_of
from tests.web_session import followed, post


@pytest.fixture
def replied(session, container, clock, tmp_path, smtp_server):
    found = replied_over_smtp(session, container, clock, tmp_path, smtp_server.port)
    clock.advance(timedelta(minutes=5))
    return found


def page_of(replied) -> str:
    return f"/inbox/conversations/{replied.conversation_id}"


def answer(signed_in, replied, **data):
    return post(signed_in, f"{page_of(replied)}/answers", page_of(replied), **data)


def test_the_conversation_page_has_an_answer_box_saying_who_writes_to_whom(signed_in, replied):
    shown = signed_in.get(page_of(replied))

    assert shown.status_code == 200
    assert re.search(r'<textarea id="answer-body" name="body"', shown.text)
    assert f"To {ADA}, from me@ourco.example, in this thread" in shown.text
    assert "Grace Hopper\nAcme" in shown.text  # the signature that goes under it


def test_an_answer_sent_from_the_page_goes_once_and_shows_in_the_thread(
    signed_in, container, smtp_server, replied
):
    shown = followed(signed_in, answer(signed_in, replied, body="Thanks {{ first_name }}!"))

    assert "The answer goes on the worker&#39;s next pass." in shown.text
    container.sending_pass()
    container.sending_pass()
    [sent] = answers_to_ada(smtp_server)
    assert sent["In-Reply-To"] == THEIR_ID
    assert text_of(sent) == "Thanks Ada!\n\nGrace Hopper\nAcme"
    thread = signed_in.get(page_of(replied)).text
    assert thread.count('class="card message message-ours"') == 2  # the campaign's and ours
    assert "Thanks Ada!" in thread


def test_a_draft_saved_on_the_page_is_sent_later_at_its_time(
    signed_in, container, clock, smtp_server, replied
):
    kept = followed(signed_in, answer(signed_in, replied, body="Draft text", action="draft"))
    assert "Draft saved; nothing is sent." in kept.text
    assert 'data-status="draft"' in kept.text
    answer_id = re.search(r'name="answer_id" value="([^"]+)"', kept.text)[1]

    at = (clock.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    later = followed(
        signed_in,
        answer(signed_in, replied, body="Final text", at=at, answer_id=answer_id, action="send"),
    )
    assert f"The answer goes at {at.replace('T', ' ')} UTC." in later.text
    assert 'data-status="scheduled"' in later.text
    container.sending_pass()
    assert answers_to_ada(smtp_server) == []
    clock.advance(timedelta(hours=1))
    container.sending_pass()
    assert [text_of(m) for m in answers_to_ada(smtp_server)] == ["Final text\n\nGrace Hopper\nAcme"]


def test_a_reader_in_berlin_types_and_reads_the_answers_time_in_berlin_time(
    signed_in, session, admin, replied
):
    admin.time_zone = "Europe/Berlin"
    session.commit()
    assert "At (Europe/Berlin; empty: now)" in signed_in.get(page_of(replied)).text

    later = followed(signed_in, answer(signed_in, replied, body="Later", at="2026-03-03T10:00"))

    assert "The answer goes at 2026-03-03 10:00 Europe/Berlin." in later.text
    scheduled = session.scalars(sa.select(ScheduledEmail.scheduled_for)).one()
    assert scheduled == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


def test_a_scheduled_answer_is_taken_back_and_deleted_from_the_page(signed_in, clock, replied):
    at = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    waiting = followed(signed_in, answer(signed_in, replied, body="Tomorrow", at=at))
    answer_id = re.search(r'name="answer_id" value="([^"]+)"', waiting.text)[1]

    back = followed(signed_in, answer(signed_in, replied, answer_id=answer_id, action="unschedule"))
    assert "Taken back: it is a draft again." in back.text
    gone = followed(signed_in, answer(signed_in, replied, answer_id=answer_id, action="delete"))
    assert "Draft deleted." in gone.text
    assert "data-status=" not in gone.text


def test_an_answer_to_a_suppressed_address_is_refused_on_the_page_with_the_text_kept(
    signed_in, session, clock, replied
):
    suppressions.add(session, ADA, suppressions.Reason.manual, "asked by phone", clock.now())
    session.commit()

    refused = answer(signed_in, replied, body="Please reconsider")

    assert refused.status_code == 409
    assert "ada@analytical.example is on the suppression list" in refused.text
    assert ">Please reconsider</textarea>" in refused.text


def test_a_mistyped_merge_field_or_time_is_said_on_the_page(signed_in, replied):
    field = answer(signed_in, replied, body="Hi {{ favourite_colour }}")
    assert field.status_code == 422
    assert "favourite_colour" in field.text
    time = answer(signed_in, replied, body="Hi", at="next tuesday")
    assert time.status_code == 422
    assert "Give the time as YYYY-MM-DD HH:MM (UTC)." in time.text


def test_an_answer_in_doubt_shows_on_the_sends_page_as_an_answer_linking_its_conversation(
    signed_in, session, container, clock, replied
):
    answer_left_sending(session, container, clock, replied, "Hi")

    shown = signed_in.get("/sends").text

    conversation = f"/inbox/conversations/{replied.conversation_id}"
    assert f'<a href="{conversation}">answer in its conversation</a>' in shown
    assert ADA in shown
    assert "scheduled email" not in shown
