"""The migrated schema is the seed's, table by table and column by column, on both backends.

Expectations come from parsing the seed document itself (tests/seed_document.py).
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.models import Base
from tests import seed_document as seed

SEED_TABLES = list(seed.tables())

# The seed's PostgreSQL types as our migration declares them on each backend.
DECLARED_TYPE = {
    "postgresql": {
        "UUID": "uuid",
        "TEXT": "text",
        "BOOLEAN": "bool",
        "TIMESTAMPTZ": "timestamptz",
        "JSONB": "jsonb",
        "INTEGER": "int4",
        "TIME": "time",
        "TEXT[]": "_text",
        "DATE": "date",
        "draft_type": "draft_type",
        "email_status": "email_status",
    },
    "sqlite": {
        "UUID": "CHAR(36)",
        "TEXT": "TEXT",
        "BOOLEAN": "BOOLEAN",
        "TIMESTAMPTZ": "DATETIME",
        "JSONB": "JSON",
        "INTEGER": "INTEGER",
        "TIME": "TIME",
        "TEXT[]": "JSON",
        "DATE": "DATE",
        "draft_type": "VARCHAR(15)",
        "email_status": "VARCHAR(9)",
    },
}


def declared_columns(connection: sa.Connection, table: str) -> dict[str, tuple[str, bool]]:
    """Column name → (declared type, nullable), in table order."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            sa.text(
                "SELECT column_name, udt_name, is_nullable = 'YES' FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :table ORDER BY ordinal_position"
            ),
            {"table": table},
        )
    else:
        rows = connection.exec_driver_sql(
            f"SELECT name, type, \"notnull\" = 0 AND pk = 0 FROM pragma_table_info('{table}') ORDER BY cid"
        )
    return {name: (kind, bool(nullable)) for name, kind, nullable in rows}


def index_definition(connection: sa.Connection, name: str) -> str:
    if connection.dialect.name == "postgresql":
        found = connection.scalar(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name}
        )
    else:
        found = connection.scalar(
            sa.text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}
        )
    assert found, f"index {name} is missing"
    return found


def normalised(definition: str) -> str:
    text = definition.lower().replace("public.", "").replace("using btree", "")
    return re.sub(r"[\s;\"]", "", text)


@pytest.mark.parametrize("table", SEED_TABLES)
def test_each_seed_table_has_the_seeds_columns_types_and_nullability(connection, table):
    actual = declared_columns(connection, table)
    columns = seed.tables()[table].columns
    assert [name for name in actual if name in {c.name for c in columns}] == [
        c.name for c in columns
    ]
    for column in columns:
        expected_type = DECLARED_TYPE[connection.dialect.name][column.type]
        assert actual[column.name] == (expected_type, not column.not_null), column.name
    for name, (_, nullable) in actual.items():
        if name not in {c.name for c in columns}:
            added = Base.metadata.tables[table].c[name]
            assert nullable or added.server_default is not None, (
                f"{table}.{name} is ours: it must not make the seed's inserts fail"
            )


@pytest.mark.parametrize("table", SEED_TABLES)
def test_each_seed_table_has_the_seeds_foreign_keys_and_delete_rules(connection, table):
    expected = {
        (c.name, c.references[0], c.references[1], c.on_delete)
        for c in seed.tables()[table].columns
        if c.references
    }
    actual = {
        (
            fk["constrained_columns"][0],
            fk["referred_table"],
            fk["referred_columns"][0],
            fk["options"].get("ondelete"),
        )
        for fk in sa.inspect(connection).get_foreign_keys(table)
    }
    seed_columns = {c.name for c in seed.tables()[table].columns}
    assert {fk for fk in actual if fk[0] in seed_columns} == expected


@pytest.mark.parametrize("table", SEED_TABLES)
def test_each_seed_table_has_the_seeds_unique_constraints(connection, table):
    spec = seed.tables()[table]
    expected = {frozenset(columns) for columns in spec.uniques}
    expected |= {frozenset([c.name]) for c in spec.columns if c.unique}
    inspector = sa.inspect(connection)
    with warnings.catch_warnings():
        # SQLite cannot reflect contacts_email_unique (an expression index); checked below.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        constraints = inspector.get_unique_constraints(table)
        indexes = inspector.get_indexes(table)
    actual = {frozenset(u["column_names"]) for u in constraints}
    actual |= {
        frozenset(i["column_names"])
        for i in indexes
        if i["unique"] and None not in i["column_names"]
    }
    if table == "contacts":
        # The seed's UNIQUE (email) is a unique index on lower(email); checked below.
        expected.discard(frozenset(["email"]))
    assert actual == expected


@pytest.mark.parametrize("index", seed.indexes(), ids=lambda index: index.name)
def test_the_seeds_recommended_indexes_exist_as_written(connection, index):
    assert normalised(index_definition(connection, index.name)) == normalised(index.definition)


def test_contact_emails_are_unique_whatever_their_case(connection):
    definition = normalised(index_definition(connection, "contacts_email_unique"))
    assert definition == "createuniqueindexcontacts_email_uniqueoncontacts(lower(email))"


@pytest.mark.parametrize("enum", ["draft_type", "email_status"])
def test_the_seeds_enums_hold_exactly_its_values(connection, enum):
    expected = seed.enums()[enum]
    if connection.dialect.name == "postgresql":
        labels = connection.scalars(
            sa.text(
                "SELECT enumlabel FROM pg_enum JOIN pg_type ON pg_type.oid = enumtypid "
                "WHERE typname = :name ORDER BY enumsortorder"
            ),
            {"name": enum},
        ).all()
        assert labels == expected
    else:
        tables = [
            t for t, spec in seed.tables().items() if any(c.type == enum for c in spec.columns)
        ]
        for table in tables:
            sql = connection.scalar(
                sa.text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}
            )
            column = next(c.name for c in seed.tables()[table].columns if c.type == enum)
            check = re.search(rf"CHECK \({column} IN \(([^)]*)\)\)", sql)
            assert check, f"{table}.{column} has no CHECK constraint"
            assert re.findall(r"'(\w+)'", check[1]) == expected


