"""sent_emails partitioned by month on sent_at, on PostgreSQL: the seed's "Partitioning (for high
volume)" sketch, keeping every guarantee the plain table gave so that the app runs unchanged.

What differs from the plain table, and why:

- The primary key is (id, sent_at): PostgreSQL wants the partition key in every unique
  constraint. sent_at is NOT NULL DEFAULT now() already (the seed's and migration 0001's), so
  the wider key refuses no row the table accepted.
- id alone stays unique through the constraint trigger `uq_sent_emails_id`, checked at the end
  of each statement like a unique constraint. It sees committed rows only, so two transactions
  writing the same id at the same instant would both pass; ids are random UUIDs, so only a
  deliberate copy could. No other unique constraint exists on sent_emails; one without sent_at
  could not be carried over, so partitioning refuses rather than drop it silently.
- Foreign keys *to* sent_emails(id) need a unique key on id alone, which a partitioned table
  cannot have. Each one becomes a pair of constraint triggers with the foreign key's own name:
  one on the referencing table refuses a value no sent email has (and locks that sent email
  FOR KEY SHARE so it cannot vanish before commit), one on sent_emails applies the foreign
  key's ON DELETE action. Today: `fk_email_replies_sent_email_id_sent_emails` (NO ACTION: a
  sent email with replies cannot be deleted) and `fk_deliveries_sent_email_id_sent_emails`
  (SET NULL). Changing a referenced id is refused, as their ON UPDATE NO ACTION did.
  `sent_emails_truncate_guard` refuses TRUNCATE sent_emails while such rows point into it.
  Row triggers cannot see a partition being truncated, detached or dropped: retire old months
  with DELETE (docs/deploy.md).
- `sent_emails_keep_month` refuses an UPDATE that would move sent_at into another month: such a
  row changes partition, which PostgreSQL does as a delete and an insert, and the insert would
  fire the analytics trigger a second time. The app never changes sent_at.
- Monthly partitions `sent_emails_YYYY_MM` (UTC months) and `sent_emails_default` for rows no
  month partition takes. The worker keeps the coming months' partitions created (partition_ahead).

Everything else (columns, defaults, NOT NULLs, CHECKs, the other indexes and foreign keys, the
analytics trigger) is read from the live table and recreated under the same names, so Alembic
and the app see the schema they expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.errors import ValidationFailed

DEFAULT_PARTITION = "sent_emails_default"
DEFAULT_MONTHS_AHEAD = 3
UNIQUE_ID = "uq_sent_emails_id"
KEEP_MONTH = "sent_emails_keep_month"
TRUNCATE_GUARD = "sent_emails_truncate_guard"
ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "n": "SET NULL", "c": "CASCADE", "d": "SET DEFAULT"}
CARRIED_OVER = frozenset("arnc")
"""ON DELETE actions the triggers reproduce (RESTRICT is checked at the end of the statement,
like NO ACTION)."""


@dataclass(frozen=True)
class PartitionReport:
    already_partitioned: bool
    rows_moved: int
    """Rows copied into the partitioned table, or moved out of the default partition."""
    partitions_created: tuple[str, ...]


def is_partitioned(engine: Engine) -> bool:
    """Whether sent_emails is partitioned; never on SQLite."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        return _is_partitioned(connection)


def partition_sent_emails(
    engine: Engine, now: datetime, months_ahead: int = DEFAULT_MONTHS_AHEAD
) -> PartitionReport:
    """Turns sent_emails into a table partitioned by month, in one transaction: on any error the
    table is left as it was. On a table already partitioned, only creates missing partitions."""
    _require_postgresql(engine)
    with engine.begin() as connection:
        referencing = _foreign_keys_to_sent_emails(connection)
        # Referencing tables first: the worker writes deliveries before sent_emails.
        for table in [*(key.table for key in referencing), "sent_emails"]:
            connection.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        if _is_partitioned(connection):
            return _ensure(connection, now, months_ahead)
        return _partition(connection, now, months_ahead, referencing)


def ensure_partitions(
    engine: Engine, now: datetime, months_ahead: int = DEFAULT_MONTHS_AHEAD
) -> PartitionReport:
    """Creates the partitions of this month and the next `months_ahead` that are missing.
    Rows the default partition holds for those months move into their partition."""
    _require_postgresql(engine)
    with engine.begin() as connection:
        if not _is_partitioned(connection):
            raise ValidationFailed(
                "sent_emails is not partitioned: run `outreach db partition sent-emails` first."
            )
        return _ensure(connection, now, months_ahead)


# Months -----------------------------------------------------------------------------------


def month_of(at: datetime) -> date:
    utc = at.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_from(now: datetime, months_ahead: int) -> list[date]:
    months = [month_of(now)]
    for _ in range(months_ahead):
        months.append(next_month(months[-1]))
    return months


