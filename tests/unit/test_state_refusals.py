"""A status change that cannot happen is refused in a sentence a person would write."""

from __future__ import annotations

from outreach.campaigns.states import CAMPAIGNS, ENROLLMENTS, CampaignStatus, EnrollmentStatus
from outreach.delivery.states import DELIVERIES, DeliveryStatus
from outreach.states import refusal


def test_a_campaign_launched_twice_is_already_active():
    assert refusal(CAMPAIGNS, "active", CampaignStatus.active) == "The campaign is already active."


def test_a_draft_campaign_cannot_be_paused():
    assert (
        refusal(CAMPAIGNS, "draft", CampaignStatus.paused) == "A draft campaign cannot be paused."
    )


def test_an_archived_campaign_cannot_be_active_again():
    assert (
        refusal(CAMPAIGNS, "archived", CampaignStatus.active)
        == "An archived campaign cannot be active."
    )


def test_a_delivery_marked_sent_twice_is_already_sent():
    assert refusal(DELIVERIES, "sent", DeliveryStatus.sent) == "The delivery is already sent."


def test_an_allowed_move_whose_moment_has_passed_says_not_now():
    assert refusal(DELIVERIES, "unknown", DeliveryStatus.sent) == "The delivery cannot be sent now."


def test_a_status_of_two_words_reads_as_two_words():
    assert refusal(ENROLLMENTS, "replied", EnrollmentStatus.in_progress) == (
        "A replied enrollment cannot be in progress."
    )
