"""Liveness and readiness probes for load balancers and orchestrators. Public by design."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from outreach.errors import DatabaseNotReady
from outreach.schema import schema_state
from outreach.web.deps import container_of

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> JSONResponse:
    """The process answers."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """The database answers and has the schema this code needs."""
    try:
        problem = schema_state(container_of(request).engine).problem()
    except DatabaseNotReady as error:
        problem = error.message
    if problem:
        return JSONResponse({"status": "not ready", "detail": problem}, status_code=503)
    return JSONResponse({"status": "ready"})
