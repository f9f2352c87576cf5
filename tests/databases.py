"""Throwaway databases for the test session, on SQLite and PostgreSQL.

Each backend gets one migrated template per session; every database a test asks for is a copy
of it (a file copy, or CREATE DATABASE ... TEMPLATE), and every PostgreSQL database made here
is dropped at the end. Nothing depends on what an earlier run left behind.

Under pytest-xdist every worker is a session of its own: its databases, templates included,
are named `outreach_test_<run>_<worker>_<n>`, so no two workers ever share one, and none
connects to another's template (CREATE DATABASE ... TEMPLATE refuses a template someone is
connected to; a worker's own templates are left with connections disallowed once made). What a
worker that died could not drop, the controller drops by the run's prefix at the end.

OUTREACH_TEST_PG_URL names the server (the default below when unset); set it to an empty value
to test on SQLite alone. Either way an unreachable or absent server skips the PostgreSQL cases
with one loud line, unless OUTREACH_REQUIRE_PG=1 (CI), which fails them.

A third backend, PostgreSQL with sent_emails partitioned by month, serves the modules that
declare `pytestmark = ALSO_PARTITIONED`: the campaign, sending and analytics tests, which must
hold on either shape of the table.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from outreach.db import create_engine
from outreach.portability.partitioning import partition_sent_emails
from outreach.schema import upgrade

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("OUTREACH_REQUIRE_PG") == "1"
BACKENDS = ("sqlite", "postgresql")
PARTITIONED = "postgresql-partitioned"
ALSO_PARTITIONED = pytest.mark.parametrize("backend", [*BACKENDS, PARTITIONED], indirect=True)
DROPPING_AT_ONCE = 8
"""Connections a session uses to drop its databases at the end (PostgreSQL allows 100)."""
PARTITIONED_AT = datetime(2026, 3, 1, tzinfo=UTC)
"""The month the tests' clock starts in: partitions March to June 2026, the rest in the default
partition, so both kinds of partition take rows."""


def _pg_admin_url() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_url_for(database: str) -> str:
    return make_url(_pg_admin_url()).set(database=database).render_as_string(hide_password=False)


def run_prefix(run: str) -> str:
    """What the names of every database a test run makes start with."""
    return f"outreach_test_{run}_"


def new_run() -> str:
    return uuid.uuid4().hex[:8]


def _pg_problem() -> str | None:
    """Why the tests cannot use PostgreSQL, or None when they can."""
    if not PG_URL:
        return "PostgreSQL not tested: OUTREACH_TEST_PG_URL is empty"
    try:
        psycopg.connect(_pg_admin_url(), connect_timeout=3).close()
    except (psycopg.Error, ArgumentError) as error:
        reason = " ".join(str(error).split())
        return f"PostgreSQL unreachable at {PG_URL}: {reason}"
    return None


def drop_run(run: str) -> None:
    """Drops what is left of a run's PostgreSQL databases: those a worker could not drop."""
    if _pg_problem() is not None:
        return
    prefix = run_prefix(run)
    with psycopg.connect(_pg_admin_url(), autocommit=True) as connection:
        names = connection.execute(
            "SELECT datname FROM pg_database WHERE left(datname, %s) = %s",
            (len(prefix), prefix),
        ).fetchall()
    _drop([name for (name,) in names])


def _drop(names: Iterable[str]) -> None:
    """Drops the databases several at a time: each DROP DATABASE waits for a checkpoint, and
    drops waiting together share one (one at a time, a run's hundred-odd databases took
    minutes on a busy server)."""

    def drop(name: str) -> None:
        with psycopg.connect(_pg_admin_url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    with ThreadPoolExecutor(max_workers=DROPPING_AT_ONCE) as pool:
        list(pool.map(drop, names))


class Databases:
    """A session's databases: `run` is the test run's id, `worker` this process's part in it."""

    def __init__(self, folder: Path, run: str, worker: str) -> None:
        self.folder = folder
        self.prefix = f"{run_prefix(run)}{worker}"
        self.created: list[str] = []
        self.templates: dict[str, str] = {}
        self.engines: dict[str, Engine] = {}
        self.pg_problem: str | None = None
        self.pg_checked = False

    # PostgreSQL availability -------------------------------------------------------------

    def require(self, backend: str) -> None:
        if not backend.startswith("postgresql"):
            return
        if not self.pg_checked:
            self.pg_checked = True
            self.pg_problem = _pg_problem()
        if self.pg_problem:
            if REQUIRE_PG:
                pytest.fail(f"{self.pg_problem} (OUTREACH_REQUIRE_PG=1)")
            pytest.skip(self.pg_problem)

    def _pg_execute(self, statement: str) -> None:
        with psycopg.connect(_pg_admin_url(), autocommit=True) as connection:
            connection.execute(statement)

    def _pg_create(self, name: str, template: str | None = None) -> str:
        copying = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(_pg_admin_url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"{copying}')
            # A commit need not wait for the disk (1.4 ms against 0.2 on the busy machine, and
            # the worker tests commit thousands of times): what other sessions see is the
            # same, and only a crash of the server itself could lose a throwaway database.
            connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        self.created.append(name)
        return _pg_url_for(name)

    # Databases ----------------------------------------------------------------------------

    def empty_url(self, backend: str) -> str:
        """A database with nothing in it: not even the schema."""
        self.require(backend)
        name = f"{self.prefix}_{len(self.created) + len(list(self.folder.glob('*.db')))}"
        if backend == "sqlite":
            return f"sqlite:///{self.folder / (name + '.db')}"
        return self._pg_create(name)

    def fresh_url(self, backend: str) -> str:
        """A new database with the migrated schema and no rows."""
        template = self._template(backend)
        name = f"{self.prefix}_{len(self.created) + len(list(self.folder.glob('*.db')))}"
        if backend == "sqlite":
            path = self.folder / f"{name}.db"
            shutil.copyfile(make_url(template).database or "", path)
            return f"sqlite:///{path}"
        return self._pg_create(name, template=make_url(template).database)

    def _template(self, backend: str) -> str:
        self.require(backend)
        if backend not in self.templates:
            if backend == PARTITIONED:
                url = self.fresh_url("postgresql")
                engine = create_engine(url)
                partition_sent_emails(engine, PARTITIONED_AT)
            else:
                url = self.empty_url(backend)
                engine = create_engine(url)
                upgrade(engine)
            engine.dispose()
            if backend != "sqlite":
                # Copies are made only while nobody is connected: make sure nobody can be.
                self._pg_execute(
                    f'ALTER DATABASE "{make_url(url).database}" WITH ALLOW_CONNECTIONS false'
                )
            self.templates[backend] = url
        return self.templates[backend]

    def shared_engine(self, backend: str) -> Engine:
        """One migrated database per backend for the whole session; tests roll back their work."""
        if backend not in self.engines:
            self.engines[backend] = create_engine(self.fresh_url(backend))
        return self.engines[backend]

    def drop_all(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
        _drop(self.created)