# Defaults: each seed table gets a row written with plain SQL giving only the columns that have
# neither a default nor NULL allowed; every column with a seed default must come back with it.

REQUIRED_VALUES = {"JSONB": "{}", "INTEGER": 1, "draft_type": "first_outreach"}
AT = "2026-03-01 12:00:00+00:00"


def insert_minimal(connection: sa.Connection, table: str) -> str:
    values: dict[str, object] = {}
    for column in seed.tables()[table].columns:
        if not column.not_null or column.default is not None:
            continue
        if column.references:
            values[column.name] = insert_minimal(connection, column.references[0])
        elif column.type == "TIMESTAMPTZ":
            values[column.name] = AT
        elif column.type == "TEXT":
            values[column.name] = f"{uuid.uuid4().hex}@example.com"
        else:
            values[column.name] = REQUIRED_VALUES[column.type]
    if table == "campaign_settings":
        # The seed's trigger makes this row when the campaign is inserted.
        return str(
            connection.scalar(
                sa.text("SELECT id FROM campaign_settings WHERE campaign_id = :c"),
                {"c": values["campaign_id"]},
            )
        )
    names = ", ".join(values)
    placeholders = ", ".join(f":{name}" for name in values)
    sql = (
        f"INSERT INTO {table} ({names}) VALUES ({placeholders}) RETURNING id"
        if values
        else (f"INSERT INTO {table} DEFAULT VALUES RETURNING id")
    )
    return str(connection.scalar(sa.text(sql), values))


def expected_default(seed_default: str, today: date):
    if seed_default == "gen_random_uuid()":
        return uuid.UUID
    if seed_default == "now()":
        return datetime
    if seed_default == "CURRENT_DATE":
        return today
    if seed_default.startswith("ARRAY["):
        return re.findall(r"'(\w+)'", seed_default)
    if seed_default in ("true", "false"):
        return seed_default == "true"
    if seed_default.isdigit():
        return int(seed_default)
    literal = seed_default.strip("'")
    if re.fullmatch(r"\d\d:\d\d:\d\d", literal):
        return time.fromisoformat(literal)
    return literal


@pytest.mark.parametrize("table", SEED_TABLES)
def test_rows_written_with_plain_sql_get_the_seeds_defaults(connection, table):
    row_id = insert_minimal(connection, table)
    model = Base.metadata.tables[table]
    row = (
        connection.execute(sa.select(model).where(model.c.id == uuid.UUID(row_id))).mappings().one()
    )
    now = datetime.now(UTC)
    for column in seed.tables()[table].columns:
        if column.default is None:
            continue
        wanted = expected_default(column.default, now.date())
        value = row[column.name]
        if wanted is uuid.UUID:
            assert isinstance(value, uuid.UUID), column.name
            assert value.version == 4, column.name
        elif wanted is datetime:
            assert value.tzinfo is UTC, column.name
            assert abs(value - now) < timedelta(minutes=5), column.name
        else:
            assert value == wanted, column.name


def test_timestamps_come_back_timezone_aware_in_utc(connection):
    batches = Base.metadata.tables["upload_batches"]
    written = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    local = written.astimezone(ZoneInfo("Europe/Berlin"))
    batch_id = connection.scalar(
        sa.insert(batches).values(file_name="a.csv", created_at=local).returning(batches.c.id)
    )
    read = connection.scalar(sa.select(batches.c.created_at).where(batches.c.id == batch_id))
    assert read == written
    assert read.tzinfo is UTC


def test_a_naive_timestamp_is_refused_rather_than_guessed(connection):
    batches = Base.metadata.tables["upload_batches"]
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
        connection.execute(
            sa.insert(batches).values(file_name="a.csv", created_at=datetime(2026, 3, 1))
        )


def test_send_days_are_a_list_of_strings_on_both_backends(connection):
    campaign_id = connection.scalar(
        sa.text("INSERT INTO campaigns (name) VALUES ('c') RETURNING id")
    )
    settings = Base.metadata.tables["campaign_settings"]
    connection.execute(
        sa.update(settings)
        .where(settings.c.campaign_id == uuid.UUID(str(campaign_id)))
        .values(send_days=["saturday"])
    )
    stored = connection.scalar(
        sa.select(settings.c.send_days).where(settings.c.campaign_id == uuid.UUID(str(campaign_id)))
    )
    assert stored == ["saturday"]


def test_json_columns_keep_nested_values(connection):
    batch_id = insert_minimal(connection, "upload_batches")
    contacts = Base.metadata.tables["contacts"]
    raw = {"First Name": "Zoë", "tags": ["a", "b"], "score": 3, "note": None}
    contact_id = connection.scalar(
        sa.insert(contacts)
        .values(upload_batch_id=uuid.UUID(batch_id), raw_data=raw, email="z@example.com")
        .returning(contacts.c.id)
    )
    assert (
        connection.scalar(sa.select(contacts.c.raw_data).where(contacts.c.id == contact_id)) == raw
    )
    assert json.dumps(raw)  # the value is plain JSON, as exported by the seed's row_to_json


def test_metadata_names_constraints_by_convention():
    assert (
        Base.metadata.naming_convention["fk"]
        == "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"
    )
    names = {c.name for c in Base.metadata.tables["campaign_settings"].constraints}
    assert {
        "pk_campaign_settings",
        "uq_campaign_settings_campaign_id",
        "fk_campaign_settings_campaign_id_campaigns",
    } <= names
