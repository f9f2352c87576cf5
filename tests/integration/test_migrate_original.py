"""`outreach db migrate` from the original system's live PostgreSQL into ours, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.db import create_engine
from outreach.models import Base
from outreach.portability import migrating
from tests import original_system, seed_document

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def original(databases):
    url = databases.empty_url("postgresql")
    original_system.build(url)
    counts = original_system.fill(url)
    return url, counts


def rows_of(engine: sa.Engine, table: str) -> list[dict]:
    spec = seed_document.tables()[table]
    model = Base.metadata.tables[table]
    columns = [model.c[column.name] for column in spec.columns]
    with engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(sa.select(*columns).order_by(model.c.id)).mappings()
        ]


def test_every_row_of_the_original_system_arrives_field_by_field(original, backend, databases):
    url, counts = original
    assert all(counts.values()), counts
    target = create_engine(databases.fresh_url(backend))
    report = migrating.migrate(url, target, NOW)
    assert report.rows == counts
    assert "role_address" in report.columns_left_empty["contacts"]
    source = create_engine(url)
    for table in seed_document.export_order():
        assert rows_of(target, table) == rows_of(source, table), table
    with target.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM campaign_settings")) == 1
        statuses = (
            connection.execute(sa.text("SELECT status FROM campaign_contacts ORDER BY status"))
            .scalars()
            .all()
        )
        assert statuses == ["in_progress", "pending", "replied"]
    source.dispose()
    target.dispose()


def test_a_dry_run_says_what_would_move_and_moves_nothing(original, backend, databases):
    url, counts = original
    target = create_engine(databases.fresh_url(backend))
    report = migrating.migrate(url, target, NOW, dry_run=True)
    assert report.dry_run
    assert report.rows == counts
    with target.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM contacts")) == 0
    target.dispose()


def test_the_cli_migrates_and_then_refuses_a_second_time_without_merge(
    original, backend, databases, tmp_path, monkeypatch
):
    url, _ = original
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", databases.fresh_url(backend))
    runner = CliRunner()
    first = runner.invoke(app, ["db", "migrate", "--from", url], catch_exceptions=False)
    assert "contacts: 3 rows" in first.output
    assert first.exit_code == 0
    second = runner.invoke(app, ["db", "migrate", "--from", url])
    assert second.exit_code != 0
    merged = runner.invoke(app, ["db", "migrate", "--from", url, "--merge"], catch_exceptions=False)
    assert merged.exit_code == 0
