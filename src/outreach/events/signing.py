"""Standard Webhooks 1.0 signatures (https://www.standardwebhooks.com): a secret is `whsec_`
and the base64 of its key bytes; a message is signed as
`v1,<base64 of HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`. Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
KEY_BYTES = 24


def new_secret() -> str:
    """A fresh secret, shown once to the person who made the endpoint."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value of this message: `v1,` and the base64 HMAC-SHA256 of
    `id.timestamp.body` keyed with the secret's decoded base64 part."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one POST, signed with each secret (while a
    rotated secret is still honoured: the new one and the old, space-separated)."""
    signatures = " ".join(signature(secret, message_id, timestamp, body) for secret in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }
