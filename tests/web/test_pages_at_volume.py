"""Pages that stay short however much there is: list menus that search instead of listing
every list, and campaigns and their contacts a page at a time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.contacts import lists
from outreach.contacts.models import Contact
from outreach.drafts import queries as drafts
from outreach.drafts.models import DraftType, EmailDraft
from tests.contact_files import import_text
from tests.plain_sql import sender

OPTION = re.compile(r'<option value="([0-9a-f-]{36})"( selected)?>([^<]*)</option>')


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def sixty_lists(session, clock):
    made = [lists.create(session, f"List {n:02}", None, clock.now()) for n in range(60)]
    session.commit()
    return made


def people(count: int) -> str:
    return "email,name\n" + "".join(f"p{n:04}@example.com,Person {n}\n" for n in range(count))


def test_a_list_menu_offers_the_first_fifty_lists_and_a_search_box(signed_in, sixty_lists):
    page = signed_in.get("/contacts").text
    names = [name for _, _, name in OPTION.findall(page)]
    assert names == [f"List {n:02}" for n in range(50)]
    assert 'placeholder="Find a list by name"' in page


def test_the_search_box_finds_a_list_beyond_the_first_fifty_by_any_part_of_its_name(
    signed_in, sixty_lists
):
    found = signed_in.get("/lists/choices", params={"list_q": "st 5", "blank": "any"}).text
    assert found.startswith('<option value="">any</option>')
    assert [name for _, _, name in OPTION.findall(found)] == [f"List {n}" for n in range(50, 60)]


def test_the_chosen_list_stays_in_its_menu_whatever_is_searched(signed_in, sixty_lists):
    last = sixty_lists[-1]
    page = signed_in.get("/contacts", params={"list_id": str(last.id)}).text
    assert f'<option value="{last.id}" selected>List 59</option>' in page
    found = signed_in.get(
        "/lists/choices", params={"list_q": "List 0", "list_id": str(last.id)}
    ).text
    assert OPTION.findall(found)[0] == (str(last.id), " selected", "List 59")
    assert len(OPTION.findall(found)) == 11


def test_a_made_up_chosen_list_is_left_out_of_the_menu(signed_in, sixty_lists):
    found = signed_in.get("/lists/choices", params={"list_id": "not-an-id"})
    assert found.status_code == 200
    assert len(OPTION.findall(found.text)) == 50
    assert " selected" not in found.text


def test_the_lists_page_and_the_api_count_each_lists_members(
    signed_in, api, session, clock, tmp_path
):
    big = lists.create(session, "Big", None, clock.now())
    lists.create(session, "Empty", None, clock.now())
    import_text(session, clock, tmp_path, people(3), list_id=big.id)
    session.commit()
    page = signed_in.get("/lists").text
    assert re.search(r">Big</a></td><td>3</td>", page)
    assert re.search(r">Empty</a></td><td>0</td>", page)
    sizes = {found["name"]: found["size"] for found in api.get("/api/v1/lists").json()["items"]}
    assert sizes == {"Big": 3, "Empty": 0}


LIST_ROW = re.compile(r'<a href="/lists/[0-9a-f-]{36}">([^<]+)</a></td><td>(\d+)</td>')


def test_the_lists_page_shows_fifty_lists_by_name_and_links_to_the_rest(
    signed_in, sixty_lists, session, clock, tmp_path
):
    import_text(session, clock, tmp_path, people(2), list_id=sixty_lists[55].id)
    session.commit()
    first = signed_in.get("/lists").text
    assert [name for name, _ in LIST_ROW.findall(first)] == [f"List {n:02}" for n in range(50)]
    more = re.search(r'<a href="(/lists\?after=[^"]+)">More lists</a>', first)
    assert more, "no link to the next lists"
    rest = signed_in.get(more.group(1).replace("&amp;", "&")).text
    assert LIST_ROW.findall(rest) == [
        (f"List {n:02}", "2" if n == 55 else "0") for n in range(50, 60)
    ]
    assert "More lists" not in rest


def enrolled(session, clock, tmp_path, count: int):
    """A draft campaign with `count` contacts enrolled, one a second apart."""
    audience = lists.create(session, "Everyone", None, clock.now())
    import_text(session, clock, tmp_path, people(count), list_id=audience.id)
    found = campaigns.create(
        session,
        name="Big",
        list_id=audience.id,
        sender_ids=[sender(session.connection())],
        now=clock.now(),
    )
    contact_ids = session.scalars(
        Contact.__table__.select().with_only_columns(Contact.id).order_by(Contact.email)
    ).all()
    campaign_queries.insert_enrollments(
        session,
        [
            {
                "campaign_id": found.id,
                "contact_id": contact_id,
                "status": "completed",
                "enrolled_at": clock.now() + timedelta(seconds=n),
            }
            for n, contact_id in enumerate(contact_ids)
        ],
    )
    session.commit()
    return found


def enrollment_rows(page: str) -> list[str]:
    return re.findall(r'<td><a href="/contacts/[0-9a-f-]{36}">([^<]+)</a></td>', page)


def test_a_campaigns_contacts_are_shown_fifty_at_a_time_in_the_order_they_were_enrolled(
    signed_in, session, clock, tmp_path
):
    found = enrolled(session, clock, tmp_path, 55)
    first = signed_in.get(f"/campaigns/{found.id}/contacts").text
    assert enrollment_rows(first) == [f"p{n:04}@example.com" for n in range(50)]
    [next_page] = re.findall(r'<a href="([^"]+)">Next page of contacts</a>', first)
    second = signed_in.get(next_page.replace("&amp;", "&")).text
    assert enrollment_rows(second) == [f"p{n:04}@example.com" for n in range(50, 55)]
    assert "Next page of contacts" not in second


def test_a_made_up_page_of_contacts_shows_the_first_page(signed_in, session, clock, tmp_path):
    found = enrolled(session, clock, tmp_path, 3)
    page = signed_in.get(f"/campaigns/{found.id}/contacts", params={"after": "yesterday"})
    assert page.status_code == 200
    assert len(enrollment_rows(page.text)) == 3


def test_the_campaigns_page_shows_fifty_at_a_time_newest_first_with_their_enrollments(
    signed_in, session, clock, tmp_path
):
    account = sender(session.connection())
    for n in range(51):
        campaigns.create(
            session,
            name=f"Campaign {n:02}",
            list_id=None,
            sender_ids=[account],
            now=clock.now() + timedelta(minutes=n),
        )
    session.commit()
    first = signed_in.get("/campaigns").text
    names = re.findall(r'<a href="/campaigns/[0-9a-f-]{36}">([^<]+)</a>', first)
    assert names == [f"Campaign {n:02}" for n in range(50, 0, -1)]
    [older] = re.findall(r'<a href="([^"]+)">Older campaigns</a>', first)
    second = signed_in.get(older.replace("&amp;", "&")).text
    assert re.findall(r'<a href="/campaigns/[0-9a-f-]{36}">([^<]+)</a>', second) == ["Campaign 00"]
    assert "Older campaigns" not in second


def test_the_campaigns_page_counts_each_campaigns_enrollments_by_status(
    signed_in, session, clock, tmp_path
):
    found = enrolled(session, clock, tmp_path, 4)
    page = signed_in.get("/campaigns").text
    [row] = [row for row in page.split("<tr>") if f"/campaigns/{found.id}" in row]
    assert "4 completed" in row


def test_the_review_queue_of_a_list_counts_up_to_a_thousand_drafts_and_says_more(
    signed_in, session, clock, tmp_path
):
    audience = lists.create(session, "Everyone", None, clock.now())
    import_text(session, clock, tmp_path, people(2), list_id=audience.id)
    contact_ids = session.scalars(sa.select(Contact.id)).all()
    for n in range(1001):
        drafts.add_written(
            session,
            contact_id=contact_ids[n % 2],
            draft_type=DraftType.first_outreach,
            subject=f"Note {n}",
            body="Hi.",
            at=clock.now() + timedelta(seconds=n),
        )
    session.commit()
    shown = signed_in.get("/drafts", params={"list_id": str(audience.id)}).text
    assert "more than 1000 drafts, 50 shown" in shown
    one_more = drafts.add_written(
        session,
        contact_id=contact_ids[0],
        draft_type=DraftType.first_outreach,
        subject="Last",
        body="Hi.",
        at=clock.now(),
    )
    session.execute(sa.delete(EmailDraft).where(EmailDraft.id != one_more.id))
    session.commit()
    assert "1 draft." in signed_in.get("/drafts", params={"list_id": str(audience.id)}).text


def test_a_company_search_with_quotes_backslashes_and_wildcards_finds_that_company_only(
    signed_in, session, clock, tmp_path
):
    """The search's pattern is written into the statement (for PostgreSQL's trigram index):
    quotes and backslashes in it are text, and % and _ match themselves."""
    text = (
        "email,name,company\n"
        'a@one.example,A,"O\'Brien \\ 100% Ltd"\n'
        "b@two.example,B,O'Brien 1000 Ltd\n"
        "c@three.example,C,OXBrien\n"
    )
    import_text(session, clock, tmp_path, text)
    session.commit()
    for typed, found in (
        ("o'brien \\ 100%", ["a@one.example"]),
        ("'", ["a@one.example", "b@two.example"]),
        ("O_Brien", []),
        ("'; drop table contacts; --", []),
    ):
        page = signed_in.get("/contacts", params={"company": typed}).text
        shown = re.findall(r'<a href="/contacts/[0-9a-f-]{36}">([^<]+)</a>', page)
        assert shown == found, typed


def test_the_draft_batches_form_offers_the_campaigns_with_ai_written_steps_only(
    signed_in, session, clock
):
    account = sender(session.connection())
    for name, ai_written in (("Plain", False), ("Written", True), ("Mixed", None)):
        found = campaigns.create(
            session, name=name, list_id=None, sender_ids=[account], now=clock.now()
        )
        campaigns.add_step(session, found.id, subject="Hi", body="Hello", ai_written=False)
        if ai_written is not False:
            campaigns.add_step(
                session, found.id, subject="", body="Ask about their routes.", ai_written=True
            )
    session.commit()
    page = signed_in.get("/drafts/batches").text
    offered = re.findall(r'<option value="campaign:[0-9a-f-]{36}">([^<]+)</option>', page)
    assert sorted(offered) == ["Mixed", "Written"]
