"""Reading pages and the API never waits for a writer (the worker recording its sends, another
request), on a database of its own as deployed: not joined to a test's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from outreach.access import service as access
from outreach.access.models import ApiToken, Role
from outreach.container import Container, build_container
from outreach.db import transaction
from outreach.web.app import create_app
from outreach.web.deps import SESSION_COOKIE
from tests.app_settings import isolated_settings

READS = [
    "/",
    "/contacts",
    "/campaigns",
    "/drafts",
    "/sends",
    "/api/v1/contacts",
    "/api/v1/me",
    "/api/v1/conversations",
]
PATIENCE_SECONDS = 30
"""Far beyond what these reads take, even on a busy machine; a read that waits for the writer
waits until the writer ends (PostgreSQL) or SQLite's busy timeout (15 s) and fails."""


@dataclass(frozen=True)
class Deployed:
    container: Container
    client: TestClient
    bearer: dict[str, str]


@pytest.fixture
def deployed(backend, databases, tmp_path, clock) -> Iterator[Deployed]:
    """The app over a fresh database, with a signed-in browser and an API token used once."""
    settings = isolated_settings(tmp_path / "data", DATABASE_URL=databases.fresh_url(backend))
    container = build_container(settings, clock)
    with transaction(container.sessions) as session:
        user = access.create_user(session, "grace@example.com", "a long password", Role.admin)
        cookie = access.start_session(session, user, clock.now(), timedelta(days=1), None)
        secret = access.issue_api_token(session, user, "CRM sync", clock.now()).secret
    try:
        with TestClient(create_app(container)) as client:
            client.cookies.set(SESSION_COOKIE, cookie)
            bearer = {"Authorization": f"Bearer {secret}"}
            assert client.get("/api/v1/me", headers=bearer).status_code == 200
            yield Deployed(container, client, bearer)
    finally:
        container.close()


def test_pages_and_the_api_answer_while_another_transaction_writes(deployed, clock):
    clock.advance(timedelta(seconds=30))
    with ThreadPoolExecutor(1) as pool, deployed.container.engine.connect() as writer:
        # On SQLite this holds the one write lock, as the worker does while it records a round;
        # on PostgreSQL it holds the token's row, as a request writing its last use did.
        writer.begin()
        writer.execute(sa.update(ApiToken).values(name="held"))
        reading = pool.submit(
            lambda: {
                path: deployed.client.get(path, headers=deployed.bearer).status_code
                for path in READS
            }
        )
        try:
            answers = reading.result(timeout=PATIENCE_SECONDS)
        finally:
            writer.rollback()
    assert answers == dict.fromkeys(READS, 200)


def test_a_tokens_use_is_noted_once_a_minute(deployed, clock):
    def last_used() -> object:
        with deployed.container.engine.connect() as connection:
            return connection.scalar(sa.select(ApiToken.last_used_at))

    first = last_used()
    clock.advance(timedelta(seconds=59))
    assert deployed.client.get("/api/v1/me", headers=deployed.bearer).status_code == 200
    assert last_used() == first
    clock.advance(timedelta(seconds=1))
    assert deployed.client.get("/api/v1/me", headers=deployed.bearer).status_code == 200
    assert last_used() == clock.now()


def test_a_post_notes_the_tokens_use_after_its_own_transaction(deployed, clock):
    clock.advance(timedelta(minutes=5))
    made = deployed.client.post("/api/v1/lists", json={"name": "Spring"}, headers=deployed.bearer)
    assert made.status_code == 201
    with deployed.container.engine.connect() as connection:
        assert connection.scalar(sa.select(ApiToken.last_used_at)) == clock.now()
