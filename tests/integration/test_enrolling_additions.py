"""Contacts added to a running campaign's list join it on the next pass, and a pass looks at
a list only when it gained members (its members_version watermark), never at every list."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign, CampaignContact
from outreach.contacts import lists
from outreach.contacts.models import Contact, ContactListMember
from tests.campaign_setup import three_step_campaign
from tests.contact_files import import_text
from tests.plain_sql import sender

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LINUS = "email,name,company,City\nlinus@kernel.example,Linus Torvalds,Linux,Helsinki\n"


def launched(session, clock, tmp_path):
    clock.advance(MONDAY_9 - clock.now())
    found = three_step_campaign(session, clock, tmp_path, [sender(session.connection())])
    campaigns.launch(session, found.id, clock.now())
    session.commit()
    return found


def outsider(session, clock, tmp_path):
    """A contact in no list."""
    import_text(session, clock, tmp_path, LINUS)
    return session.scalar(sa.select(Contact.id).where(Contact.email == "linus@kernel.example"))


def enrolled_emails(session, found):
    return sorted(c.email for _, c in campaign_queries.enrollments_of(session, found.id))


def test_a_contact_added_to_the_list_joins_the_campaign_on_the_next_pass(session, clock, tmp_path):
    found = launched(session, clock, tmp_path)
    assert campaign_queries.campaigns_with_new_members(session) == []
    lists.add(session, found.list_id, [outsider(session, clock, tmp_path)], clock.now())

    assert campaign_queries.campaigns_with_new_members(session) == [found]
    campaigns.enroll_list_additions(session, clock.now())
    assert "linus@kernel.example" in enrolled_emails(session, found)
    assert campaign_queries.campaigns_with_new_members(session) == []


def test_adding_contacts_already_in_the_list_leaves_the_campaigns_alone(session, clock, tmp_path):
    found = launched(session, clock, tmp_path)
    members = [e.contact_id for e, _ in campaign_queries.enrollments_of(session, found.id)]
    assert lists.add(session, found.list_id, members, clock.now()) == 0
    assert campaign_queries.campaigns_with_new_members(session) == []


def test_a_whole_upload_added_to_the_list_joins_the_campaign(session, clock, tmp_path):
    found = launched(session, clock, tmp_path)
    import_text(session, clock, tmp_path, LINUS, list_id=found.list_id)
    campaigns.enroll_list_additions(session, clock.now())
    assert "linus@kernel.example" in enrolled_emails(session, found)


def test_a_campaign_that_never_recorded_its_lists_version_is_looked_at_once(
    session, clock, tmp_path
):
    """As every campaign is right after migration 0017, whose members came in any old way."""
    found = launched(session, clock, tmp_path)
    linus = outsider(session, clock, tmp_path)
    session.execute(
        sa.insert(ContactListMember).values(
            contact_id=linus, list_id=found.list_id, added_at=clock.now()
        )
    )
    session.execute(
        sa.update(Campaign).where(Campaign.id == found.id).values(enrolled_list_version=None)
    )
    session.expire_all()
    assert campaign_queries.campaigns_with_new_members(session) == [found]
    campaigns.enroll_list_additions(session, clock.now())
    assert "linus@kernel.example" in enrolled_emails(session, found)
    assert campaign_queries.campaigns_with_new_members(session) == []


def test_a_campaign_is_not_completed_while_its_list_has_members_to_enroll(session, clock, tmp_path):
    found = launched(session, clock, tmp_path)
    session.execute(
        sa.update(CampaignContact)
        .where(CampaignContact.campaign_id == found.id)
        .values(status="completed", next_send_at=None)
    )
    lists.add(session, found.list_id, [outsider(session, clock, tmp_path)], clock.now())
    assert campaigns.finish_done(session, clock.now()) == []
    campaigns.enroll_list_additions(session, clock.now())
    assert campaigns.finish_done(session, clock.now()) == []
    session.execute(
        sa.update(CampaignContact)
        .where(CampaignContact.campaign_id == found.id)
        .values(status="completed", next_send_at=None)
    )
    assert campaigns.finish_done(session, clock.now()) == [found.id]


def test_a_campaign_is_completed_only_when_no_enrollment_is_pending_or_in_progress(
    session, clock, tmp_path
):
    found = launched(session, clock, tmp_path)
    (first, *others) = [e.id for e, _ in campaign_queries.enrollments_of(session, found.id)]
    session.execute(
        sa.update(CampaignContact)
        .where(CampaignContact.id.in_(others))
        .values(status="completed", next_send_at=None)
    )
    for still in ("pending", "in_progress"):
        session.execute(
            sa.update(CampaignContact).where(CampaignContact.id == first).values(status=still)
        )
        assert campaigns.finish_done(session, clock.now()) == []
    session.execute(
        sa.update(CampaignContact)
        .where(CampaignContact.id == first)
        .values(status="replied", next_send_at=None)
    )
    assert campaigns.finish_done(session, clock.now()) == [found.id]
    assert session.get(Campaign, found.id).status == "completed"
