"""/api/docs: the OpenAPI document in the pinned reference viewer, for a signed-in person."""

from __future__ import annotations


def test_the_api_reference_shows_the_document_with_the_events_and_webhooks(signed_in):
    page = signed_in.get("/api/docs")
    assert page.status_code == 200
    assert '<redoc spec-url="/api/docs/openapi.json"' in page.text
    assert '<script src="/static/vendor/redoc.standalone.js">' in page.text

    document = signed_in.get("/api/docs/openapi.json").json()
    assert "/api/v1/events" in document["paths"]
    assert "/api/v1/webhooks" in document["paths"]
    assert "EmailSentData" in document["components"]["schemas"]
    sent = document["webhooks"]["email.sent"]["post"]["requestBody"]["content"]
    data = sent["application/json"]["schema"]["properties"]["data"]
    assert data == {"$ref": "#/components/schemas/EmailSentData"}
    assert "webhook-signature" in document["webhooks"]["email.sent"]["post"]["description"]


def test_the_api_reference_asks_a_stranger_to_sign_in(client):
    answer = client.get("/api/docs")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/api/docs"
