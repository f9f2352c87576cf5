"""An index on campaign_contacts (contact_id): the campaigns a contact is in.

The contacts page shows, for the 50 contacts of its page, the campaigns each is in; and a
contact's deletion (one, or thousands chosen on that page) cascades to its enrollments and asks
whether any is in use. The seed indexes campaign_contacts by campaign only (its unique key leads
with campaign_id), so each of those read every enrollment: millions at volume.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_campaign_contacts_contact_id", "campaign_contacts", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_campaign_contacts_contact_id", table_name="campaign_contacts")
