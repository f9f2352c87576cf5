"""Notes a person adds to a contact: part of the contact's history. Services flush; the caller
commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.contacts.models import Contact, ContactNote
from outreach.db import get_or_not_found
from outreach.errors import ValidationFailed

LONGEST = 20_000


def add(
    session: Session, contact_id: uuid.UUID, author_id: uuid.UUID | None, text: str, now: datetime
) -> ContactNote:
    """A note on the contact, written by `author_id` (None: from the command line, by nobody
    signed in)."""
    get_or_not_found(session, Contact, contact_id, "contact")
    written = text.strip()
    if not written or len(written) > LONGEST:
        raise ValidationFailed(f"A note is 1 to {LONGEST:,} characters.", field="text")
    note = ContactNote(contact_id=contact_id, author_id=author_id, text=written, created_at=now)
    session.add(note)
    session.flush()
    return note
