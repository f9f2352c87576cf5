"""The Idempotency-Key header on API POSTs: a repeat gets the first answer, another request
with the key a 409, and repeats sent at once create one thing; on both backends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from outreach.access import service as access
from outreach.access.models import Role
from outreach.container import build_container
from outreach.db import transaction
from outreach.web.app import create_app
from tests.app_settings import isolated_settings
from tests.web_session import ADMIN_EMAIL, ADMIN_PASSWORD

HOOK = {"url": "https://crm.example/hooks", "events": ["email.sent"]}


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def test_a_repeated_post_gets_the_first_answer_and_creates_nothing_more(api):
    first = api.post("/api/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "k-1"})
    again = api.post("/api/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "k-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(api.get("/api/v1/webhooks").json()["items"]) == 1
    other = api.post("/api/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "k-2"})
    assert other.json()["id"] != first.json()["id"]


def test_the_same_key_with_another_body_is_a_409_saying_so(api):
    api.post("/api/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "k-1"})

    changed = {**HOOK, "url": "https://other.example/hooks"}
    answer = api.post("/api/v1/webhooks", json=changed, headers={"Idempotency-Key": "k-1"})

    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == (
        "This Idempotency-Key was used for another request: use a new key for a new request."
    )


def test_a_refused_request_is_kept_too_and_an_overlong_key_is_refused(api):
    bad = {"url": "ftp://nowhere.example/"}
    first = api.post("/api/v1/webhooks", json=bad, headers={"Idempotency-Key": "k-3"})
    again = api.post("/api/v1/webhooks", json=bad, headers={"Idempotency-Key": "k-3"})
    assert (first.status_code, again.status_code) == (422, 422)
    assert again.json() == first.json()

    long_key = api.post("/api/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "k" * 256})
    assert long_key.status_code == 422
    assert long_key.json()["error"]["message"] == "An Idempotency-Key is 1 to 255 characters."


@pytest.fixture
def api_as_run(backend, databases, tmp_path):
    """The API on a database of its own, a connection per request, as `outreach run` serves it."""
    settings = isolated_settings(tmp_path / "data", DATABASE_URL=databases.fresh_url(backend))
    container = build_container(settings)
    with transaction(container.sessions) as session:
        admin = access.create_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, Role.admin)
        token = access.issue_api_token(session, admin, "tests", container.clock.now()).secret
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
    container.close()


def test_repeats_sent_at_once_create_one_endpoint(api_as_run):
    def send(_: int):
        return api_as_run.post("/api/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "k"})

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))

    created = {answer.json()["id"] for answer in answers if answer.status_code == 201}
    busy = [answer for answer in answers if answer.status_code == 409]
    assert len(created) == 1
    assert len(busy) + sum(answer.status_code == 201 for answer in answers) == 6
    assert all("being answered" in answer.json()["error"]["message"] for answer in busy)
    assert len(api_as_run.get("/api/v1/webhooks").json()["items"]) == 1
