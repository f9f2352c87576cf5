"""Schemathesis over /api/v1 with a valid token: no 5xx, and every response matches the
OpenAPI document. It grows with the API without changes here.

Operations are driven with Hypothesis directly: schemathesis' pytest plugin does not run
under pytest 9. One check is left out, that every schema-valid request is accepted: some rules
depend on what is stored, not on the request's shape (a mapping must name columns the uploaded
file has; a file must be a readable spreadsheet), and a 422 that names the problem is the right
answer to those.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance


def test_the_api_answers_every_generated_request_as_documented(app, api_token):
    headers = {"Authorization": f"Bearer {api_token}"}
    # Built once here, where it may take its time: on a loaded machine, building the document
    # inside schemathesis' fetch of it (10 s) once timed out.
    app.openapi()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        answers_as_documented()
