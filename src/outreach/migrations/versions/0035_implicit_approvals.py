"""implicit_approvals: per UTC day, the drafts the home page counts as approved that the seed's
trigger never counted, kept by triggers as drafts and deliveries are written.

The home page shows the seed's daily counters, where a queued campaign step counts as approved,
as in the original system; the seed's trigger counts an approval only when a draft's status
becomes `approved`. Two kinds never do: a draft written approved (approved_at = created_at: a
campaign step from its template at queueing, a person's answer), counted on the day written;
and a campaign delivery of a draft nobody approved (approved_at empty: an AI-written step a
campaign sends without approval), counted on the day queued. The page counted both from the
rows on every request: at ten times the seed's volume a join of 30 days of deliveries to their
drafts and a range of drafts, 1.0 s of a 2 s page. These counts make it a read of 30 rows.

A table of its own rather than more in email_analytics.total_drafts_approved: email_analytics
travels to and from the original system as the seed's trigger counts it, so an import would
bring counts without these, and an export would give the original system counts its trigger
never makes. This table is derived: left out of exports, rebuilt at the end of every import
(portability/loading.guarded) and by `outreach analytics rebuild`, compared with a full scan by
`outreach analytics verify` (analytics/approvals.py).

Triggers keep it, for every writer (the worker queueing steps, a person approving, an answer
scheduled or taken back, psql), each taking back what the old row counted and adding what the
new row counts. Like the other counting triggers they stand aside while an import runs (0005,
0022). PostgreSQL fires a table's triggers in name order: update_implicit_approvals_* after the
seed's update_draft_analytics_* on email_drafts, so a transaction locks the day's
email_analytics row before this table's, as the rollups do (0022). A draft's deletion takes back
its deliveries before the cascade deletes them (BEFORE DELETE); a delivery deleted by that
cascade finds no draft and takes back nothing more.

Approving a draft looks up its deliveries (a draft sent without approval and approved later
moves from sent_unreviewed to the seed's counter): ix_deliveries_draft_id serves it, as it
serves the cascade from a deleted draft. ix_deliveries_created_at (0028) served only the page's
count of deliveries per day, and goes.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | Sequence[str] | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD = "EXISTS (SELECT 1 FROM import_guard)"


def _day(value: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"({value} AT TIME ZONE 'UTC')::date"
    return f"date({value})"


def _add(select: str) -> str:
    """Adds the rows of `select` (day, written_approved, sent_unreviewed) to the counts."""
    return (
        f"INSERT INTO implicit_approvals (day, written_approved, sent_unreviewed) {select} "
        "ON CONFLICT (day) DO UPDATE SET "
        "written_approved = implicit_approvals.written_approved + excluded.written_approved, "
        "sent_unreviewed = implicit_approvals.sent_unreviewed + excluded.sent_unreviewed;"
    )


def written(row: str, sign: int, dialect: str) -> str:
    """A draft written approved, on the day written."""
    return _add(
        f"SELECT {_day(f'{row}.created_at', dialect)}, {sign}, 0 "
        f"WHERE {row}.approved_at = {row}.created_at"
    )


def sent_of_draft(row: str, sign: int, dialect: str) -> str:
    """A draft nobody approved: its campaign deliveries, each on the day queued."""
    day = _day("v.created_at", dialect)
    return _add(
        f"SELECT {day}, 0, {sign} * count(*) FROM deliveries v WHERE v.draft_id = {row}.id "
        f"AND v.campaign_id IS NOT NULL AND {row}.approved_at IS NULL GROUP BY {day}"
    )


def sent(row: str, sign: int, dialect: str) -> str:
    """A campaign delivery of a draft nobody approved, on the day queued."""
    return _add(
        f"SELECT {_day(f'{row}.created_at', dialect)}, 0, {sign} FROM email_drafts d "
        f"WHERE d.id = {row}.draft_id AND d.approved_at IS NULL AND {row}.campaign_id IS NOT NULL"
    )


def _changed(columns: Sequence[str], dialect: str) -> str:
    differs = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {differs} NEW.{c}" for c in columns)


DRAFT_DATES = ("approved_at", "created_at")
DELIVERY_KEYS = ("campaign_id", "draft_id", "created_at")
DRAFT_COUNTS = "NEW.approved_at = NEW.created_at"
DELETED_DRAFT_COUNTS = "OLD.approved_at IS NULL OR OLD.approved_at = OLD.created_at"


def postgresql_statements() -> list[str]:
    pg = "postgresql"
    dates, keys = ", ".join(DRAFT_DATES), ", ".join(DELIVERY_KEYS)
    return [
        "CREATE FUNCTION count_implicit_approvals_of_draft() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$\nBEGIN\n  IF {GUARD} THEN RETURN NULL; END IF;\n"
        f"  IF TG_OP = 'UPDATE' THEN\n    {written('OLD', -1, pg)}\n    "
        f"{sent_of_draft('OLD', -1, pg)}\n    {sent_of_draft('NEW', 1, pg)}\n  END IF;\n"
        f"  {written('NEW', 1, pg)}\n  RETURN NULL;\nEND $$",
        "CREATE FUNCTION count_implicit_approvals_of_deleted_draft() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$\nBEGIN\n  IF NOT {GUARD} THEN\n    {written('OLD', -1, pg)}\n"
        f"    {sent_of_draft('OLD', -1, pg)}\n  END IF;\n  RETURN OLD;\nEND $$",
        "CREATE FUNCTION count_implicit_approvals_of_delivery() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$\nBEGIN\n  IF {GUARD} THEN RETURN NULL; END IF;\n"
        f"  IF TG_OP IN ('UPDATE', 'DELETE') THEN {sent('OLD', -1, pg)} END IF;\n"
        f"  IF TG_OP IN ('INSERT', 'UPDATE') THEN {sent('NEW', 1, pg)} END IF;\n"
        "  RETURN NULL;\nEND $$",
        "CREATE TRIGGER update_implicit_approvals_drafts_inserted AFTER INSERT ON email_drafts "
        f"FOR EACH ROW WHEN ({DRAFT_COUNTS}) "
        "EXECUTE FUNCTION count_implicit_approvals_of_draft()",
        f"CREATE TRIGGER update_implicit_approvals_drafts_updated AFTER UPDATE OF {dates} "
        f"ON email_drafts FOR EACH ROW WHEN ({_changed(DRAFT_DATES, pg)}) "
        "EXECUTE FUNCTION count_implicit_approvals_of_draft()",
        "CREATE TRIGGER update_implicit_approvals_drafts_deleted BEFORE DELETE ON email_drafts "
        f"FOR EACH ROW WHEN ({DELETED_DRAFT_COUNTS}) "
        "EXECUTE FUNCTION count_implicit_approvals_of_deleted_draft()",
        "CREATE TRIGGER update_implicit_approvals_deliveries_inserted AFTER INSERT ON deliveries "
        "FOR EACH ROW WHEN (NEW.campaign_id IS NOT NULL) "
        "EXECUTE FUNCTION count_implicit_approvals_of_delivery()",
        f"CREATE TRIGGER update_implicit_approvals_deliveries_updated AFTER UPDATE OF {keys} "
        f"ON deliveries FOR EACH ROW WHEN ({_changed(DELIVERY_KEYS, pg)}) "
        "EXECUTE FUNCTION count_implicit_approvals_of_delivery()",
        "CREATE TRIGGER update_implicit_approvals_deliveries_deleted AFTER DELETE ON deliveries "
        "FOR EACH ROW WHEN (OLD.campaign_id IS NOT NULL) "
        "EXECUTE FUNCTION count_implicit_approvals_of_delivery()",
    ]


def sqlite_statements() -> list[str]:
    lite = "sqlite"
    dates, keys = ", ".join(DRAFT_DATES), ", ".join(DELIVERY_KEYS)
    return [
        "CREATE TRIGGER update_implicit_approvals_drafts_inserted AFTER INSERT ON email_drafts "
        f"FOR EACH ROW WHEN NOT {GUARD} AND {DRAFT_COUNTS} "
        f"BEGIN {written('NEW', 1, lite)} END",
        f"CREATE TRIGGER update_implicit_approvals_drafts_updated AFTER UPDATE OF {dates} "
        f"ON email_drafts FOR EACH ROW WHEN NOT {GUARD} AND ({_changed(DRAFT_DATES, lite)}) "
        f"BEGIN {written('OLD', -1, lite)} {sent_of_draft('OLD', -1, lite)} "
        f"{written('NEW', 1, lite)} {sent_of_draft('NEW', 1, lite)} END",
        "CREATE TRIGGER update_implicit_approvals_drafts_deleted BEFORE DELETE ON email_drafts "
        f"FOR EACH ROW WHEN NOT {GUARD} AND ({DELETED_DRAFT_COUNTS}) "
        f"BEGIN {written('OLD', -1, lite)} {sent_of_draft('OLD', -1, lite)} END",
        "CREATE TRIGGER update_implicit_approvals_deliveries_inserted AFTER INSERT ON deliveries "
        f"FOR EACH ROW WHEN NOT {GUARD} AND NEW.campaign_id IS NOT NULL "
        f"BEGIN {sent('NEW', 1, lite)} END",
        f"CREATE TRIGGER update_implicit_approvals_deliveries_updated AFTER UPDATE OF {keys} "
        f"ON deliveries FOR EACH ROW WHEN NOT {GUARD} AND ({_changed(DELIVERY_KEYS, lite)}) "
        f"BEGIN {sent('OLD', -1, lite)} {sent('NEW', 1, lite)} END",
        "CREATE TRIGGER update_implicit_approvals_deliveries_deleted AFTER DELETE ON deliveries "
        f"FOR EACH ROW WHEN NOT {GUARD} AND OLD.campaign_id IS NOT NULL "
        f"BEGIN {sent('OLD', -1, lite)} END",
    ]


TRIGGERS = {
    "email_drafts": ("drafts_inserted", "drafts_updated", "drafts_deleted"),
    "deliveries": ("deliveries_inserted", "deliveries_updated", "deliveries_deleted"),
}
FUNCTIONS = ("of_draft", "of_deleted_draft", "of_delivery")


def upgrade() -> None:
    op.create_table(
        "implicit_approvals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("written_approved", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sent_unreviewed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_implicit_approvals")),
    )
    op.create_index("ix_deliveries_draft_id", "deliveries", ["draft_id"])
    op.drop_index("ix_deliveries_created_at", table_name="deliveries")
    dialect = op.get_bind().dialect.name
    for statement in postgresql_statements() if dialect == "postgresql" else sqlite_statements():
        op.execute(statement)
    # Imported here: the fill is the rebuild's own statement, as the code of this revision has it.
    from outreach.analytics import approvals

    approvals.rebuild(op.get_bind())


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, triggers in TRIGGERS.items():
        for trigger in triggers:
            on = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER update_implicit_approvals_{trigger}{on}")
    if postgresql:
        for function in FUNCTIONS:
            op.execute(f"DROP FUNCTION count_implicit_approvals_{function}()")
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])
    op.drop_index("ix_deliveries_draft_id", table_name="deliveries")
    op.drop_table("implicit_approvals")
