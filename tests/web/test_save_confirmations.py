"""Every save answers with a short confirmation on the page it leads to (post/redirect/get with
a flash), so a person knows it worked. Both backends."""

from __future__ import annotations

import sqlalchemy as sa

from outreach.campaigns.states import DraftType
from outreach.contacts.models import ContactList, Suppression
from outreach.drafts import queries as drafts
from tests.drafts_setup import contact, people
from tests.web_session import followed, post

NOTICE = '<p class="notice" role="status">{}</p>'


def shown(client, response) -> str:
    return followed(client, response).text


def test_a_list_made_renamed_and_deleted_says_so_each_time(signed_in, session):
    made = post(signed_in, "/lists", "/lists", name="Pioneers", description="")
    assert NOTICE.format("Pioneers is made.") in shown(signed_in, made)
    list_id = session.scalar(sa.select(ContactList.id).where(ContactList.name == "Pioneers"))

    renamed = post(signed_in, f"/lists/{list_id}", f"/lists/{list_id}", name="Founders")
    assert NOTICE.format("Saved.") in shown(signed_in, renamed)

    deleted = post(signed_in, f"/lists/{list_id}/delete", f"/lists/{list_id}")
    page = shown(signed_in, deleted)
    assert NOTICE.format("The list is deleted; its contacts are kept.") in page


def test_lifting_a_suppression_says_so(signed_in, session):
    post(signed_in, "/suppressions", "/suppressions", entry="@blocked.example")
    suppression_id = session.scalar(sa.select(Suppression.id))
    lifted = post(signed_in, f"/suppressions/{suppression_id}/delete", "/suppressions")
    assert NOTICE.format("Lifted: emails to it may go again.") in shown(signed_in, lifted)


def test_a_user_added_and_a_template_made_say_so(signed_in):
    added = post(
        signed_in, "/users", "/users", email="Lin@Ourco.example", password="a long password 1"
    )
    assert NOTICE.format("lin@ourco.example can sign in now.") in shown(signed_in, added)

    made = post(
        signed_in,
        "/drafts/templates",
        "/drafts/templates",
        name="Intro",
        content="Subject: Hi\nHello {{ first_name }}.",
    )
    assert NOTICE.format("Intro is saved.") in shown(signed_in, made)


def test_a_draft_approved_without_javascript_says_so_on_the_page_it_returns_to(
    signed_in, session, clock, tmp_path
):
    people(session, clock, tmp_path)
    draft = drafts.add_written(
        session,
        contact_id=contact(session, "ada@analytical.example").id,
        draft_type=DraftType.first_outreach,
        subject="Quick one",
        body="Hi, a short note.",
        at=clock.now(),
    )
    session.commit()
    approved = post(signed_in, f"/drafts/{draft.id}/approve", f"/drafts/{draft.id}")
    assert NOTICE.format("Approved.") in shown(signed_in, approved)
