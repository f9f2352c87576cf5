"""The Analytics page shows the funnel of the campaigns that sent most, whole campaigns only,
when a range holds more steps than a page should show."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from outreach.analytics.figures import CampaignSize, busiest_campaigns


def campaign(name: str, *sent: int) -> CampaignSize:
    """A campaign with a step per count sent."""
    return CampaignSize(uuid.uuid5(uuid.NAMESPACE_DNS, name), sum(sent), len(sent))


def busiest_first(*campaigns: CampaignSize) -> list[CampaignSize]:
    """As figures.campaign_sizes() gives them."""
    return sorted(campaigns, key=lambda size: -size.sent)


def test_few_steps_are_all_shown():
    alpha, beta = campaign("Alpha", 10, 5), campaign("Beta", 1)
    assert busiest_campaigns(busiest_first(alpha, beta), 50) == {
        alpha.campaign_id,
        beta.campaign_id,
    }


def test_the_campaigns_that_sent_most_are_kept_whole():
    alpha, beta, gamma = (
        campaign("Alpha", 3, 2, 1),
        campaign("Beta", 90, 40),
        campaign("Gamma", 50, 20, 10),
    )
    kept = busiest_campaigns(busiest_first(alpha, beta, gamma), 5)
    assert kept == {beta.campaign_id, gamma.campaign_id}


def test_a_smaller_campaign_fills_the_room_a_bigger_one_does_not_fit():
    alpha, beta, gamma = (
        campaign("Alpha", 100, 90, 80),
        campaign("Beta", 50),
        campaign("Gamma", 60, 10),
    )
    ordered = busiest_first(alpha, beta, gamma)
    assert busiest_campaigns(ordered, 3) == {alpha.campaign_id}
    assert busiest_campaigns(ordered, 4) == {alpha.campaign_id, beta.campaign_id}


@given(
    st.lists(st.lists(st.integers(0, 1000), min_size=1, max_size=4), max_size=30),
    st.integers(1, 60),
)
def test_never_more_than_the_room_and_none_passed_over_that_fits(campaigns, most):
    ordered = busiest_first(*(campaign(f"c{n}", *sent) for n, sent in enumerate(campaigns)))
    kept = busiest_campaigns(ordered, most)
    assert sum(size.steps for size in ordered if size.campaign_id in kept) <= most
    room = most
    for size in ordered:
        if size.campaign_id in kept:
            room -= size.steps
        else:
            assert size.steps > room, "a campaign passed over did not fit what was left"
