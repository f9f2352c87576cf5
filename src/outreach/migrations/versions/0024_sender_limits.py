"""sender_accounts: the Microsoft 365 tenant an account shares its limit with, its hold, and the
ramp and spacing of a new mailbox.

* `tenant` names the Microsoft 365 tenant whose mailboxes share Exchange Online's external
  recipient limit (500 x licences^0.7 + 9,500 recipients in any 24 hours), `tenant_licences` the
  tenant's licence count the limit grows with. None: the account shares no tenant limit.
* `held_until` and `hold_reason`: a 550 5.7.233 (the tenant's limit is used up) holds every
  account of the tenant until then; nothing is wrong with the account or the recipients, so it
  is not the account's state (`state` keeps the seed's values).
* `ramp_start`, `ramp_step` and `ramp_target`: a new mailbox sends `ramp_start` emails on its
  first sending day, `ramp_step` more on each next one, up to `ramp_target` (None: no ramp).
* `min_gap_seconds`: at least this long (plus jitter) between two sends of the account.
Accounts that exist already keep sending as before: no ramp and no gap.

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import UtcDateTime

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "tenant",
    "tenant_licences",
    "held_until",
    "hold_reason",
    "ramp_start",
    "ramp_step",
    "ramp_target",
    "min_gap_seconds",
)


def upgrade() -> None:
    with op.batch_alter_table("sender_accounts") as table:
        table.add_column(sa.Column("tenant", sa.Text(), nullable=True))
        table.add_column(
            sa.Column("tenant_licences", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        table.add_column(sa.Column("held_until", UtcDateTime(), nullable=True))
        table.add_column(sa.Column("hold_reason", sa.Text(), nullable=True))
        table.add_column(sa.Column("ramp_start", sa.Integer(), nullable=True))
        table.add_column(sa.Column("ramp_step", sa.Integer(), nullable=True))
        table.add_column(sa.Column("ramp_target", sa.Integer(), nullable=True))
        table.add_column(
            sa.Column("min_gap_seconds", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        # The accounts of a tenant, for its holds and its shared count.
        table.create_index("ix_sender_accounts_tenant", ["tenant"])


def downgrade() -> None:
    with op.batch_alter_table("sender_accounts") as table:
        table.drop_index("ix_sender_accounts_tenant")
        for name in reversed(COLUMNS):
            table.drop_column(name)
