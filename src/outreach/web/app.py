"""create_app: the web application for one Container."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import configure_mappers

from outreach import __version__
from outreach.container import Container
from outreach.schema import ensure_current
from outreach.web import health
from outreach.web.api import access as access_api
from outreach.web.api import analytics as analytics_api
from outreach.web.api import campaigns as campaigns_api
from outreach.web.api import contacts as contacts_api
from outreach.web.api import conversations as conversations_api
from outreach.web.api import drafts as drafts_api
from outreach.web.api import events as events_api
from outreach.web.api import senders as senders_api
from outreach.web.api.common_schemas import errors_documented
from outreach.web.api.events_schemas import webhooks_document
from outreach.web.csrf import CsrfCookieMiddleware
from outreach.web.deps import api_user, csrf_checked, known_parameters, page_user
from outreach.web.errors import install_error_handlers
from outreach.web.idempotency import IdempotencyMiddleware
from outreach.web.pages import (
    account,
    analytics,
    api_docs,
    backups,
    campaigns,
    categories,
    contacts,
    drafts,
    enrollments,
    home,
    inbox,
    lists,
    senders,
    sign_in,
    unsubscribe,
    users,
    webhooks,
    zones,
)

STATIC = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"
ERROR_RESPONSES = errors_documented(
    (401, "No valid API token"),
    (409, "Conflicts with the current state"),
    (422, "The request is not valid"),
)
"""What every operation may answer; a 404 is added where a path names a thing by its id, and
operations that may answer another 4xx (403, 429, 410) say so themselves."""
ERROR_SCHEMA = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
BAD_BODY = {
    "description": "The body cannot be read: not JSON, or not the form data it says it is",
    "content": ERROR_SCHEMA,
}
NO_SUCH = {"description": "No such thing (or not any more)", "content": ERROR_SCHEMA}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Send a request again with the same key (a retry after a timeout) to get "
    "the first answer again, marked `Idempotent-Replayed: true`, instead of creating twice; "
    "the same key with another request is a 409. Keys are the caller's, kept 24 hours.",
}


API_TOKEN = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token: made on the account page, `outreach users token`, or "
    "POST /api/v1/tokens. Without a valid one every operation answers 401.",
}


def documented(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI document, where every operation that takes a body also says that one
    it cannot parse is a 400 (FastAPI answers so, but does not document it), every one whose
    path has an id that it may be a 404, and every one that it needs an API token (the
    dependency reads the header itself, so FastAPI cannot say so)."""
    built = app.openapi

    def document() -> dict[str, Any]:
        schema = built()
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                if "requestBody" in operation:
                    operation["responses"].setdefault("400", BAD_BODY)
                if "{" in path:
                    operation["responses"].setdefault("404", NO_SUCH)
                parameters = operation.setdefault("parameters", [])
                if "201" in operation["responses"] and IDEMPOTENCY_KEY not in parameters:
                    parameters.append(IDEMPOTENCY_KEY)
                if path.startswith(API_PREFIX):
                    operation["security"] = [{"apiToken": []}]
        schema["components"]["securitySchemes"] = {"apiToken": API_TOKEN}
        schema["webhooks"] = webhooks_document()
        return schema

    return document


def freeze_start_up() -> None:
    """Spares the collector's full passes what starting made (modules, the ORM's mappers,
    routes, the container: about 280,000 objects), which lives as long as the server: walking
    it stalled one request in twenty or so by 200-500 ms (bench/pages.py's p95 against its
    p50). For a process that serves one app until it exits (`outreach serve`); not in the
    app's lifespan, where the tests' many apps in one process would each pay a full
    collection and keep what they froze."""
    configure_mappers()
    gc.collect()
    gc.freeze()


def create_app(container: Container) -> FastAPI:
    """The app, after checking that the database has the schema this code needs."""
    ensure_current(container.engine)
    app = FastAPI(
        title="outreach",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.container = container
    app.openapi = documented(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    app.add_middleware(CsrfCookieMiddleware, secret_key=container.settings.secret_key_value())
    app.add_middleware(IdempotencyMiddleware, container=container, prefix=API_PREFIX)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    public = APIRouter(dependencies=[Depends(csrf_checked)])
    public.include_router(sign_in.public)
    app.include_router(public)
    app.include_router(health.router)
    app.include_router(unsubscribe.router)

    pages = APIRouter(dependencies=[Depends(page_user), Depends(csrf_checked)])
    for module in (
        sign_in.signed_in,
        home.router,
        account.router,
        users.router,
        contacts.router,
        lists.router,
        campaigns.router,
        drafts.router,
        senders.router,
        inbox.router,
        categories.router,
        enrollments.router,
        backups.router,
        webhooks.router,
        analytics.router,
        api_docs.router,
        zones.router,
    ):
        pages.include_router(module)
    app.include_router(pages)

    api = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(api_user), Depends(known_parameters)],
        responses=ERROR_RESPONSES,
    )
    api.include_router(access_api.router)
    api.include_router(contacts_api.router)
    api.include_router(campaigns_api.router)
    api.include_router(drafts_api.router)
    api.include_router(senders_api.router)
    api.include_router(conversations_api.router)
    api.include_router(events_api.router)
    api.include_router(analytics_api.router)
    api.add_api_route("/openapi.json", lambda: app.openapi(), include_in_schema=False)
    app.include_router(api)
    return app
