"""contact_list_sizes: each list's number of members, kept by triggers on contact_list_members.

The lists page and /api/v1/lists show fifty lists with their sizes; counting them read every
membership of those lists (the biggest come first by name: 300,000 rows at ten times the seed's
volume, 0.2-0.4 s). A count kept as members come and go makes the page cost its fifty rows,
with the same exact figure.

A table of its own rather than a column on contact_lists: the seed's contact_lists travels to
and from the original system (portability exports every column of a seed table), and a derived
count there would be exported, then imported on top of the count the triggers keep while the
members are loaded. This table is derived, left out of exports, and rebuilt at the end of every
import, restore and migration (portability/loading.guarded).

The triggers fire for every writer (the app, an import, psql, cascades from a deleted contact
or list). PostgreSQL: one statement-level trigger per event with a transition table, so adding
100,000 members to a list updates its row once, not 100,000 times. SQLite: row triggers.

Revision ID: 0034
Revises: 0032
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID

revision: str = "0034"
down_revision: str | Sequence[str] | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL = """
CREATE FUNCTION contact_list_sizes_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_list_sizes (list_id, members)
    SELECT list_id, count(*) FROM added GROUP BY list_id
    ON CONFLICT (list_id) DO UPDATE SET members = contact_list_sizes.members + excluded.members;
    RETURN NULL;
END $$;

CREATE FUNCTION contact_list_sizes_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contact_list_sizes AS sizes SET members = sizes.members - gone.members
    FROM (SELECT list_id, count(*) AS members FROM removed GROUP BY list_id) AS gone
    WHERE sizes.list_id = gone.list_id;
    RETURN NULL;
END $$;

CREATE TRIGGER contact_list_sizes_insert AFTER INSERT ON contact_list_members
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION contact_list_sizes_added();
CREATE TRIGGER contact_list_sizes_delete AFTER DELETE ON contact_list_members
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION contact_list_sizes_removed();
-- A member moved to another list (nothing in the app does; psql might): out of the old list,
-- into the new. Transition tables allow no column list, so every UPDATE passes here; one that
-- leaves list_id alone takes out and puts back the same counts.
CREATE TRIGGER contact_list_sizes_update_out AFTER UPDATE ON contact_list_members
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION contact_list_sizes_removed();
CREATE TRIGGER contact_list_sizes_update_in AFTER UPDATE ON contact_list_members
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION contact_list_sizes_added();
"""

SQLITE_ADDED = """
    INSERT INTO contact_list_sizes (list_id, members) VALUES (NEW.list_id, 1)
    ON CONFLICT (list_id) DO UPDATE SET members = members + 1;
"""
SQLITE_REMOVED = """
    UPDATE contact_list_sizes SET members = members - 1 WHERE list_id = OLD.list_id;
"""
SQLITE = (
    f"CREATE TRIGGER contact_list_sizes_insert AFTER INSERT ON contact_list_members "
    f"BEGIN {SQLITE_ADDED} END",
    f"CREATE TRIGGER contact_list_sizes_delete AFTER DELETE ON contact_list_members "
    f"BEGIN {SQLITE_REMOVED} END",
    f"CREATE TRIGGER contact_list_sizes_update AFTER UPDATE OF list_id ON contact_list_members "
    f"BEGIN {SQLITE_REMOVED} {SQLITE_ADDED} END",
)


def upgrade() -> None:
    op.create_table(
        "contact_list_sizes",
        sa.Column("list_id", GUID(), nullable=False),
        sa.Column("members", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["contact_lists.id"],
            name=op.f("fk_contact_list_sizes_list_id_contact_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", name=op.f("pk_contact_list_sizes")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL)
    else:
        for statement in SQLITE:
            op.execute(statement)
    op.execute(
        "INSERT INTO contact_list_sizes (list_id, members) "
        "SELECT list_id, count(*) FROM contact_list_members GROUP BY list_id"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger in ("insert", "delete", "update_out", "update_in"):
            op.execute(f"DROP TRIGGER contact_list_sizes_{trigger} ON contact_list_members")
        op.execute("DROP FUNCTION contact_list_sizes_added()")
        op.execute("DROP FUNCTION contact_list_sizes_removed()")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER contact_list_sizes_{trigger}")
    op.drop_table("contact_list_sizes")
