"""The analytics' JSON: each row's counts and its rates over sent (null when nothing was sent),
as outreach.analytics.figures gives them."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field


class FiguresOut(BaseModel):
    sent: int
    replied: int = Field(description="A person's replies (not auto-replies or bounces)")
    positive: int = Field(description="Replies categorized interested or meeting request")
    bounced: int
    unsubscribed: int
    reply_rate: float | None = Field(description="replied / sent; null when nothing was sent")
    positive_rate: float | None
    bounce_rate: float | None
    unsubscribe_rate: float | None


class DayOut(FiguresOut):
    day: date = Field(description="A UTC day")


class StepOut(FiguresOut):
    campaign_id: uuid.UUID
    campaign: str
    step: int = Field(description="From 1; 0 for emails the original system sent without one")
    step_name: str | None
    subject: str | None = Field(description="The step's subject template as it is now")


class SenderOut(FiguresOut):
    sender_account_id: uuid.UUID
    email: str


class ProviderOut(FiguresOut):
    provider: str = Field(description="google, microsoft, other, or unknown (not resolved yet)")


class EnrollmentsOut(BaseModel):
    enrolled: int
    in_progress: int = Field(description="Pending or part-way through the steps")
    finished: int
    finished_by: dict[str, int] = Field(
        description="completed, replied, bounced, unsubscribed, stopped, failed: those present"
    )
    skipped: int = Field(description="Contacts of the list left out at enrollment")


class CampaignAnalyticsOut(BaseModel):
    campaign_id: uuid.UUID
    name: str
    enrollments: EnrollmentsOut
    totals: FiguresOut
    median_first_reply_seconds: float | None = Field(
        description="From an enrollment's first email to its first reply from a person"
    )
    steps: list[StepOut]
    senders: list[SenderOut]
    providers: list[ProviderOut]
