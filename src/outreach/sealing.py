"""Secrets at rest: passwords and tokens in database rows are sealed with a key derived from
OUTREACH_SECRET_KEY (Fernet: AES-128-CBC with an HMAC), so a copy of the database alone does not
reveal them. Rotating OUTREACH_SECRET_KEY means entering those secrets again."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from outreach.errors import ValidationFailed


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"outreach sealed secrets"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret_key: str, values: dict[str, Any]) -> str:
    return _fernet(secret_key).encrypt(json.dumps(values).encode()).decode()


def unseal(secret_key: str, sealed: str | None) -> dict[str, Any]:
    if not sealed:
        return {}
    try:
        opened: dict[str, Any] = json.loads(_fernet(secret_key).decrypt(sealed.encode()))
    except InvalidToken as error:
        raise ValidationFailed(
            "A stored secret cannot be read with this OUTREACH_SECRET_KEY: it was sealed with "
            "another key. Enter the sender account's password again."
        ) from error
    return opened
