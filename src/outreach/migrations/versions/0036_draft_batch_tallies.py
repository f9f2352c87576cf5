"""draft_batch_tallies: each batch's jobs by status and model, counted and summed by triggers
on draft_jobs.

The batches page and /api/v1/draft-batches show each batch's progress: its jobs by status, the
tokens they used, their estimated cost and who wrote their drafts. Grouping the jobs of a page
of batches read every one of them (10,000 jobs a batch at ten times the seed's volume: p95 from
40 ms at 1x to 90 ms at 10x). Tallies kept as jobs are written make the page cost its batches:
a few rows each (a status and a model), with the same exact figures.

Each (batch, status, model) row holds how many jobs, how many of them have their draft (only
those name a writer), the four token sums, the sum of the known costs with how many jobs had
one (none: the cost is unknown, not zero), and how many used tokens without a known cost. A
key column cannot be NULL: jobs without a model are tallied under an empty one. A key whose
jobs have all moved on keeps its rows, at zero, for the next ones.

A table of its own, derived: left out of exports and rebuilt at the end of every import,
restore and migration (portability/loading.guarded), so the triggers stand aside while one
runs, like the other counting triggers (0005, 0022, 0035).

The triggers fire for every writer (the worker, a person cancelling or retrying, an import,
psql, the cascades from a deleted batch or contact, a deleted draft setting its jobs' draft_id
to NULL). SQLite: row triggers, the update one only when a tallied column changed; one writer
at a time, so one row a key (slot 0).

PostgreSQL: one statement-level trigger per event with transition tables, so queueing 10,000
jobs or cancelling them writes each of the batch's few keys once; an update takes back what the
old rows counted and adds what the new rows count, leaving alone the keys whose figures did not
change (an update of a job's lease or error). Workers share a batch: two claims of its jobs take
different ones without waiting for each other (FOR UPDATE SKIP LOCKED), and a single row a key
would make the second wait for the first to commit. So a key may have several rows, summed when
read: a transaction adds to a row of the key no other holds (SKIP LOCKED again), folding into
it the key's other free rows; when every row is held, or there is none yet, it writes a row of
its own (slot: its transaction id). Nothing waits, and the rows a key has stay about as many as
the transactions that wrote it at once.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID

revision: str = "0036"
down_revision: str | Sequence[str] | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD = "EXISTS (SELECT 1 FROM import_guard)"
KEY = ("batch_id", "status", "model")
TALLIED = (
    "jobs",
    "drafts",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_micros",
    "priced",
    "unpriced",
)
JOB_COLUMNS = (
    "batch_id",
    "status",
    "model",
    "draft_id",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_micros",
)
"""The job's columns the tallies read: an update of any other leaves them as they are."""


def _key(row: str) -> tuple[str, ...]:
    return (f"{row}.batch_id", f"{row}.status", f"COALESCE({row}.model, '')")


def _counts(row: str) -> tuple[str, ...]:
    """What one job adds to each of TALLIED."""
    return (
        "1",
        f"CASE WHEN {row}.draft_id IS NOT NULL THEN 1 ELSE 0 END",
        f"{row}.input_tokens",
        f"{row}.output_tokens",
        f"{row}.cache_read_tokens",
        f"{row}.cache_write_tokens",
        f"COALESCE({row}.cost_micros, 0)",
        f"CASE WHEN {row}.cost_micros IS NOT NULL THEN 1 ELSE 0 END",
        f"CASE WHEN {row}.cost_micros IS NULL AND {row}.input_tokens + {row}.output_tokens > 0 "
        "THEN 1 ELSE 0 END",
    )


def _adding(names: Sequence[str], value: str) -> str:
    """SET clauses adding `value` (formatted with each name) to each tallied column."""
    return ", ".join(
        f"{name} = draft_batch_tallies.{name} + {value.format(name)}" for name in names
    )


# PostgreSQL ---------------------------------------------------------------------------------


def _grouped(sources: dict[str, int]) -> str:
    """The rows of these transition tables, each counted with its sign, grouped by key,
    without the groups whose counts cancel out."""
    changed = " UNION ALL ".join(
        f"SELECT {sign} AS sign, {', '.join(JOB_COLUMNS)} FROM {table}"
        for table, sign in sources.items()
    )
    sums = [
        f"sum(c.sign * {count}) AS {name}"
        for count, name in zip(_counts("c"), TALLIED, strict=True)
    ]
    differs = " OR ".join(f"sum(c.sign * {count}) <> 0" for count in _counts("c"))
    batch, status, model = _key("c")
    return (
        f"SELECT {batch}, {status}, {model} AS model, {', '.join(sums)} FROM ({changed}) AS c "
        f"GROUP BY 1, 2, 3 HAVING {differs}"
    )


def _function(name: str, sources: dict[str, int]) -> str:
    """Adds each group of the statement's jobs to a row of its key that no other transaction
    holds (SKIP LOCKED), folding into it the key's other rows no one holds; when every row of
    the key is held, or there is none, to a row of this transaction's own. Nothing waits."""
    key = " AND ".join(f"t.{column} = d.{column}" for column in KEY)
    folded = ", ".join(f"coalesce(sum(folded.{name}), 0) AS {name}" for name in TALLIED)
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d record;
    taken bigint;
