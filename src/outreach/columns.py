"""Column shapes every seed table repeats: a UUID key and a creation time, both defaulted by the
database too, so rows written by psql or an import get them exactly as the app's do."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import GUID, UtcDateTime, new_uuid, utc_now


def primary_key() -> Mapped[uuid.UUID]:
    return mapped_column(GUID(), primary_key=True, default=uuid.uuid4, server_default=new_uuid())


def timestamp_now() -> Mapped[datetime]:
    """NOT NULL DEFAULT now(): the database stamps it unless the writer gives a time."""
    return mapped_column(UtcDateTime(), nullable=False, server_default=utc_now())