def partition_name(month: date) -> str:
    return f"sent_emails_{month:%Y_%m}"


def _bounds(month: date) -> str:
    # Explicit UTC offsets: a bare date would be read in the session's time zone.
    return f"FROM ('{month.isoformat()} 00:00+00') TO ('{next_month(month).isoformat()} 00:00+00')"


# Partitioning -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _ForeignKey:
    name: str
    table: str
    column: str
    on_delete: str


def _require_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        raise ValidationFailed(
            "partitioning needs PostgreSQL; SQLite has no table partitions. "
            "Move to PostgreSQL first with `outreach db migrate --from URL --to URL`."
        )


def _is_partitioned(connection: sa.Connection) -> bool:
    kind = connection.scalar(
        sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass('sent_emails')")
    )
    return bool(kind == "p")


def _strings(connection: sa.Connection, sql: str) -> list[str]:
    return [str(value) for value in connection.scalars(sa.text(sql))]


def _foreign_keys_to_sent_emails(connection: sa.Connection) -> list[_ForeignKey]:
    rows = connection.execute(
        sa.text(
            "SELECT c.conname, c.conrelid::regclass::text, a.attname, c.confdeltype,"
            " c.confupdtype, cardinality(c.conkey)"
            " FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " WHERE c.contype = 'f' AND c.confrelid = 'sent_emails'::regclass"
            " ORDER BY c.conrelid::regclass::text"
        )
    )
    keys = []
    for name, table, column, on_delete, on_update, columns in rows:
        if columns != 1 or on_delete not in CARRIED_OVER or on_update not in ("a", "r"):
            raise ValidationFailed(
                f"The foreign key {name} on {table} (ON DELETE {ACTIONS[on_delete]}, ON UPDATE "
                f"{ACTIONS[on_update]}) cannot be carried over to a partitioned sent_emails; "
                "nothing was changed."
            )
        keys.append(_ForeignKey(name, table, column, on_delete))
    return keys


def _partition(
    connection: sa.Connection, now: datetime, months_ahead: int, referencing: list[_ForeignKey]
) -> PartitionReport:
    unique = _strings(
        connection,
        "SELECT indexrelid::regclass::text FROM pg_index"
        " WHERE indrelid = 'sent_emails'::regclass AND indisunique AND NOT indisprimary",
    )
    if unique:
        raise ValidationFailed(
            f"sent_emails has unique indexes without sent_at ({', '.join(unique)}), which a "
            "partitioned table cannot keep; nothing was changed."
        )
    primary_key = connection.scalar(
        sa.text(
            "SELECT conname FROM pg_constraint"
            " WHERE conrelid = 'sent_emails'::regclass AND contype = 'p'"
        )
    )
    indexes = _strings(
        connection,
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid = 'sent_emails'::regclass AND NOT indisprimary",
    )
    own_foreign_keys = _strings(
        connection,
        "SELECT format('ALTER TABLE sent_emails ADD CONSTRAINT %I %s', conname,"
        " pg_get_constraintdef(oid)) FROM pg_constraint"
        " WHERE conrelid = 'sent_emails'::regclass AND contype = 'f'",
    )
    triggers = _strings(
        connection,
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'sent_emails'::regclass"
        " AND NOT tgisinternal",
    )
    with_rows = _strings(
        connection,
        "SELECT DISTINCT date_trunc('month', sent_at AT TIME ZONE 'UTC')::date::text"
        " FROM sent_emails",
    )
    months = sorted(
        {date.fromisoformat(m) for m in with_rows} | set(months_from(now, months_ahead))
    )

    # Defaults, NOT NULLs and CHECKs come with LIKE; indexes, keys and triggers are recreated
    # once the rows are in: one index build instead of one insertion per row, and the analytics
    # trigger does not count again the sends it counted when they happened.
    connection.exec_driver_sql(
        "CREATE TABLE sent_emails_partitioned (LIKE sent_emails INCLUDING DEFAULTS"
        " INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (sent_at)"
    )
    for month in months:
        connection.exec_driver_sql(
            f"CREATE TABLE {partition_name(month)} PARTITION OF sent_emails_partitioned"
            f" FOR VALUES {_bounds(month)}"
        )
    connection.exec_driver_sql(
        f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF sent_emails_partitioned DEFAULT"
    )
    moved = connection.exec_driver_sql(
        "INSERT INTO sent_emails_partitioned SELECT * FROM sent_emails"
    ).rowcount
    for key in referencing:
        connection.exec_driver_sql(f'ALTER TABLE {key.table} DROP CONSTRAINT "{key.name}"')
    connection.exec_driver_sql("DROP TABLE sent_emails")
    connection.exec_driver_sql("ALTER TABLE sent_emails_partitioned RENAME TO sent_emails")
    connection.exec_driver_sql(
        f'ALTER TABLE sent_emails ADD CONSTRAINT "{primary_key}" PRIMARY KEY (id, sent_at)'
    )
    for statement in [*indexes, *own_foreign_keys, *triggers]:
        connection.exec_driver_sql(statement)
    _create_guards(connection, referencing)
    # Autovacuum analyzes the partitions but never their parent, whose statistics the planner
    # uses for queries over several months.
    connection.exec_driver_sql("ANALYZE sent_emails")
    created = (*(partition_name(month) for month in months), DEFAULT_PARTITION)
    return PartitionReport(already_partitioned=False, rows_moved=moved, partitions_created=created)


