"""What the contacts page does to many contacts at once, each in one set-based statement: add
them to a list, enrol them in a campaign (through its list, as every contact joins one),
suppress them, delete them (keeping those in use)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import CampaignContact
from outreach.contacts import lists, queries, service, suppressions
from outreach.contacts.models import Contact, Suppression
from outreach.contacts.queries import ContactFilter
from outreach.errors import Conflict, ValidationFailed
from tests.campaign_setup import COLLEAGUES, three_step_campaign
from tests.contact_files import import_text
from tests.plain_sql import sender

AT_BLETCHLEY = ContactFilter(company="Bletchley")


def emails(session, where=ContactFilter()):
    return sorted(contact.email for contact in queries.matching_contacts(session, where))


def ids_of(session, *addresses):
    chosen = sa.select(Contact.id).where(Contact.email.in_(addresses))
    return tuple(session.scalars(chosen))


@pytest.fixture
def people(session, clock, tmp_path):
    import_text(session, clock, tmp_path, COLLEAGUES)


def test_all_contacts_matching_a_filter_are_added_to_a_list_once(session, clock, people):
    chosen = lists.create(session, "Codebreakers", None, clock.now())
    assert queries.count_matching(session, AT_BLETCHLEY) == 3
    assert queries.count_matching(session, ContactFilter()) == 5

    assert lists.add_matching(session, chosen.id, AT_BLETCHLEY, clock.now(), everyone=True) == 3
    assert lists.add_matching(session, chosen.id, AT_BLETCHLEY, clock.now(), everyone=True) == 0
    assert emails(session, ContactFilter(list_id=chosen.id)) == [
        "alan@bletchley.example",
        "joan@gmail.com",
        "mavis@gmail.com",
    ]


def test_everyone_is_added_only_when_a_person_confirmed_everyone(session, clock, people):
    chosen = lists.create(session, "All", None, clock.now())
    with pytest.raises(ValidationFailed):
        lists.add_matching(session, chosen.id, ContactFilter(), clock.now())
    assert lists.add_matching(session, chosen.id, ContactFilter(), clock.now(), everyone=True) == 5


def test_ticked_contacts_are_suppressed_and_those_already_suppressed_stay_as_they_were(
    session, clock, people
):
    suppressions.add(session, "joan@gmail.com", suppressions.Reason.bounced, None, clock.now())
    ticked = ContactFilter(
        ids=ids_of(session, "Joan@gmail.com", "joan@gmail.com", "ada@analytical.example")
    )

    assert suppressions.suppress_matching(session, ticked, "contacts page", clock.now()) == 1
    rows = session.execute(sa.select(Suppression.email, Suppression.reason, Suppression.source))
    assert sorted(rows) == [
        ("ada@analytical.example", "manual", "contacts page"),
        ("joan@gmail.com", "bounced", None),
    ]
    assert suppressions.is_suppressed(session, "Ada@Analytical.example")


def test_deleting_matching_contacts_keeps_those_a_campaign_uses(session, clock, tmp_path, people):
    found = three_step_campaign(session, clock, tmp_path, [sender(session.connection())])
    campaigns.launch(session, found.id, clock.now())
    in_campaign = set(emails(session, ContactFilter(list_id=found.list_id)))

    result = service.delete_matching(session, ContactFilter(domain="analytical.example"))

    assert (result.removed, result.kept) == (1, 1)
    assert emails(session, ContactFilter(domain="analytical.example")) == ["ada@analytical.example"]
    assert "ada@analytical.example" in in_campaign


def test_matching_contacts_are_enrolled_through_the_campaigns_list(
    session, clock, tmp_path, people
):
    found = three_step_campaign(session, clock, tmp_path, [sender(session.connection())])
    campaigns.launch(session, found.id, clock.now())

    enrolled, joined = campaigns.enrol_matching(session, found.id, AT_BLETCHLEY, clock.now())
    campaigns.enroll_list_additions(session, clock.now())

    assert enrolled.id == found.id
    assert joined == 2  # alan was in its list already
    shown = campaign_queries.campaigns_of_contacts(session, ids_of(session, "joan@gmail.com"))
    [(campaign, status)] = next(iter(shown.values()))
    assert (campaign.name, status) == ("Spring", "pending")


def test_a_campaign_that_ended_enrols_nobody(session, clock, tmp_path, people):
    found = three_step_campaign(session, clock, tmp_path, [sender(session.connection())])
    session.execute(
        sa.update(type(found)).where(type(found).id == found.id).values(status="archived")
    )
    with pytest.raises(Conflict, match="has ended"):
        campaigns.enrol_matching(session, found.id, AT_BLETCHLEY, clock.now())
    assert session.scalar(sa.select(sa.func.count()).select_from(CampaignContact)) == 0


def test_a_pages_lists_are_read_for_its_rows_only(session, clock, people):
    first = lists.create(session, "A first", None, clock.now())
    second = lists.create(session, "B second", None, clock.now())
    [alan] = ids_of(session, "alan@bletchley.example")
    lists.add(session, first.id, [alan], clock.now())
    lists.add(session, second.id, [alan, *ids_of(session, "joan@gmail.com")], clock.now())

    shown = queries.lists_of_contacts(session, [alan])

    assert [found.name for found in shown[alan]] == ["A first", "B second"]
    assert list(shown) == [alan]


def test_a_count_given_a_most_stops_one_past_it(session, people):
    assert queries.count_matching(session, ContactFilter(), most=3) == 4
    assert queries.count_matching(session, AT_BLETCHLEY, most=3) == 3
