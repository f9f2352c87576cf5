"""Contact lists: named groups of contacts that campaigns are sent to."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.contacts import queries
from outreach.contacts.models import ContactList, UploadBatch
from outreach.contacts.queries import ContactFilter
from outreach.db import get_or_not_found
from outreach.errors import Conflict, NotFound, ValidationFailed


def _checked_name(session: Session, name: str, keep: uuid.UUID | None = None) -> str:
    label = " ".join(name.split())
    if not label or len(label) > 200:
        raise ValidationFailed("A list needs a name of 1 to 200 characters.", field="name")
    same = queries.list_named(session, label)
    if same is not None and same.id != keep:
        raise Conflict(f"There is already a list called {same.name!r}.", field="name")
    return label


def create(session: Session, name: str, description: str | None, now: datetime) -> ContactList:
    created = ContactList(
        name=_checked_name(session, name),
        description=(description or "").strip() or None,
        created_at=now,
    )
    session.add(created)
    session.flush()
    return created


def get(session: Session, list_id: uuid.UUID) -> ContactList:
    return get_or_not_found(session, ContactList, list_id, "list")


def named(session: Session, name: str) -> ContactList:
    found = queries.list_named(session, name)
    if found is None:
        raise NotFound(f"There is no list called {name!r}.", name=name)
    return found


def named_or_created(session: Session, name: str, now: datetime) -> ContactList:
    return queries.list_named(session, name) or create(session, name, None, now)


def rename(
    session: Session, list_id: uuid.UUID, name: str, description: str | None = None
) -> ContactList:
    found = get(session, list_id)
    found.name = _checked_name(session, name, keep=list_id)
    if description is not None:
        found.description = description.strip() or None
    session.flush()
    return found


def delete(session: Session, list_id: uuid.UUID) -> None:
    """Deletes a list (its contacts stay). A list a campaign is sent to cannot be deleted."""
    found = get(session, list_id)
    try:
        with session.begin_nested():
            session.delete(found)
    except sa.exc.IntegrityError as error:
        raise Conflict(
            f"The list {found.name!r} is used by a campaign; archive the campaign first.",
            id=str(list_id),
        ) from error


def add_batch(session: Session, list_id: uuid.UUID, batch_id: uuid.UUID, now: datetime) -> int:
    """Adds every contact an upload created; returns how many were not in the list yet."""
    get(session, list_id)
    get_or_not_found(session, UploadBatch, batch_id, "upload")
    return queries.add_matching_members(session, list_id, ContactFilter(batch_id=batch_id), now)


def add_matching(
    session: Session,
    list_id: uuid.UUID,
    where: ContactFilter,
    now: datetime,
    *,
    everyone: bool = False,
) -> int:
    """Adds every contact matching the filter; returns how many were not in the list yet.
    `everyone`: an empty filter is meant (a person confirmed the count), not a mistake."""
    get(session, list_id)
    if where == ContactFilter() and not everyone:
        raise ValidationFailed("Say which contacts to add: an empty filter would add everyone.")
    return queries.add_matching_members(session, list_id, where, now)


def add(session: Session, list_id: uuid.UUID, contact_ids: list[uuid.UUID], now: datetime) -> int:
    get(session, list_id)
    unknown = set(contact_ids) - queries.existing_contact_ids(session, contact_ids)
    if unknown:
        named = sorted(str(contact_id) for contact_id in unknown)
        raise NotFound(f"There is no contact {', '.join(named)}.", ids=named)
    return queries.add_members(session, list_id, contact_ids, now)


def remove(session: Session, list_id: uuid.UUID, contact_ids: list[uuid.UUID]) -> int:
    get(session, list_id)
    return queries.remove_members(session, list_id, contact_ids)
