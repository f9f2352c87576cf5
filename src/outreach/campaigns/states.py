"""Campaigns and enrollments as state machines.

A campaign: draft → active ⇄ paused → completed (every enrollment finished) or archived.
An enrollment (the seed's campaign_contacts): pending → in_progress → completed, or stopped on
the way: replied (the seed's trigger), bounced, unsubscribed, stopped (by a person, or its
campaign archived), failed (its step cannot be rendered or sent). `skipped` rows are contacts
of the list that were not enrolled, kept with the reason so a later pass does not try again.
"""

from __future__ import annotations

from enum import StrEnum

from outreach.states import Lifecycle


class DraftType(StrEnum):
    """The seed's draft_type enum: which email of a sequence a draft is (draft_type_of)."""

    first_outreach = "first_outreach"
    second_followup = "second_followup"
    final_followup = "final_followup"


class CampaignStatus(StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    completed = "completed"
    archived = "archived"


CAMPAIGNS = Lifecycle[CampaignStatus](
    noun="campaign",
    moves={
        CampaignStatus.active: frozenset({CampaignStatus.draft, CampaignStatus.paused}),
        CampaignStatus.paused: frozenset({CampaignStatus.active}),
        CampaignStatus.completed: frozenset({CampaignStatus.active}),
        CampaignStatus.archived: frozenset(
            {
                CampaignStatus.draft,
                CampaignStatus.active,
                CampaignStatus.paused,
                CampaignStatus.completed,
            }
        ),
    },
)
EDITABLE = frozenset({CampaignStatus.draft, CampaignStatus.paused})
"""Steps and settings change only while nothing is being sent."""
STEPS_LOCKED_BECAUSE: dict[str, str] = {
    CampaignStatus.active: "The campaign is sending: pause it to change its steps.",
    CampaignStatus.completed: "The campaign has finished: its steps can no longer change.",
    CampaignStatus.archived: "The campaign is archived: its steps can no longer change.",
}
"""Why a campaign that is not EDITABLE keeps its steps, and what (if anything) would free them."""


class EnrollmentStatus(StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    completed = "completed"
    replied = "replied"
    bounced = "bounced"
    unsubscribed = "unsubscribed"
    stopped = "stopped"
    failed = "failed"
    skipped = "skipped"


RUNNING = frozenset({EnrollmentStatus.pending, EnrollmentStatus.in_progress})
RUNNING_VALUES = tuple(status.value for status in RUNNING)
ENROLLMENTS = Lifecycle[EnrollmentStatus](
    noun="enrollment",
    moves={
        EnrollmentStatus.in_progress: frozenset(RUNNING),
        **{
            end: frozenset(RUNNING)
            for end in (
                EnrollmentStatus.completed,
                EnrollmentStatus.replied,
                EnrollmentStatus.bounced,
                EnrollmentStatus.unsubscribed,
                EnrollmentStatus.stopped,
                EnrollmentStatus.failed,
            )
        },
    },
)


def draft_type_of(step: int) -> DraftType:
    """Steps 1, 2, 3 are the seed's three draft types; later steps are final follow-ups too."""
    return {1: DraftType.first_outreach, 2: DraftType.second_followup}.get(
        step, DraftType.final_followup
    )
