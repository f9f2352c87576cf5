"""Lead status: where each contact stands, set by what happens and by people.

Events set it (a send: contacted; a reply: replied; a reply's category: its status; a bounce or
an unsubscribe: theirs); a person can set any status at any time. Which event may replace which
status is pure (`replaceable_by`):

- a person's choice is never replaced by an event: only a person changes it;
- bounced, unsubscribed and do not contact end the conversation: they replace any status an
  event set, and only a person replaces them;
- contacted and replied only move a contact forward (new → contacted → replied), so that a
  follow-up sent after their reply leaves them replied;
- a category's status (interested, not interested) replaces any earlier status an event set.

`change` is the one place a contact's lead status is written, and each change is a
contact_changes row (who or what, when, why) for the contact's history. Services flush; the
caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.contacts.models import Contact, ContactChange
from outreach.db import get_or_not_found
from outreach.errors import ValidationFailed
from outreach.events import recording as events
from outreach.events.kinds import EventKind
from outreach.states import forget_loaded


class LeadStatus(StrEnum):
    new = "new"
    contacted = "contacted"
    replied = "replied"
    interested = "interested"
    meeting_booked = "meeting_booked"
    won = "won"
    lost = "lost"
    not_interested = "not_interested"
    do_not_contact = "do_not_contact"
    bounced = "bounced"
    unsubscribed = "unsubscribed"

    @property
    def words(self) -> str:
        return self.value.replace("_", " ")


ENDED = frozenset({LeadStatus.bounced, LeadStatus.unsubscribed, LeadStatus.do_not_contact})
"""Statuses after which nobody may be emailed: an event never replaces them."""
_FORWARD = (LeadStatus.new, LeadStatus.contacted, LeadStatus.replied)


def replaceable_by(proposed: LeadStatus) -> frozenset[LeadStatus]:
    """The statuses, set by an event (never by a person), that an event proposing `proposed`
    replaces (see the module's docstring)."""
    if proposed in ENDED:
        return frozenset(LeadStatus) - {proposed}
    if proposed in _FORWARD:
        return frozenset(_FORWARD[: _FORWARD.index(proposed)])
    return frozenset(LeadStatus) - ENDED - {proposed}


def parse_status(text: str) -> LeadStatus:
    """A status as a person types it ("meeting booked", "Meeting-Booked"), or ValidationFailed
    listing the statuses there are."""
    key = "_".join(text.strip().lower().replace("-", " ").split())
    try:
        return LeadStatus(key)
    except ValueError:
        known = ", ".join(status.words for status in LeadStatus)
        raise ValidationFailed(
            f"{text!r} is not a lead status: one of {known}.", field="lead_status"
        ) from None


@dataclass(frozen=True)
class ChangedBy:
    """Who or what changes a status or a category."""

    name: str
    """A person's email, or what happened: "a send", "a reply", "the rules", a model's name."""
    user_id: uuid.UUID | None = None
    person: bool = False

    @staticmethod
    def someone(email: str, user_id: uuid.UUID | None) -> ChangedBy:
        return ChangedBy(email, user_id, person=True)


def change(
    session: Session,
    contact_ids: Collection[uuid.UUID],
    status: LeadStatus,
    by: ChangedBy,
    now: datetime,
    *,
    reason: str | None = None,
    inbox_message_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Sets the status of these contacts where the rules allow it (a person: always; an event:
    see `replaceable_by`), records each change, and returns the contacts changed. One UPDATE for
    any number of contacts (a sending round's)."""
    if not contact_ids:
        return []
    allowed: list[sa.ColumnElement[bool]] = [Contact.lead_status != status.value]
    if not by.person:
        allowed += [
            Contact.lead_status.in_(sorted(replaceable_by(status))),
            Contact.lead_status_by_person.is_(False),
        ]
    found = session.execute(
        sa.select(Contact.id, Contact.lead_status, Contact.email).where(
            Contact.id.in_(list(contact_ids)), *allowed
        )
    ).all()
    before = {contact_id: status_before for contact_id, status_before, _ in found}
    emails = {contact_id: email for contact_id, _, email in found}
    if not before:
        return []
    changed = list(
        session.scalars(
            sa.update(Contact)
            .where(Contact.id.in_(list(before)), *allowed)
            .values(
                lead_status=status.value,
                lead_status_at=now,
                lead_status_by=by.name,
                lead_status_by_person=by.person,
            )
            .returning(Contact.id)
            .execution_options(synchronize_session=False)
        )
    )
    session.add_all(
        ContactChange(
            contact_id=contact_id,
            field="lead_status",
            old_value=before[contact_id],
            new_value=status.value,
            changed_by=by.name,
            changed_by_user_id=by.user_id,
            reason=reason,
            inbox_message_id=inbox_message_id,
            changed_at=now,
        )
        for contact_id in changed
    )
    events.record_many(
        session,
        EventKind.lead_status_changed,
        now,
        (
            {
                "contact_id": contact_id,
                "email": emails[contact_id],
                "status": status.value,
                "previous_status": before[contact_id],
                "by": "person" if by.person else "automatic",
            }
            for contact_id in changed
        ),
    )
    forget_loaded(
        session,
        Contact,
        changed,
        ["lead_status", "lead_status_at", "lead_status_by", "lead_status_by_person"],
    )
    session.flush()
    return changed


def set_by_person(
    session: Session, contact_id: uuid.UUID, status: LeadStatus, by: ChangedBy, now: datetime
) -> Contact:
    """A person sets a contact's status (NotFound for no such contact); the same status again
    changes nothing."""
    contact = get_or_not_found(session, Contact, contact_id, "contact")
    change(session, [contact.id], status, by, now, reason="set by hand")
    session.refresh(contact)
    return contact


def history(session: Session, contact_id: uuid.UUID) -> list[ContactChange]:
    """Every change of a contact's status and of their replies' categories, oldest first (served
    by ix_contact_changes_contact_id_changed_at); at the same moment a category comes before the
    status it set."""
    return list(
        session.scalars(
            sa.select(ContactChange)
            .where(ContactChange.contact_id == contact_id)
            .order_by(ContactChange.changed_at, ContactChange.field, ContactChange.id)
        )
    )
