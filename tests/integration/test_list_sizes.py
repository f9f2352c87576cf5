"""A list's size is kept as members come and go (migration 0034's triggers), whoever writes
them, and is what the lists page, the API and the campaign pages show."""

from __future__ import annotations

import sqlalchemy as sa

from outreach.contacts import lists
from outreach.contacts import queries as contact_queries
from outreach.contacts.models import Contact, ContactListMember
from tests.contact_files import import_text

PEOPLE = (
    "email,name\n"
    "ada@example.com,Ada\ngrace@example.com,Grace\nlinus@example.com,Linus\n"
    "margaret@example.com,Margaret\n"
)


def people(session, clock, tmp_path):
    import_text(session, clock, tmp_path, PEOPLE)
    rows = session.execute(sa.select(Contact.email, Contact.id)).all()
    return {email.split("@")[0]: contact_id for email, contact_id in rows}


def shown(session):
    page, _ = contact_queries.lists_page(session, None, 50)
    return {found.name: size for found, size in page}


def counted(session, list_id):
    return session.scalar(sa.select(sa.func.count()).where(ContactListMember.list_id == list_id))


def test_a_lists_size_follows_its_members_added_removed_and_deleted(session, clock, tmp_path):
    ids = people(session, clock, tmp_path)
    big = lists.create(session, "Big", None, clock.now())
    small = lists.create(session, "Small", None, clock.now())
    lists.create(session, "Empty", None, clock.now())

    lists.add(session, big.id, list(ids.values()), clock.now())
    lists.add(session, big.id, [ids["ada"], ids["grace"]], clock.now())  # already in: once
    lists.add(session, small.id, [ids["ada"]], clock.now())
    assert shown(session) == {"Big": 4, "Empty": 0, "Small": 1}

    lists.remove(session, big.id, [ids["linus"]])
    session.execute(sa.delete(Contact).where(Contact.id == ids["ada"]))  # cascades
    assert shown(session) == {"Big": 2, "Empty": 0, "Small": 0}
    assert contact_queries.list_size(session, big.id) == counted(session, big.id) == 2
    assert contact_queries.lists_with_sizes(session)[0][1] == 2

    lists.delete(session, small.id)
    assert shown(session) == {"Big": 2, "Empty": 0}


def test_members_written_by_plain_sql_are_counted_too(session, clock, tmp_path):
    ids = people(session, clock, tmp_path)
    found = lists.create(session, "Plain", None, clock.now())
    other = lists.create(session, "Other", None, clock.now())
    session.execute(
        sa.insert(ContactListMember),
        [{"contact_id": cid, "list_id": found.id} for cid in ids.values()],
    )
    session.execute(
        sa.update(ContactListMember)
        .where(ContactListMember.contact_id == ids["grace"])
        .values(list_id=other.id)
    )
    assert shown(session) == {"Other": 1, "Plain": 3}


def test_a_rebuild_counts_what_the_triggers_did_not_see(session, clock, tmp_path):
    ids = people(session, clock, tmp_path)
    found = lists.create(session, "Rebuilt", None, clock.now())
    lists.add(session, found.id, list(ids.values()), clock.now())
    session.execute(sa.text("DELETE FROM contact_list_sizes"))
    assert shown(session) == {"Rebuilt": 0}
    contact_queries.rebuild_list_sizes(session.connection())
    assert shown(session) == {"Rebuilt": 4}
