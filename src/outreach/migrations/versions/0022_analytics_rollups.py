"""analytics_rollups and recipient_domains: what campaign emails produced, kept exact by triggers.

The analytics pages must not scan sent_emails (millions of rows), so they read one row per UTC
day, campaign, step, sender account and recipient provider with its sent, replied (a person's
replies), positive (interested or meeting request), bounced and unsubscribed counts.

Triggers keep it, as the seed's email_analytics is kept: in the transaction of the row they
count, whoever writes it (the worker, the inbox, a person changing a reply's category, psql).
Analytics sits above delivery and the inbox, which may not call it; and a trigger cannot be
forgotten by a new code path. Each trigger takes back what the old row counted and adds what
the new row counts, so a category changed by a person moves a positive reply exactly:

- sent_emails INSERT: sent, on the send's day (and the recipient's domain noted, unresolved);
- inbox_messages INSERT/UPDATE (human replies): replied and positive on the reply's day, on
  the step, sender and recipient of the email it answers;
- deliveries INSERT/UPDATE of bounced_at: bounced on the bounce's day (a refusal at sending
  time included);
- campaign_contacts UPDATE of status: unsubscribed, on the step, sender and day of the last
  email the contact received in the campaign (an enrollment keeps no time of its stop).

Like the seed's counting triggers they stand aside while an import runs (0005): the import
rebuilds the table at its end (portability/loading.py), and the table is not exported.
recipient_domains is a cache of MX lookups (exported: resolving again costs time only).
The upgrade fills the table from the rows already there.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID, UtcDateTime, new_uuid, utc_now

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD = "EXISTS (SELECT 1 FROM import_guard)"
POSITIVE = "('interested', 'meeting_request')"


def _day(value: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"({value} AT TIME ZONE 'UTC')::date"
    return f"date({value})"


def _domain(address: str, dialect: str) -> str:
    """Must equal outreach.analytics.rollups.recipient_domain."""
    if dialect == "postgresql":
        return f"lower(split_part({address}, '@', 2))"
    return f"lower(substr({address}, instr({address}, '@') + 1))"


def _upsert(dialect: str, select: str) -> str:
    """Adds one row of counts: `select` gives the key, then sent … unsubscribed."""
    counts = ("sent", "replied", "positive", "bounced", "unsubscribed")
    added = ", ".join(f"{c} = analytics_rollups.{c} + excluded.{c}" for c in counts)
    return (
        "INSERT INTO analytics_rollups (day, campaign_id, sequence_step, sender_account_id, "
        f"provider, {', '.join(counts)}) {select} "
        "ON CONFLICT (day, campaign_id, sequence_step, sender_account_id, provider) "
        f"DO UPDATE SET {added};"
    )


def _provider(address: str, dialect: str) -> str:
    return (
        "coalesce((SELECT provider FROM recipient_domains "
        f"WHERE domain = {_domain(address, dialect)}), 'unknown')"
    )


def sent(row: str, sign: int, dialect: str) -> str:
    return _upsert(
        dialect,
        f"SELECT {_day(f'{row}.sent_at', dialect)}, {row}.campaign_id, "
        f"coalesce({row}.sequence_step, 0), {row}.sender_account_id, "
        f"{_provider(f'{row}.recipient_email', dialect)}, {sign}, 0, 0, 0, 0 "
        f"WHERE {row}.campaign_id IS NOT NULL",
    )


def noted_domain(dialect: str) -> str:
    return (
        f"INSERT INTO recipient_domains (domain) SELECT {_domain('NEW.recipient_email', dialect)}"
        " WHERE NEW.campaign_id IS NOT NULL ON CONFLICT (domain) DO NOTHING;"
    )


def replied(row: str, sign: int, dialect: str) -> str:
    return _upsert(
        dialect,
        f"SELECT {_day(f'{row}.received_at', dialect)}, s.campaign_id, "
        "coalesce(s.sequence_step, 0), s.sender_account_id, "
        f"{_provider('s.recipient_email', dialect)}, 0, {sign}, "
        f"CASE WHEN {row}.category IN {POSITIVE} THEN {sign} ELSE 0 END, 0, 0 "
        f"FROM sent_emails s WHERE s.id = {row}.sent_email_id AND {row}.kind = 'human_reply' "
        "AND s.campaign_id IS NOT NULL",
    )


def bounced(row: str, sign: int, dialect: str) -> str:
    return _upsert(
        dialect,
        f"SELECT {_day(f'{row}.bounced_at', dialect)}, {row}.campaign_id, "
        f"coalesce({row}.sequence_step, 0), {row}.sender_account_id, "
        f"{_provider('coalesce(s.recipient_email, c.email)', dialect)}, 0, 0, 0, {sign}, 0 "
        f"FROM contacts c LEFT JOIN sent_emails s ON s.id = {row}.sent_email_id "
        f"WHERE c.id = {row}.contact_id AND {row}.bounced_at IS NOT NULL "
        f"AND {row}.campaign_id IS NOT NULL",
    )


def unsubscribed(row: str, sign: int, dialect: str) -> str:
    return _upsert(
        dialect,
        f"SELECT {_day('s.sent_at', dialect)}, {row}.campaign_id, {row}.current_sequence_step, "
        f"s.sender_account_id, {_provider('s.recipient_email', dialect)}, 0, 0, 0, 0, {sign} "
        "FROM deliveries d JOIN sent_emails s ON s.id = d.sent_email_id "
        f"WHERE d.campaign_contact_id = {row}.id "
        f"AND d.sequence_step = {row}.current_sequence_step AND {row}.status = 'unsubscribed'",
    )


# table → (what a row counts, the columns whose change moves it, when a row counts at all)
COUNTED = {
    "sent_emails": (sent, (), None),
    "inbox_messages": (
        replied,
        ("kind", "category", "sent_email_id", "received_at"),
        "{row}.kind = 'human_reply'",
    ),
    "deliveries": (
        bounced,
        ("bounced_at", "sent_email_id", "campaign_id", "sequence_step", "sender_account_id"),
        "{row}.bounced_at IS NOT NULL",
    ),
    "campaign_contacts": (
        unsubscribed,
        ("status", "current_sequence_step"),
        "{row}.status = 'unsubscribed'",
    ),
}


def postgresql_statements() -> list[str]:
    # PostgreSQL fires a table's triggers in the order of their names: update_rollups_* after
    # the seed's update_email_analytics_trigger, so a sending transaction locks the day's
    # email_analytics row before any rollup row. Rollups first, two workers recording at once
    # took rollup rows and the day's row in opposite orders and deadlocked.
    statements = []
    for table, (counts, moved_by, when) in COUNTED.items():
        inserted = counts("NEW", 1, "postgresql")
        if table == "sent_emails":
            inserted = noted_domain("postgresql") + "\n  " + inserted
        statements.append(
            f"CREATE FUNCTION roll_up_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  IF {GUARD} THEN RETURN NULL; END IF;\n"
            f"  IF TG_OP = 'UPDATE' THEN {counts('OLD', -1, 'postgresql')} END IF;\n"
            f"  {inserted}\n  RETURN NULL;\nEND $$"
        )
        # INSERT and UPDATE need triggers of their own: a WHEN may not name OLD on INSERT.
        new_when = f" WHEN ({when.format(row='NEW')})" if when else ""
        statements.append(
            f"CREATE TRIGGER update_rollups_{table}_inserted AFTER INSERT ON {table} FOR EACH ROW"
            f"{new_when} EXECUTE FUNCTION roll_up_{table}()"
        )
        if moved_by:
            assert when is not None
            either = f"({when.format(row='NEW')} OR {when.format(row='OLD')})"
            statements.append(
                f"CREATE TRIGGER update_rollups_{table}_updated AFTER UPDATE OF {', '.join(moved_by)} "
                f"ON {table} FOR EACH ROW WHEN {either} EXECUTE FUNCTION roll_up_{table}()"
            )
    return statements


def sqlite_statements() -> list[str]:
    statements = []
    for table, (counts, moved_by, when) in COUNTED.items():
        inserted = counts("NEW", 1, "sqlite")
        if table == "sent_emails":
            inserted = noted_domain("sqlite") + "\n  " + inserted
        new_when = f" AND {when.format(row='NEW')}" if when else ""
        statements.append(
            f"CREATE TRIGGER update_rollups_{table}_inserted AFTER INSERT ON {table} FOR EACH ROW "
            f"WHEN NOT {GUARD}{new_when} BEGIN {inserted} END"
        )
        if moved_by:
            assert when is not None
            either = f"({when.format(row='NEW')} OR {when.format(row='OLD')})"
            statements.append(
                f"CREATE TRIGGER update_rollups_{table}_updated AFTER UPDATE OF {', '.join(moved_by)} "
                f"ON {table} FOR EACH ROW WHEN NOT {GUARD} AND {either} "
                f"BEGIN {counts('OLD', -1, 'sqlite')} {counts('NEW', 1, 'sqlite')} END"
            )
    return statements


def upgrade() -> None:
    op.create_table(
        "recipient_domains",
        # An id like every exported table's (the export orders by it); the domain is the key.
        sa.Column("id", GUID(), primary_key=True, server_default=new_uuid()),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text()),
        sa.Column("mail_exchanger", sa.Text()),
        sa.Column("resolved_at", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=utc_now()),
        sa.UniqueConstraint("domain"),
    )
    op.create_index(
        "ix_recipient_domains_unresolved",
        "recipient_domains",
        ["created_at"],
        postgresql_where=sa.text("resolved_at IS NULL"),
        sqlite_where=sa.text("resolved_at IS NULL"),
    )
    counts = [
        sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
        for name in ("sent", "replied", "positive", "bounced", "unsubscribed")
    ]
    op.create_table(
        "analytics_rollups",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column(
            "campaign_id",
            GUID(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sequence_step", sa.Integer(), primary_key=True),
        sa.Column(
            "sender_account_id",
            GUID(),
            sa.ForeignKey("sender_accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("provider", sa.Text(), primary_key=True),
        *counts,
        # SQLite stores the rows in key order (day first): a range of days is one pass.
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_analytics_rollups_campaign_id_day", "analytics_rollups", ["campaign_id", "day"]
    )
    dialect = op.get_bind().dialect.name
    for statement in postgresql_statements() if dialect == "postgresql" else sqlite_statements():
        op.execute(statement)
    # Imported here: the fill is the rebuild's own statement, as the code of this revision has it.
    from outreach.analytics import rollups

    rollups.rebuild(op.get_bind())


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in COUNTED:
        for moment in ("inserted", "updated"):
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS update_rollups_{table}_{moment} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS update_rollups_{table}_{moment}")
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION roll_up_{table}()")
    op.drop_table("analytics_rollups")
    op.drop_table("recipient_domains")