GUARD_FUNCTIONS = """
CREATE OR REPLACE FUNCTION sent_email_id_unique() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM sent_emails WHERE id = NEW.id) > 1 THEN
    RAISE EXCEPTION 'duplicate key value violates unique constraint "%"', TG_NAME
      USING ERRCODE = 'unique_violation', CONSTRAINT = TG_NAME, TABLE = TG_TABLE_NAME,
            DETAIL = format('Key (id)=(%s) already exists.', NEW.id);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sent_email_keeps_its_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'sent_at of sent email % cannot move to another month', OLD.id
    USING ERRCODE = 'check_violation', CONSTRAINT = TG_NAME, TABLE = TG_TABLE_NAME,
          HINT = 'The row would change partition and be counted again in email_analytics.';
END $$;

-- On the referencing table: TG_ARGV[0] is the column holding a sent email's id.
CREATE OR REPLACE FUNCTION sent_email_must_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  sent_email_id uuid := to_jsonb(NEW) ->> TG_ARGV[0];
BEGIN
  IF sent_email_id IS NULL
     OR (TG_OP = 'UPDATE' AND sent_email_id = (to_jsonb(OLD) ->> TG_ARGV[0])::uuid) THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM sent_emails WHERE id = sent_email_id FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
      TG_TABLE_NAME, TG_NAME
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_NAME, TABLE = TG_TABLE_NAME,
            DETAIL = format('Key (%s)=(%s) is not present in table "sent_emails".',
                            TG_ARGV[0], sent_email_id);
  END IF;
  RETURN NULL;
END $$;

-- On sent_emails: TG_ARGV is the referencing table, its column and the ON DELETE action
-- (pg_constraint.confdeltype).
CREATE OR REPLACE FUNCTION sent_email_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  referencing text := TG_ARGV[0];
  column_name text := TG_ARGV[1];
  still_referenced boolean;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
    RETURN NULL;
  END IF;
  -- As with a foreign key, what counts is whether the id is gone at the end of the statement,
  -- not whether this row is: a statement may delete a row and write it again.
  IF EXISTS (SELECT 1 FROM sent_emails WHERE id = OLD.id) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' AND TG_ARGV[2] = 'n' THEN
    EXECUTE format('UPDATE %s SET %I = NULL WHERE %I = $1', referencing, column_name, column_name)
      USING OLD.id;
  ELSIF TG_OP = 'DELETE' AND TG_ARGV[2] = 'c' THEN
    EXECUTE format('DELETE FROM %s WHERE %I = $1', referencing, column_name) USING OLD.id;
  ELSE
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I = $1)', referencing, column_name)
      INTO still_referenced USING OLD.id;
    IF still_referenced THEN
      RAISE EXCEPTION
        'update or delete on table "sent_emails" violates foreign key constraint "%" on table "%"',
        TG_NAME, referencing
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_NAME, TABLE = TG_TABLE_NAME,
              DETAIL = format('Key (id)=(%s) is still referenced from table "%s".',
                              OLD.id, referencing);
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- On sent_emails, before TRUNCATE: TG_ARGV holds (referencing table, column) pairs.
CREATE OR REPLACE FUNCTION sent_emails_truncate_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  referenced boolean;
BEGIN
  FOR i IN 0 .. TG_NARGS - 1 BY 2 LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I IS NOT NULL)',
                   TG_ARGV[i], TG_ARGV[i + 1])
      INTO referenced;
    IF referenced THEN
      RAISE EXCEPTION 'cannot truncate sent_emails: rows of table "%" refer to it', TG_ARGV[i]
        USING ERRCODE = 'feature_not_supported',
              HINT = format('Empty %s first, or delete the sent emails instead.', TG_ARGV[i]);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
"""


