"""The unsubscribe link: one click from a mail client, or a confirmation page for a person."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.contacts import queries as contact_queries
from outreach.contacts.models import Contact
from outreach.delivery.unsubscribe import make_token
from tests.campaign_setup import three_step_campaign
from tests.plain_sql import sender


def launched(session, container, clock, tmp_path):
    found = three_step_campaign(session, clock, tmp_path, [sender(session.connection())])
    campaigns.launch(session, found.id, clock.now())
    ada = session.scalars(sa.select(Contact).where(Contact.email == "ada@analytical.example")).one()
    return found, ada, make_token(container.settings.secret_key_value(), ada.id, found.id)


def test_one_click_unsubscribes_and_stops_every_follow_up(
    client, session, container, clock, tmp_path
):
    found, _, token = launched(session, container, clock, tmp_path)
    response = client.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    assert contact_queries.suppressed_among(session, ["ada@analytical.example"], []) == (
        {"ada@analytical.example"},
        set(),
    )
    assert campaign_queries.enrollment_counts(session, found.id) == {
        "pending": 2,
        "unsubscribed": 1,
    }
    assert client.post(f"/unsubscribe/{token}").status_code == 200


def test_a_person_is_asked_before_anything_happens(client, session, container, clock, tmp_path):
    found, _, token = launched(session, container, clock, tmp_path)
    page = client.get(f"/unsubscribe/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Unsubscribe?" in page.text
    assert campaign_queries.enrollment_counts(session, found.id) == {"pending": 3}


def test_a_forged_or_damaged_token_unsubscribes_nobody(client, session, container, clock, tmp_path):
    found, ada, token = launched(session, container, clock, tmp_path)
    forged = make_token("another key entirely, 40 characters long!!", ada.id, found.id)
    for bad in (
        forged,
        token[:-2],
        "nonsense",
        make_token(container.settings.secret_key_value(), uuid.uuid4(), None)[:-1],
    ):
        assert client.post(f"/unsubscribe/{bad}").status_code == 404
    assert campaign_queries.enrollment_counts(session, found.id) == {"pending": 3}
