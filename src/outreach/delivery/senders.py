"""Sender accounts: the mailboxes campaigns send from, their secrets sealed at rest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from outreach.delivery import queries
from outreach.delivery.models import SenderAccount
from outreach.delivery.states import SenderState
from outreach.errors import Conflict, NotFound, ValidationFailed
from outreach.sealing import seal

DEFAULT_CONNECTIONS = 4
"""Connections a worker opens to one account at once; providers throttle more than a few."""
MAX_CONNECTIONS = 20


def connections_of(account: SenderAccount) -> int:
    return int((account.settings or {}).get("max_connections", DEFAULT_CONNECTIONS))


class SenderKind(StrEnum):
    outbox = "outbox"
    smtp = "smtp"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None

    def checked(self) -> dict[str, Any]:
        if not self.host.strip():
            raise ValidationFailed("An SMTP account needs the server's host name.", field="host")
        if not 0 < self.port < 65536:
            raise ValidationFailed("The SMTP port is between 1 and 65535.", field="port")
        if self.security not in ("starttls", "tls", "none"):
            raise ValidationFailed("Security is starttls, tls or none.", field="security")
        return {
            "host": self.host.strip(),
            "port": self.port,
            "security": self.security,
            "username": self.username,
        }


def get(session: Session, sender_id: uuid.UUID) -> SenderAccount:
    found = queries.sender(session, sender_id)
    if found is None:
        raise NotFound(f"There is no sender account {sender_id}.", id=str(sender_id))
    return found


def by_email(session: Session, email: str) -> SenderAccount:
    found = queries.sender_by_email(session, email)
    if found is None:
        raise NotFound(f"There is no sender account {email}.", email=email)
    return found


def add(
    session: Session,
    *,
    kind: SenderKind,
    email: str,
    display_name: str | None,
    secret_key: str,
    smtp: SmtpSettings | None = None,
    password: str | None = None,
    daily_cap: int | None = None,
    max_connections: int = DEFAULT_CONNECTIONS,
    now: datetime,
) -> SenderAccount:
    address = email.strip()
    if "@" not in address or " " in address:
        raise ValidationFailed(f"{email!r} is not an email address.", field="email")
    if queries.sender_by_email(session, address):
        raise Conflict(f"There is already a sender account {address}.", field="email")
    if daily_cap is not None and daily_cap < 1:
        raise ValidationFailed(
            "A daily cap is at least 1 (leave it empty for none).", field="daily_cap"
        )
    if not 1 <= max_connections <= MAX_CONNECTIONS:
        raise ValidationFailed(
            f"Connections at once are between 1 and {MAX_CONNECTIONS}.", field="max_connections"
        )
    if kind is SenderKind.smtp and smtp is None:
        raise ValidationFailed("An SMTP account needs its server settings.", field="host")
    account = SenderAccount(
        email=address,
        display_name=(display_name or "").strip() or None,
        kind=kind.value,
        settings={**(smtp.checked() if smtp else {}), "max_connections": max_connections},
        secret=seal(secret_key, {"password": password}) if password else None,
        daily_cap=daily_cap,
        state=SenderState.ok.value,
        created_at=now,
    )
    session.add(account)
    session.flush()
    return account


def set_state(
    session: Session, sender_id: uuid.UUID, state: SenderState, reason: str | None, now: datetime
) -> SenderAccount:
    account = get(session, sender_id)
    account.state = state.value
    account.last_error = reason
    account.state_changed_at = now
    session.flush()
    return account
