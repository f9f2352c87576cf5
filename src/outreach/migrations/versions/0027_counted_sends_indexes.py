"""The status beside the claimed time in the two indexes that count sends against limits, and
an index for the API's pages of deliveries in one status.

A campaign's sends today (its daily limit, asked by every worker pass, the campaign page and its
enrollments in the API) and a sender account's (its daily cap) are counted over deliveries in
those statuses that count. The indexes on (campaign_id, claimed_at) and (sender_account_id,
claimed_at) found the range, and each row of it was read from the table for its status: at
10,000 sends a day, a campaign page spent a fifth of its time there. With the status in the
index, the count reads the index alone. The new indexes serve every query the old ones did.

`GET /api/v1/deliveries?status=sent` pages newest first by (created_at, id): without an index on
(status, created_at, id) each page sorted every sent delivery (1.9M at ten times the seed's
volume).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDENED = (("campaign_id", "claimed_at"), ("sender_account_id", "claimed_at"))
PAGED = ("status", "created_at", "id")


def _name(columns: Sequence[str]) -> str:
    return "ix_deliveries_" + "_".join(columns)


def upgrade() -> None:
    for columns in WIDENED:
        op.create_index(_name([*columns, "status"]), "deliveries", [*columns, "status"])
        op.drop_index(_name(columns), table_name="deliveries")
    op.create_index(_name(PAGED), "deliveries", list(PAGED))


def downgrade() -> None:
    op.drop_index(_name(PAGED), table_name="deliveries")
    for columns in WIDENED:
        op.create_index(_name(columns), "deliveries", list(columns))
        op.drop_index(_name([*columns, "status"]), table_name="deliveries")
