"""SQL for campaigns, their settings, steps, senders and enrollments."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.models import (
    DUE_INDEX_WHERE,
    Campaign,
    CampaignContact,
    CampaignSender,
    CampaignSequence,
    CampaignSettings,
    RepliedContact,
)
from outreach.campaigns.states import ENROLLMENTS, RUNNING, RUNNING_VALUES, EnrollmentStatus
from outreach.contacts import queries as contact_queries
from outreach.contacts.addresses import company_domain
from outreach.contacts.models import Contact, ContactList, ContactListMember
from outreach.db import Base, keyset_cursor, read_cursor
from outreach.senders.models import SenderAccount
from outreach.states import transition_many

enrollments_table = Base.metadata.tables["campaign_contacts"]
DUE_INDEX_CONDITION = sa.text(DUE_INDEX_WHERE)
"""The partial index's own condition, written as in the index: SQLite uses a partial index only
when the query repeats its condition with the same constants (bound parameters will not do)."""


def campaign(session: Session, campaign_id: uuid.UUID) -> Campaign | None:
    return session.get(Campaign, campaign_id)


def campaign_named(session: Session, name: str) -> Campaign | None:
    return session.scalar(
        sa.select(Campaign).where(sa.func.lower(Campaign.name) == name.strip().lower())
    )


def campaigns_page(
    session: Session, after: str | None, limit: int
) -> tuple[list[Campaign], str | None]:
    """A page of campaigns, newest first, and the cursor of the next page (keyset on
    created_at and id; ValidationFailed for a cursor we did not give)."""
    newest_first = (Campaign.created_at.desc(), Campaign.id.desc())
    statement = sa.select(Campaign).order_by(*newest_first).limit(limit + 1)
    if after:
        at, campaign_id = read_cursor(after, "after")
        statement = statement.where(sa.tuple_(Campaign.created_at, Campaign.id) < (at, campaign_id))
    found = list(session.scalars(statement))
    more = len(found) > limit
    found = found[:limit]
    return found, (keyset_cursor(found[-1].created_at, found[-1].id) if more and found else None)


def campaigns_with_ai_steps(session: Session) -> list[Campaign]:
    """Campaigns with at least one AI-written step, newest first: one query, not one a
    campaign."""
    ai_step = sa.select(CampaignSequence.id).where(
        CampaignSequence.campaign_id == Campaign.id, CampaignSequence.ai_written
    )
    return list(
        session.scalars(
            sa.select(Campaign)
            .where(ai_step.exists())
            .order_by(Campaign.created_at.desc(), Campaign.id)
        )
    )


def all_campaigns(session: Session) -> list[Campaign]:
    return list(
        session.scalars(sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id))
    )


def settings_of(session: Session, campaign_id: uuid.UUID) -> CampaignSettings:
    """The campaign's settings row (made by the seed's trigger when the campaign was inserted)."""
    return session.scalars(
        sa.select(CampaignSettings).where(CampaignSettings.campaign_id == campaign_id)
    ).one()


def steps_of(session: Session, campaign_id: uuid.UUID) -> list[CampaignSequence]:
    return list(
        session.scalars(
            sa.select(CampaignSequence)
            .where(CampaignSequence.campaign_id == campaign_id)
            .order_by(CampaignSequence.sequence_order, CampaignSequence.created_at)
        )
    )


def senders_of(session: Session, campaign_id: uuid.UUID) -> list[SenderAccount]:
    return list(
        session.scalars(
            sa.select(SenderAccount)
            .join(CampaignSender, CampaignSender.sender_account_id == SenderAccount.id)
            .where(CampaignSender.campaign_id == campaign_id)
            .order_by(CampaignSender.position)
        )
    )


def replace_senders(
    session: Session, campaign_id: uuid.UUID, sender_ids: Sequence[uuid.UUID]
) -> None:
    session.execute(sa.delete(CampaignSender).where(CampaignSender.campaign_id == campaign_id))
    session.add_all(
        CampaignSender(campaign_id=campaign_id, sender_account_id=sender_id, position=position)
        for position, sender_id in enumerate(sender_ids)
    )
    session.flush()


def unenrolled_members(
    session: Session, campaign_id: uuid.UUID, list_id: uuid.UUID, limit: int
) -> list[tuple[uuid.UUID, str]]:
    """(contact id, email) of list members with no row in this campaign yet, a slice at a time."""
    enrolled = sa.select(CampaignContact.id).where(
        CampaignContact.campaign_id == campaign_id, CampaignContact.contact_id == Contact.id
    )
    rows = session.execute(
        sa.select(Contact.id, Contact.email)
        .join(ContactListMember, ContactListMember.contact_id == Contact.id)
        .where(ContactListMember.list_id == list_id, ~enrolled.exists())
        .order_by(Contact.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


def active_elsewhere(
    session: Session, campaign_id: uuid.UUID, contact_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Contacts running in another campaign that is sending (active or paused)."""
    if not contact_ids:
        return set()
    rows = session.scalars(
        sa.select(CampaignContact.contact_id)
        .join(Campaign, Campaign.id == CampaignContact.campaign_id)
        .where(
            CampaignContact.contact_id.in_(contact_ids),
            CampaignContact.campaign_id != campaign_id,
            CampaignContact.status.in_(RUNNING_VALUES),
            Campaign.status.in_(("active", "paused")),
        )
    )
    return set(rows)


