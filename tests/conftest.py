"""Fixtures shared by every test: databases on both backends, a fixed clock, settings, the app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from outreach.access import service as access
from outreach.access.models import Role, User
from outreach.clock import FixedClock
from outreach.config import Settings
from outreach.container import Container
from outreach.db import session_factory
from outreach.web.app import create_app
from tests.databases import BACKENDS, Databases

ADMIN_EMAIL = "ada@example.com"
ADMIN_PASSWORD = "correct horse battery"
ADMIN_AREAS = (
    "Home",
    "Contacts",
    "Campaigns",
    "Drafts",
    "Inbox",
    "Senders",
    "Analytics",
    "Users",
    "Backups",
)
"""What an admin's navigation offers."""


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    registry = Databases(tmp_path_factory.mktemp("databases"))
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


def isolated_settings(data_dir: Path, **values: object) -> Settings:
    """Settings that ignore the developer's environment and .env."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        OUTREACH_DATA_DIR=data_dir,
        OUTREACH_SECRET_KEY="k" * 8 + "Zq7-Lp2@Xw9#Rt4!Mn6$Hb1%Vc3^Jd",
        **values,
    )


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


@pytest.fixture
def admin(session: Session) -> User:
    return access.create_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, Role.admin)


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: TestClient, page: str = "/sign-in") -> str:
    """The CSRF token a browser would find in the page's forms."""
    found = CSRF_INPUT.search(client.get(page).text)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def sign_in(client: TestClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    response = client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def signed_in(client: TestClient, admin: User) -> TestClient:
    sign_in(client)
    return client


@pytest.fixture
def api_token(session: Session, admin: User, clock: FixedClock) -> str:
    return access.issue_api_token(session, admin, "tests", clock.now()).secret
