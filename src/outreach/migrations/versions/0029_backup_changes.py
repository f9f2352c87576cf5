"""backup_changes: the rows that hourly backups must copy, logged by triggers.

The seed backs up contacts and sent_emails hourly and email_drafts every six hours. Copying
those tables whole each time cost 151 s and 362 MB an hour for sent_emails at ten times the
seed's volume; an incremental backup copies only the rows changed since the backup before it.
The seed's tables cannot say which rows those are: sent_emails has no updated_at, and a deleted
row leaves nothing to read a time from. So every insert, update and delete on the three tables
logs the row's id here, in the changing transaction, from whatever writes it (the app, an
import, psql). Backups forget the entries they covered (portability/changes.py).

PostgreSQL: one statement-level trigger per event with a transition table, so a COPY or a bulk
UPDATE of many rows logs them in one INSERT ... SELECT rather than one trigger call per row;
each entry carries its transaction id, because a backup's snapshot is told apart by
transactions, not by seq. SQLite has no statement triggers with transition tables: a row
trigger per event.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRACKED = ("contacts", "sent_emails", "email_drafts")
EVENTS = ("insert", "update", "delete")

POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION log_backup_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- TG_ARGV[0], not TG_TABLE_NAME: on a partitioned sent_emails the latter names a partition.
  INSERT INTO backup_changes (table_name, row_id, xid)
  SELECT TG_ARGV[0], id, pg_current_xact_id()::text::bigint FROM changed_rows;
  RETURN NULL;
END $$;
"""


def _trigger(table: str, event: str) -> str:
    return f"backup_changes_{table}_{event}"


def upgrade() -> None:
    op.create_table(
        "backup_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("row_id", GUID(), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_backup_changes")),
        sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        for table in TRACKED:
            for event in EVENTS:
                rows = "OLD TABLE" if event == "delete" else "NEW TABLE"
                op.execute(
                    f"CREATE TRIGGER {_trigger(table, event)} AFTER {event.upper()} ON {table} "
                    f"REFERENCING {rows} AS changed_rows FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION log_backup_changes('{table}')"
                )
        return
    for table in TRACKED:
        for event in EVENTS:
            row = "OLD" if event == "delete" else "NEW"
            op.execute(
                f"CREATE TRIGGER {_trigger(table, event)} AFTER {event.upper()} ON {table} "
                f"FOR EACH ROW BEGIN INSERT INTO backup_changes (table_name, row_id) "
                f"VALUES ('{table}', {row}.id); END"
            )


def downgrade() -> None:
    for table in TRACKED:
        for event in EVENTS:
            op.execute(
                f"DROP TRIGGER {_trigger(table, event)}"
                + (f" ON {table}" if op.get_bind().dialect.name == "postgresql" else "")
            )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION log_backup_changes()")
    op.drop_table("backup_changes")
