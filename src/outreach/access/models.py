"""Tables of our own (not in the seed): users, sessions, API tokens, sign-in attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, UtcDateTime


class Role(StrEnum):
    admin = "admin"
    member = "member"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("role IN ('admin', 'member')", name="role"),)

    id: Mapped[uuid.UUID] = primary_key()
    email: Mapped[str] = mapped_column(sa.Text, unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(sa.Text)
    role: Mapped[str] = mapped_column(sa.Text, server_default=Role.member.value)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    time_zone: Mapped[str] = mapped_column(sa.Text, server_default="UTC")
    """The IANA name of the zone this person reads times in (migration 0030)."""
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


class UserSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"
    id: Mapped[uuid.UUID] = primary_key()
    user_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.Text, unique=True)
    created_at: Mapped[datetime] = timestamp_now()
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    user_agent: Mapped[str | None] = mapped_column(sa.Text)


class ApiToken(Base):
    """A bearer token for /api/v1, shown once at creation; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = primary_key()
    user_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.Text)
    token_hash: Mapped[str] = mapped_column(sa.Text, unique=True)
    prefix: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = timestamp_now()
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LoginAttempt(Base):
    """Sign-in attempts, kept a day, so failures can be rate-limited across web processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_email_attempted_at", "email", "attempted_at"),
        sa.Index("ix_login_attempts_ip_attempted_at", "ip", "attempted_at"),
    )

    id: Mapped[uuid.UUID] = primary_key()
    email: Mapped[str] = mapped_column(sa.Text)
    ip: Mapped[str] = mapped_column(sa.Text)
    succeeded: Mapped[bool] = mapped_column(sa.Boolean)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IdempotencyKey(Base):
    """An API POST sent with an `Idempotency-Key` header: its caller, the key, what the request
    was (`fingerprint`) and, once answered, the answer replayed to a repeat (migration 0019)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("owner", "key"),)

    id: Mapped[uuid.UUID] = primary_key()
    owner: Mapped[str] = mapped_column(sa.Text)
    """A hash of the caller's Authorization header: one caller's keys are not another's."""
    key: Mapped[str] = mapped_column(sa.Text)
    fingerprint: Mapped[str] = mapped_column(sa.Text)
    """A hash of the method, path and body."""
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    """NULL while the first request is being answered."""
    content_type: Mapped[str | None] = mapped_column(sa.Text)
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = timestamp_now()
