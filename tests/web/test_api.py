"""/api/v1 with a bearer token: answers, and errors that say what is wrong."""

from __future__ import annotations

import pytest

from outreach.access import service as access
from outreach.access.models import Role


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def test_me_is_the_tokens_user(api, admin):
    body = api.get("/api/v1/me").json()
    assert (body["email"], body["role"]) == (admin.email, "admin")


def test_a_wrong_token_is_refused_with_an_error_body(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer otk_nonsense"})
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "unauthorized",
            "message": "This API token is not valid: it was revoked or never existed.",
            "details": {},
        }
    }


def test_tokens_can_be_created_listed_and_revoked(api):
    created = api.post("/api/v1/tokens", json={"name": "backup script"})
    assert created.status_code == 201
    secret, token_id = created.json()["secret"], created.json()["token"]["id"]
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert "backup script" in [token["name"] for token in api.get("/api/v1/tokens").json()["items"]]
    assert api.delete(f"/api/v1/tokens/{token_id}").json()["revoked_at"] is not None
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_an_unknown_token_id_is_404_with_its_id(api):
    response = api.delete("/api/v1/tokens/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["details"] == {
        "token_id": "00000000-0000-4000-8000-000000000000"
    }


def test_a_malformed_id_is_a_422_not_a_500(api):
    response = api.delete("/api/v1/tokens/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_failed"
    assert "token_id" in response.json()["error"]["message"]


def test_a_body_that_is_not_json_is_a_422_with_a_message(api):
    response = api.post(
        "/api/v1/tokens", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"]


def test_admins_add_users_and_conflicts_are_409(api):
    created = api.post(
        "/api/v1/users", json={"email": "Alan@Example.com", "password": "turing machine"}
    )
    assert created.status_code == 201
    assert created.json()["email"] == "alan@example.com"
    again = api.post(
        "/api/v1/users", json={"email": "alan@example.com", "password": "turing machine"}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_members_cannot_manage_users(client, session, clock):
    member = access.create_user(session, "member@example.com", "member password", Role.member)
    secret = access.issue_api_token(session, member, "m", clock.now()).secret
    response = client.get("/api/v1/users", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only admins can do this."


def test_the_openapi_document_needs_a_token_and_describes_the_api(api, client):
    document = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in document["paths"]
    del client.headers["Authorization"]
    assert client.get("/api/v1/openapi.json").status_code == 401


def test_an_unknown_api_path_is_a_404_error_body(api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
