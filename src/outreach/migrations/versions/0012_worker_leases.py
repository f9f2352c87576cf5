"""worker_leases: each worker's lease, so that a crash's sends are in doubt at once.

A delivery a crash left `sending` used to become `unknown` only after a fixed ten minutes. Now
every worker that sends holds a lease here, renewed by a heartbeat while it works; a delivery
whose worker's lease says it is gone (no row, its process gone from this host, or the lease run
out on another host) is `unknown` as soon as anyone looks (outreach/leases.py). Deliveries
already carry the worker's name in `claimed_by`. Passing state: not exported.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import UtcDateTime

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_leases",
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_worker_leases")),
    )


def downgrade() -> None:
    op.drop_table("worker_leases")
