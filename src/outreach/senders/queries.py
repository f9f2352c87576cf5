"""SQL for sender accounts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.db import keyset_scalars
from outreach.senders.models import SenderAccount, SenderDnsCheck


def sender(session: Session, sender_id: uuid.UUID) -> SenderAccount | None:
    return session.get(SenderAccount, sender_id)


def sender_by_email(session: Session, email: str) -> SenderAccount | None:
    return session.scalar(
        sa.select(SenderAccount)
        .where(sa.func.lower(SenderAccount.email) == email.strip().lower())
        .limit(1)
    )


def all_senders(session: Session) -> list[SenderAccount]:
    return list(
        session.scalars(sa.select(SenderAccount).order_by(SenderAccount.email, SenderAccount.id))
    )


def senders_page(
    session: Session, after: str | None, limit: int
) -> tuple[list[SenderAccount], str | None]:
    """A page of sender accounts by address."""
    return keyset_scalars(
        session, sa.select(SenderAccount), SenderAccount.email, SenderAccount.id, after, limit
    )


def due_for_retry(session: Session, now: datetime) -> list[SenderAccount]:
    """Failing accounts whose server could not be reached, due to be tried again (a handful at
    most: a scan of sender_accounts is cheap)."""
    return list(
        session.scalars(
            sa.select(SenderAccount)
            .where(
                SenderAccount.state == "failing",
                SenderAccount.retry_at.is_not(None),
                SenderAccount.retry_at <= now,
            )
            .order_by(SenderAccount.retry_at, SenderAccount.id)
        )
    )


def dns_checks_since(session: Session, since: datetime) -> list[tuple[SenderDnsCheck, str]]:
    """Each account's DNS check taken after `since`, with the account's address."""
    rows = session.execute(
        sa.select(SenderDnsCheck, SenderAccount.email)
        .join(SenderAccount, SenderAccount.id == SenderDnsCheck.sender_account_id)
        .where(SenderDnsCheck.checked_at > since)
    )
    return [(check, email) for check, email in rows]


@dataclass(frozen=True)
class TenantStanding:
    licences: int | None = None
    """The tenant's licence count as its accounts have it; None while it has no account."""
    held_until: datetime | None = None
    hold_reason: str | None = None


def tenant_standing(session: Session, tenant: str, besides: uuid.UUID) -> TenantStanding:
    """The licences and the latest hold of the tenant's accounts other than `besides`
    (ix_sender_accounts_tenant)."""
    row = session.execute(
        sa.select(
            SenderAccount.tenant_licences, SenderAccount.held_until, SenderAccount.hold_reason
        )
        .where(SenderAccount.tenant == tenant, SenderAccount.id != besides)
        .order_by(SenderAccount.held_until.desc().nulls_last())
        .limit(1)
    ).first()
    return TenantStanding(*row) if row else TenantStanding()


def set_tenant_licences(session: Session, tenant: str, licences: int) -> None:
    session.execute(
        sa.update(SenderAccount)
        .where(SenderAccount.tenant == tenant, SenderAccount.tenant_licences != licences)
        .values(tenant_licences=licences)
        .execution_options(synchronize_session=False)
    )


def hold(
    session: Session, tenant: str | None, sender_id: uuid.UUID, until: datetime, reason: str
) -> None:
    """Holds every account of `tenant` (the account alone when None) until `until`."""
    which = SenderAccount.tenant == tenant if tenant else SenderAccount.id == sender_id
    session.execute(
        sa.update(SenderAccount)
        .where(which)
        .values(held_until=until, hold_reason=reason)
        .execution_options(synchronize_session=False)
    )
