"""The Analytics page shows the funnel of the campaigns that sent most, whole campaigns only,
when a range holds more steps than a page should show."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from outreach.analytics.figures import StepFigures, busiest_campaigns


def funnel(name: str, *sent: int) -> list[StepFigures]:
    campaign_id = uuid.uuid5(uuid.NAMESPACE_DNS, name)
    return [
        StepFigures(
            campaign_id=campaign_id,
            campaign=name,
            step=number,
            step_name=None,
            subject=None,
            sent=count,
        )
        for number, count in enumerate(sent, start=1)
    ]


def test_few_steps_are_all_shown():
    rows = funnel("Alpha", 10, 5) + funnel("Beta", 1)
    assert busiest_campaigns(rows, 50) == rows


def test_the_campaigns_that_sent_most_are_kept_whole_in_their_order():
    rows = funnel("Alpha", 3, 2, 1) + funnel("Beta", 90, 40) + funnel("Gamma", 50, 20, 10)
    shown = busiest_campaigns(rows, 5)
    assert [(row.campaign, row.step) for row in shown] == [
        ("Beta", 1),
        ("Beta", 2),
        ("Gamma", 1),
        ("Gamma", 2),
        ("Gamma", 3),
    ]


def test_a_smaller_campaign_fills_the_room_a_bigger_one_does_not_fit():
    rows = funnel("Alpha", 100, 90, 80) + funnel("Beta", 50) + funnel("Gamma", 60, 10)
    shown = busiest_campaigns(rows, 3)
    assert {row.campaign for row in shown} == {"Alpha"}
    shown = busiest_campaigns(rows, 4)
    assert {row.campaign for row in shown} == {"Alpha", "Beta"}


@given(
    st.lists(st.lists(st.integers(0, 1000), min_size=1, max_size=4), max_size=30),
    st.integers(1, 60),
)
def test_never_more_than_the_room_and_never_part_of_a_campaign(campaigns, most):
    rows = [row for number, sent in enumerate(campaigns) for row in funnel(f"c{number}", *sent)]
    shown = busiest_campaigns(rows, most)
    assert len(shown) <= most
    for name in {row.campaign for row in shown}:
        assert [row for row in shown if row.campaign == name] == [
            row for row in rows if row.campaign == name
        ]
