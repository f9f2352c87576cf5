"""Indexes for what the home page and the API's drafts read at ten times the seed's volume.

`GET /api/v1/drafts` without a status pages every draft oldest first by (created_at, id): the
index on (status, created_at, id) cannot give that order across statuses, so each page sorted
every draft (3,000,000 at ten times the seed's volume). The home page counts the drafts written
from a template and the deliveries queued today and over the last week: each count read every
draft or every delivery for want of an index on created_at. An index on email_drafts
(created_at, id) serves the page's order and the drafts' range; one on deliveries (created_at)
serves the deliveries' range.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_email_drafts_created_at_id", "email_drafts", ["created_at", "id"])
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_created_at", table_name="deliveries")
    op.drop_index("ix_email_drafts_created_at_id", table_name="email_drafts")