def running_campaigns_of(
    session: Session, contact_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The name of a sending campaign (active or paused) each of these contacts is running in
    (idx_campaign_contacts_status narrows it; there are few running rows per contact)."""
    if not contact_ids:
        return {}
    rows = session.execute(
        sa.select(CampaignContact.contact_id, Campaign.name)
        .join(Campaign, Campaign.id == CampaignContact.campaign_id)
        .where(
            CampaignContact.contact_id.in_(list(contact_ids)),
            CampaignContact.status.in_(RUNNING_VALUES),
            Campaign.status.in_(("active", "paused")),
        )
        .order_by(Campaign.name.desc())
    )
    return {row[0]: row[1] for row in rows}


def campaigns_of_contacts(
    session: Session, contact_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[Campaign, str]]]:
    """Each of a page's contacts' campaigns with its enrollment's status, in one query
    (ix_campaign_contacts_contact_id)."""
    found: dict[uuid.UUID, list[tuple[Campaign, str]]] = {}
    if not contact_ids:
        return found
    rows = session.execute(
        sa.select(CampaignContact.contact_id, Campaign, CampaignContact.status)
        .join(Campaign, Campaign.id == CampaignContact.campaign_id)
        .where(CampaignContact.contact_id.in_(list(contact_ids)))
        .order_by(Campaign.name)
    )
    for contact_id, campaign, status in rows:
        found.setdefault(contact_id, []).append((campaign, status or ""))
    return found


def replied_domains(session: Session, domains: Sequence[str]) -> set[str]:
    """Which of these email domains a contact has replied from (any campaign, or none)."""
    if not domains:
        return set()
    repliers = session.scalars(
        sa.select(sa.func.lower(Contact.email))
        .join(RepliedContact, RepliedContact.contact_id == Contact.id)
        .distinct()
    )
    replied = {company_domain(email) for email in repliers}
    return {domain for domain in domains if domain in replied}


def insert_enrollments(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(sa.insert(CampaignContact), list(rows))


def enrollment_counts(session: Session, campaign_id: uuid.UUID) -> dict[str, int]:
    rows = session.execute(
        sa.select(CampaignContact.status, sa.func.count())
        .where(CampaignContact.campaign_id == campaign_id)
        .group_by(CampaignContact.status)
    )
    return dict(rows.all())


def running_threads(
    session: Session, campaign_id: uuid.UUID
) -> list[tuple[datetime | None, int, uuid.UUID | None, int]]:
    """The campaign's running enrollments alike in (next email due, steps sent, sender account),
    each with how many share them: what a forecast plays forward. Enrollments launched together
    share their due time, so a campaign of 30,000 gives a few hundred rows
    (ix_campaign_contacts_campaign_id_status finds the running ones)."""
    columns = (
        CampaignContact.next_send_at,
        CampaignContact.current_sequence_step,
        CampaignContact.sender_account_id,
    )
    rows = session.execute(
        sa.select(*columns, sa.func.count())
        .where(CampaignContact.campaign_id == campaign_id, CampaignContact.status.in_(RUNNING))
        .group_by(*columns)
    )
    return [(due, step, sender_id, count) for due, step, sender_id, count in rows]


def enrollment_counts_of(
    session: Session, campaign_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Each campaign's enrollments by status, in one grouped query over (campaign_id, status)."""
    counts: dict[uuid.UUID, dict[str, int]] = {campaign_id: {} for campaign_id in campaign_ids}
    if not campaign_ids:
        return counts
    rows = session.execute(
        sa.select(CampaignContact.campaign_id, CampaignContact.status, sa.func.count())
        .where(CampaignContact.campaign_id.in_(list(campaign_ids)))
        .group_by(CampaignContact.campaign_id, CampaignContact.status)
    )
    for campaign_id, status, count in rows:
        counts[campaign_id][status] = count
    return counts


def enrollments_page(
    session: Session,
    campaign_id: uuid.UUID,
    after: str | None,
    limit: int,
    status: str | None = None,
) -> tuple[list[tuple[CampaignContact, Contact]], str | None]:
    """A page of a campaign's enrollments (in `status`, when given) in the order they were
    enrolled, and the cursor of the next page: ix_campaign_contacts_campaign_id_enrolled_at
    serves the order and the jump, so a page costs its rows however many the campaign holds.
    ValidationFailed for a cursor we did not give."""
    statement = (
        sa.select(CampaignContact, Contact)
        .join(Contact, Contact.id == CampaignContact.contact_id)
        .where(CampaignContact.campaign_id == campaign_id)
        .order_by(CampaignContact.enrolled_at, CampaignContact.id)
        .limit(limit + 1)
    )
    if status:
        statement = statement.where(CampaignContact.status == status)
    if after:
        at, enrollment_id = read_cursor(after, "after")
        statement = statement.where(
            sa.tuple_(CampaignContact.enrolled_at, CampaignContact.id) > (at, enrollment_id)
        )
    rows = [(row[0], row[1]) for row in session.execute(statement)]
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = keyset_cursor(rows[-1][0].enrolled_at, rows[-1][0].id) if more and rows else None
    return rows, cursor


def enrollments_of(
    session: Session, campaign_id: uuid.UUID, limit: int = 200
) -> list[tuple[CampaignContact, Contact]]:
    """The first `limit` of a campaign's enrollments (see enrollments_page)."""
    return enrollments_page(session, campaign_id, None, limit)[0]


def enrollment_of(
    session: Session, enrollment_id: uuid.UUID
) -> tuple[CampaignContact, Contact, Campaign] | None:
    row = session.execute(
        sa.select(CampaignContact, Contact, Campaign)
        .join(Contact, Contact.id == CampaignContact.contact_id)
        .join(Campaign, Campaign.id == CampaignContact.campaign_id)
        .where(CampaignContact.id == enrollment_id)
    ).first()
    return (row[0], row[1], row[2]) if row else None


def due_campaigns(session: Session, now: datetime) -> list[uuid.UUID]:
    """Active campaigns with at least one enrollment whose next step may go by now
    (ix_campaign_contacts_due serves the inner lookup)."""
    due = sa.select(CampaignContact.id).where(
        CampaignContact.campaign_id == Campaign.id,
        DUE_INDEX_CONDITION,
        CampaignContact.next_send_at <= now,
    )
    return list(
        session.scalars(
            sa.select(Campaign.id)
            .where(Campaign.status == "active", due.exists())
            .order_by(Campaign.id)
        )
    )


def next_step_after(session: Session, after: datetime) -> datetime | None:
    """The earliest moment after `after` that a running enrollment of an active campaign has a
    step due (ix_campaign_contacts_due: per active campaign, its first entry after `after`)."""
    first_after = (
        sa.select(sa.func.min(CampaignContact.next_send_at))
        .where(
            CampaignContact.campaign_id == Campaign.id,
            DUE_INDEX_CONDITION,
            CampaignContact.next_send_at > after,
        )
        .scalar_subquery()
    )
    return session.scalar(sa.select(sa.func.min(first_after)).where(Campaign.status == "active"))


def lock_campaign(session: Session, campaign_id: uuid.UUID) -> bool:
    """Takes the campaign for this transaction so that two workers never decide its pace at
    once (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer already). False when
    another worker holds it."""
    statement = sa.select(Campaign.id).where(
        Campaign.id == campaign_id, Campaign.status == "active"
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return session.scalar(statement) is not None


def due_enrollments(
    session: Session, campaign_id: uuid.UUID, now: datetime, limit: int
) -> list[CampaignContact]:
    """The campaign's enrollments whose next step may go by now, oldest due first
    (ix_campaign_contacts_due serves both the range and the order: no sort, no scan)."""
    return list(session.scalars(_due(sa.select(CampaignContact), campaign_id, now, limit)))


def due_enrollment_ids(
    session: Session, campaign_id: uuid.UUID, now: datetime, limit: int
) -> list[uuid.UUID]:
    """The ids of due_enrollments, in the same order."""
    return list(session.scalars(_due(sa.select(CampaignContact.id), campaign_id, now, limit)))


def _due(
    statement: sa.Select[Any], campaign_id: uuid.UUID, now: datetime, limit: int
) -> sa.Select[Any]:
    return (
        statement.where(
            CampaignContact.campaign_id == campaign_id,
            DUE_INDEX_CONDITION,
            CampaignContact.next_send_at <= now,
        )
        .order_by(CampaignContact.next_send_at)
        .limit(limit)
    )


def postpone(
    session: Session, enrollment_id: uuid.UUID, until: datetime | None, reason: str
) -> None:
    session.execute(
        sa.update(CampaignContact)
        .where(CampaignContact.id == enrollment_id)
        .values(next_send_at=until, waiting_reason=reason)
        .execution_options(synchronize_session=False)
    )


def wake_waiting(
    session: Session,
    campaign_id: uuid.UUID,
    contact_id: uuid.UUID,
    now: datetime,
    mark: str,
    reason: str,
) -> int:
    """The contact's running enrollment in the campaign, if it waits for a later time with a
    reason containing `mark`, is due now with `reason`; how many (0 or 1)."""
    result = session.execute(
        sa.update(CampaignContact)
        .where(
            CampaignContact.campaign_id == campaign_id,
            CampaignContact.contact_id == contact_id,
            CampaignContact.status.in_(RUNNING_VALUES),
            CampaignContact.next_send_at > now,
            CampaignContact.waiting_reason.contains(mark),
        )
        .values(next_send_at=now, waiting_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


def update_enrollments(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Sets each enrollment's (`row_id`) columns named in its row (the same in every row), in
    one executemany; not its status, which only transition() writes."""
    if not rows:
        return
    session.execute(
        sa.update(enrollments_table).where(enrollments_table.c.id == sa.bindparam("row_id")),
        list(rows),
    )


def _runs(campaign_id: Any) -> sa.ColumnElement[bool]:
    """Whether any of the campaign's enrollments still runs: one probe of (campaign_id,
    status) per running status. With `status IN (...)` PostgreSQL walked the campaign's
    whole stretch of that index, filtering out its ended enrollments (79,000 of the biggest
    campaign's at ten times the seed's volume, on every worker pass)."""
    return sa.or_(
        *(
            sa.select(CampaignContact.id)
            .where(CampaignContact.campaign_id == campaign_id, CampaignContact.status == status)
            .exists()
            for status in RUNNING_VALUES
        )
    )


def any_running(session: Session, campaign_id: uuid.UUID) -> bool:
    """Whether any of the campaign's enrollments still runs, however many it holds."""
    return session.scalar(sa.select(_runs(campaign_id))) or False


def finishable_campaigns(session: Session) -> list[Campaign]:
    """Active campaigns with a list, none of whose enrollments runs and whose list gained no
    member since it was enrolled: the campaigns that may be done, in one statement of index
    probes per active campaign (a worker pass asks)."""
    return list(
        session.scalars(
            sa.select(Campaign)
            .join(ContactList, ContactList.id == Campaign.list_id)
            .where(
                Campaign.status == "active",
                sa.not_(_list_changed_since_enrolled()),
                sa.not_(_runs(Campaign.id)),
            )
            .order_by(Campaign.id)
        )
    )


def _list_changed_since_enrolled() -> sa.ColumnElement[bool]:
    return Campaign.enrolled_list_version.is_distinct_from(ContactList.members_version)


def campaigns_with_new_members(session: Session) -> list[Campaign]:
    """Active campaigns whose list gained members since the campaign last enrolled it whole:
    one query over campaigns and lists, whatever the lists hold."""
    return list(
        session.scalars(
            sa.select(Campaign)
            .join(ContactList, ContactList.id == Campaign.list_id)
            .where(Campaign.status == "active", _list_changed_since_enrolled())
            .order_by(Campaign.id)
        )
    )


def may_have_new_members(session: Session, campaign_id: uuid.UUID) -> bool:
    """Whether the campaign's list may hold members it has not enrolled (see
    campaigns_with_new_members)."""
    changed = (
        sa.select(Campaign.id)
        .join(ContactList, ContactList.id == Campaign.list_id)
        .where(Campaign.id == campaign_id, _list_changed_since_enrolled())
    )
    return session.scalar(sa.select(changed.exists())) or False


def record_enrolled_version(session: Session, campaign_id: uuid.UUID, version: int) -> None:
    """Every member of the campaign's list at `version` has an enrollment now."""
    session.execute(
        sa.update(Campaign).where(Campaign.id == campaign_id).values(enrolled_list_version=version)
    )


def stop_running(
    session: Session, campaign_id: uuid.UUID, status: EnrollmentStatus, reason: str
) -> int:
    return transition_many(
        session,
        CampaignContact,
        (CampaignContact.campaign_id == campaign_id,),
        status,
        ENROLLMENTS,
        stop_reason=reason,
        next_send_at=None,
    )


def record_step(session: Session, enrollment_id: uuid.UUID, **values: Any) -> None:
    session.execute(
        sa.update(CampaignContact)
        .where(CampaignContact.id == enrollment_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def stop_contact(
    session: Session, contact_id: uuid.UUID, status: EnrollmentStatus, reason: str
) -> int:
    return transition_many(
        session,
        CampaignContact,
        (CampaignContact.contact_id == contact_id,),
        status,
        ENROLLMENTS,
        stop_reason=reason,
        next_send_at=None,
    )


def stop_colleagues(
    session: Session, campaign_id: uuid.UUID, domain: str, replier_id: uuid.UUID, reason: str
) -> int:
    """Ends the campaign's running enrollments of contacts at `domain` other than the one who
    replied; how many."""
    at_domain = sa.select(Contact.id).where(
        contact_queries.email_at_domain(domain), Contact.id != replier_id
    )
    return transition_many(
        session,
        CampaignContact,
        (CampaignContact.campaign_id == campaign_id, CampaignContact.contact_id.in_(at_domain)),
        EnrollmentStatus.stopped,
        ENROLLMENTS,
        stop_reason=reason,
        next_send_at=None,
    )


def active_campaigns(session: Session) -> list[Campaign]:
    return list(
        session.scalars(
            sa.select(Campaign).where(Campaign.status == "active").order_by(Campaign.id)
        )
    )
