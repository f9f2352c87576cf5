"""Campaigns, their steps and settings, and sends to decide."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.campaigns.models import Campaign, CampaignContact
from outreach.campaigns.schedule import NextSendWords
from outreach.campaigns.states import RUNNING
from outreach.delivery import dispatch, queries
from outreach.delivery.models import Delivery
from outreach.inbox import categories
from outreach.inbox import queries as inbox_queries
from outreach.web.api.campaigns_schemas import (
    CampaignChange,
    CampaignDetail,
    CampaignIn,
    CampaignOut,
    DeliveryOut,
    EnrollmentOut,
    LaunchOut,
    SendersIn,
    SettingsIn,
    SettingsOut,
    StepIn,
    StepOut,
)
from outreach.web.api.common_schemas import After, Limit, Page, errors_documented
from outreach.web.api.senders_schemas import SenderOut
from outreach.web.deps import ApiUser, DbSession, container_of, finish_transaction, read_only

router = APIRouter()
campaigns_router = APIRouter(prefix="/campaigns", tags=["campaigns"])
deliveries_router = APIRouter(prefix="/deliveries", tags=["deliveries"])


def detail(session: DbSession, found: Campaign) -> CampaignDetail:
    return CampaignDetail(
        **CampaignOut.model_validate(found).model_dump(),
        settings=SettingsOut.model_validate(campaign_queries.settings_of(session, found.id)),
        steps=[
            StepOut.model_validate(step) for step in campaign_queries.steps_of(session, found.id)
        ],
        senders=[
            SenderOut.model_validate(s) for s in campaign_queries.senders_of(session, found.id)
        ],
        enrollments=campaign_queries.enrollment_counts(session, found.id),
    )


@campaigns_router.get("")
def list_campaigns(
    session: DbSession, user: ApiUser, after: After = None, limit: Limit = 100
) -> Page[CampaignOut]:
    """The campaigns, newest first."""
    found, cursor = campaign_queries.campaigns_page(session, after, limit)
    return Page(items=[CampaignOut.model_validate(each) for each in found], next=cursor)


@campaigns_router.post(
    "",
    status_code=201,
    responses=errors_documented((404, "No such list or sender account")),
)
def create_campaign(
    request: Request, session: DbSession, user: ApiUser, body: CampaignIn
) -> CampaignDetail:
    """A new campaign, a draft until launched."""
    found = campaigns.create(
        session,
        name=body.name,
        list_id=body.list_id,
        sender_ids=body.sender_ids,
        description=body.description,
        now=container_of(request).clock.now(),
    )
    return detail(session, found)


@campaigns_router.get("/{campaign_id}")
def get_campaign(session: DbSession, user: ApiUser, campaign_id: uuid.UUID) -> CampaignDetail:
    """A campaign with its settings, steps, senders and enrollment counts."""
    return detail(session, campaigns.get(session, campaign_id))


@campaigns_router.patch("/{campaign_id}")
def change_campaign(
    session: DbSession, user: ApiUser, campaign_id: uuid.UUID, body: CampaignChange
) -> CampaignDetail:
    """Rename it, describe it, or choose its list (before launch)."""
    found = campaigns.describe(
        session, campaign_id, name=body.name, description=body.description, list_id=body.list_id
    )
    return detail(session, found)


@campaigns_router.patch("/{campaign_id}/settings")
def change_settings(
    session: DbSession, user: ApiUser, campaign_id: uuid.UUID, body: SettingsIn
) -> SettingsOut:
    """When and how fast it sends, and what a reply's category does; fields left out stay as
    they are."""
    # The fields as parsed: model_dump would run their serializers (times back into text).
    given = {name: value for name, value in body if value is not None}
    actions = given.pop("category_actions", None)
    changed = campaigns.update_settings(session, campaign_id, campaigns.SettingsChange(**given))
    if actions is not None:
        categories.set_campaign_actions(session, campaign_id, actions)
    return SettingsOut.model_validate(changed)


@campaigns_router.put("/{campaign_id}/senders")
def set_senders(
    session: DbSession, user: ApiUser, campaign_id: uuid.UUID, body: SendersIn
) -> CampaignDetail:
    """The sender accounts new threads are spread across."""
    campaigns.set_senders(session, campaign_id, body.sender_ids)
    return detail(session, campaigns.get(session, campaign_id))


@campaigns_router.post("/{campaign_id}/steps", status_code=201)
def add_step(session: DbSession, user: ApiUser, campaign_id: uuid.UUID, body: StepIn) -> StepOut:
    """Append a step (while the campaign is a draft or paused)."""
    step = campaigns.add_step(
        session,
        campaign_id,
        subject=body.subject,
        body=body.body,
        html=body.html,
        delay_days=body.delay_days,
        delay_hours=body.delay_hours,
        ai_written=body.ai_written,
    )
    return StepOut.model_validate(step)


@campaigns_router.put("/{campaign_id}/steps/{step_id}")
def edit_step(
    session: DbSession, user: ApiUser, campaign_id: uuid.UUID, step_id: uuid.UUID, body: StepIn
) -> StepOut:
    """Rewrite a step (while the campaign is a draft or paused)."""
    step = campaigns.edit_step(
        session,
        step_id,
        subject_template=body.subject,
        body_template=body.body,
        html_template=body.html,
        delay_days=body.delay_days,
        delay_hours=body.delay_hours,
        ai_written=body.ai_written,
    )
    return StepOut.model_validate(step)


@campaigns_router.delete("/{campaign_id}/steps/{step_id}", status_code=204)
def remove_step(
    session: DbSession, user: ApiUser, campaign_id: uuid.UUID, step_id: uuid.UUID
) -> Response:
    """Remove a step; the later ones move up."""
    campaigns.remove_step(session, step_id)
    return Response(status_code=204)


@campaigns_router.post("/{campaign_id}/launch")
def launch(
    request: Request, session: DbSession, user: ApiUser, campaign_id: uuid.UUID
) -> LaunchOut:
    """Check, enroll the list and start sending; 422 listing every problem otherwise."""
    container = container_of(request)
    finish_transaction(session)  # the senders' domains may be asked of DNS
    warnings = container.launch_warnings(campaign_id)
    report = campaigns.launch(session, campaign_id, container.clock.now())
    return LaunchOut(enrolled=report.enrolled, skipped=dict(report.skipped), warnings=warnings)


@campaigns_router.post("/{campaign_id}/pause")
def pause(session: DbSession, user: ApiUser, campaign_id: uuid.UUID) -> CampaignOut:
    """Pause: enrollments keep their place."""
    campaigns.pause(session, campaign_id)
    return _campaign_now(session, campaign_id)


@campaigns_router.post("/{campaign_id}/resume")
def resume(
    request: Request, session: DbSession, user: ApiUser, campaign_id: uuid.UUID
) -> CampaignOut:
    """Send again from where each enrollment stood; 422 listing what the campaign lacks (a
    list, steps, senders), as for a launch."""
    campaigns.resume(session, campaign_id, container_of(request).clock.now())
    return _campaign_now(session, campaign_id)


@campaigns_router.post("/{campaign_id}/archive")
def archive(session: DbSession, user: ApiUser, campaign_id: uuid.UUID) -> CampaignOut:
    """Archive for good."""
    campaigns.archive(session, campaign_id)
    return _campaign_now(session, campaign_id)


def _campaign_now(session: DbSession, campaign_id: uuid.UUID) -> CampaignOut:
    found = campaigns.get(session, campaign_id)
    session.refresh(found)
    return CampaignOut.model_validate(found)


@campaigns_router.get("/{campaign_id}/enrollments")
def enrollments(
    request: Request,
    session: DbSession,
    user: ApiUser,
    campaign_id: uuid.UUID,
    after: After = None,
    limit: Limit = 200,
) -> Page[EnrollmentOut]:
    """Each enrolled contact, in the order they were enrolled: where it stands, when its next
    email may go and why it waits, or why it ended."""
    found = campaigns.get(session, campaign_id)
    enrolled, cursor = campaign_queries.enrollments_page(session, campaign_id, after, limit)
    said = dispatch.next_sends(session, found, enrolled, container_of(request).clock.now())
    return Page(items=[_enrollment_out(e, said[e.id]) for e, _ in enrolled], next=cursor)


def _enrollment_out(enrollment: CampaignContact, said: NextSendWords) -> EnrollmentOut:
    shown = EnrollmentOut.model_validate(enrollment)
    ended = enrollment.status not in RUNNING
    return shown.model_copy(
        update={
            "next_send_at": None if ended else enrollment.next_send_at,
            "next_send": said.when,
            "why": said.why,
        }
    )


@deliveries_router.get("")
def list_deliveries(
    request: Request,
    session: DbSession,
    user: ApiUser,
    status: Literal["queued", "sending", "sent", "failed", "unknown", "cancelled"] = "unknown",
    after: After = None,
    limit: Limit = 100,
) -> Page[DeliveryOut]:
    """Deliveries in one status, newest first (by default the unknown ones, to decide). Those
    of a worker that stopped are unknown, not sending, from the moment it stopped."""
    if status in ("sending", "unknown"):
        finish_transaction(session)
        container_of(request).settle_lapsed()
        read_only(session)
    found, cursor = queries.deliveries_page(session, status, after, limit)
    return Page(items=deliveries_out(session, found), next=cursor)


@deliveries_router.post("/{delivery_id}/resend")
def resend(
    request: Request, session: DbSession, user: ApiUser, delivery_id: uuid.UUID
) -> DeliveryOut:
    """An unknown send: send it again."""
    dispatch.send_again(session, delivery_id, container_of(request).clock.now())
    return _delivery_out(session, delivery_id)


@deliveries_router.post("/{delivery_id}/mark-sent")
def mark_sent(
    request: Request, session: DbSession, user: ApiUser, delivery_id: uuid.UUID
) -> DeliveryOut:
    """An unknown send: record that it went out."""
    dispatch.mark_sent(session, delivery_id, container_of(request).clock.now())
    return _delivery_out(session, delivery_id)


def deliveries_out(session: Session, deliveries: Sequence[Delivery]) -> list[DeliveryOut]:
    """Each delivery, saying whether it is a campaign's step, an answer (with its conversation)
    or another one-off email."""
    answering = inbox_queries.answered_conversations(
        session, [delivery.scheduled_email_id for delivery in deliveries]
    )
    return [
        DeliveryOut.model_validate(delivery).model_copy(
            update={
                "kind": "answer"
                if delivery.scheduled_email_id in answering
                else "scheduled_email"
                if delivery.scheduled_email_id
                else "campaign_step",
                "answers_conversation_id": answering.get(delivery.scheduled_email_id),
            }
        )
        for delivery in deliveries
    ]


def _delivery_out(session: Session, delivery_id: uuid.UUID) -> DeliveryOut:
    found = queries.delivery(session, delivery_id)
    assert found is not None  # the decision above found it
    return deliveries_out(session, [found])[0]


for part in (campaigns_router, deliveries_router):
    router.include_router(part)
