"""Schemathesis over /api/v1 with a valid token: no 5xx, every response matches the OpenAPI
document, requests the document forbids are refused (booleans are strict), and every path
answers OPTIONS and a method it does not take with exactly the methods the document lists. It
grows with the API without changes here.

Operations are driven with Hypothesis directly: schemathesis' pytest plugin does not run
under pytest 9. One check is left out, that every schema-valid request is accepted: some rules
depend on what is stored, not on the request's shape (a mapping must name columns the uploaded
file has; a file must be a readable spreadsheet), and a 422 that names the problem is the right
answer to those.
"""

from __future__ import annotations

import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

METHODS = ("get", "post", "put", "patch", "delete")


def operations_of(app, headers):
    # Built once here, where it may take its time: on a loaded machine, building the document
    # inside schemathesis' fetch of it (10 s) once timed out.
    app.openapi()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    # Revoking tokens at random would revoke the one the run uses.
    return [found for found in operations if not found.path.startswith("/tokens/")]


def test_the_api_answers_every_generated_request_as_documented(app, api_token):
    headers = {"Authorization": f"Bearer {api_token}"}
    answers_each(app, headers, GenerationMode.POSITIVE)


def test_the_api_refuses_every_request_the_document_forbids(app, api_token):
    headers = {"Authorization": f"Bearer {api_token}"}
    answers_each(app, headers, GenerationMode.NEGATIVE)


def answers_each(app, headers, mode):
    for operation in operations_of(app, headers):
        negatable = operation.body or operation.query or operation.path_parameters
        if mode is GenerationMode.NEGATIVE and not negatable:
            continue

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        answers_as_documented()


def test_every_path_says_exactly_the_methods_it_takes_to_options_and_to_any_other_method(
    client, api_token
):
    headers = {"Authorization": f"Bearer {api_token}"}
    document = client.get("/api/v1/openapi.json", headers=headers).json()
    for path, operations in document["paths"].items():
        documented = {method.upper() for method in operations if method in METHODS}
        url = _with_ids(path)
        options = client.options(url, headers=headers)
        assert options.status_code == 204, path
        assert set(options.headers["allow"].split(", ")) == documented | {"OPTIONS"}, path
        for method in sorted(set(METHODS) - {m.lower() for m in documented}):
            refused = client.request(method.upper(), url, headers=headers)
            assert refused.status_code == 405, (method, path, refused.text)
            assert refused.headers["allow"] == options.headers["allow"], (method, path)


def _with_ids(path):
    """The path with a well-formed id in each parameter."""
    return re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)


def test_a_campaign_path_a_method_does_not_take_is_405_not_a_422_of_another_route(
    client, api_token
):
    headers = {"Authorization": f"Bearer {api_token}"}
    url = "/api/v1/campaigns/00000000-0000-4000-8000-000000000000/enrollments"
    refused = client.post(url, headers=headers)
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, OPTIONS"
    assert refused.json()["error"]["code"] == "method_not_allowed"


def test_a_body_that_cannot_be_read_is_a_documented_400(client, api_token):
    headers = {"Authorization": f"Bearer {api_token}", "Content-Type": "application/json"}
    answered = client.post("/api/v1/templates", content=b'{"name": "\xff"}', headers=headers)
    assert answered.status_code == 400
    assert answered.json()["error"]["code"] == "bad_request"
    document = client.get("/api/v1/openapi.json", headers=headers).json()
    assert "400" in document["paths"]["/api/v1/templates"]["post"]["responses"]
    assert "400" not in document["paths"]["/api/v1/templates"]["get"]["responses"]


def test_a_boolean_must_be_true_or_false_not_a_number(client, api_token):
    headers = {"Authorization": f"Bearer {api_token}"}
    body = {"name": "First", "content": "Write to {{ first_name }}.", "is_active": 0}
    refused = client.post("/api/v1/templates", json=body, headers=headers)
    assert refused.status_code == 422
    assert "is_active" in refused.text
