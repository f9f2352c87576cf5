"""Users, sign-in sessions, API tokens and sign-in attempts: tables of our own.

The seed has no users (its row-level policies let everyone do everything); a self-hosted
product reachable over a network needs sign-in and API tokens from the first run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, UtcDateTime, new_uuid, utc_now
from outreach.migrations.updated_at import updated_at_trigger

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[object]:
    return sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True)


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime(), server_default=utc_now(), nullable=False)


def _user_id() -> sa.Column[object]:
    return sa.Column(
        "user_id",
        GUID(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.Text(), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), server_default="member", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("last_sign_in_at", UtcDateTime()),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint("role IN ('admin', 'member')", name="role"),
    )
    op.create_table(
        "user_sessions",
        _id(),
        _user_id(),
        sa.Column("token_hash", sa.Text(), nullable=False, unique=True),
        _now("created_at"),
        sa.Column("expires_at", UtcDateTime(), nullable=False, index=True),
        sa.Column("user_agent", sa.Text()),
    )
    op.create_table(
        "api_tokens",
        _id(),
        _user_id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False, unique=True),
        sa.Column("prefix", sa.Text(), nullable=False),
        _now("created_at"),
        sa.Column("last_used_at", UtcDateTime()),
        sa.Column("revoked_at", UtcDateTime()),
    )
    op.create_table(
        "login_attempts",
        _id(),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("ip", sa.Text(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("attempted_at", UtcDateTime(), nullable=False),
    )
    op.create_index(
        "ix_login_attempts_email_attempted_at", "login_attempts", ["email", "attempted_at"]
    )
    op.create_index("ix_login_attempts_ip_attempted_at", "login_attempts", ["ip", "attempted_at"])
    op.execute(updated_at_trigger("users", op.get_bind().dialect.name))


def downgrade() -> None:
    for table in ("login_attempts", "api_tokens", "user_sessions", "users"):
        op.drop_table(table)
