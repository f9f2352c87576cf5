"""Every error the API answers is documented: each operation under /api/v1 lists 401 and 422
(and 404 where its path names something by id, 400 where it reads a body, 403, 409, 410 or 429
where it may answer them), each with the error body's schema; and real error answers, one of
each status, match that schema. Both backends."""

from __future__ import annotations

import uuid

import jsonschema_rs
import pytest

from outreach.access import service as access
from outreach.access.models import Role

NOBODY = uuid.UUID(int=1)


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def document(api):
    return api.get("/api/v1/openapi.json").json()


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if path.startswith("/api/v1/"):
                yield method.upper(), path, operation


def error_schema_of(document):
    """The documented error body, with the document's components for its references."""
    return jsonschema_rs.Draft202012Validator(
        {**document["components"]["schemas"]["ErrorBody"], "components": document["components"]}
    )


def test_every_operation_documents_401_and_422_and_a_404_where_its_path_has_an_id(document):
    checked = 0
    for method, path, operation in operations(document):
        answers = operation["responses"]
        assert {"401", "422"} <= set(answers), (method, path)
        if "{" in path:
            assert "404" in answers, (method, path)
        if "requestBody" in operation:
            assert "400" in answers, (method, path)
        assert operation["security"] == [{"apiToken": []}], (method, path)
        checked += 1
    assert checked >= 80


def test_every_documented_4xx_has_the_error_body_for_its_schema(document):
    for method, path, operation in operations(document):
        for status, answer in operation["responses"].items():
            if status.startswith("4"):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)


def test_the_statuses_only_some_operations_answer_are_documented_where_they_are(document):
    paths = document["paths"]
    assert "403" in paths["/api/v1/users"]["get"]["responses"]
    assert "403" not in paths["/api/v1/campaigns"]["get"]["responses"]
    assert "404" not in paths["/api/v1/campaigns"]["get"]["responses"]
    assert "410" in paths["/api/v1/events"]["get"]["responses"]
    assert "429" in paths["/api/v1/templates/{template_id}/trial"]["post"]["responses"]


def test_real_error_answers_of_each_status_match_the_documented_schema(
    api, client, document, session, clock
):
    member = access.create_user(session, "member@example.com", "member password", Role.member)
    member_token = access.issue_api_token(session, member, "m", clock.now()).secret
    session.commit()
    assert api.post("/api/v1/lists", json={"name": "Twice"}).status_code == 201
    bearer = {"Authorization": f"Bearer {member_token}"}
    answers = {
        400: api.post(
            "/api/v1/lists",
            content=b'{"name": "\xff"}',
            headers={"Content-Type": "application/json"},
        ),
        401: client.get("/api/v1/campaigns", headers={"Authorization": "Bearer nonsense"}),
        403: client.get("/api/v1/users", headers=bearer),
        404: api.get(f"/api/v1/campaigns/{NOBODY}"),
        405: api.put("/api/v1/events"),
        409: api.post("/api/v1/lists", json={"name": "Twice"}),
        422: api.get("/api/v1/campaigns", params={"limit": 0}),
    }
    errors = error_schema_of(document)
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.text)
        errors.validate(answer.json())
        assert answer.json()["error"]["message"], status


def test_a_query_parameter_the_operation_does_not_take_is_refused_naming_it(api):
    refused = api.get("/api/v1/campaigns", params={"limt": 5})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "No such query parameter here: `limt`. This takes `after`, `limit`."
    )
    assert api.get("/api/v1/campaigns", params={"limit": 5}).status_code == 200
