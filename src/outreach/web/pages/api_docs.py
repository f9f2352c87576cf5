"""/api/docs: the API's OpenAPI document in a reference viewer (Redoc, fetched from the npm
registry at set-up and pinned in frontend.json like htmx), for a signed-in person: the document
at /api/v1/openapi.json takes a bearer token, which a browser page has not."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outreach.web.deps import PageUser
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
def api_docs(request: Request, user: PageUser) -> Response:
    return render(request, "api_docs.html")


@router.get("/api/docs/openapi.json")
def api_document(request: Request, user: PageUser) -> dict[str, Any]:
    document: dict[str, Any] = request.app.openapi()
    return document
