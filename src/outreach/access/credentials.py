"""Passwords and bearer secrets: how they are made, stored and checked.

Passwords are stored as argon2id hashes. Session and API tokens are 256-bit random values that
are stored only as SHA-256 digests: a leaked database does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_TOKEN_PREFIX = "otk_"  # noqa: S105 (a visible marker, not a secret)
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Checked when an address is unknown, so a sign-in takes as long whether or not the user exists.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _UNKNOWN_USER_HASH, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signature(key: str, purpose: str, value: str) -> str:
    """An HMAC of value for one purpose: a signature made for one use is worthless for another."""
    return hmac.new(key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
