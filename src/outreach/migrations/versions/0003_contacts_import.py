"""Contacts import: fields the later steps use, what happened to each uploaded row, saved
column mappings, and the suppression list.

- contacts gets first_name, last_name, title, timezone, website (mapped from the file so that
  drafts and send windows can use them) and role_address (info@, sales@: flagged, not refused).
  The original columns stay in raw_data; the seed's columns are untouched.
- upload_batches gets where the uploaded file is kept and how to import it (sheet, target list,
  duplicate policy), a count per outcome, the failure reason, and a heartbeat so that a batch
  left `processing` by a crashed process can be picked up again.
- upload_problems: each row that did not become a contact, with its line and reason (the
  downloadable report).
- column_mappings: mappings saved by name.
- suppressions: addresses and whole domains never to email, with reason and source.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, JSONDocument, UtcDateTime, new_uuid, utc_now
from outreach.migrations.updated_at import updated_at_trigger

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _count(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch copy: on SQLite a copied contacts table would lose its
    # expression index (contacts_email_unique) and any table's copy loses its triggers.
    for name in ("first_name", "last_name", "title", "timezone", "website"):
        op.add_column("contacts", sa.Column(name, sa.Text()))
    op.add_column(
        "contacts",
        sa.Column("role_address", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    # upload_batches has neither; SQLite needs the copy to add a foreign key and a CHECK.
    with op.batch_alter_table("upload_batches") as batches:
        batches.add_column(sa.Column("stored_path", sa.Text()))
        batches.add_column(sa.Column("sheet", sa.Text()))
        batches.add_column(
            sa.Column(
                "list_id",
                GUID(),
                sa.ForeignKey(
                    "contact_lists.id",
                    name="fk_upload_batches_list_id_contact_lists",
                    ondelete="SET NULL",
                ),
            )
        )
        batches.add_column(
            sa.Column("on_duplicate", sa.Text(), server_default="skip", nullable=False)
        )
        for outcome in ("imported", "updated", "duplicate", "invalid", "suppressed", "role"):
            batches.add_column(_count(f"{outcome}_count"))
        batches.add_column(sa.Column("error", sa.Text()))
        for moment in ("started_at", "finished_at", "heartbeat_at"):
            batches.add_column(sa.Column(moment, UtcDateTime()))
        batches.create_check_constraint("on_duplicate", "on_duplicate IN ('skip', 'update')")
        batches.create_index("ix_upload_batches_status", ["status"])
    op.create_table(
        "upload_problems",
        sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True),
        sa.Column(
            "upload_batch_id",
            GUID(),
            sa.ForeignKey("upload_batches.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_upload_problems_upload_batch_id_line", "upload_problems", ["upload_batch_id", "line"]
    )
    op.create_table(
        "column_mappings",
        sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("mapping", JSONDocument, nullable=False),
        sa.Column("created_at", UtcDateTime(), server_default=utc_now(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), server_default=utc_now(), nullable=False),
    )
    op.execute(updated_at_trigger("column_mappings", op.get_bind().dialect.name))
    op.create_table(
        "suppressions",
        sa.Column("id", GUID(), server_default=new_uuid(), primary_key=True),
        sa.Column("email", sa.Text(), unique=True),
        sa.Column("domain", sa.Text(), unique=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("created_at", UtcDateTime(), server_default=utc_now(), nullable=False),
        sa.CheckConstraint("(email IS NULL) <> (domain IS NULL)", name="email_or_domain"),
        sa.CheckConstraint(
            "reason IN ('unsubscribed', 'bounced', 'complained', 'manual')", name="reason"
        ),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("column_mappings")
    op.drop_table("upload_problems")
    with op.batch_alter_table("upload_batches") as batches:
        batches.drop_index("ix_upload_batches_status")
        batches.drop_constraint("ck_upload_batches_on_duplicate", type_="check")
        batches.drop_constraint("fk_upload_batches_list_id_contact_lists", type_="foreignkey")
        for name in (
            "heartbeat_at",
            "finished_at",
            "started_at",
            "error",
            "role_count",
            "suppressed_count",
            "invalid_count",
            "duplicate_count",
            "updated_count",
            "imported_count",
            "on_duplicate",
            "list_id",
            "sheet",
            "stored_path",
        ):
            batches.drop_column(name)
    for name in ("role_address", "website", "timezone", "title", "last_name", "first_name"):
        op.drop_column("contacts", name)
