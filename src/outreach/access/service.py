"""Users, sign-in, sessions and API tokens. Services flush; the caller commits."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.access import credentials, idempotency, queries
from outreach.access.models import ApiToken, LoginAttempt, Role, User, UserSession
from outreach.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from outreach.words import counted

FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 5
MAX_FAILURES_PER_IP = 20
ATTEMPTS_KEPT = timedelta(days=1)
WRONG_CREDENTIALS = "That email address and password do not match an account."


SIGN_IN_ADDRESS = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")
LABEL = re.compile(r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$")
"""A name a person gives something: printable, not blank. Anchored, because a schema's
`pattern` searches: unanchored, one printable character anywhere let control characters by."""


def normalised_email(email: str) -> str:
    """A sign-in address, lower-cased. Any domain will do (intranet ones included): it names a
    person who signs in, it is not a recipient of campaigns."""
    address = email.strip().lower()
    if len(address) > 320 or not SIGN_IN_ADDRESS.fullmatch(address):
        raise ValidationFailed(f"{email!r} is not a valid email address.", field="email")
    return address


def _checked_password(password: str) -> str:
    if len(password) < credentials.MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"Passwords need at least {credentials.MIN_PASSWORD_LENGTH} characters.",
            field="password",
        )
    return credentials.hash_password(password)


def create_user(session: Session, email: str, password: str, role: Role = Role.member) -> User:
    address = normalised_email(email)
    if queries.user_by_email(session, address):
        raise Conflict(f"There is already a user {address}.", field="email")
    user = User(email=address, password_hash=_checked_password(password), role=role.value)
    session.add(user)
    session.flush()
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not credentials.password_matches(user.password_hash, current):
        raise ValidationFailed("The current password is not right.", field="current_password")
    user.password_hash = _checked_password(new)
    queries.delete_sessions_of(session, user.id)
    session.flush()


def set_time_zone(session: Session, user: User, zone: ZoneInfo) -> None:
    """The zone in which this person reads the times the pages show."""
    user.time_zone = zone.key
    session.flush()


def authenticate(session: Session, email: str, password: str, ip: str, now: datetime) -> User:
    """The active user with this address and password, or why not.

    Failures are counted per address and per IP address over a sliding window, in the database,
    so that several web processes share one limit.
    """
    address = email.strip().lower()
    since = now - FAILURE_WINDOW
    by_address, by_ip = queries.recent_failures(session, since=since, email=address, ip=ip)
    if by_address >= MAX_FAILURES_PER_ADDRESS or by_ip >= MAX_FAILURES_PER_IP:
        oldest = queries.oldest_failure_since(session, since=since, email=address, ip=ip) or now
        wait = max(1, int((oldest + FAILURE_WINDOW - now).total_seconds()))
        raise RateLimited(
            f"Too many failed sign-ins. Try again in {counted((wait + 59) // 60, 'minute')}.",
            retry_after_seconds=wait,
        )
    user = queries.user_by_email(session, address)
    matched = credentials.password_matches(user.password_hash if user else None, password)
    succeeded = bool(user and user.is_active and matched)
    session.add(LoginAttempt(email=address, ip=ip, succeeded=succeeded, attempted_at=now))
    if not succeeded or user is None:
        session.flush()
        raise Unauthorized(WRONG_CREDENTIALS)
    if credentials.password_needs_rehash(user.password_hash):
        user.password_hash = credentials.hash_password(password)
    user.last_sign_in_at = now
    session.flush()
    return user


def start_session(
    session: Session, user: User, now: datetime, lifetime: timedelta, user_agent: str | None
) -> str:
    """A new signed-in session; returns the token for the cookie (stored only as a digest)."""
    token = credentials.new_session_token()
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=credentials.digest(token),
            created_at=now,
            expires_at=now + lifetime,
            user_agent=(user_agent or "")[:500] or None,
        )
    )
    session.flush()
    return token


def user_for_session(session: Session, token: str, now: datetime) -> User | None:
    return queries.active_user_for_session(session, credentials.digest(token), now)


def end_session(session: Session, token: str) -> None:
    queries.delete_session(session, credentials.digest(token))
    session.flush()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str
    """The bearer value: shown once, never stored."""


def issue_api_token(session: Session, user: User, name: str, now: datetime) -> IssuedToken:
    label = name.strip()
    if len(label) > 100 or not LABEL.fullmatch(label):
        raise ValidationFailed(
            "A token needs a printable name of 1 to 100 characters.", field="name"
        )
    secret = credentials.new_api_token()
    token = ApiToken(
        user_id=user.id,
        name=label,
        token_hash=credentials.digest(secret),
        prefix=secret[:10],
        created_at=now,
    )
    session.add(token)
    session.flush()
    return IssuedToken(token=token, secret=secret)


@dataclass(frozen=True)
class ApiCaller:
    user: User
    token_id: uuid.UUID
    use_to_note: bool
    """Whether the token's last use is older than TOKEN_USE_PRECISION (note_token_use)."""


TOKEN_USE_PRECISION = timedelta(minutes=1)
"""How closely a token's last use is kept (the account page shows it to the minute): noting
every request would make each read of the API a write, waiting for the worker on SQLite."""


def api_caller(session: Session, secret: str, now: datetime) -> ApiCaller | None:
    """Who calls with this bearer secret, or None for a revoked, unknown or inactive one.
    Reads only."""
    token = queries.live_api_token(session, credentials.digest(secret))
    if token is None:
        return None
    user = queries.user_by_id(session, token.user_id)
    if user is None or not user.is_active:
        return None
    stale = token.last_used_at is None or token.last_used_at <= now - TOKEN_USE_PRECISION
    return ApiCaller(user, token.id, stale)


def note_token_use(session: Session, token_id: uuid.UUID, now: datetime) -> None:
    """The token was used at `now`, unless a use within TOKEN_USE_PRECISION is noted already
    (by a concurrent request, say)."""
    queries.note_token_use(session, token_id, now, now - TOKEN_USE_PRECISION)
    session.flush()


def revoke_api_token(session: Session, user: User, token_id: uuid.UUID, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and user.role != Role.admin):
        raise NotFound("There is no such API token.", token_id=str(token_id))
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
    return token


def require_admin(user: User) -> None:
    if user.role != Role.admin:
        raise Forbidden("Only admins can do this.")


@dataclass(frozen=True)
class PruneReport:
    sessions_removed: int
    attempts_removed: int


def prune(session: Session, now: datetime) -> PruneReport:
    """Forget expired sessions and sign-in attempts older than the rate limit needs."""
    idempotency.forget_before(session, now - idempotency.KEPT)
    return PruneReport(
        sessions_removed=queries.delete_expired_sessions(session, now),
        attempts_removed=queries.delete_attempts_before(session, now - ATTEMPTS_KEPT),
    )


def create_first_admin(session: Session, email: str) -> str | None:
    """On a database without users, an admin with a generated password (returned to show once)."""
    if queries.user_count(session):
        return None
    password = credentials.new_password()
    create_user(session, email, password, Role.admin)
    return password
