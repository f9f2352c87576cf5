"""Which event may change a contact's lead status: forward only through new, contacted and
replied; a category's status over any other an event set; bounced, unsubscribed and do not
contact over everything and by nothing but a person."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.contacts.leads import ENDED, LeadStatus, parse_status, replaceable_by
from outreach.errors import ValidationFailed

S = LeadStatus
statuses = st.sampled_from(list(LeadStatus))


def test_a_send_makes_only_a_new_contact_contacted():
    assert replaceable_by(S.contacted) == {S.new}


def test_a_reply_moves_a_new_or_contacted_contact_to_replied():
    assert replaceable_by(S.replied) == {S.new, S.contacted}


def test_a_follow_up_sent_after_a_reply_leaves_the_contact_replied():
    assert S.replied not in replaceable_by(S.contacted)


def test_a_category_replaces_what_another_category_set():
    assert S.not_interested in replaceable_by(S.interested)
    assert S.interested in replaceable_by(S.not_interested)


@given(statuses, statuses)
def test_an_ended_conversation_is_reopened_by_no_event(current, proposed):
    if current in ENDED and proposed not in ENDED:
        assert current not in replaceable_by(proposed)


@given(statuses, statuses)
def test_an_ending_event_replaces_any_other_status(current, proposed):
    if proposed in ENDED and current != proposed:
        assert current in replaceable_by(proposed)


@given(statuses)
def test_no_status_replaces_itself(status):
    assert status not in replaceable_by(status)


@given(statuses, statuses, statuses)
def test_events_never_go_round_in_a_circle_through_the_early_stages(a, b, c):
    early = (S.new, S.contacted, S.replied)
    if a in early and b in early and c in early:
        assert not (a in replaceable_by(b) and b in replaceable_by(c) and c in replaceable_by(a))


@pytest.mark.parametrize("typed", ["meeting booked", "Meeting-Booked", " meeting_booked "])
def test_a_status_is_read_as_a_person_types_it(typed):
    assert parse_status(typed) is S.meeting_booked


def test_an_unknown_status_is_refused_listing_the_ones_there_are():
    with pytest.raises(ValidationFailed) as refused:
        parse_status("hot")
    assert "'hot' is not a lead status" in refused.value.message
    assert "meeting booked" in refused.value.message
