"""Indexes for ten times the seed's volume (issue 17): each serves a page or a pass that read
whole tables at a million contacts.

- contact_list_members (list_id, contact_id): a list's members. The seed's unique key leads
  with contact_id, so a list's size and its members were sequential scans of every membership.
- campaign_contacts (campaign_id, enrolled_at, id): a campaign's enrollments page by page;
  (campaign_id, status): its counts by status.
- email_drafts (status, created_at, id): the review queue, oldest first, without a sort.
- deliveries (status, claimed_at): deliveries in one status, newest first.
- contacts.company, PostgreSQL only: a trigram (pg_trgm) GIN index for the company search's
  ILIKE '%x%'; SQLite has no such index and scans, which is fast enough at its 1x.

And a watermark, so that the worker's pass stops looking for new members of every running
campaign's list each time (a walk of the list per campaign per pass):

- contact_lists.members_version: raised in the transaction of every addition to the list.
- campaigns.enrolled_list_version: the list's members_version when the campaign last had every
  member enrolled; NULL (every campaign here at first) until its next enrollment pass.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    (
        "ix_contact_list_members_list_id_contact_id",
        "contact_list_members",
        ["list_id", "contact_id"],
    ),
    (
        "ix_campaign_contacts_campaign_id_enrolled_at",
        "campaign_contacts",
        ["campaign_id", "enrolled_at", "id"],
    ),
    ("ix_campaign_contacts_campaign_id_status", "campaign_contacts", ["campaign_id", "status"]),
    ("ix_email_drafts_status_created_at_id", "email_drafts", ["status", "created_at", "id"]),
    ("ix_deliveries_status_claimed_at", "deliveries", ["status", "claimed_at"]),
)


def upgrade() -> None:
    # Plain ALTER TABLE on both backends (SQLite 3.35+): a batch copy would drop the tables'
    # updated_at triggers.
    op.add_column(
        "contact_lists",
        sa.Column("members_version", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("campaigns", sa.Column("enrolled_list_version", sa.Integer(), nullable=True))
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_contacts_company_trgm",
            "contacts",
            ["company"],
            postgresql_using="gin",
            postgresql_ops={"company": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_contacts_company_trgm", table_name="contacts")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_column("campaigns", "enrolled_list_version")
    op.drop_column("contact_lists", "members_version")
