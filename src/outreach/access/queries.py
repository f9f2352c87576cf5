"""SQL for users, sessions, API tokens and sign-in attempts."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.access.models import ApiToken, LoginAttempt, User, UserSession
from outreach.db import keyset_scalars


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email))


def user_by_id(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def all_users(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.email)))


def users_page(session: Session, after: str | None, limit: int) -> tuple[list[User], str | None]:
    """A page of users by email (the unique index on email serves it)."""
    return keyset_scalars(session, sa.select(User), User.email, User.id, after, limit)


def user_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def active_user_for_session(session: Session, token_hash: str, now: datetime) -> User | None:
    # uq_user_sessions_token_hash serves the lookup.
    return session.scalar(
        sa.select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == token_hash, UserSession.expires_at > now, User.is_active)
    )


def delete_session(session: Session, token_hash: str) -> None:
    session.execute(sa.delete(UserSession).where(UserSession.token_hash == token_hash))


def delete_sessions_of(session: Session, user_id: uuid.UUID) -> None:
    session.execute(sa.delete(UserSession).where(UserSession.user_id == user_id))


def delete_expired_sessions(session: Session, now: datetime) -> int:
    # ix_user_sessions_expires_at serves the range.
    result = session.execute(sa.delete(UserSession).where(UserSession.expires_at <= now))
    return result.rowcount or 0  # type: ignore[attr-defined]


def live_api_token(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    )


def note_token_use(
    session: Session, token_id: uuid.UUID, now: datetime, unless_after: datetime
) -> None:
    # The primary key serves it; the condition makes concurrent requests write once.
    session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.id == token_id,
            sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= unless_after),
        )
        .values(last_used_at=now)
    )


def api_tokens_of(session: Session, user_id: uuid.UUID) -> list[ApiToken]:
    return list(
        session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id)
        )
    )


def api_tokens_page(
    session: Session, user_id: uuid.UUID, after: str | None, limit: int
) -> tuple[list[ApiToken], str | None]:
    """A page of the user's tokens, newest first."""
    mine = sa.select(ApiToken).where(ApiToken.user_id == user_id)
    return keyset_scalars(
        session, mine, ApiToken.created_at, ApiToken.id, after, limit, descending=True
    )


def recent_failures(session: Session, *, since: datetime, email: str, ip: str) -> tuple[int, int]:
    """Failed sign-ins since a time: (for this address, from this IP address).

    The (email, attempted_at) and (ip, attempted_at) indexes serve the two counts.
    """
    failed = sa.and_(~LoginAttempt.succeeded, LoginAttempt.attempted_at > since)
    by_email = sa.select(sa.func.count()).where(failed, LoginAttempt.email == email)
    by_ip = sa.select(sa.func.count()).where(failed, LoginAttempt.ip == ip)
    return session.scalar(by_email) or 0, session.scalar(by_ip) or 0


def oldest_failure_since(
    session: Session, *, since: datetime, email: str, ip: str
) -> datetime | None:
    return session.scalar(
        sa.select(sa.func.min(LoginAttempt.attempted_at)).where(
            ~LoginAttempt.succeeded,
            LoginAttempt.attempted_at > since,
            sa.or_(LoginAttempt.email == email, LoginAttempt.ip == ip),
        )
    )


def delete_attempts_before(session: Session, before: datetime) -> int:
    result = session.execute(sa.delete(LoginAttempt).where(LoginAttempt.attempted_at < before))
    return result.rowcount or 0  # type: ignore[attr-defined]
