"""SQL for email drafts."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.drafts.models import DraftType, EmailDraft, EmailStatus


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


def set_status(session: Session, draft_id: uuid.UUID, status: EmailStatus) -> None:
    session.execute(
        sa.update(EmailDraft)
        .where(EmailDraft.id == draft_id)
        .values(status=status)
        .execution_options(synchronize_session=False)
    )


def get(session: Session, draft_id: uuid.UUID) -> EmailDraft | None:
    return session.get(EmailDraft, draft_id)
