"""The seed's sender_accounts table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.columns import primary_key, timestamp_now
from outreach.db import GUID, Base, JSONDocument, UtcDateTime


class SenderAccount(Base):
    """A mailbox we send from: the seed's columns, then how to reach it (migration 0004) and
    when it is tried again (0013)."""

    __tablename__ = "sender_accounts"

    id: Mapped[uuid.UUID] = primary_key()
    email: Mapped[str] = mapped_column(sa.Text)
    display_name: Mapped[str | None] = mapped_column(sa.Text)
    is_active: Mapped[bool | None] = mapped_column(sa.Boolean, server_default=sa.true())
    created_at: Mapped[datetime] = timestamp_now()
    kind: Mapped[str] = mapped_column(sa.Text, server_default="outbox")
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    secret: Mapped[str | None] = mapped_column(sa.Text)
    """Encrypted (Fernet, keyed by OUTREACH_SECRET_KEY) JSON of passwords and tokens."""
    daily_cap: Mapped[int | None] = mapped_column(sa.Integer)
    state: Mapped[str] = mapped_column(sa.Text, server_default="ok")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    state_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When a failing account whose server could not be reached is tried again (migration
    0013); None while it is not failing, or waits for a person."""
    retry_attempts: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """Tries that found its server unreachable since it last worked."""
    signature: Mapped[str | None] = mapped_column(sa.Text)
    """Text under every answer sent from the account (migration 0015)."""
    tenant: Mapped[str | None] = mapped_column(sa.Text, index=True)
    """The Microsoft 365 tenant whose external recipient limit the account shares (migration
    0024); None: it shares none."""
    tenant_licences: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("1"))
    held_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """Until when the account's tenant refused more (a 5.7.233): it sends nothing till then."""
    hold_reason: Mapped[str | None] = mapped_column(sa.Text)
    ramp_start: Mapped[int | None] = mapped_column(sa.Integer)
    """A ramp (senders/ramp.py): sends on the first sending day, None for no ramp."""
    ramp_step: Mapped[int | None] = mapped_column(sa.Integer)
    ramp_target: Mapped[int | None] = mapped_column(sa.Integer)
    min_gap_seconds: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    """At least this long between two sends of the account, plus jitter."""


class SenderDnsCheck(Base):
    """The last DNS check of a sender account's domain (migration 0021), kept a day so that
    the senders page and a campaign's launch need not ask DNS again. Passing state: not
    exported."""

    __tablename__ = "sender_dns_checks"

    sender_account_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), sa.ForeignKey("sender_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    selector: Mapped[str | None] = mapped_column(sa.Text)
    """The DKIM selector the person gave, if any: a check with another one is not this one."""
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    passed: Mapped[bool] = mapped_column(sa.Boolean)
    findings: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument)
