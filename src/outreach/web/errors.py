"""Domain errors to HTTP, in one table. API clients get JSON, browsers get a page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from outreach import errors
from outreach.web.rendering import render

STATUS_OF: dict[type[errors.OutreachError], int] = {
    errors.ValidationFailed: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.InvalidTransition: 409,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.RateLimited: 429,
    errors.DatabaseNotReady: 503,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


class SignInRequired(Exception):
    """A page was asked for without a signed-in user: the browser goes to the sign-in page."""


def status_of(error: errors.OutreachError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def error_response(
    request: Request, status: int, code: str, message: str, details: Any = None
) -> Response:
    headers = {}
    if status == 401 and request.url.path.startswith("/api/"):
        headers["WWW-Authenticate"] = "Bearer"
    if wants_json(request):
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        return JSONResponse(body, status_code=status, headers=headers)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.OutreachError)
    async def domain_error(request: Request, error: errors.OutreachError) -> Response:
        response = error_response(
            request, status_of(error), error.code, error.message, error.details
        )
        if isinstance(error, errors.RateLimited):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(part) for part in problem["loc"][1:]), "message": problem["msg"]}
            for problem in error.errors()
        ]
        message = "; ".join(f"{p['field'] or 'request'}: {p['message']}" for p in problems)
        return error_response(request, 422, "validation_failed", message, {"problems": problems})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        code = HTTP_CODES.get(error.status_code, "http_error")
        response = error_response(request, error.status_code, code, str(error.detail))
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(DataError)
    async def unstorable_value(request: Request, error: DataError) -> Response:
        # A value that passed validation but that the database cannot take (a NUL character,
        # which PostgreSQL refuses in text; a number out of range) is the request's fault.
        reason = str(error.orig).splitlines()[0] if error.orig else "invalid value"
        return error_response(
            request, 422, "validation_failed", f"A value in the request cannot be used: {reason}"
        )

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, error: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/sign-in?next={quote(target)}" if request.method == "GET" else "/sign-in"
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)