BEGIN
    IF {GUARD} THEN RETURN NULL; END IF;
    FOR d IN {_grouped(sources)} LOOP
        SELECT t.slot INTO taken FROM draft_batch_tallies AS t WHERE {key}
            LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            WITH folded AS (
                DELETE FROM draft_batch_tallies AS t WHERE {key} AND t.slot IN (
                    SELECT t.slot FROM draft_batch_tallies AS t WHERE {key} AND t.slot <> taken
                    FOR UPDATE SKIP LOCKED)
                RETURNING {", ".join(f"t.{name}" for name in TALLIED)}
            ), total AS (SELECT {folded} FROM folded)
            UPDATE draft_batch_tallies SET {_adding(TALLIED, "d.{0} + total.{0}")}
            FROM total WHERE draft_batch_tallies.batch_id = d.batch_id
                AND draft_batch_tallies.status = d.status
                AND draft_batch_tallies.model = d.model AND draft_batch_tallies.slot = taken;
        -- A batch deleted in this statement (its jobs go by cascade) keeps nothing.
        ELSIF EXISTS (SELECT 1 FROM draft_batches WHERE id = d.batch_id) THEN
            INSERT INTO draft_batch_tallies ({", ".join((*KEY, "slot", *TALLIED))})
            VALUES (d.batch_id, d.status, d.model, txid_current(),
                {", ".join(f"d.{name}" for name in TALLIED)})
            ON CONFLICT ({", ".join((*KEY, "slot"))})
            DO UPDATE SET {_adding(TALLIED, "excluded.{0}")};
        END IF;
    END LOOP;
    RETURN NULL;
END $$"""


def postgresql_statements() -> list[str]:
    return [
        _function("tally_draft_jobs_added", {"added": 1}),
        _function("tally_draft_jobs_changed", {"removed": -1, "added": 1}),
        _function("tally_draft_jobs_removed", {"removed": -1}),
        "CREATE TRIGGER tally_draft_jobs_insert AFTER INSERT ON draft_jobs "
        "REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
        "EXECUTE FUNCTION tally_draft_jobs_added()",
        # Transition tables allow no column list: every UPDATE passes here, and one that changes
        # no tallied column finds every group cancelled out.
        "CREATE TRIGGER tally_draft_jobs_update AFTER UPDATE ON draft_jobs "
        "REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT "
        "EXECUTE FUNCTION tally_draft_jobs_changed()",
        "CREATE TRIGGER tally_draft_jobs_delete AFTER DELETE ON draft_jobs "
        "REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
        "EXECUTE FUNCTION tally_draft_jobs_removed()",
    ]


# SQLite: one writer at a time, so one row a key (slot 0) ---------------------------------------


def sqlite_statements() -> list[str]:
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in JOB_COLUMNS)
    add = (
        f"INSERT INTO draft_batch_tallies ({', '.join((*KEY, 'slot', *TALLIED))}) "
        f"VALUES ({', '.join((*_key('NEW'), '0', *_counts('NEW')))}) "
        f"ON CONFLICT ({', '.join((*KEY, 'slot'))}) "
        f"DO UPDATE SET {_adding(TALLIED, 'excluded.{0}')};"
    )
    subtract = (
        "UPDATE draft_batch_tallies SET "
        + ", ".join(
            f"{name} = {name} - ({count})"
            for name, count in zip(TALLIED, _counts("OLD"), strict=True)
        )
        + " WHERE "
        + " AND ".join(
            f"{column} = {value}" for column, value in zip(KEY, _key("OLD"), strict=True)
        )
        + " AND slot = 0;"
    )
    return [
        "CREATE TRIGGER tally_draft_jobs_insert AFTER INSERT ON draft_jobs "
        f"FOR EACH ROW WHEN NOT {GUARD} BEGIN {add} END",
        f"CREATE TRIGGER tally_draft_jobs_update AFTER UPDATE OF {', '.join(JOB_COLUMNS)} "
        f"ON draft_jobs FOR EACH ROW WHEN NOT {GUARD} AND ({changed}) "
        f"BEGIN {subtract} {add} END",
        "CREATE TRIGGER tally_draft_jobs_delete AFTER DELETE ON draft_jobs "
        f"FOR EACH ROW WHEN NOT {GUARD} BEGIN {subtract} END",
    ]


TRIGGERS = ("insert", "update", "delete")
FUNCTIONS = ("added", "changed", "removed")


def upgrade() -> None:
    op.create_table(
        "draft_batch_tallies",
        sa.Column("batch_id", GUID(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("slot", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("jobs", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("drafts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "cache_read_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "cache_write_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("cost_micros", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("priced", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unpriced", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["draft_batches.id"],
            name=op.f("fk_draft_batch_tallies_batch_id_draft_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "batch_id", "status", "model", "slot", name=op.f("pk_draft_batch_tallies")
        ),
    )
    dialect = op.get_bind().dialect.name
    for statement in postgresql_statements() if dialect == "postgresql" else sqlite_statements():
        op.execute(statement)
    # Imported here: the fill is the rebuild's own statement, as the code of this revision has it.
    from outreach.drafts import queries

    queries.rebuild_batch_tallies(op.get_bind())


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in TRIGGERS:
        on = " ON draft_jobs" if postgresql else ""
        op.execute(f"DROP TRIGGER tally_draft_jobs_{trigger}{on}")
    if postgresql:
        for function in FUNCTIONS:
            op.execute(f"DROP FUNCTION tally_draft_jobs_{function}()")
    op.drop_table("draft_batch_tallies")
