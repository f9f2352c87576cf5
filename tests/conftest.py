"""Fixtures shared by every test: databases on both backends, a fixed clock, settings, the app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from outreach.access import credentials
from outreach.access import service as access
from outreach.access.models import Role, User
from outreach.clock import FixedClock
from outreach.config import Settings
from outreach.container import Container
from outreach.db import session_factory
from outreach.web.app import create_app
from tests.app_settings import isolated_settings
from tests.databases import BACKENDS, Databases, drop_run, new_run
from tests.hypothesis_profiles import load_profile
from tests.web_session import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in

# The loopback servers' fixtures, for every test that names them.
pytest_plugins = [
    "tests.smtp_server",
    "tests.dns_server",
    "tests.fakes.oauth_server",
    "tests.imap_server",
    "tests.fakes.graph_server",
    "tests.fakes.anthropic_server",
]
load_profile()

# Rich fixes a console's width when the console is made if COLUMNS is set, and the CLI's
# consoles are made when the tests first import it: an xdist worker inherits COLUMNS=80 (readline
# sets it in the controller), and some shells export it. The CLI tests set the width they read at
# run time. Here, at import, because a worker loads the conftests of the paths it was given
# (tests/web/conftest.py imports the CLI's serving) before any pytest_configure runs.
os.environ.pop("COLUMNS", None)

# No test asks the machine's DNS: a campaign's launch checks its senders' domains only where a
# test turns that on against its own DNS server (tests/dns_server.py). Set in the environment,
# so that the commands the tests run in subprocesses inherit it. Recipient domains are resolved
# likewise only where a test asks, against its own DNS server.
os.environ.setdefault("OUTREACH_LAUNCH_DNS_CHECK", "off")
os.environ.setdefault("OUTREACH_RECIPIENT_PROVIDERS", "off")

RUN = pytest.StashKey[str]()
"""The test run's id, the same in the controller and in every xdist worker."""


def pytest_configure(config: pytest.Config) -> None:
    worker = getattr(config, "workerinput", None)
    config.stash[RUN] = worker["outreach_run"] if worker else new_run()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, before starting a worker: tell it the run it belongs to."""
    node.workerinput["outreach_run"] = node.config.stash[RUN]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The xdist controller drops whatever databases a worker left (a worker that crashed)."""
    config = session.config
    if not hasattr(config, "workerinput") and config.pluginmanager.hasplugin("dsession"):
        drop_run(config.stash[RUN])


@pytest.fixture(scope="session")
def databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Databases]:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    registry = Databases(tmp_path_factory.mktemp("databases"), request.config.stash[RUN], worker)
    yield registry
    registry.drop_all()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One loud line per missing server or package, however many tests it skipped."""
    skipped = terminalreporter.stats.get("skipped", [])
    reasons = [str(report.longrepr[2]) for report in skipped if isinstance(report.longrepr, tuple)]
    for reason in sorted(set(reasons)):
        line = f"!!! {reasons.count(reason)} tests SKIPPED: {reason.removeprefix('Skipped: ')}"
        terminalreporter.write_line(line, red=True, bold=True)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    backend_name: str = request.param
    return backend_name


@pytest.fixture
def engine(backend: str, databases: Databases) -> sa.Engine:
    return databases.shared_engine(backend)


@pytest.fixture
def connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def session(connection: sa.Connection) -> Iterator[Session]:
    with session_factory(connection)() as session:
        yield session


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return isolated_settings(tmp_path / "data")


@pytest.fixture
def container(
    settings: Settings, engine: sa.Engine, connection: sa.Connection, clock: FixedClock
) -> Container:
    """The app's container, its sessions joined to the test's rolled-back transaction."""
    return Container(
        settings=settings, engine=engine, sessions=session_factory(connection), clock=clock
    )


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def admin_password_hash() -> str:
    """Argon2 is slow on purpose (up to a second on a busy machine), and hundreds of tests
    start with the admin: their password is hashed once a session, not once a test."""
    return credentials.hash_password(ADMIN_PASSWORD)


@pytest.fixture
def admin(session: Session, admin_password_hash: str) -> User:
    """The admin as access.create_user makes them, with the session's hash of their password."""
    user = User(email=ADMIN_EMAIL, password_hash=admin_password_hash, role=Role.admin.value)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def signed_in(client: TestClient, admin: User) -> TestClient:
    sign_in(client)
    return client


@pytest.fixture
def api_token(session: Session, admin: User, clock: FixedClock) -> str:
    return access.issue_api_token(session, admin, "tests", clock.now()).secret