def _create_guards(connection: sa.Connection, referencing: list[_ForeignKey]) -> None:
    connection.execute(sa.text(GUARD_FUNCTIONS))
    connection.exec_driver_sql(
        f"CREATE CONSTRAINT TRIGGER {UNIQUE_ID} AFTER INSERT OR UPDATE OF id ON sent_emails"
        " FOR EACH ROW EXECUTE FUNCTION sent_email_id_unique()"
    )
    connection.exec_driver_sql(
        f"CREATE TRIGGER {KEEP_MONTH} BEFORE UPDATE OF sent_at ON sent_emails FOR EACH ROW"
        " WHEN (date_trunc('month', NEW.sent_at AT TIME ZONE 'UTC')"
        " <> date_trunc('month', OLD.sent_at AT TIME ZONE 'UTC'))"
        " EXECUTE FUNCTION sent_email_keeps_its_month()"
    )
    for key in referencing:
        connection.exec_driver_sql(
            f'CREATE CONSTRAINT TRIGGER "{key.name}" AFTER INSERT OR UPDATE OF {key.column}'
            f" ON {key.table} FOR EACH ROW EXECUTE FUNCTION sent_email_must_exist('{key.column}')"
        )
        connection.exec_driver_sql(
            f'CREATE CONSTRAINT TRIGGER "{key.name}" AFTER DELETE OR UPDATE OF id ON sent_emails'
            " FOR EACH ROW EXECUTE FUNCTION"
            f" sent_email_referenced('{key.table}', '{key.column}', '{key.on_delete}')"
        )
    if referencing:
        pairs = ", ".join(f"'{key.table}', '{key.column}'" for key in referencing)
        connection.exec_driver_sql(
            f"CREATE TRIGGER {TRUNCATE_GUARD} BEFORE TRUNCATE ON sent_emails"
            f" FOR EACH STATEMENT EXECUTE FUNCTION sent_emails_truncate_guard({pairs})"
        )


# Partitions ahead -------------------------------------------------------------------------


def _partitions(connection: sa.Connection) -> set[str]:
    return set(
        _strings(
            connection,
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent = 'sent_emails'::regclass",
        )
    )


def _ensure(connection: sa.Connection, now: datetime, months_ahead: int) -> PartitionReport:
    def missing() -> list[date]:
        existing = _partitions(connection)
        return [m for m in months_from(now, months_ahead) if partition_name(m) not in existing]

    if not missing():
        return PartitionReport(already_partitioned=True, rows_moved=0, partitions_created=())
    # Creating a partition takes this lock anyway; taking it first makes two workers that both
    # found a month missing create it once.
    connection.exec_driver_sql("LOCK TABLE sent_emails IN ACCESS EXCLUSIVE MODE")
    months = missing()
    moved = _add_partitions(connection, months)
    created = tuple(partition_name(month) for month in months)
    return PartitionReport(already_partitioned=True, rows_moved=moved, partitions_created=created)


def _add_partitions(connection: sa.Connection, months: list[date]) -> int:
    """Creates these months' partitions; returns how many rows left the default partition.

    PostgreSQL refuses a new partition while the default one holds rows of its range. Deleting
    them from the attached default partition would fire the foreign key triggers as if the
    sent emails were gone, so the default partition is detached (which drops its copies of the
    triggers), the rows move into the new month's table, and both are attached again: no
    trigger fires, nothing is counted twice, and no reply or delivery loses its sent email.
    """
    default = connection.scalar(
        sa.text(
            "SELECT NULLIF(partdefid, 0)::regclass::text FROM pg_partitioned_table"
            " WHERE partrelid = 'sent_emails'::regclass"
        )
    )
    in_default = f"FROM {default} WHERE sent_at >= :start AND sent_at < :end"

    def window(month: date) -> dict[str, datetime]:
        return {"start": _utc(month), "end": _utc(next_month(month))}

    crowded = [
        month
        for month in months
        if default
        and connection.scalar(sa.text(f"SELECT EXISTS (SELECT 1 {in_default})"), window(month))
    ]
    if crowded:
        connection.exec_driver_sql(f"ALTER TABLE sent_emails DETACH PARTITION {default}")
    moved = 0
    for month in months:
        name = partition_name(month)
        if month not in crowded:
            connection.exec_driver_sql(
                f"CREATE TABLE {name} PARTITION OF sent_emails FOR VALUES {_bounds(month)}"
            )
            continue
        connection.exec_driver_sql(
            f"CREATE TABLE {name} (LIKE sent_emails INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
            " INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        insert = sa.text(f"INSERT INTO {name} SELECT * {in_default}")
        moved += connection.execute(insert, window(month)).rowcount
        connection.execute(sa.text(f"DELETE {in_default}"), window(month))
        connection.exec_driver_sql(
            f"ALTER TABLE sent_emails ATTACH PARTITION {name} FOR VALUES {_bounds(month)}"
        )
    if crowded:
        connection.exec_driver_sql(f"ALTER TABLE sent_emails ATTACH PARTITION {default} DEFAULT")
    return moved


def _utc(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)
