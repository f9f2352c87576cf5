"""SQL for email drafts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.drafts.models import DraftType, EmailDraft, EmailStatus
from outreach.drafts.states import DRAFTS
from outreach.states import transition


def add_scheduled(
    session: Session,
    *,
    contact_id: uuid.UUID,
    draft_type: DraftType,
    subject: str,
    body: str,
    at: datetime,
) -> EmailDraft:
    """A draft a campaign step wrote: approved with the step's template by its author and
    scheduled at once. Inserted in that state, so the seed's approval counter is not touched:
    that counts people approving drafts one by one."""
    draft = EmailDraft(
        contact_id=contact_id,
        draft_type=draft_type,
        subject=subject,
        body=body,
        status=EmailStatus.scheduled,
        approved_at=at,
        created_at=at,
        updated_at=at,
    )
    session.add(draft)
    session.flush()
    return draft


def move(session: Session, draft_id: uuid.UUID, target: EmailStatus, **values: Any) -> None:
    """The draft's status changes, if its current status allows (drafts/states.py)."""
    transition(session, EmailDraft, draft_id, target, DRAFTS, **values)


def get(session: Session, draft_id: uuid.UUID) -> EmailDraft | None:
    return session.get(EmailDraft, draft_id)


def add_written(
    session: Session,
    *,
    contact_id: uuid.UUID,
    draft_type: DraftType,
    subject: str,
    body: str,
    at: datetime,
) -> EmailDraft:
    """A draft a person (or a writer) wrote, waiting for approval."""
    draft = EmailDraft(
        contact_id=contact_id,
        draft_type=draft_type,
        subject=subject,
        body=body,
        status=EmailStatus.draft,
        created_at=at,
        updated_at=at,
    )
    session.add(draft)
    session.flush()
    return draft


def approve(session: Session, draft_id: uuid.UUID, at: datetime) -> None:
    """A person approved the draft (the seed's trigger counts it on the day of `at`)."""
    move(session, draft_id, EmailStatus.approved, approved_at=at)
