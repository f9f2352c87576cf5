"""Idempotent API requests: the first request with a caller's Idempotency-Key is answered and
its answer kept; a repeat with the same request gets that answer again, one with another
request a Conflict, one while the first is still being answered a Conflict too. Keys are kept
KEPT, then forgotten (access.service.prune). Services flush; the caller commits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.access.models import IdempotencyKey
from outreach.errors import Conflict, ValidationFailed

KEPT = timedelta(hours=24)
LONGEST_KEY = 255


@dataclass(frozen=True)
class Kept:
    status_code: int
    content_type: str | None
    body: str


def digest(*parts: bytes) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(len(part).to_bytes(8, "big") + part)
    return hashed.hexdigest()


def claim(session: Session, owner: str, key: str, fingerprint: str, now: datetime) -> Kept | None:
    """None when this is the key's first request (now claimed: answer it, then `keep`), the
    kept answer of an earlier one with the same request; Conflict otherwise."""
    if not 1 <= len(key) <= LONGEST_KEY:
        raise ValidationFailed(
            f"An Idempotency-Key is 1 to {LONGEST_KEY} characters.", field="Idempotency-Key"
        )
    try:
        with session.begin_nested():
            claimed = IdempotencyKey(owner=owner, key=key, fingerprint=fingerprint, created_at=now)
            session.add(claimed)
        return None
    except IntegrityError:
        pass
    earlier = session.scalars(
        sa.select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    ).one()
    if earlier.fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for another request: use a new key for a new request.",
            key=key,
        )
    if earlier.status_code is None:
        raise Conflict("A request with this Idempotency-Key is being answered: try again.", key=key)
    return Kept(earlier.status_code, earlier.content_type, earlier.response_body or "")


def keep(session: Session, owner: str, key: str, answer: Kept) -> None:
    session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        .values(
            status_code=answer.status_code,
            content_type=answer.content_type,
            response_body=answer.body,
        )
    )


def release(session: Session, owner: str, key: str) -> None:
    """The first request failed on our side (5xx): the key may be used again."""
    session.execute(
        sa.delete(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    )


def forget_before(session: Session, before: datetime) -> int:
    deleted = session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < before))
    return deleted.rowcount or 0  # type: ignore[attr-defined]
